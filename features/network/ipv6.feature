@container @network
Feature: IPv6 on a user-defined bridge network (--ipv6 --subnet)

  Scenario: a container on an IPv6 network gets an IPv6 address and gateway
    Given a network "net6" created with "--ipv6 --subnet fd00:5a5a:61::/64"
    And I ran "docker run -d --name <a> --network <net6> busybox sleep 60" successfully
    When I run "docker inspect -f '{{range .NetworkSettings.Networks}}{{.GlobalIPv6Address}}/{{.GlobalIPv6PrefixLen}} via {{.IPv6Gateway}}{{end}}' <a>"
    Then the command succeeds
    And stdout is "fd00:5a5a:61::2/64 via fd00:5a5a:61::1\n"
    When I run "docker exec <a> sh -c 'ip -o -6 addr show eth0 scope global | grep -o fd00:5a5a:61::2/64'"
    Then the command succeeds
    And stdout is "fd00:5a5a:61::2/64\n"

  Scenario: network inspect shows the IPv6 subnet and the container's IPv6 address
    Given a network "net6" created with "--ipv6 --subnet fd00:5a5a:62::/64"
    And I ran "docker run -d --name <a> --network <net6> busybox sleep 60" successfully
    When I run "docker network inspect -f '{{.EnableIPv6}} {{range .IPAM.Config}}{{.Subnet}} {{end}}{{range .Containers}}{{.IPv6Address}}{{end}}' <net6>"
    Then the command succeeds
    And stdout matches "true [0-9.]+/[0-9]+ fd00:5a5a:62::/64 fd00:5a5a:62::2/64\n"

  Scenario: two containers on an IPv6 network ping each other over IPv6
    Given a network "net6" created with "--ipv6 --subnet fd00:5a5a:63::/64"
    And I ran "docker run -d --name <a> --network <net6> busybox sleep 60" successfully
    When I run "docker run --rm --network <net6> busybox ping -6 -c1 -W3 fd00:5a5a:63::2"
    Then the command succeeds
    And stdout contains "1 packets received"

  Scenario: the embedded DNS answers a container's IPv6 address
    Given a network "net6" created with "--ipv6 --subnet fd00:5a5a:64::/64"
    And I ran "docker run -d --name <a> --network <net6> busybox sleep 60" successfully
    When I run "docker run --rm --network <net6> busybox ping -6 -c1 -W3 <a>"
    Then the command succeeds
    And stdout contains "(fd00:5a5a:64::2)"

  Scenario: --ipv6 without an IPv6 subnet is refused, as dockerd has no default IPv6 pool
    When I run "docker network create --ipv6 <prefix>-nov6"
    Then the command fails
    And stderr contains "could not find an available, non-overlapping IPv6 address pool among the defaults to assign to the network"

  Scenario: an IPv6 subnet that overlaps another network's is refused
    Given a network "net6" created with "--ipv6 --subnet fd00:5a5a:65::/64"
    When I run "docker network create --ipv6 --subnet fd00:5a5a:65::/80 <prefix>-overlap6"
    Then the command fails
    And stderr contains "Pool overlaps with other one on this address space"
