@container @volume
Feature: volume events: create, mount, unmount and destroy with dockerd's attributes

  Background:
    Given the volumes of this scenario are removed after it

  Scenario: a volume's life and a container's use of it are events
    Given I remembered the current time as "t0"
    And I remembered the time 3 seconds from now as "t1"
    And I ran "docker volume create <vol>" successfully
    And I ran "docker run --rm --network none -v <vol>:/data busybox true" successfully
    And I ran "docker volume rm <vol>" successfully
    When I run "docker events --since <t0.value> --until <t1.value> --filter volume=<vol> --format '{{.Type}} {{.Action}} {{.Actor.Attributes.driver}}'"
    Then the command succeeds
    And stdout is "volume create local\nvolume create local\nvolume mount local\nvolume unmount local\nvolume destroy local\n"

  Scenario: a mount event carries the destination and read/write
    Given I remembered the current time as "t0"
    And I remembered the time 3 seconds from now as "t1"
    And I ran "docker run --rm --network none -v <vol>:/data:ro busybox true" successfully
    When I run "docker events --since <t0.value> --until <t1.value> --filter volume=<vol> --filter event=mount --format '{{range $k, $v := .Actor.Attributes}}{{$k}}={{$v}};{{end}}'"
    Then the command succeeds
    And stdout contains "destination=/data;driver=local;propagation=;read/write=false;"
