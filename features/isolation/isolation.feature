@isolation
Feature: a container is isolated from the host and bounded by its resource limits

  Scenario: a process over its memory limit is OOM-killed and inspect says so
    When I run "docker run --name <oom> --memory 16m --memory-swap 16m busybox sh -c 'x=a; while :; do x=$x$x; done'"
    Then the command exits with 137
    When I run "docker inspect -f '{{.State.OOMKilled}} {{.State.ExitCode}}' <oom>"
    Then stdout is "true 137\n"

  Scenario: --pids-limit 10 stops a fork bomb at 10 processes
    When I run "docker run --rm --pids-limit 10 busybox sh -c 'i=0; while [ $i -lt 30 ]; do (sleep 5 &) 2>/dev/null; i=$((i+1)); done; n=0; for d in /proc/[0-9]*; do n=$((n+1)); done; echo procs=$n'"
    Then the command succeeds
    And stdout matches "^procs=(9|10)\n$"

  Scenario: without a pids limit the same loop starts all its processes
    When I run "docker run --rm busybox sh -c 'i=0; while [ $i -lt 30 ]; do (sleep 5 &) 2>/dev/null; i=$((i+1)); done; n=0; for d in /proc/[0-9]*; do n=$((n+1)); done; echo procs=$n'"
    Then stdout is "procs=31\n"

  Scenario: --cpus 0.5 holds a busy loop near half a core
    When I run "docker run --rm --cpus 0.5 busybox sh -c 'while :; do :; done & p=$!; sleep 0.3; read -r x x x x x x x x x x x x x u1 s1 x < /proc/$p/stat; sleep 2; read -r x x x x x x x x x x x x x u2 s2 x < /proc/$p/stat; kill $p; t=$((u2+s2-u1-s1)); if [ $t -ge 40 ] && [ $t -le 130 ]; then echo near-half; else echo ticks=$t; fi'"
    Then stdout is "near-half\n"

  Scenario Outline: a default container cannot <what>
    When I run "docker run --rm busybox <command>"
    Then the command fails
    And stderr contains "<message>"

    Examples:
      | what                     | command                   | message                 |
      | mount a filesystem       | mount -t tmpfs none /mnt  | permission denied       |
      | unshare a mount ns       | unshare -m true           | Operation not permitted |
      | make a user namespace    | unshare -U true           | Operation not permitted |
      | reboot the machine       | reboot -f                 | Operation not permitted |
      | read /proc/kcore         | cat /proc/kcore           | /proc/kcore             |
      | set a link down          | ip link set lo down       | Operation not permitted |

  Scenario: seccomp=unconfined lifts the default profile (a user namespace needs no capability)
    When I run "docker run --rm --security-opt seccomp=unconfined busybox unshare -U true"
    Then the command succeeds

  Scenario: --cap-add NET_ADMIN lets ip link set lo down work
    When I run "docker run --rm --cap-add NET_ADMIN busybox ip link set lo down"
    Then the command succeeds

  Scenario: --cap-drop ALL with --cap-add chown leaves exactly CAP_CHOWN
    When I run "docker run --rm --cap-drop ALL --cap-add chown busybox grep CapEff /proc/self/status"
    Then stdout is "CapEff:\t0000000000000001\n"

  Scenario: an unknown capability is refused
    When I run "docker run --rm --cap-add foo busybox true"
    Then the command fails
    And stderr contains "unknown capability: \"CAP_FOO\""

  Scenario: no-new-privileges sets the process flag
    When I run "docker run --rm --security-opt no-new-privileges busybox grep NoNewPrivs /proc/self/status"
    Then stdout is "NoNewPrivs:\t1\n"

  Scenario: --read-only makes / unwritable while --tmpfs /tmp stays writable
    When I run "docker run --rm --read-only --tmpfs /tmp busybox sh -c 'touch /x 2>/dev/null && echo root-writable; touch /tmp/y && echo tmp-writable'"
    Then the command succeeds
    And stdout is "tmp-writable\n"

  Scenario: --read-only alone makes / unwritable
    When I run "docker run --rm --read-only busybox touch /x"
    Then the command fails
    And stderr contains "Read-only file system"

  Scenario: --user 1000:1000 runs as that id
    When I run "docker run --rm --user 1000:1000 busybox id"
    Then stdout is "uid=1000 gid=1000 groups=1000\n"

  Scenario: --group-add adds a supplementary group
    When I run "docker run --rm --group-add 10 busybox id -G"
    Then stdout is "0 10\n"

  Scenario: a container sees only its own processes
    When I run "docker run --rm busybox sh -c 'n=0; for d in /proc/[0-9]*; do n=$((n+1)); done; echo $n'"
    Then stdout is "1\n"

  Scenario: a container does not see the host's network interfaces
    When I run "docker run --rm busybox ls /sys/class/net"
    Then the command succeeds
    And stdout contains "lo"
    And stdout does not contain "docker0"
    And stdout does not contain "ifb0"

  Scenario: docker update changes the limits of a running container
    Given I ran "docker run -d --name <u> --memory 64m --cpus 1 busybox sleep 60" successfully
    When I run "docker update --memory 96m --memory-swap 192m --cpus 0.5 <u>" successfully
    And I run "docker exec <u> cat /sys/fs/cgroup/memory/memory.limit_in_bytes /sys/fs/cgroup/cpu/cpu.cfs_quota_us"
    Then stdout is "100663296\n50000\n"

  Scenario: the container sees its own cgroups read-only at /sys/fs/cgroup
    When I run "docker run --rm --memory 64m busybox sh -c 'cat /sys/fs/cgroup/memory/memory.limit_in_bytes; mkdir /sys/fs/cgroup/memory/x'"
    Then the command fails
    And stdout is "67108864\n"
    And stderr contains "Read-only file system"

  Scenario: --device makes a host device node in the container
    When I run "docker run --rm --device /dev/null:/dev/mynull busybox ls -l /dev/mynull"
    Then the command succeeds
    And stdout matches "^crw-rw-rw- +1 root +root +1, +3 .* /dev/mynull\n$"

  Scenario: a device cgroup rule lets a made node be opened
    When I run "docker run --rm --device-cgroup-rule 'c 1:11 rwm' busybox sh -c 'mknod /tmp/k c 1 11 && echo skiff-test > /tmp/k && echo wrote'"
    Then stdout is "wrote\n"

  Scenario: without the rule the made node cannot be opened
    When I run "docker run --rm busybox sh -c 'mknod /tmp/k c 1 11 && echo skiff-test > /tmp/k'"
    Then the command fails
    And stderr contains "Operation not permitted"

  Scenario Outline: <what> is refused at create and leaves no container
    When I run "docker create <flags> busybox true"
    Then the command fails
    And stderr contains "<message>"
    And no container of this scenario is left

    Examples:
      | what                  | flags              | message                                  |
      | more CPUs than exist  | --cpus 100         | Range of CPUs is from 0.01 to            |
      | a tiny memory limit   | --memory 1m        | Minimum memory limit allowed is 6MB      |
      | an unknown capability | --cap-drop bogus   | unknown capability: \"CAP_BOGUS\"        |
