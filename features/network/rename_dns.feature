@container @network
Feature: the embedded DNS follows a container rename

  Scenario: after docker rename the new name resolves and the old one does not
    Given a network "net"
    And I ran "docker run -d --name <a> --network <net> busybox sleep 60" successfully
    And I ran "docker rename <a> <b>" successfully
    When I run "docker run --rm --network <net> busybox sh -c 'ping -c1 -W2 <b> >/dev/null && echo new; ping -c1 -W1 <a> >/dev/null 2>&1 || echo old-gone'"
    Then the command succeeds
    And stdout is "new\nold-gone\n"
