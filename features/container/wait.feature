@container
Feature: Waiting for a container: POST /containers/{id}/wait with its conditions

  Scenario Outline: wait returns the exit code of <command>
    Given a container "c" created with "<command>"
    And I am waiting for the container "c" with condition "next-exit" in the background
    When I start the container "c"
    Then the background wait returns exit code <code>

    Examples:
      | command         | code |
      | sh -c 'exit 3'  | 3    |
      | true            | 0    |
      | false           | 1    |

  Scenario: not-running returns at once for a container that was never started
    Given a container "c" created with "true"
    When I wait for the container "c" with condition "not-running"
    Then the status is 200
    And the response JSON field "StatusCode" is 0

  Scenario: not-running on an exited container gives its exit code
    Given a container "c" that exited with code 7
    When I wait for the container "c" with condition "not-running"
    Then the status is 200
    And the response JSON field "StatusCode" is 7

  Scenario: The default condition waits for the running container to stop
    Given a container "c" running "sh -c 'trap "exit 5" USR1; while :; do sleep 0.1; done'"
    And I am waiting for the container "c" with condition "not-running" in the background
    When I run "docker kill -s USR1 <c>"
    Then the background wait returns exit code 5

  Scenario: removed waits until the container is deleted
    Given a container "c" that exited with code 4
    And I am waiting for the container "c" with condition "removed" in the background
    When I remove the container "c"
    Then the background wait returns exit code 4

  Scenario: docker wait prints the exit code
    Given a container "c" that exited with code 3
    When I run "docker wait <c>"
    Then the command succeeds
    And stdout is "3\n"
