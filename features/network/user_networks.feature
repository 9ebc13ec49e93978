@container @network
Feature: user-defined bridge networks: name resolution, aliases, connect, inspect, delete and faults

  Scenario: two containers on a user network reach each other by name
    Given a network "net"
    And I ran "docker run -d --name <srv> --network <net> busybox httpd -f -p 8080 -h /etc" successfully
    When I run "docker run --rm --network <net> busybox sh -c 'ping -c1 -W2 <srv> >/dev/null && wget -qO- http://<srv>:8080/hostname'"
    Then the command succeeds
    And stdout matches "[0-9a-f]{12}\n"

  Scenario: a network alias resolves to the container
    Given a network "net"
    And I ran "docker run -d --name <srv> --network <net> --network-alias webalias busybox httpd -f -p 8080 -h /etc" successfully
    When I run "docker run --rm --network <net> busybox wget -qO- http://webalias:8080/hostname"
    Then the command succeeds
    And stdout matches "[0-9a-f]{12}\n"

  Scenario: the resolver of a user network is the embedded one
    Given a network "net"
    When I run "docker run --rm --network <net> busybox grep nameserver /etc/resolv.conf"
    Then the command succeeds
    And stdout is "nameserver 127.0.0.11\n"

  Scenario: docker network connect gives a running container an interface on the network
    Given a network "net"
    And I ran "docker run -d --name <a> busybox sleep 60" successfully
    When I run "docker network connect <net> <a>"
    Then the command succeeds
    When I run "docker inspect -f '{{len .NetworkSettings.Networks}}' <a>"
    Then stdout is "2\n"
    When I run "docker network disconnect <net> <a>"
    Then the command succeeds
    When I run "docker inspect -f '{{len .NetworkSettings.Networks}}' <a>"
    Then stdout is "1\n"

  Scenario: a connected container is reachable by name from the network
    Given a network "net"
    And I ran "docker run -d --name <srv> busybox httpd -f -p 8080 -h /etc" successfully
    And I ran "docker network connect <net> <srv>" successfully
    When I run "docker run --rm --network <net> busybox wget -qO- http://<srv>:8080/hostname"
    Then the command succeeds

  Scenario: a static address on a user network with a subnet
    Given a network "net" created with "--subnet 10.252.61.0/24"
    When I run "docker run --rm --network <net> --ip 10.252.61.77 busybox sh -c 'ip -o -4 addr show eth0 | grep -o 10.252.61.77/24'"
    Then the command succeeds
    And stdout is "10.252.61.77/24\n"

  Scenario: network inspect lists the attached container
    Given a network "net"
    And I ran "docker run -d --name <a> --network <net> busybox sleep 60" successfully
    When I run "docker network inspect -f '{{range .Containers}}{{.Name}}{{end}}' <net>"
    Then stdout is "<a>\n"

  Scenario: a network in use cannot be removed
    Given a network "net"
    And I ran "docker run -d --name <a> --network <net> busybox sleep 60" successfully
    When I run "docker network rm <net>"
    Then the command fails
    And stderr contains "has active endpoints"

  Scenario: overlapping subnets are refused
    Given a network "net" created with "--subnet 10.252.61.0/24"
    When I run "docker network create --subnet 10.252.61.128/25 <other>"
    Then the command fails
    And stderr contains "Pool overlaps with other one on this address space"

  Scenario: a second network with the same name is refused
    Given a network "net"
    When I run "docker network create <net>"
    Then the command fails
    And stderr contains "network with name <net> already exists"

  Scenario: a pre-defined network cannot be removed
    When I run "docker network rm bridge"
    Then the command fails
    And stderr contains "bridge is a pre-defined network and cannot be removed"

  Scenario: a static address on the default bridge is refused
    When I run "docker run --rm --ip 10.252.61.78 busybox true"
    Then the command fails
    And stderr contains "user specified IP address is supported on user defined networks only"

  Scenario: connecting to a network that does not exist
    Given I ran "docker run -d --name <a> busybox sleep 60" successfully
    When I run "docker network connect <nosuch> <a>"
    Then the command fails
    And stderr contains "network <nosuch> not found"
    When I run "docker network disconnect <nosuch> <a>"
    Then the command fails
    And stderr contains "network <nosuch> not found"

  Scenario: the default networks are listed
    When I run "docker network ls --filter type=builtin --format {{.Name}}"
    Then the command succeeds
    And stdout is "bridge\nhost\nnone\n"

  Scenario: verbose inspect of a local network answers as the plain one
    Given a network "net"
    And I ran "docker run -d --name <c> --network <net> busybox sleep 60" successfully
    When I run "docker network inspect -v -f '{{.Name}} {{len .Containers}} {{len .Services}} {{.Scope}}' <net>"
    Then the command succeeds
    And stdout is "<net> 1 0 local\n"

  Scenario: inspect in another scope than local finds no local network
    Given a network "net"
    When I send GET /networks/<net>?scope=swarm
    Then the status is 404
    And the error message is "network <net> not found"
    When I send GET /networks/<net>?scope=local
    Then the status is 200
    And the response JSON field "Scope" is "local"
