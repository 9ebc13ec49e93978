@container @network
Feature: network events: create, connect, disconnect and destroy with dockerd's attributes

  Scenario: a network's life and a container's use of it are events
    Given I remembered the current time as "t0"
    And I remembered the time 4 seconds from now as "t1"
    And a network "net"
    And I ran "docker run --rm --network <net> busybox true" successfully
    And I ran "docker network rm <net>" successfully
    When I run "docker events --since <t0.value> --until <t1.value> --filter network=<net> --format '{{.Type}} {{.Action}} {{.Actor.Attributes.name}} {{.Actor.Attributes.type}}'"
    Then the command succeeds
    And stdout is "network create <net> bridge\nnetwork connect <net> bridge\nnetwork disconnect <net> bridge\nnetwork destroy <net> bridge\n"

  Scenario: connect and disconnect of a running container are events naming the container
    Given a network "net"
    And I ran "docker run -d --name <c> --network none busybox sleep 60" successfully
    And I ran "docker create --name <d> busybox true" successfully
    And I remembered the current time as "t0"
    And I remembered the time 3 seconds from now as "t1"
    And I ran "docker network connect <net> <d>" successfully
    And I ran "docker network disconnect <net> <d>" successfully
    And I ran "docker run -d --name <e> busybox sleep 60" successfully
    And I ran "docker network connect <net> <e>" successfully
    When I run "docker events --since <t0.value> --until <t1.value> --filter network=<net> --filter event=connect --format '{{.Action}} {{.Actor.Attributes.name}}'"
    Then the command succeeds
    And stdout is "connect <net>\n"
    When I run "docker inspect -f '{{.Id}}' <e>" and remember stdout as "eid"
    And I run "docker events --since <t0.value> --until <t1.value> --filter network=<net> --filter event=connect --format '{{.Actor.Attributes.container}}'"
    Then stdout is "<eid.value>\n"
    When I run "docker events --since <t0.value> --until <t1.value> --filter network=<net> --filter event=disconnect --format '{{.Action}}'"
    Then stdout is "disconnect\n"
