@image
Feature: docker image prune: dangling images, -a, filters, and the space of the layers that went away

  Commits of a scenario's containers carry the scenario's label (from the container's config), so every
  prune here is narrowed with --filter label=<label> and never touches another scenario's images.

  Background:
    Given I ran "docker run --name <c1> busybox sh -c 'echo abc > /f'" successfully
    And I ran "docker commit <c1> <img>:1" successfully
    And I ran "docker run --name <c2> busybox sh -c 'echo abcdefgh > /g'" successfully
    And I committed the container "c2" without a name and remembered the image as "d"

  Scenario: Prune removes the dangling image and reports the size of its layer
    When I run "docker image prune -f --filter label=<label>"
    Then the command succeeds
    And stdout contains "Deleted Images:\ndeleted: <d.value>\n"
    And stdout contains "Total reclaimed space: 9B"
    And the image "<img>:1" exists
    And the image "<d.value>" does not exist

  Scenario: Prune -a also removes tagged images no container uses
    When I run "docker image prune -a -f --filter label=<label>"
    Then the command succeeds
    And stdout contains "untagged: <img>:1\n"
    And stdout contains "deleted: <d.value>\n"
    And stdout contains "Total reclaimed space: 13B"
    And the image "<img>:1" does not exist

  Scenario: An image a container uses is never pruned
    Given I ran "docker create --name <user> <d.value> true" successfully
    When I run "docker image prune -a -f --filter label=<label>"
    Then the command succeeds
    And stdout contains "untagged: <img>:1\n"
    And stdout does not contain "<d.value>"
    And the image "<d.value>" exists

  Scenario: until keeps images created after the given time
    When I run "docker image prune -a -f --filter label=<label> --filter until=2001-01-01T00:00:00Z"
    Then the command succeeds
    And stdout is "Total reclaimed space: 0B\n"
    And the image "<img>:1" exists
    And the image "<d.value>" exists

  Scenario: label! keeps the images that carry the label
    When I run "docker image prune -a -f --filter label=<label> --filter label!=<label>"
    Then the command succeeds
    And stdout is "Total reclaimed space: 0B\n"

  Scenario: POST /images/prune answers ImagesDeleted and SpaceReclaimed
    When I send POST /v1.39/images/prune?filters={"label":["<label>"]}
    Then the status is 200
    And the response JSON field "SpaceReclaimed" is 9
    And the response JSON field "ImagesDeleted" contains {"Deleted": "<d.value>"}
    When I send POST /v1.39/images/prune?filters={"label":["<label>"]}
    Then the status is 200
    And the response JSON is {"ImagesDeleted": null, "SpaceReclaimed": 0}

  Scenario: A dangling filter that is neither true nor false is refused
    When I send POST /v1.39/images/prune?filters={"dangling":["maybe"]}
    Then the status is 400
    And the error message is "Invalid filter 'dangling=[maybe]'"
