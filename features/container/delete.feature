@container
Feature: Deleting containers: DELETE /containers/{id} with force and v

  Scenario: An exited container is removed
    Given a container "c" that exited with code 0
    When I send DELETE /v1.39/containers/<c.id>
    Then the status is 204
    And the container "c" no longer exists

  Scenario: docker rm prints the name it was given
    Given a container "c" created with "true"
    When I run "docker rm <c>"
    Then the command succeeds
    And stdout is "<c>\n"
    And the container "c" no longer exists

  Scenario: A running container is not removed without force
    Given a container "c" running "sleep 1000"
    When I send DELETE /v1.39/containers/<c.id>
    Then the status is 409
    And the error message is "You cannot remove a running container <c.id>. Stop the container before attempting removal or force remove"
    And the container "c" is running

  Scenario: force removes a running container
    Given a container "c" running "sleep 1000"
    When I send DELETE /v1.39/containers/<c.id>?force=1
    Then the status is 204
    And the container "c" no longer exists

  Scenario: v removes the container's anonymous volumes
    Given a container "c" created with JSON
      """
      {"Image": "busybox", "Cmd": ["true"], "Volumes": {"/data": {}}}
      """
    And the anonymous volume of "c" is remembered as "vol"
    When I send DELETE /v1.39/containers/<c.id>?v=1
    Then the status is 204
    And the volume "vol" no longer exists

  Scenario: Without v the anonymous volume stays
    Given a container "c" created with JSON
      """
      {"Image": "busybox", "Cmd": ["true"], "Volumes": {"/data": {}}}
      """
    And the anonymous volume of "c" is remembered as "vol"
    When I send DELETE /v1.39/containers/<c.id>
    Then the status is 204
    And the volume "vol" still exists
