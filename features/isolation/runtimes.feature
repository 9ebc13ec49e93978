@isolation
Feature: a container chooses its OCI runtime by name (HostConfig.Runtime)

  Scenario: a container without --runtime gets the daemon's default runtime, runc
    Given I ran "docker create --name <c> busybox true" successfully
    When I run "docker inspect -f '{{.HostConfig.Runtime}}' <c>"
    Then stdout is "runc\n"

  Scenario: --runtime runc names the default runtime explicitly
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

  Scenario: the default runtime is listed by info
    When I run "docker info --format '{{.DefaultRuntime}} {{.Runtimes.runc.Path}}'"
    Then stdout matches "^runc \S*runc\n$"
