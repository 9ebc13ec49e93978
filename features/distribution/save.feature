@image
Feature: docker save archives that real docker load reads

  Scenario: The reference loads what the target saved
    Given the image "busybox" is tagged as "<prefix>-saved:1"
    When the reference loads the target's docker save of "<prefix>-saved:1"
    Then the command succeeds
    And stdout is "Loaded image: <prefix>-saved:1\n"

  Scenario: docker save writes the tarball to stdout
    Given the image "busybox" is tagged as "<prefix>-saved:2"
    When I run "docker save <prefix>-saved:2"
    Then the command succeeds

  Scenario: docker save of an image that does not exist
    When I send GET /images/<prefix>-nosuch:1/get
    Then the status is 404
    And the error message is "reference does not exist"
