@container
Feature: Restarting a container stops it and starts it again

  Scenario: docker restart gives the running container a new start
    Given a container "c" running "sleep 1000"
    When I remember the start time of "c"
    And I run "docker restart -t 1 <c>"
    Then the command succeeds
    And the container "c" is running
    And the container "c" has a newer start time

  Scenario: restart through the API starts an exited container
    Given a container "c" that exited with code 3
    When I remember the start time of "c"
    And I send POST /v1.39/containers/<c.id>/restart?t=0
    Then the status is 204
    And the container "c" has a newer start time
    And the container "c" exits with code 3
