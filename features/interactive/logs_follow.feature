@container @interactive
Feature: docker logs --follow and terminal logs

  Scenario: logs --follow streams until the container stops
    Given I ran "docker run --network none -d --name <c> busybox sh -c 'echo one; sleep 1; echo two; echo err >&2'" successfully
    When I run "docker logs --follow <c>"
    Then the command succeeds
    And stdout is "one\ntwo\n"
    And stderr is "err\n"

  Scenario: logs --follow with --tail starts from the last lines
    Given I ran "docker run --network none -d --name <c> busybox sh -c 'echo a; echo b; echo c; sleep 1; echo d'" successfully
    When I run "docker logs --follow --tail 1 <c>"
    Then the command succeeds
    And stdout matches "(c\nd\n|d\n)"

  Scenario: A terminal container logs the raw stream
    Given I ran "docker run --network none -t --name <c> busybox sh -c 'echo out; echo err >&2'" successfully
    When I run "docker logs <c>"
    Then the command succeeds
    And stdout is "out\r\nerr\r\n"
    And stderr is empty

  Scenario: docker run -i without a terminal logs what the container echoes back
    When I pipe "hello\n" into "docker run --network none -i --name <c> busybox cat"
    And I run "docker logs <c>"
    Then stdout is "hello\n"
