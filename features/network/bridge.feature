@container @network
Feature: containers on the default bridge network, in host/none/container modes, with published ports

  Scenario: a container on the default bridge has eth0 with an address and a default route
    When I run "docker run --rm busybox sh -c 'ip -o -4 addr show eth0 | wc -l; ip route | grep -c ^default'"
    Then the command succeeds
    And stdout is "1\n1\n"

  Scenario: /etc/hosts maps the container's hostname to its address
    When I run "docker run --rm --hostname box1 busybox sh -c 'grep box1 /etc/hosts | cut -f1 | grep -c .; hostname'"
    Then the command succeeds
    And stdout is "1\nbox1\n"

  Scenario: the address in inspect is the one inside the container
    Given I ran "docker run -d --name <web> busybox sleep 60" successfully
    And I ran "docker inspect -f {{.NetworkSettings.IPAddress}} <web>" and remembered stdout as "ip"
    When I run "docker inspect -f {{.NetworkSettings.Networks.bridge.IPAddress}} <web>"
    Then stdout is "<ip.value>\n"

  Scenario: two containers on the default bridge reach each other by address
    Given I ran "docker run -d --name <web> busybox httpd -f -p 8080 -h /etc" successfully
    And I ran "docker inspect -f {{.NetworkSettings.IPAddress}} <web>" and remembered stdout as "ip"
    When I run "docker run --rm busybox sh -c 'for i in 1 2 3 4 5 6 7 8 9 10; do wget -qO- http://<ip.value>:8080/hostname && exit 0; sleep 0.2; done; exit 1'"
    Then the command succeeds
    And stdout matches "^[0-9a-f]{12}\n$"

  Scenario: --network none has only the loopback interface
    When I run "docker run --rm --network none busybox sh -c 'ls /sys/class/net'"
    Then the command succeeds
    And stdout is "lo\n"

  Scenario: --network host sees the host's interfaces
    When I run "docker run --rm --network host busybox ls /sys/class/net/docker0/address"
    Then the command succeeds

  Scenario: --network container:<id> shares the other container's interface
    Given I ran "docker run -d --name <a> busybox sleep 60" successfully
    And I ran "docker inspect -f {{.NetworkSettings.MacAddress}} <a>" and remembered stdout as "mac"
    When I run "docker run --rm --network container:<a> busybox cat /sys/class/net/eth0/address"
    Then the command succeeds
    And stdout is "<mac.value>\n"

  Scenario: a published port answers on the host's loopback
    Given I ran "docker run -d --name <web> -p 18517:80 busybox httpd -f -p 80 -h /etc" successfully
    And the container "web" is known by its name
    When I run "docker port <web> 80/tcp"
    Then stdout contains "0.0.0.0:18517"
    And an HTTP GET of "http://127.0.0.1:18517/hostname" from the host answers "<web.short>\n"

  Scenario: publishing a port that another container holds is refused
    Given I ran "docker run -d --name <web> -p 18518:80 busybox httpd -f -p 80" successfully
    When I run "docker run --name <other> -p 18518:80 busybox true"
    Then the command fails
    And stderr contains "failed: port is already allocated"

  Scenario: -P publishes the exposed ports on ephemeral host ports
    Given I ran "docker run -d --name <web> -P --expose 90 busybox httpd -f -p 90 -h /etc" successfully
    When I run "docker port <web> 90/tcp"
    Then the command succeeds
    And stdout contains "0.0.0.0:"

  Scenario: docker ps shows the published ports
    Given I ran "docker run -d --name <web> -p 18519:80 busybox httpd -f -p 80" successfully
    When I run "docker ps --filter name=<web> --format {{.Ports}}"
    Then stdout contains "0.0.0.0:18519->80/tcp"

  Scenario: --link on the default bridge puts the linked container in /etc/hosts
    Given I ran "docker run -d --name <db> busybox sleep 60" successfully
    And I ran "docker inspect -f {{.NetworkSettings.IPAddress}} <db>" and remembered stdout as "ip"
    When I run "docker run --rm --link <db>:dbalias busybox sh -c 'grep -w dbalias /etc/hosts | cut -f1'"
    Then the command succeeds
    And stdout is "<ip.value>\n"
