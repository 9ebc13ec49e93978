@isolation
Feature: a container chooses its OCI runtime by name (HostConfig.Runtime)

  Scenario: a container without --runtime gets the daemon's default runtime
    Given I ran "docker info --format {{.DefaultRuntime}}" and remembered stdout as "default"
    And I ran "docker create --name <c> busybox true" successfully
    When I run "docker inspect -f '{{.HostConfig.Runtime}}' <c>"
    Then stdout is "<default.value>\n"

  Scenario: --runtime runc runs the container with the runtime named runc
    When I run "docker run --rm --runtime runc busybox echo hi"
    Then the command succeeds
    And stdout is "hi\n"

  Scenario: an unknown runtime is refused at create and leaves no container
    When I run "docker create --runtime nosuch busybox true"
    Then the command fails
    And stderr contains "Error response from daemon: Unknown runtime specified nosuch"
    And no container of this scenario is left

  Scenario: docker run with an unknown runtime exits 125
    When I run "docker run --rm --runtime nosuch busybox true"
    Then the command exits with 125
    And stderr contains "Unknown runtime specified nosuch"

  Scenario: info lists runc and the default runtime with their paths
    When I run "docker info --format '{{.Runtimes.runc.Path}} {{with index .Runtimes .DefaultRuntime}}{{.Path}}{{end}}'"
    Then stdout matches "^\S*runc \S+\n$"
