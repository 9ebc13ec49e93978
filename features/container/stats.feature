@container
Feature: Container stats, one-shot and streaming

  Scenario: docker stats --no-stream shows one line per container
    Given a container "c" running "sleep 300"
    When I run "docker stats --no-stream --format {{.Name}}/{{.PIDs}} <c>"
    Then the command succeeds
    And stdout is "<c>/1\n"

  Scenario: A one-shot reading has the cgroup figures and a previous reading
    Given a container "c" running "sleep 300"
    When I send GET /v1.39/containers/<c>/stats?stream=0
    Then the status is 200
    And the response JSON has
      | field                              | type    | matches                |
      | name                               | string  | /<c>                   |
      | id                                 | string  | <c.id>                 |
      | read                               | string  | \d{4}-.*Z              |
      | preread                            | string  | \d{4}-.*Z              |
      | pids_stats.current                 | integer | 1                      |
      | memory_stats.usage                 | integer | [1-9]\d*               |
      | memory_stats.limit                 | integer | [1-9]\d*               |
      | cpu_stats.cpu_usage.total_usage    | integer | [1-9]\d*               |
      | cpu_stats.system_cpu_usage         | integer | [1-9]\d*               |
      | cpu_stats.online_cpus              | integer | [1-9]\d*               |
      | precpu_stats.cpu_usage.total_usage | integer | [1-9]\d*               |
      | blkio_stats                        | object  |                        |

  Scenario: The stream sends a reading every second
    Given a container "c" running "sleep 300"
    When I read 2 stats readings of "c" from the stream
    Then each stats reading has
      | field                           | type    | matches   |
      | name                            | string  | /<c>      |
      | read                            | string  | \d{4}-.*Z |
      | pids_stats.current              | integer | 1         |
      | memory_stats.usage              | integer | [1-9]\d*  |
    And the stats reading 0 field "preread" is "0001-01-01T00:00:00Z"

  Scenario: A container that is not running reads as zeros
    Given a container "c" created with "true"
    When I send GET /v1.39/containers/<c>/stats?stream=0
    Then the status is 200
    And the response JSON field "read" is "0001-01-01T00:00:00Z"
    And the response JSON field "pids_stats" is {}
    And the response JSON field "memory_stats" is {}
    And the response JSON field "name" is "/<c>"
    When I run "docker stats --no-stream --format {{.Name}}/{{.PIDs}}/{{.MemUsage}} <c>"
    Then stdout is "<c>/0/0B / 0B\n"
