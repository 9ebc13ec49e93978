@container @interactive @errors
Feature: Interactive endpoints on bad input

  Scenario: Resizing a terminal with absurd sizes is accepted, as dockerd does
    Given I ran "docker run -dit --network none --name <c> busybox sh" successfully
    When I send POST /containers/<c>/resize?h=100000&w=100000
    Then the status is 200
    When I send POST /containers/<c>/resize?h=0&w=0
    Then the status is 200
    When I send POST /containers/<c>/resize?h=40&w=100
    Then the status is 200

  Scenario: Resizing a container that is not running is a conflict
    Given I ran "docker create --network none --name <c> busybox sh" successfully
    When I send POST /containers/<c>/resize?h=40&w=100
    Then the status is 409
    And the error message matches "Container [0-9a-f]{64} is not running"

  Scenario: An unknown exec instance is not found
    When I send GET /exec/nope/json
    Then the status is 404
    And the error message is "No such exec instance: nope"
    When I send POST /exec/nope/resize?h=10&w=10
    Then the status is 404

  Scenario: Exec inspect tells the process config and the exit code once it ran
    Given I ran "docker run -d --network none --name <c> busybox sleep 300" successfully
    When I send POST /containers/<c>/exec with JSON:
      """
      {"Cmd": ["sh", "-c", "exit 6"], "AttachStdout": true}
      """
    Then the status is 201
    And I remember the exec from the response as "e"
    When I start the exec "e" detached
    Then the exec "e" ends with exit code 6
    And the exec "e" has ProcessConfig {"tty": false, "entrypoint": "sh", "arguments": ["-c", "exit 6"], "privileged": false}

  Scenario: Attaching to a removed container is not found
    Given I ran "docker create --network none --name <c> busybox true" successfully
    And I ran "docker rm <c>" successfully
    When I run "docker attach <c>"
    Then the command exits with 1
    And stderr contains "No such container"
