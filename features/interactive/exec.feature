@container @interactive @exec
Feature: docker exec: processes joining a running container

  Background:
    Given I ran "docker run --network none -d --name <c> busybox sleep 300" successfully

  Scenario: exec runs a command in the container and reports its exit code
    When I run "docker exec <c> sh -c 'echo out; echo err >&2; exit 7'"
    Then the command exits with 7
    And stdout is "out\n"
    And stderr is "err\n"

  Scenario: The exec'd process shares the container's pid namespace and hostname
    When I run "docker exec <c> cat /proc/1/comm"
    Then the command succeeds
    And stdout is "sleep\n"
    When I run "docker exec <c> hostname"
    Then stdout matches "[0-9a-f]{12}\n"

  Scenario: exec -i passes piped stdin and closes it at its end
    When I pipe "one\ntwo\n" into "docker exec -i <c> sh -c 'cat; echo end'"
    Then the command succeeds
    And stdout is "one\ntwo\nend\n"

  Scenario: exec honours user, working directory and environment
    When I run "docker exec -u 1000:1000 -w /tmp -e FOO=bar <c> sh -c 'id; pwd; echo $FOO'"
    Then the command succeeds
    And stdout is "uid=1000 gid=1000 groups=1000\n/tmp\nbar\n"

  Scenario: An exec of a missing executable fails with 126
    When I run "docker exec <c> no-such-binary"
    Then the command exits with 126
    And stdout contains "OCI runtime exec failed: exec failed: unable to start container process: exec: "

  Scenario: exec -d returns at once and the process runs inside the container
    When I run "docker exec -d <c> sh -c 'echo detached > /tmp/mark'" successfully
    And I run "docker exec <c> sh -c 'while [ ! -f /tmp/mark ]; do sleep 0.1; done; cat /tmp/mark'"
    Then stdout is "detached\n"

  Scenario: A person types into docker exec -it
    When I open a terminal running "docker exec -it <c> sh"
    And I type "echo $((6*7))"
    Then the terminal shows "42"
    When I type "exit 3"
    Then the terminal command exits with 3

  Scenario: exec in a stopped container is refused
    Given I ran "docker run --network none --name <s> busybox true" successfully
    When I run "docker exec <s> true"
    Then the command exits with 1
    And stderr matches "Error response from daemon: Container [0-9a-f]{64} is not running\n"
