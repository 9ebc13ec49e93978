@container
Feature: docker top, docker diff and docker export

  Scenario: docker top lists the container's processes
    Given a container "c" running "sleep 300"
    When I run "docker top <c>"
    Then the command succeeds
    And stdout matches "UID +PID +PPID +C +STIME +TTY +TIME +CMD\nroot +\d+ +\d+ +\d+ +\S+ +\? +\S+ +sleep 300\n"
    When I run "docker top <c> -o pid,comm"
    Then stdout matches "PID +COMMAND\n\d+ +sleep\n"

  Scenario: The top API takes ps_args and answers Titles and Processes
    Given a container "c" running "sleep 300"
    When I send GET /v1.39/containers/<c>/top?ps_args=-o%20pid,args
    Then the status is 200
    And the response JSON field "Titles" is ["PID", "COMMAND"]
    And the response JSON field "Processes.0.1" is "sleep 300"
    When I send GET /v1.39/containers/<c>/top
    Then the status is 200
    And the response JSON field "Titles" is ["UID", "PID", "PPID", "C", "STIME", "TTY", "TIME", "CMD"]

  Scenario: top of a container that is not running is a conflict
    Given a container "c" that ran "true"
    When I send GET /v1.39/containers/<c>/top
    Then the status is 409
    And the error message is "Container <c.id> is not running"

  Scenario: docker diff shows what the container added, changed and deleted
    Given a container "c" running "sleep 300"
    And I ran "docker exec <c> sh -c 'mkdir /newdir && echo hi > /newdir/f && rm /bin/true && touch /tmp/t'" successfully
    When I run "docker diff <c>"
    Then the command succeeds
    And stdout has these lines in any order
      """
      C /bin
      D /bin/true
      A /newdir
      A /newdir/f
      C /tmp
      A /tmp/t
      """
    When I send GET /v1.39/containers/<c>/changes
    Then the status is 200
    And the response JSON is, in any order, [{"Path": "/bin", "Kind": 0}, {"Path": "/bin/true", "Kind": 2}, {"Path": "/newdir", "Kind": 1}, {"Path": "/newdir/f", "Kind": 1}, {"Path": "/tmp", "Kind": 0}, {"Path": "/tmp/t", "Kind": 1}]

  Scenario: A container that changed nothing has no changes
    Given a container "c" created with "true"
    When I run "docker diff <c>"
    Then the command succeeds
    And stdout is empty
    When I send GET /v1.39/containers/<c>/changes
    Then the status is 200
    And the response JSON is null

  Scenario: docker export writes the container's filesystem as a tar
    Given a host directory "h"
    And a container "c" that ran "sh -c 'mkdir /newdir && echo hi > /newdir/f && rm /bin/true'"
    When I run "docker export -o <h.value>/c.tar <c>"
    Then the command succeeds
    And the host tar "<h.value>/c.tar" has the members "bin/busybox, bin/sh, etc/passwd, newdir, newdir/f"
    And the host tar "<h.value>/c.tar" has no member "bin/true"
    And the host tar "<h.value>/c.tar" has no member ".wh.true"
