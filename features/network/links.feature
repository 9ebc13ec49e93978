@container @network
Feature: legacy --link on the default bridge: the linked container's address, ports, name and env as variables

  Scenario: --link gives the ALIAS_PORT, ALIAS_NAME and ALIAS_ENV variables
    Given I ran "docker run -d --name <db> -e FOO=bar --expose 80 --expose 53/udp busybox sleep 60" successfully
    When I run "docker inspect -f '{{.NetworkSettings.IPAddress}}' <db>" and remember stdout as "ip"
    And I run "docker run --rm --name <web> --link <db>:my-db busybox sh -c 'env | grep ^MY_DB_ | sort'"
    Then the command succeeds
    And stdout is "MY_DB_ENV_FOO=bar\nMY_DB_NAME=/<web>/my-db\nMY_DB_PORT=udp://<ip.value>:53\nMY_DB_PORT_53_UDP=udp://<ip.value>:53\nMY_DB_PORT_53_UDP_ADDR=<ip.value>\nMY_DB_PORT_53_UDP_PORT=53\nMY_DB_PORT_53_UDP_PROTO=udp\nMY_DB_PORT_80_TCP=tcp://<ip.value>:80\nMY_DB_PORT_80_TCP_ADDR=<ip.value>\nMY_DB_PORT_80_TCP_PORT=80\nMY_DB_PORT_80_TCP_PROTO=tcp\n"

  Scenario: a run of three or more contiguous ports gets START and END variables
    Given I ran "docker run -d --name <db> --expose 7000-7002 busybox sleep 60" successfully
    When I run "docker run --rm --link <db>:db busybox sh -c 'env | grep -e _START= -e _END= | sort | cut -d: -f1,3'"
    Then the command succeeds
    And stdout is "DB_PORT_7000_TCP_END=tcp:7002\nDB_PORT_7000_TCP_PORT_END=7002\nDB_PORT_7000_TCP_PORT_START=7000\nDB_PORT_7000_TCP_START=tcp:7000\n"

  Scenario: the container's own Env wins over a link variable of the same name
    Given I ran "docker run -d --name <db> busybox sleep 60" successfully
    When I run "docker run --rm -e DB_NAME=mine --link <db>:db busybox sh -c 'echo $DB_NAME'"
    Then the command succeeds
    And stdout is "mine\n"
