@container
Feature: POST /containers/prune removes stopped containers
  Pruning is always narrowed to this scenario's label: the daemon is shared.

  Scenario: prune removes the stopped containers and keeps the running one
    Given a container "up" running "sleep 1000"
    And a container "done" that exited with code 0
    And a container "failed" that exited with code 1
    When I send POST /v1.39/containers/prune?filters={"label":["<label>"]}
    Then the status is 200
    And the response JSON has
      | field             | type    |
      | ContainersDeleted | array   |
      | SpaceReclaimed    | integer |
    And the response JSON field "ContainersDeleted" contains "<done.id>"
    And the response JSON field "ContainersDeleted" contains "<failed.id>"
    And the container "done" no longer exists
    And the container "failed" no longer exists
    And the container "up" is running

  Scenario: docker container prune with a label filter
    Given a container "done" that exited with code 0
    When I run "docker container prune -f --filter label=<label>"
    Then the command succeeds
    And stdout contains "<done.id>"
    And the container "done" no longer exists
