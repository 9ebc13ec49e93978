@container
Feature: Container logs: stdout and stderr, tail, timestamps, since and until

  Background:
    Given a container "c" that ran "sh -c 'echo out1; echo err1 >&2; echo out2'"

  Scenario: docker logs keeps stdout and stderr apart
    When I run "docker logs <c>"
    Then the command succeeds
    And stdout is "out1\nout2\n"
    And stderr is "err1\n"

  Scenario: The API sends a multiplexed stream with each line on its stream
    When I fetch the logs of "c" through the API with "stdout=1&stderr=1"
    Then the API log stdout is "out1\nout2\n"
    And the API log stderr is "err1\n"

  Scenario: Asking for stdout only leaves stderr out
    When I fetch the logs of "c" through the API with "stdout=1"
    Then the API log stdout is "out1\nout2\n"
    And the API log stderr is empty

  Scenario: tail keeps the last lines
    Given a container "lines" that ran "sh -c 'echo a; echo b; echo c'"
    When I run "docker logs --tail 2 <lines>"
    Then the command succeeds
    And stdout is "b\nc\n"
    When I run "docker logs --tail 0 <lines>"
    Then stdout is empty
    When I run "docker logs --tail all <lines>"
    Then stdout is "a\nb\nc\n"

  Scenario: timestamps prefix every line with an RFC 3339 time
    When I run "docker logs --timestamps <c>"
    Then the command succeeds
    And stdout matches "\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+Z out1\n\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+Z out2\n"
    And stderr matches "\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+Z err1\n"

  Scenario: since and until select lines by time
    Given a container "slow" that ran "sh -c 'echo first; sleep 2; echo second'"
    When I remember the time 1.0 seconds after the log line "first" of "slow" as "mid"
    And I run "docker logs --since <mid.value> <slow>"
    Then the command succeeds
    And stdout is "second\n"
    When I run "docker logs --until <mid.value> <slow>"
    Then the command succeeds
    And stdout is "first\n"
