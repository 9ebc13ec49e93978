@container @archive
Feature: The archive API: HEAD, GET and PUT /containers/{id}/archive

  Background:
    Given a container "c" running "sleep 300"
    And a tar "files" with
      | name        | type    | target    | mode |
      | hello.txt   | file    | hi\n      | 0644 |
      | d           | dir     |           | 0755 |
      | d/e         | dir     |           | 0700 |
      | d/e/f       | file    | x         | 0600 |
      | lnk         | symlink | hello.txt |      |
      | dangling    | symlink | /nowhere  |      |
      | etcl        | symlink | /etc      |      |
    And I put the tar "files" into "c" at "/tmp"

  Scenario: PUT unpacks a tar into a directory of the container
    Then the status is 200
    When I run "docker exec <c> cat /tmp/hello.txt /tmp/d/e/f"
    Then stdout is "hi\nx"
    When I run "docker exec <c> stat -c %a /tmp/d/e /tmp/d/e/f"
    Then stdout is "700\n600\n"

  Scenario: HEAD answers the path's stat in X-Docker-Container-Path-Stat
    When I send HEAD /v1.39/containers/<c>/archive?path=/tmp/hello.txt
    Then the status is 200
    And the path stat header has
      | field      | type    | matches              |
      | name       | string  | hello.txt            |
      | size       | integer | 3                    |
      | mode       | integer | 420                  |
      | mtime      | string  | 2020-09-13T12:26:40Z |
      | linkTarget | string  |                      |

  Scenario: A directory's stat has Go's directory mode bit
    When I send HEAD /v1.39/containers/<c>/archive?path=/tmp/d/e
    Then the status is 200
    And the path stat header field "name" is "e"
    And the path stat header field "mode" is 2147484096

  Scenario Outline: A symlink's stat names where it leads inside the container
    When I send HEAD /v1.39/containers/<c>/archive?path=<path>
    Then the status is 200
    And the path stat header field "name" is "<name>"
    And the path stat header field "mode" is <mode>
    And the path stat header field "linkTarget" is "<target>"

    Examples:
      | path           | name     | mode       | target          |
      | /tmp/lnk       | lnk      | 134218239  | /tmp/hello.txt  |
      | /tmp/dangling  | dangling | 134218239  | /nowhere        |
      | /tmp/etcl      | etcl     | 134218239  | /etc            |
      | /tmp/etcl/     | etcl     | 2147484141 |                 |

  Scenario: GET sends a tar of the path named by its basename, with the stat header
    When I send GET /v1.39/containers/<c>/archive?path=/tmp/d
    Then the status is 200
    And the response header "Content-Type" is "application/x-tar"
    And the path stat header field "name" is "d"
    And the response is a tar with the members "d, d/e, d/e/f"
    And the response tar member "d/e/f" holds "x"

  Scenario: GET of a symlink sends the link itself
    When I send GET /v1.39/containers/<c>/archive?path=/tmp/lnk
    Then the status is 200
    And the response is a tar with the members "lnk"

  Scenario: A path that does not exist is a 404
    When I send HEAD /v1.39/containers/<c>/archive?path=/nope
    Then the status is 404
    When I send GET /v1.39/containers/<c>/archive?path=/nope
    Then the status is 404
    And the error message is "Could not find the file /nope in container <c>"
    When I put the tar "files" into "c" at "/nope"
    Then the status is 404
    And the error message is "Could not find the file /nope in container <c.id>"

  Scenario: A path through a file, or a file with a trailing slash, is not a directory
    When I send GET /v1.39/containers/<c>/archive?path=/tmp/hello.txt/x
    Then the status is 500
    And the error message matches "lstat .*/tmp/hello.txt/x: not a directory"
    When I send GET /v1.39/containers/<c>/archive?path=/tmp/lnk/
    Then the status is 500
    And the error message matches "lstat .*/tmp/hello.txt/: not a directory"

  Scenario: PUT into a file is refused
    When I put the tar "files" into "c" at "/tmp/hello.txt"
    Then the status is 500
    And the error message is "extraction point is not a directory"

  Scenario Outline: PUT of something that is not a tar is refused
    Given a body "junk" of <size> bytes of "not a tar "
    When I put the tar "junk" into "c" at "/tmp"
    Then the status is 500
    And the error message is "Error processing tar file(exit status 1): <error>"

    Examples:
      | size | error                          |
      | 100  | unexpected EOF                 |
      | 2000 | archive/tar: invalid tar header |

  Scenario: PUT follows a symlinked destination inside the container
    Given a tar "through" with
      | name           | type | target |
      | h3b-put-probe  | file | p      |
    When I put the tar "through" into "c" at "/tmp/etcl"
    Then the status is 200
    When I run "docker exec <c> cat /etc/h3b-put-probe"
    Then stdout is "p"

  Scenario: noOverwriteDirNonDir refuses to replace a directory with a file
    Given a tar "clash" with
      | name | type | target |
      | d    | file | now a file |
    When the tar "clash" is put into "c" at "/tmp" with "noOverwriteDirNonDir=true"
    Then the status is 500
    And the error message matches "Error processing tar file\(exit status 1\): cannot overwrite directory \W/tmp/d\W with non-directory \W/tmp\W"
    When I put the tar "clash" into "c" at "/tmp"
    Then the status is 200
    When I run "docker exec <c> cat /tmp/d"
    Then stdout is "now a file"

  Scenario: PUT into a container that never ran lands in its filesystem
    Given a container "fresh" created with "cat /tmp/hello.txt"
    When I put the tar "files" into "fresh" at "/tmp"
    Then the status is 200
    When I run "docker start -a <fresh>"
    Then stdout is "hi\n"
