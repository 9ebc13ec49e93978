@image
Feature: docker commit makes a layer over the image's layers; docker history shows each layer's size

  Scenario: A commit adds the container's diff as one layer over the image's layers
    Given I ran "docker run --name <c> busybox sh -c 'echo hi > /hello; rm /bin/vi; mkdir -p /x/y; echo 12345 > /x/y/z'" successfully
    When I run "docker commit -a 'Ann <ann@example.com>' -m 'a message' -c 'ENV FOO=bar' <c> <img>:1"
    Then the command succeeds
    And stdout matches "sha256:[0-9a-f]{64}\n"
    And the image "<img>:1" has the layers of "busybox" and 1 more
    And the image "<img>:1" has the parent "busybox"
    And the image "<img>:1" has
      | field   | type   |
      | Author  | string |
      | Comment | string |
    And the response JSON field "Author" is "Ann <ann@example.com>"
    And the response JSON field "Comment" is "a message"
    And the response JSON field "Config.Env" contains "FOO=bar"
    And the response JSON field "ContainerConfig.Cmd" is ["sh", "-c", "echo hi > /hello; rm /bin/vi; mkdir -p /x/y; echo 12345 > /x/y/z"]
    When I run "docker run --rm <img>:1 sh -c 'cat /hello /x/y/z; ls /bin/vi 2>/dev/null || echo no-vi; echo $FOO'"
    Then stdout is "hi\n12345\nno-vi\nbar\n"

  Scenario: docker history lists the commit's own layer size, then the base image by its ID and tag
    Given I ran "docker run --name <c> busybox sh -c 'echo hi > /hello; echo 12345 > /z'" successfully
    And I ran "docker commit -m 'two files' <c> <img>:1" successfully
    And I remember the ID of image "busybox" as "busybox"
    When I run "docker history --format '{{.Size}}|{{.CreatedBy}}|{{.Comment}}' <img>:1"
    Then the command succeeds
    And stdout has 2 lines
    And stdout matches "9B\|sh -c echo hi > /hello; echo 12345 > /z\|two files\n.*"
    When I run "docker history --no-trunc --format '{{.ID}}' <img>:1"
    Then stdout matches "sha256:[0-9a-f]{64}\n<busybox.value>\n"

  Scenario: GET /images/{name}/history has dockerd's fields: Id and Tags along the parent chain
    Given I ran "docker run --name <c> busybox sh -c 'echo abc > /f'" successfully
    And I ran "docker commit <c> <img>:1" successfully
    And I remember the ID of image "busybox" as "busybox"
    When I send GET /v1.39/images/<img>:1/history
    Then the status is 200
    And the response is a JSON array
    And the response JSON field "0.Size" is 4
    And the response JSON field "0.Tags" is ["<img>:1"]
    And the response JSON field "0.Comment" is ""
    And the response JSON field "0.CreatedBy" is "sh -c echo abc > /f"
    And the response JSON field "1.Id" is "<busybox.value>"
    And the response JSON field "1.Tags" contains "busybox:latest"
    And the response JSON has
      | field       | type    |
      | 0.Id        | string  |
      | 0.Created   | integer |
      | 1.Size      | integer |
      | 1.Created   | integer |
      | 1.CreatedBy | string  |

  Scenario: A container that changed nothing commits to an image with the same layers and an empty history entry
    Given I ran "docker create --name <c> busybox true" successfully
    When I run "docker commit <c> <img>:1"
    Then the command succeeds
    And the image "<img>:1" has the layers of "busybox" and 0 more
    When I run "docker history --format '{{.Size}}|{{.CreatedBy}}' <img>:1"
    Then stdout matches "0B\|true\n.*"

  Scenario: An untagged commit through the API with changes, author and comment
    Given I ran "docker run --name <c> busybox sh -c 'echo x > /y'" successfully
    When I commit the container "c" through the API with "author=Bob&comment=api%20commit&changes=CMD%20%5B%22cat%22%2C%22%2Fy%22%5D&changes=WORKDIR%20%2Ftmp" and remember the image as "img"
    Then the status is 201
    When I run "docker run --rm <img.value> pwd"
    Then stdout is "/tmp\n"
    When I run "docker run --rm <img.value>"
    Then stdout is "x\n"
    When I run "docker image inspect -f '{{.Author}}|{{.Comment}}|{{json .RepoTags}}' <img.value>"
    Then stdout is "Bob|api commit|[]\n"

  Scenario: A running container is paused while it is committed, unless pause=false
    Given I ran "docker run -d --name <c> busybox sleep 60" successfully
    When I run "docker commit <c> <img>:1"
    Then the command succeeds
    And the events of container "c" are "create,start,pause,commit,unpause"
    And the commit event of container "c" has the attributes
      | key      | value      |
      | imageRef | <img>:1    |
      | comment  |            |
      | name     | <c>        |
    When I run "docker commit --pause=false <c> <img>:2"
    Then the command succeeds
    And the events of container "c" are "create,start,pause,commit,unpause,commit"
    When I run "docker inspect -f '{{.State.Status}}' <c>"
    Then stdout is "running\n"

  Scenario: The base of a commit keeps its ID when untagged, is refused by ID, and goes with its last child
    Given an image "<base>:1" imported from the busybox rootfs with CMD ["sh"]
    And I ran "docker run --name <c> <base>:1 sh -c 'echo x > /x'" successfully
    And I ran "docker commit <c> <img>:1" successfully
    And I ran "docker rm <c>" successfully
    When I run "docker rmi <base>:1"
    Then stdout is "Untagged: <base>:1\n"
    When I run "docker images -q --no-trunc"
    Then stdout does not contain "<base.value>"
    When I run "docker images -a -q --no-trunc"
    Then stdout contains "<base.value>"
    When I run "docker history -q --no-trunc <img>:1"
    Then stdout matches "sha256:[0-9a-f]{64}\n<base.value>\n"
    When I run "docker rmi <base.value>"
    Then the command fails
    And stderr is "Error response from daemon: conflict: unable to delete <base.short> (cannot be forced) - image has dependent child images\n"
    When I run "docker rmi <img>:1"
    Then the command succeeds
    And stdout contains "Untagged: <img>:1\n"
    And stdout contains "Deleted: <base.value>\n"
