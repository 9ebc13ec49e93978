@sdk
Feature: The core flows through docker-py

  Scenario: Ping and version
    Then docker-py pings the daemon and reads its version

  Scenario: run with remove returns the output and leaves nothing
    When docker-py runs "echo hello" in busybox with remove
    Then the docker-py output is "hello\n"
    And no container of this scenario is left

  Scenario: run reports a failing command's exit status
    When docker-py runs "sh -c 'exit 3'" in busybox with remove
    Then docker-py reports a container error with exit status 3
    And no container of this scenario is left

  Scenario: create, start, wait, logs, remove
    When docker-py creates "c" running "sh -c 'echo out; echo err >&2; exit 3'"
    Then docker-py sees the container "c" with status "created"
    When docker-py starts "c"
    And docker-py waits for "c"
    Then the docker-py wait result is exit code 3
    And docker-py reads the logs of "c" as stdout "out\n" and stderr "err\n"
    And docker-py sees the container "c" with status "exited"
    When docker-py removes "c"
    Then the container "c" no longer exists

  Scenario: detached run, list and stop
    When docker-py runs "sleep 1000" in busybox detached as "a"
    And docker-py creates "b" running "true"
    Then docker-py lists "a, b" for this scenario
    And docker-py sees the container "a" with status "running"
    When docker-py stops "a" with timeout 1
    Then the container "a" exits with code 137

  Scenario: A missing container raises NotFound with Docker's message
    When docker-py looks up the container "no-such-container-<prefix>"
    Then docker-py raises NotFound with the message "No such container: no-such-container-<prefix>"

  Scenario: Images: get, tag, remove
    When docker-py looks up the image "busybox"
    Then the docker-py image has the tag "busybox:latest"
    When docker-py tags busybox as "<tagged>:v1"
    And docker-py looks up the image "<tagged>:v1"
    Then the docker-py image has the tag "<tagged>:v1"
    When docker-py removes the image "<tagged>:v1"
    Then the image "<tagged>:v1" does not exist

  Scenario: Networks, published ports and volumes through docker-py
    Then docker-py runs a server on a new network and a client there reaches it by name
    And docker-py publishes a port and the host reaches it
    And docker-py writes a volume in one container and reads it in the next
