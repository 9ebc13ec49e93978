@container @archive
Feature: docker cp in and out of containers

  Background:
    Given a host directory "h"
    And the host file "<h.value>/in.txt" holds "data\n"

  Scenario: docker cp copies a host file into a running container and back out
    Given a container "c" running "sleep 300"
    When I run "docker cp <h.value>/in.txt <c>:/tmp/"
    Then the command succeeds
    When I run "docker exec <c> cat /tmp/in.txt"
    Then stdout is "data\n"
    When I run "docker cp <c>:/tmp/in.txt <h.value>/back.txt"
    Then the command succeeds
    And the host file "<h.value>/back.txt" holds "data\n"

  Scenario: docker cp copies directories both ways
    Given a container "c" running "sleep 300"
    And I ran "docker exec <c> sh -c 'mkdir -p /srv/tree/sub && echo deep > /srv/tree/sub/f'" successfully
    When I run "docker cp <c>:/srv/tree <h.value>/tree"
    Then the command succeeds
    And the host file "<h.value>/tree/sub/f" holds "deep\n"
    When I run "docker cp <h.value>/tree <c>:/tmp/copy"
    Then the command succeeds
    When I run "docker exec <c> cat /tmp/copy/sub/f"
    Then stdout is "deep\n"

  Scenario: docker cp into a created container is seen when it starts
    Given a container "c" created with "cat /tmp/in.txt"
    When I run "docker cp <h.value>/in.txt <c>:/tmp/"
    Then the command succeeds
    When I run "docker start -a <c>"
    Then stdout is "data\n"

  Scenario: docker cp out of a stopped container
    Given a container "c" that ran "sh -c 'echo kept > /kept.txt'"
    When I run "docker cp <c>:/kept.txt <h.value>/kept.txt"
    Then the command succeeds
    And the host file "<h.value>/kept.txt" holds "kept\n"

  Scenario: docker cp to and from stdout is a tar stream
    Given a container "c" running "sleep 300"
    When I run "docker cp <c>:/etc/hostname <h.value>/hostname"
    Then the command succeeds
    When I run "docker cp <c>:/etc/hostname -"
    Then the command succeeds
    And stdout contains "hostname"

  Scenario: docker cp of a missing path fails with the daemon's message
    Given a container "c" running "sleep 300"
    When I run "docker cp <c>:/nope <h.value>/x"
    Then the command exits with 1
    And stderr is "Error response from daemon: Could not find the file /nope in container <c>\n"
    When I run "docker cp <h.value>/in.txt <c>:/nope/x"
    Then the command exits with 1
    And stderr is "Error response from daemon: Could not find the file /nope in container <c>\n"
    When I run "docker cp <h.value>/in.txt <c>:/etc/passwd/x"
    Then the command exits with 1
    And stderr is "Error response from daemon: extraction point is not a directory\n"

  Scenario: docker cp reaches into the container's volumes, running or stopped
    Given I ran "docker run -d --network none --name <c> -v /data busybox sh -c 'echo inside > /data/v.txt; mkdir /data/sub; exec sleep 300'" successfully
    And the container "c" is known by its name
    Then within 20 seconds "docker exec <c> ls /data" prints "sub\nv.txt\n"
    When I run "docker cp <h.value>/in.txt <c>:/data/sub/"
    Then the command succeeds
    When I run "docker exec <c> cat /data/sub/in.txt"
    Then stdout is "data\n"
    When I run "docker cp <c>:/data/v.txt <h.value>/v.txt"
    Then the command succeeds
    And the host file "<h.value>/v.txt" holds "inside\n"
    When I run "docker stop -t 0 <c>" successfully
    And I run "docker cp <h.value>/in.txt <c>:/data/stopped.txt"
    Then the command succeeds
    When I run "docker cp <c>:/data/stopped.txt <h.value>/stopped.txt"
    Then the command succeeds
    And the host file "<h.value>/stopped.txt" holds "data\n"
    When I run "docker cp <c>:/data/sub <h.value>/sub"
    Then the command succeeds
    And the host file "<h.value>/sub/in.txt" holds "data\n"

  Scenario Outline: docker cp -a gives the files the container user's owner, looked up on the host
    Given the host file "<h.value>/in.txt" is owned by 4321:8765
    And I ran "docker run -d --network none --name <c> <user> busybox sleep 300" successfully
    When I run "docker cp -a <h.value>/in.txt <c>:/tmp/a.txt"
    Then the command succeeds
    When I run "docker exec <c> stat -c %u:%g /tmp/a.txt"
    Then stdout is "<owner>\n"
    When I run "docker cp <h.value>/in.txt <c>:/tmp/plain.txt"
    Then the command succeeds
    When I run "docker exec <c> stat -c %u:%g /tmp/plain.txt"
    Then stdout is "4321:8765\n"

    Examples:
      | user        | owner     |
      | --user root | 0:0       |
      | --init      | 4321:8765 |

  Scenario: docker cp -a refuses a container user the host does not know
    Given I ran "docker run -d --network none --name <c> --user 1234:5678 busybox sleep 300" successfully
    When I run "docker cp -a <h.value>/in.txt <c>:/tmp/"
    Then the command exits with 1
    And stderr is "Error response from daemon: getent unable to find entry \"1234:5678\" in passwd database\n"
