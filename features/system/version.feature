@system
Feature: GET /version, and the CLI negotiating an API version

  Scenario: GET /v1.39/version describes the server
    When I send GET /v1.39/version
    Then the status is 200
    And the response JSON has
      | field         | type   | matches        |
      | Version       | string | .+             |
      | ApiVersion    | string | 1\.\d+         |
      | MinAPIVersion | string | 1\.\d+         |
      | Os            | string | linux          |
      | Arch          | string | .+             |
      | KernelVersion | string | .+             |
      | GitCommit     | string |                |
      | GoVersion     | string |                |
      | Components    | array  |                |
      | Components.0.Name    | string | Engine  |
      | Components.0.Version | string | .+      |

  Scenario: docker version works and shows the server's version
    When I run "docker version --format '{{.Server.Version}}'"
    Then the command succeeds
    And stdout matches ".+\n"

  Scenario: The CLI pinned to API 1.39 talks 1.39
    When I run "DOCKER_API_VERSION=1.39 docker version --format '{{.Client.APIVersion}}'"
    Then the command succeeds
    And stdout is "1.39\n"
    When I run "DOCKER_API_VERSION=1.39 docker run --rm busybox echo pinned"
    Then the command succeeds
    And stdout is "pinned\n"

  Scenario: The negotiated version is one the server supports
    When I run "docker version --format '{{.Client.APIVersion}} {{.Server.MinAPIVersion}} {{.Server.APIVersion}}'"
    Then the command succeeds
    And the negotiated API version is between the server's minimum and maximum
