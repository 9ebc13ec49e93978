@container @interactive
Feature: pause/unpause and the events stream

  Scenario: A paused container is frozen, refuses exec, and runs again after unpause
    Given I ran "docker run --network none -d --name <c> busybox sleep 300" successfully
    When I run "docker pause <c>" successfully
    And I run "docker inspect -f {{.State.Status}}/{{.State.Paused}}/{{.State.Running}} <c>"
    Then stdout is "paused/true/true\n"
    When I run "docker exec <c> true"
    Then the command exits with 1
    And stderr is "Error response from daemon: Container <c> is paused, unpause the container before exec\n"
    When I run "docker pause <c>"
    Then the command exits with 1
    And stderr matches "Error response from daemon: Container [0-9a-f]{64} is already paused\n"
    When I run "docker unpause <c>" successfully
    And I run "docker inspect -f {{.State.Status}}/{{.State.Paused}} <c>"
    Then stdout is "running/false\n"
    When I run "docker unpause <c>"
    Then the command exits with 1
    And stderr matches "Error response from daemon: Container [0-9a-f]{64} is not paused\n"

  Scenario: docker rm -f removes a paused container
    Given I ran "docker run --network none -d --name <c> busybox sleep 300" successfully
    And I ran "docker pause <c>" successfully
    When I run "docker rm -f <c>"
    Then the command succeeds

  Scenario: docker events replays a container's life between since and until
    Given I remembered the current time as "t0"
    And I remembered the time 3 seconds from now as "t1"
    And I ran "docker run --network none --name <c> busybox sh -c 'exit 2'"
    When I run "docker events --since <t0.value> --until <t1.value> --filter container=<c> --format {{.Action}}"
    Then the command succeeds
    And stdout is "create\nattach\nstart\ndie\n"

  Scenario: docker events filters by event and carries the exit code of die
    Given I remembered the current time as "t0"
    And I remembered the time 3 seconds from now as "t1"
    And I ran "docker run --network none --name <c> busybox sh -c 'exit 3'"
    When I run "docker events --since <t0.value> --until <t1.value> --filter container=<c> --filter event=die --format {{.Type}}/{{.Action}}/{{.Actor.Attributes.exitCode}}"
    Then stdout is "container/die/3\n"

  Scenario: docker events reports exec_create, exec_start and exec_die
    Given I remembered the current time as "t0"
    And I remembered the time 3 seconds from now as "t1"
    And I ran "docker run --network none -d --name <c> busybox sleep 300" successfully
    And I ran "docker exec <c> sh -c 'exit 5'"
    When I run "docker events --since <t0.value> --until <t1.value> --filter container=<c> --filter event=exec_die --format {{.Action}}/{{.Actor.Attributes.exitCode}}"
    Then stdout is "exec_die/5\n"
    When I run "docker events --since <t0.value> --until <t1.value> --filter container=<c> --filter event=exec_create --format {{.Action}}"
    Then stdout is "exec_create: sh -c exit 5\n"
