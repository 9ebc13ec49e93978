@container
Feature: Create and start containers
  POST /containers/create makes a container from an image; POST /containers/{id}/start runs it.

  Scenario: A created container gets a 64-hex ID and an auto-generated name
    When I send POST /v1.39/containers/create with JSON:
      """
      {"Image": "busybox", "Cmd": ["true"]}
      """
    Then the status is 201
    And the response JSON field "Id" matches "[0-9a-f]{64}"
    And the response JSON field "Warnings" is []
    When the container "c" is known by its ID from the response
    Then the container "c" is created
    And the inspect field "Name" of "c" matches "/[a-z]+_[a-z]+[0-9]*"
    And the inspect field "Id" of "c" matches "[0-9a-f]{64}"

  Scenario: A container created with a name is found by that name
    When I send POST /v1.39/containers/create?name=<web> with JSON:
      """
      {"Image": "busybox", "Cmd": ["sleep", "1000"]}
      """
    Then the status is 201
    When I send GET /v1.39/containers/<web>/json
    Then the status is 200
    And the response JSON field "Name" is "/<web>"
    And the response JSON field "State.Status" is "created"

  Scenario: The CLI prints the new container's full ID
    When I run "docker create --name <c> busybox true"
    Then the command succeeds
    And stdout matches "[0-9a-f]{64}\n"
    When the container "c" is known by its ID from stdout
    Then the container "c" is created

  Scenario: Starting a created container runs its command
    Given a container "c" created with "sh -c 'exit 0'"
    When I start the container "c"
    Then the container "c" exits with code 0
    And the inspect field "State.Running" of "c" is false
    And the inspect field "State.StartedAt" of "c" matches "\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+Z"

  Scenario: Starting through the API answers 204, and 304 when already running
    Given a container "c" created with "sleep 1000"
    When I send POST /v1.39/containers/<c.id>/start
    Then the status is 204
    And the container "c" is running
    When I send POST /v1.39/containers/<c.id>/start
    Then the status is 304

  Scenario: docker run -d prints the ID and leaves the container running
    When I run "docker run -d --name <c> busybox sleep 1000"
    Then the command succeeds
    When the container "c" is known by its ID from stdout
    Then the container "c" is running
    And the inspect field "State.Pid" of "c" matches "[1-9][0-9]*"
