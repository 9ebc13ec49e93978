@container @health
Feature: Healthchecks: State.Health, health_status events and "(healthy)" in docker ps

  Scenario: A passing healthcheck makes the container healthy
    Given I remembered the current time as "t0"
    And I ran "docker run -d --network none --name <c> --health-cmd true --health-interval 1s busybox sleep 300" successfully
    Then within 20 seconds "docker inspect -f {{.State.Health.Status}} <c>" prints "healthy\n"
    When I run "docker inspect -f '{{.State.Health.FailingStreak}}/{{(index .State.Health.Log 0).ExitCode}}/{{json (index .State.Health.Log 0).Output}}' <c>"
    Then stdout is "0/0/\"\"\n"
    When I run "docker ps --filter name=<c> --format {{.Status}}"
    Then stdout matches "Up .* \(healthy\)\n"
    When I run "docker ps -a --filter name=<c> --filter health=healthy --format {{.Names}}"
    Then stdout is "<c>\n"
    When I run "docker ps -a --filter name=<c> --filter health=unhealthy --format {{.Names}}"
    Then stdout is empty
    Given I remembered the time 1 seconds from now as "t1"
    When I run "docker events --since <t0.value> --until <t1.value> --filter container=<c> --filter event=health_status --format {{.Action}}/{{.Actor.Attributes.name}}"
    Then stdout is "health_status: healthy/<c>\n"

  Scenario: The probe runs as an exec: exec_create, exec_start and exec_die events
    Given I remembered the current time as "t0"
    And I ran "docker run -d --network none --name <c> --health-cmd 'exit 0' --health-interval 1s busybox sleep 300" successfully
    Then within 20 seconds "docker inspect -f {{.State.Health.Status}} <c>" prints "healthy\n"
    Given I remembered the time 1 seconds from now as "t1"
    When I run "docker events --since <t0.value> --until <t1.value> --filter container=<c> --filter event=exec_create --format {{.Action}}"
    Then stdout matches "(exec_create: /bin/sh -c exit 0\n)+"
    When I run "docker events --since <t0.value> --until <t1.value> --filter container=<c> --filter event=exec_die --format {{.Action}}/{{.Actor.Attributes.exitCode}}"
    Then stdout matches "(exec_die/0\n)+"

  Scenario: A failing healthcheck turns unhealthy after Retries failures and logs exit code and output
    Given I remembered the current time as "t0"
    And I ran "docker run -d --network none --name <c> --health-cmd 'echo bad; echo worse >&2; exit 3' --health-interval 1s --health-retries 2 busybox sleep 300" successfully
    Then within 20 seconds "docker inspect -f {{.State.Health.Status}} <c>" prints "unhealthy\n"
    When I run "docker inspect -f '{{(index .State.Health.Log 0).ExitCode}}/{{json (index .State.Health.Log 0).Output}}' <c>"
    Then stdout matches "3/"(bad\\nworse\\n|worse\\nbad\\n)"\n"
    When I run "docker inspect -f {{.State.Health.FailingStreak}} <c>"
    Then stdout matches "[2-9]\n"
    When I run "docker ps --filter name=<c> --format {{.Status}}"
    Then stdout matches "Up .* \(unhealthy\)\n"
    When I run "docker ps -a --filter name=<c> --filter health=unhealthy --format {{.Names}}"
    Then stdout is "<c>\n"
    Given I remembered the time 1 seconds from now as "t1"
    When I run "docker events --since <t0.value> --until <t1.value> --filter container=<c> --filter event=health_status --format {{.Action}}"
    Then stdout is "health_status: unhealthy\n"

  Scenario: The log keeps the last five results and the status turns healthy again after a failure
    Given I ran "docker run -d --network none --name <c> --health-cmd 'test -e /tmp/ok' --health-interval 1s --health-retries 1 busybox sh -c 'sleep 300'" successfully
    Then within 20 seconds "docker inspect -f {{.State.Health.Status}} <c>" prints "unhealthy\n"
    When I run "docker exec <c> touch /tmp/ok" successfully
    Then within 20 seconds "docker inspect -f {{.State.Health.Status}}/{{.State.Health.FailingStreak}} <c>" prints "healthy/0\n"
    And within 20 seconds "docker inspect -f '{{len .State.Health.Log}}' <c>" prints "5\n"

  Scenario: Failures during the start period do not count
    Given I ran "docker run -d --network none --name <c> --health-cmd false --health-interval 1s --health-retries 1 --health-start-period 60s busybox sleep 300" successfully
    Then within 20 seconds "docker inspect -f '{{len .State.Health.Log}}' <c>" prints "3\n"
    When I run "docker inspect -f '{{.State.Health.Status}}/{{.State.Health.FailingStreak}}/{{(index .State.Health.Log 0).ExitCode}}' <c>"
    Then stdout is "starting/0/1\n"
    When I run "docker ps --filter name=<c> --format {{.Status}}"
    Then stdout matches "Up .* \(health: starting\)\n"

  Scenario: A probe that outlives its timeout fails with exit code -1
    Given I ran "docker run -d --network none --name <c> --health-cmd 'sleep 30' --health-interval 1s --health-timeout 500ms --health-retries 1 busybox sleep 300" successfully
    Then within 20 seconds "docker inspect -f {{.State.Health.Status}} <c>" prints "unhealthy\n"
    When I run "docker inspect -f '{{(index .State.Health.Log 0).ExitCode}}/{{(index .State.Health.Log 0).Output}}' <c>"
    Then stdout is "-1/Health check exceeded timeout (500ms)\n"

  Scenario: A test command that cannot be executed fails with exit code -1 and the runtime's error
    Given a container "c" created with JSON
      """
      {"Cmd": ["sleep", "300"], "HostConfig": {"NetworkMode": "none"},
       "Healthcheck": {"Test": ["CMD", "/no/such/probe"], "Interval": 500000000, "Retries": 1}}
      """
    And I started the container "c"
    Then within 20 seconds "docker inspect -f {{.State.Health.Status}} <c>" prints "unhealthy\n"
    When I run "docker inspect -f '{{(index .State.Health.Log 0).ExitCode}}/{{(index .State.Health.Log 0).Output}}' <c>"
    Then stdout matches "-1/OCI runtime exec failed: .*/no/such/probe.*\n"

  Scenario: Output beyond 4096 bytes is cut and marked with "..."
    Given a container "c" created with JSON
      """
      {"Cmd": ["sleep", "300"], "HostConfig": {"NetworkMode": "none"},
       "Healthcheck": {"Test": ["CMD", "sh", "-c", "yes | head -c 5000"], "Interval": 500000000}}
      """
    And I started the container "c"
    Then within 20 seconds "docker inspect -f {{.State.Health.Status}} <c>" prints "healthy\n"
    When I run "docker inspect -f '{{len (index .State.Health.Log 0).Output}}/{{slice (index .State.Health.Log 0).Output 4094}}' <c>"
    Then stdout is "4099/y\n...\n"

  Scenario: No healthcheck, NONE and an unknown test kind leave State.Health out
    Given I ran "docker run -d --network none --name <plain> busybox sleep 300" successfully
    And I ran "docker run -d --network none --name <off> --no-healthcheck busybox sleep 300" successfully
    And a container "odd" created with JSON
      """
      {"Cmd": ["sleep", "300"], "HostConfig": {"NetworkMode": "none"},
       "Healthcheck": {"Test": ["BOGUS", "true"], "Interval": 500000000}}
      """
    And I started the container "odd"
    When I run "docker inspect -f '{{json .State.Health}}/{{json .Config.Healthcheck}}' <plain> <off> <odd>"
    Then stdout is "null/null\nnull/{\"Test\":[\"NONE\"]}\nnull/{\"Test\":[\"BOGUS\",\"true\"],\"Interval\":500000000}\n"
    When I run "docker ps --filter label=<label> --filter health=none --format {{.Names}}"
    Then stdout has these lines in any order
      """
      <plain>
      <off>
      <odd>
      """

  Scenario: A stopped container's health turns unhealthy and starts over as "starting" when it starts again
    Given I ran "docker run -d --network none --name <c> --health-cmd true --health-interval 1s busybox sleep 300" successfully
    Then within 20 seconds "docker inspect -f {{.State.Health.Status}} <c>" prints "healthy\n"
    When I run "docker stop -t 1 <c>" successfully
    And I run "docker inspect -f {{.State.Status}}/{{.State.Health.Status}} <c>"
    Then stdout is "exited/unhealthy\n"
    When I run "docker start <c>" successfully
    And I run "docker inspect -f {{.State.Health.Status}}/{{.State.Health.FailingStreak}} <c>"
    Then stdout is "starting/0\n"
    And within 20 seconds "docker inspect -f {{.State.Health.Status}} <c>" prints "healthy\n"

  Scenario: An image's HEALTHCHECK applies to its containers, run flags override single fields
    Given I ran "docker create --name <base> busybox true" successfully
    And I ran "docker commit --change 'HEALTHCHECK --interval=1s --timeout=2s --retries=4 CMD test -e /bin/sh' <base> <prefix>-hc:1" successfully
    When I run "docker inspect -f '{{json .Config.Healthcheck}}' <prefix>-hc:1"
    Then stdout is "{\"Test\":[\"CMD-SHELL\",\"test -e /bin/sh\"],\"Interval\":1000000000,\"Timeout\":2000000000,\"Retries\":4}\n"
    Given I ran "docker run -d --network none --name <c> <prefix>-hc:1 sleep 300" successfully
    Then within 20 seconds "docker inspect -f {{.State.Health.Status}} <c>" prints "healthy\n"
    Given I ran "docker create --name <tuned> --health-interval 3s --health-timeout 1s <prefix>-hc:1 true" successfully
    When I run "docker inspect -f '{{json .Config.Healthcheck}}' <tuned>"
    Then stdout is "{\"Test\":[\"CMD-SHELL\",\"test -e /bin/sh\"],\"Interval\":3000000000,\"Timeout\":1000000000,\"Retries\":4}\n"

  Scenario Outline: Bad HEALTHCHECK changes are refused
    Given I ran "docker create --name <base> busybox true" successfully
    When I run "docker commit --change '<change>' <base> <prefix>-bad:1"
    Then the command fails
    And stderr is "Error response from daemon: <message>\n"

    Examples:
      | change                              | message                                       |
      | HEALTHCHECK --interval=0.5ms CMD true | Interval \"interval\" cannot be less than 1ms |
      | HEALTHCHECK --bogus=1 CMD true      | Unknown flag: bogus                           |
      | HEALTHCHECK foo                     | Unknown type \"FOO\" in HEALTHCHECK (try CMD)   |
      | HEALTHCHECK CMD                     | Missing command after HEALTHCHECK CMD         |
      | HEALTHCHECK --retries=0 CMD true    | --retries must be at least 1 (not 0)          |

  Scenario Outline: Create refuses healthcheck durations under 1ms and negative retries
    When I send POST /v1.39/containers/create with JSON:
      """
      {"Image": "busybox", "Cmd": ["true"], "Healthcheck": {"Test": ["CMD", "true"], "<field>": <value>}}
      """
    Then the status is 400
    And the error message is "<message>"

    Examples:
      | field       | value | message                                        |
      | Interval    | 500   | Interval in Healthcheck cannot be less than 1ms |
      | Timeout     | 5     | Timeout in Healthcheck cannot be less than 1ms  |
      | StartPeriod | 5     | StartPeriod in Healthcheck cannot be less than 1ms |
      | Retries     | -1    | Retries in Healthcheck cannot be negative       |
