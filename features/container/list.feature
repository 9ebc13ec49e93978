@container
Feature: GET /containers/json lists containers; all, limit and filters narrow it
  Every listing here is also filtered by this scenario's own label, so other containers on the daemon don't matter.

  Background:
    Given a container "up" with label "tier=web" running "sleep 1000"
    And a container "three" that exited with code 3
    And a container "zero" that exited with code 0
    And a container "fresh" created with "true"

  Scenario: Without all only running containers are listed
    When I list this scenario's containers
    Then the list is "up"

  Scenario: all lists every container
    When I list all of this scenario's containers
    Then the list is "fresh, three, up, zero"
    And each listed container has
      | field   | type    | matches        |
      | Id      | string  | [0-9a-f]{64}   |
      | Names   | array   |                |
      | Image   | string  | busybox        |
      | ImageID | string  | sha256:.*      |
      | Command | string  |                |
      | Created | integer |                |
      | State   | string  |                |
      | Status  | string  |                |
      | Labels  | object  |                |
      | Mounts  | array   |                |

  Scenario: limit returns the most recently created containers
    When I list all of this scenario's containers with limit 1
    Then the list is "fresh"
    When I list all of this scenario's containers with limit 2
    Then the list is "fresh, zero"

  Scenario Outline: filter <filter> "<value>"
    When I list all of this scenario's containers filtered by <filter> "<value>"
    Then the list is "<listed>"

    Examples:
      | filter   | value      | listed                 |
      | id       | <up.id>    | up                     |
      | id       | <zero.short> | zero                 |
      | name     | <three>    | three                  |
      | status   | running    | up                     |
      | status   | exited     | three, zero            |
      | status   | created    | fresh                  |
      | label    | tier       | up                     |
      | label    | tier=web   | up                     |
      | label    | tier=db    |                        |
      | ancestor | busybox    | fresh, three, up, zero |
      | exited   | 3          | three                  |
      | exited   | 0          | zero                   |

  Scenario: docker ps shows names and filters like the API
    When I run "docker ps -a --filter label=<label> --filter status=exited --format '{{.Names}}'"
    Then the command succeeds
    And stdout contains "<three>\n"
    And stdout contains "<zero>\n"
    And stdout has 2 lines
