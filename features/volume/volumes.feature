@container @volume
Feature: named volumes of the local driver: data that outlives containers, the volume API and system df

  Background:
    Given the volumes of this scenario are removed after it

  Scenario: a volume written by one container is read by the next
    Given I ran "docker run --rm --network none -v <vol>:/data busybox sh -c 'echo kept > /data/f'" successfully
    When I run "docker run --rm --network none -v <vol>:/data busybox cat /data/f"
    Then the command succeeds
    And stdout is "kept\n"

  Scenario: a volume created with labels shows them in inspect
    Given I ran "docker volume create --label tier=db <vol>" successfully
    When I run "docker volume inspect -f '{{.Driver}} {{.Labels.tier}} {{.Name}}' <vol>"
    Then the command succeeds
    And stdout is "local db <vol>\n"

  Scenario: volume ls filters by name and by dangling
    Given I ran "docker volume create <vol>" successfully
    When I run "docker volume ls -q --filter name=<vol> --filter dangling=true"
    Then the command succeeds
    And stdout is "<vol>\n"

  Scenario: a volume in use cannot be removed
    Given I ran "docker run -d --name <c> --network none -v <vol>:/data busybox sleep 60" successfully
    When I run "docker volume rm <vol>"
    Then the command fails
    And stderr contains "volume is in use"

  Scenario: a volume name with bad characters is refused
    When I run "docker volume create <prefix>-bad/name"
    Then the command fails
    And stderr contains "includes invalid characters for a local volume name"

  Scenario: volume prune removes a volume no container uses
    Given I ran "docker volume create --label skiff.prune=<prefix> <vol>" successfully
    When I run "docker volume prune -f --filter label=skiff.prune=<prefix>"
    Then the command succeeds
    And stdout contains "<vol>"
    When I run "docker volume inspect <vol>"
    Then the command fails

  Scenario: system df counts the local volumes
    Given I ran "docker volume create <vol>" successfully
    When I run "docker system df --format '{{.Type}}'"
    Then the command succeeds
    And stdout contains "Local Volumes"

  Scenario: a Binds source that does not exist is created
    When I run "docker run --rm --network none -v /tmp/<prefix>-made:/x busybox ls -d /x"
    Then the command succeeds
    And stdout is "/x\n"

  Scenario: a Mounts bind source that does not exist is refused
    When I run "docker run --rm --network none --mount type=bind,source=/tmp/<prefix>-absent,target=/x busybox true"
    Then the command fails
    And stderr contains "invalid mount config for type \"bind\": bind source path does not exist: /tmp/<prefix>-absent"
