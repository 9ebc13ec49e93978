@system
Feature: GET /info describes the daemon

  Scenario: GET /v1.39/info has Docker's fields and types
    When I send GET /v1.39/info
    Then the status is 200
    And the response JSON has
      | field             | type    | matches |
      | ID                | string  | .+      |
      | Containers        | integer |         |
      | ContainersRunning | integer |         |
      | ContainersPaused  | integer |         |
      | ContainersStopped | integer |         |
      | Images            | integer |         |
      | Driver            | string  | .+      |
      | DockerRootDir     | string  | /.+     |
      | Name              | string  | .+      |
      | NCPU              | integer | [1-9]\d* |
      | MemTotal          | integer | [1-9]\d* |
      | OSType            | string  | linux   |
      | OperatingSystem   | string  | .+      |
      | Architecture      | string  | .+      |
      | KernelVersion     | string  | .+      |
      | ServerVersion     | string  | .+      |
      | LoggingDriver     | string  | json-file |
      | CgroupDriver      | string  | .+      |
      | MemoryLimit       | boolean |         |
      | Debug             | boolean |         |
      | Runtimes          | object  |         |
      | DefaultRuntime    | string  | .+      |

  Scenario: The container counts add up
    When I send GET /v1.39/info
    Then the info container counts add up

  Scenario: docker info prints the server version
    When I run "docker info --format '{{.ServerVersion}} {{.OSType}}'"
    Then the command succeeds
    And stdout matches ".+ linux\n"
