@isolation
Feature: the kernel's OOM kill reaches the engine as an event, and update changes a running container live

  Scenario: an OOM kill is an oom event before the die event
    Given I remembered the current time as "t0"
    And I remembered the time 6 seconds from now as "t1"
    And I ran "docker run --name <oom> --memory 16m --memory-swap 16m busybox sh -c 'x=a; while :; do x=$x$x; done'"
    When I run "docker events --since <t0.value> --until <t1.value> --filter container=<oom> --filter event=oom --filter event=die --format '{{.Action}}'"
    Then the command succeeds
    And stdout is "oom\ndie\n"

  Scenario: a process killed by a signal without an OOM is not OOMKilled and has no oom event
    Given I remembered the current time as "t0"
    And I remembered the time 4 seconds from now as "t1"
    And I ran "docker run --name <k> --memory 64m busybox sh -c 'sleep 10 & kill -9 $!; wait $!'"
    When I run "docker inspect -f '{{.State.OOMKilled}} {{.State.ExitCode}}' <k>"
    Then stdout is "false 137\n"
    When I run "docker events --since <t0.value> --until <t1.value> --filter container=<k> --filter event=oom --format '{{.Action}}'"
    Then stdout is empty

  Scenario: OOMKilled is cleared when the container starts again
    Given I ran "docker run --name <oom> --memory 16m --memory-swap 16m busybox sh -c 'if [ -e /done ]; then exit 0; fi; touch /done; x=a; while :; do x=$x$x; done'"
    When I run "docker inspect -f '{{.State.OOMKilled}}' <oom>"
    Then stdout is "true\n"
    When I run "docker start -a <oom>"
    Then the command succeeds
    When I run "docker inspect -f '{{.State.OOMKilled}} {{.State.ExitCode}}' <oom>"
    Then stdout is "false 0\n"

  Scenario: update raises the memory limit of a running container so that a bigger allocation succeeds
    Given I ran "docker run -d --name <u> --memory 16m --memory-swap 16m busybox sleep 60" successfully
    When I run "docker update --memory 96m --memory-swap 96m <u>" successfully
    And I run "docker exec <u> sh -c 'dd if=/dev/zero of=/dev/shm/f bs=1M count=40 2>/dev/null; wc -c < /dev/shm/f'"
    Then stdout is "41943040\n"
    When I run "docker inspect -f '{{.HostConfig.Memory}} {{.State.OOMKilled}}' <u>"
    Then stdout is "100663296 false\n"

  Scenario: without the update the same allocation is OOM-killed: an oom event now, OOMKilled once it stops
    Given I remembered the current time as "t0"
    And I remembered the time 5 seconds from now as "t1"
    And I ran "docker run -d --name <u> --memory 16m --memory-swap 16m busybox sleep 60" successfully
    When I run "docker exec <u> sh -c 'dd if=/dev/zero of=/dev/shm/f bs=1M count=40'"
    Then the command exits with 137
    When I run "docker inspect -f '{{.State.OOMKilled}} {{.State.Running}}' <u>"
    Then stdout is "false true\n"
    When I run "docker kill <u>" successfully
    And I run "docker inspect -f '{{.State.OOMKilled}} {{.State.ExitCode}}' <u>"
    Then stdout is "true 137\n"
    When I run "docker events --since <t0.value> --until <t1.value> --filter container=<u> --filter event=oom --filter event=die --format '{{.Action}}'"
    Then stdout is "oom\ndie\n"

  Scenario: update of a stopped container is kept for its next start
    Given I ran "docker create --name <u> --memory 64m busybox cat /sys/fs/cgroup/memory/memory.limit_in_bytes" successfully
    When I run "docker update --memory 96m --memory-swap 192m <u>" successfully
    And I run "docker start -a <u>"
    Then stdout is "100663296\n"

  Scenario: update events carry the container's name
    Given I remembered the current time as "t0"
    And I remembered the time 3 seconds from now as "t1"
    And I ran "docker run -d --name <u> busybox sleep 60" successfully
    And I ran "docker update --cpu-shares 512 <u>" successfully
    When I run "docker events --since <t0.value> --until <t1.value> --filter container=<u> --filter event=update --format '{{.Action}} {{.Actor.Attributes.name}}'"
    Then stdout is "update <u>\n"
