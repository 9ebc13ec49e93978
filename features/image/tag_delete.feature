@image
Feature: Tagging and deleting images

  Scenario: POST /images/{name}/tag adds a reference to the same image
    When I send POST /v1.39/images/busybox/tag?repo=<tagged>&tag=v1
    Then the status is 201
    And the image "<tagged>:v1" has the same ID as "busybox:latest"
    When I send DELETE /v1.39/images/<tagged>:v1
    Then the status is 200

  Scenario: docker tag and docker rmi of a tag only untag
    When I run "docker tag busybox <tagged>:v2"
    Then the command succeeds
    And the image "<tagged>:v2" has the same ID as "busybox:latest"
    When I run "docker rmi <tagged>:v2"
    Then the command succeeds
    And stdout is "Untagged: <tagged>:v2\n"
    And the image "<tagged>:v2" does not exist
    And the image "busybox:latest" exists

  Scenario: Deleting the last tag of an image deletes the image
    Given an image "<img>:v1" imported from the busybox rootfs with CMD ["true"]
    When I send DELETE /v1.39/images/<img>:v1
    Then the status is 200
    And the response JSON field "0.Untagged" is "<img>:v1"
    And the response JSON field "1.Deleted" is "sha256:<img.id>"
    And the image "<img>:v1" does not exist

  Scenario: An image used by a container is not deleted without force
    Given an image "<img>:v1" imported from the busybox rootfs with CMD ["true"]
    And a container "c" created with JSON
      """
      {"Image": "<img>:v1"}
      """
    When I send DELETE /v1.39/images/<img>:v1
    Then the status is 409
    And the error message is "conflict: unable to remove repository reference "<img>:v1" (must force) - container <c.short> is using its referenced image <img.short>"
