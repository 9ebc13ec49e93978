@image
Feature: Listing and inspecting images

  Scenario: GET /images/json lists busybox:latest with Docker's summary fields
    Then the image list has "busybox:latest" with
      | field       | type          | matches             |
      | Id          | string        | sha256:[0-9a-f]{64} |
      | ParentId    | string        |                     |
      | RepoTags    | array         |                     |
      | RepoDigests | array or null |                     |
      | Created     | integer       |                     |
      | Size        | integer       |                     |
      | VirtualSize | integer       |                     |
      | SharedSize  | integer       |                     |
      | Labels      | object or null |                    |
      | Containers  | integer       |                     |

  Scenario: docker images shows busybox
    When I run "docker images --format '{{.Repository}}:{{.Tag}}' busybox"
    Then the command succeeds
    And stdout contains "busybox:latest\n"

  Scenario: GET /images/{name}/json describes the image
    Then the image "busybox:latest" has
      | field              | type          | matches             |
      | Id                 | string        | sha256:[0-9a-f]{64} |
      | RepoTags           | array         |                     |
      | RepoDigests        | array         |                     |
      | Parent             | string        |                     |
      | Comment            | string        |                     |
      | Created            | string        | \d{4}-\d\d-\d\dT.*Z |
      | DockerVersion      | string        |                     |
      | Author             | string        |                     |
      | Config             | object        |                     |
      | Config.Cmd         | array         |                     |
      | Config.Env         | array         |                     |
      | Architecture       | string        | amd64\|arm64        |
      | Os                 | string        | linux               |
      | Size               | integer       |                     |
      | VirtualSize        | integer       |                     |
      | GraphDriver        | object        |                     |
      | GraphDriver.Name   | string        | .+                  |
      | RootFS             | object        |                     |
      | RootFS.Type        | string        | layers              |
      | RootFS.Layers      | array         |                     |
      | Metadata           | object        |                     |
    And the response JSON field "Config.Cmd" is ["sh"]
    And the response JSON field "Config.Env" is ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"]
    And the response JSON field "RepoTags" contains "busybox:latest"

  Scenario: Inspect finds an image by its short ID
    Given an image "<img>:v1" imported from the busybox rootfs with CMD ["true"]
    When I send GET /v1.39/images/<img.short>/json
    Then the status is 200
    And the response JSON field "Id" is "sha256:<img.id>"
