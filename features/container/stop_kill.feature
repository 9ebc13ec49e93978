@container
Feature: Stopping and killing containers

  Scenario: stop kills a process that ignores TERM after the timeout, with exit code 137
    Given a container "c" running "sh -c 'trap "" TERM; while :; do sleep 0.1; done'"
    When I run "docker stop -t 1 <c>"
    Then the command succeeds
    And the command took at least 1.0 seconds
    And the container "c" exits with code 137

  Scenario: stop ends a sh under an init with TERM: exit code 143, well before the timeout
    When I run "docker run -d --init --name <c> busybox sh -c 'while :; do sleep 0.1; done'"
    Then the command succeeds
    When the container "c" is known by its ID from stdout
    Then the container "c" is running
    When I run "docker stop -t 20 <c>"
    Then the command succeeds
    And the command took less than 10.0 seconds
    And the container "c" exits with code 143

  Scenario: stop through the API answers 204, then 304 for a stopped container
    Given a container "c" running "sleep 1000"
    When I send POST /v1.39/containers/<c.id>/stop?t=0
    Then the status is 204
    And the container "c" exits with code 137
    When I send POST /v1.39/containers/<c.id>/stop?t=0
    Then the status is 304

  Scenario Outline: kill -s <signal> delivers the signal by name or number
    Given a container "c" running "sh -c 'trap "exit 10" USR1; trap "exit 12" USR2; while :; do sleep 0.1; done'"
    When I run "docker kill -s <signal> <c>"
    Then the command succeeds
    And stdout is "<c>\n"
    And the container "c" exits with code <code>

    Examples:
      | signal  | code |
      | KILL    | 137  |
      | SIGKILL | 137  |
      | 9       | 137  |
      | USR1    | 10   |
      | SIGUSR1 | 10   |
      | 10      | 10   |
      | USR2    | 12   |
      | 12      | 12   |

  Scenario: kill without a signal sends KILL
    Given a container "c" running "sleep 1000"
    When I send POST /v1.39/containers/<c.id>/kill
    Then the status is 204
    And the container "c" exits with code 137

  Scenario: kill of a container that is not running is a conflict
    Given a container "c" created with "true"
    When I send POST /v1.39/containers/<c>/kill
    Then the status is 409
    And the error message is "Cannot kill container: <c>: Container <c.id> is not running"

  Scenario: kill with an unknown signal is rejected
    Given a container "c" running "sleep 1000"
    When I send POST /v1.39/containers/<c.id>/kill?signal=BOGUS
    Then the status is 400
    And the error message is "Invalid signal: BOGUS"
    And the container "c" is running
