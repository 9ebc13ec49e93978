@container @archive @security
Feature: Hostile tars put into a container never write outside its root filesystem

  The daemon and these steps share one host: a path that a hostile tar aims at on the host is checked
  there after the PUT. Inside the container, names resolve as in a chroot of its root (dockerd's docker-untar).

  Background:
    Given a host directory "hostdir"

  Scenario: A name that climbs out of the destination is refused
    Given a container "c" running "sleep 300"
    And I ran "docker exec <c> mkdir /tmp/d" successfully
    And a tar "t" with
      | name                 | type | target |
      | ../../etc/<prefix>-x | file | owned  |
    When I put the tar "t" into "c" at "/tmp/d"
    Then the status is 500
    And the error message matches "Error processing tar file\(exit status 1\): .\.\./\.\./etc/<prefix>-x. is outside of ./tmp/d."
    And the host path "/etc/<prefix>-x" does not exist
    When I run "docker exec <c> test -e /etc/<prefix>-x"
    Then the command exits with 1

  Scenario: Climbing past the root stays at the container's root
    Given a container "c" running "sleep 300"
    And a tar "t" with
      | name                                           | type | target |
      | ../../../../../../../../..<hostdir.value>/dotdot | file | owned  |
    When I put the tar "t" into "c" at "/"
    Then the status is 200
    And the host path "<hostdir.value>/dotdot" does not exist
    When I run "docker exec <c> cat <hostdir.value>/dotdot"
    Then stdout is "owned"

  Scenario: Absolute names are extracted under the destination
    Given a container "c" running "sleep 300"
    And a tar "t" with
      | name                  | type | target |
      | <hostdir.value>/abs   | file | owned  |
    When I put the tar "t" into "c" at "/tmp"
    Then the status is 200
    And the host path "<hostdir.value>/abs" does not exist
    When I run "docker exec <c> cat /tmp<hostdir.value>/abs"
    Then stdout is "owned"

  Scenario: A symlink to a host directory, then a write through it, stays in the container
    Given a container "c" running "sleep 300"
    And a tar "t" with
      | name        | type    | target          |
      | esc         | symlink | <hostdir.value> |
      | esc/through | file    | owned           |
    When I put the tar "t" into "c" at "/tmp"
    Then the status is 500
    And the error message is "Error processing tar file(exit status 1): open /tmp/esc/through: no such file or directory"
    And the host path "<hostdir.value>/through" does not exist
    When I run "docker exec <c> mkdir -p <hostdir.value>" successfully
    And I put the tar "t" into "c" at "/tmp"
    Then the status is 200
    And the host path "<hostdir.value>/through" does not exist
    When I run "docker exec <c> cat <hostdir.value>/through"
    Then stdout is "owned"

  Scenario: A symlink whose target climbs out of the destination is refused
    Given a container "c" running "sleep 300"
    And a tar "t" with
      | name | type    | target    |
      | up   | symlink | ../../etc |
    When I put the tar "t" into "c" at "/tmp"
    Then the status is 500
    And the error message matches "Error processing tar file\(exit status 1\): invalid symlink ./tmp/up. -> .\.\./\.\./etc."

  Scenario: A destination that is a symlink to a host path resolves inside the container
    Given a container "c" running "sleep 300"
    And I ran "docker exec <c> ln -s <hostdir.value> /tmp/hostlink" successfully
    And a tar "t" with
      | name | type | target |
      | f    | file | owned  |
    When I put the tar "t" into "c" at "/tmp/hostlink"
    Then the status is 404
    And the error message is "Could not find the file /tmp/hostlink in container <c.id>"
    And the host path "<hostdir.value>/f" does not exist

  Scenario: Hardlinks name files of the container, never of the host
    Given a container "c" running "sleep 300"
    And the host file "<hostdir.value>/secret" holds "host only"
    And a tar "abs" with
      | name | type     | target                 |
      | hl   | hardlink | <hostdir.value>/secret |
    And a tar "up" with
      | name | type     | target                 |
      | hl   | hardlink | ../../../../../../../../..<hostdir.value>/secret |
    And a tar "in" with
      | name | type     | target      |
      | hl   | hardlink | /etc/passwd |
    When I put the tar "abs" into "c" at "/tmp"
    Then the status is 500
    And the error message is "Error processing tar file(exit status 1): link /tmp<hostdir.value>/secret /tmp/hl: no such file or directory"
    When I put the tar "up" into "c" at "/etc"
    Then the status is 500
    And the error message matches "Error processing tar file\(exit status 1\): invalid hardlink .<hostdir.value>/secret. -> .(\.\./)+\.\.<hostdir.value>/secret."
    When I put the tar "in" into "c" at "/"
    Then the status is 200
    When I run "docker exec <c> cmp /hl /etc/passwd"
    Then the command succeeds
    And the host file "<hostdir.value>/secret" holds "host only"

  Scenario: Device nodes and fifos are made inside the container
    Given a container "c" running "sleep 300"
    And a tar "t" with
      | name  | type     | target | mode |
      | null2 | chardev  | 1:3    | 0666 |
      | loop9 | blockdev | 7:0    | 0660 |
      | ff    | fifo     |        | 0644 |
    When I put the tar "t" into "c" at "/tmp"
    Then the status is 200
    When I run "docker exec <c> stat -c %F/%t/%T/%a /tmp/null2 /tmp/loop9 /tmp/ff"
    Then stdout is "character special file/1/3/666\nblock special file/7/0/660\nfifo/0/0/644\n"

  Scenario: A container that is not running is protected the same way
    Given a container "c" created with "cat /tmp/esc/through"
    And a tar "t" with
      | name        | type     | target                 |
      | esc         | symlink  | <hostdir.value>        |
      | esc/through | file     | owned                  |
    And a tar "dir" with
      | name                    | type | target |
      | ../../../../../../../..<hostdir.value> | dir  |        |
    And a tar "hl" with
      | name | type     | target                 |
      | hl   | hardlink | <hostdir.value>/secret |
    And the host file "<hostdir.value>/secret" holds "host only"
    When I put the tar "hl" into "c" at "/"
    Then the status is 500
    And the error message is "Error processing tar file(exit status 1): link <hostdir.value>/secret /hl: no such file or directory"
    When I put the tar "t" into "c" at "/tmp"
    Then the status is 500
    And the host path "<hostdir.value>/through" does not exist
    When I put the tar "dir" into "c" at "/"
    Then the status is 200
    When I put the tar "t" into "c" at "/tmp"
    Then the status is 200
    And the host path "<hostdir.value>/through" does not exist
    When I run "docker start -a <c>"
    Then stdout is "owned"
