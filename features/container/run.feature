@container
Feature: docker run attaches to the container's output and can remove it afterwards

  Scenario: docker run prints what the container writes
    When I run "docker run --rm busybox echo hello"
    Then the command succeeds
    And stdout is "hello\n"
    And stderr is empty

  Scenario: stdout and stderr stay separate
    When I run "docker run --rm busybox sh -c 'echo to-out; echo to-err >&2'"
    Then the command succeeds
    And stdout is "to-out\n"
    And stderr is "to-err\n"

  Scenario Outline: docker run exits with the container's exit code <code>
    When I run "docker run --rm busybox sh -c 'exit <code>'"
    Then the command exits with <code>

    Examples:
      | code |
      | 0    |
      | 3    |
      | 42   |

  Scenario: --rm leaves no container behind
    When I run "docker run --rm busybox true"
    Then the command succeeds
    And no container of this scenario is left

  Scenario: AutoRemove removes a container started through the API once it exits
    Given a container "c" created with JSON
      """
      {"Image": "busybox", "Cmd": ["sh", "-c", "exit 2"], "HostConfig": {"AutoRemove": true}}
      """
    And I am waiting for the container "c" with condition "removed" in the background
    When I start the container "c"
    Then the background wait returns exit code 2
    And the container "c" no longer exists

  Scenario: Without --rm the exited container stays
    When I run "docker run --name <c> busybox true"
    Then the command succeeds
    And the container "c" is known by its name
    And the container "c" exits with code 0
    And this scenario has 1 containers

  Scenario: Attaching through the API streams the output of a started container
    Given a container "c" created with "sh -c 'echo one; echo two >&2'"
    When I run "docker start -a <c>"
    Then the command succeeds
    And stdout is "one\n"
    And stderr is "two\n"
