@container
Feature: GET /containers/{id}/json describes a container with the fields and types Docker fills

  Scenario: Inspect of a running container
    Given a container "c" running "sleep 1000"
    Then the inspect of "c" has
      | field                           | type             | matches                 |
      | Id                              | string           | [0-9a-f]{64}            |
      | Created                         | string           | \d{4}-\d\d-\d\dT.*Z     |
      | Path                            | string           | sleep                   |
      | Args                            | array            |                         |
      | Name                            | string           | /<c>                    |
      | Image                           | string           | sha256:[0-9a-f]{64}     |
      | RestartCount                    | integer          | 0                       |
      | Driver                          | string           |                         |
      | Platform                        | string           | linux                   |
      | State                           | object           |                         |
      | State.Status                    | string           | running                 |
      | State.Running                   | boolean          | True                    |
      | State.Paused                    | boolean          | False                   |
      | State.Restarting                | boolean          | False                   |
      | State.OOMKilled                 | boolean          | False                   |
      | State.Dead                      | boolean          | False                   |
      | State.Pid                       | integer          | [1-9]\d*                |
      | State.ExitCode                  | integer          | 0                       |
      | State.Error                     | string           |                         |
      | State.StartedAt                 | string           | \d{4}-\d\d-\d\dT.*Z     |
      | State.FinishedAt                | string           | 0001-01-01T00:00:00Z    |
      | Config                          | object           |                         |
      | Config.Hostname                 | string           | [0-9a-f]{12}            |
      | Config.Image                    | string           | busybox                 |
      | Config.Cmd                      | array            |                         |
      | Config.Env                      | array            |                         |
      | Config.Labels                   | object           |                         |
      | Config.Tty                      | boolean          | False                   |
      | Config.OpenStdin                | boolean          | False                   |
      | Config.WorkingDir               | string           |                         |
      | Config.Entrypoint               | null or array    |                         |
      | HostConfig                      | object           |                         |
      | HostConfig.NetworkMode          | string           |                         |
      | HostConfig.AutoRemove           | boolean          | False                   |
      | HostConfig.RestartPolicy        | object           |                         |
      | HostConfig.RestartPolicy.Name   | string           |                         |
      | HostConfig.LogConfig.Type       | string           | json-file               |
      | HostConfig.Binds                | null or array    |                         |
      | HostConfig.Memory               | integer          | 0                       |
      | HostConfig.Privileged           | boolean          | False                   |
      | Mounts                          | array            |                         |
      | GraphDriver                     | object           |                         |
      | GraphDriver.Name                | string           | .+                      |
      | GraphDriver.Data                | object or null   |                         |
      | NetworkSettings                 | object           |                         |

  Scenario: Inspect reflects the command, environment and labels the container was created with
    Given a container "c" created with JSON
      """
      {"Image": "busybox", "Cmd": ["sh", "-c", "echo hi"], "Env": ["A=1"], "Labels": {"role": "probe"}}
      """
    Then the inspect field "Path" of "c" is "sh"
    And the inspect field "Args" of "c" is ["-c", "echo hi"]
    And the inspect field "Config.Cmd" of "c" is ["sh", "-c", "echo hi"]
    And the inspect field "Config.Env" of "c" is ["A=1", "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"]
    And the inspect field "Config.Labels.role" of "c" is "probe"
    And the inspect field "State.Status" of "c" is "created"
    And the inspect field "State.Pid" of "c" is 0
    And the inspect field "State.StartedAt" of "c" is "0001-01-01T00:00:00Z"
    And the inspect field "Mounts" of "c" is []

  Scenario: Inspect of an exited container has its exit code and finish time
    Given a container "c" that exited with code 3
    Then the inspect field "State.Status" of "c" is "exited"
    And the inspect field "State.ExitCode" of "c" is 3
    And the inspect field "State.Running" of "c" is false
    And the inspect field "State.Pid" of "c" is 0
    And the inspect field "State.FinishedAt" of "c" matches "\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+Z"

  Scenario: Inspect by name, by full ID and by ID prefix finds the same container
    Given a container "c" created with "true"
    When I send GET /v1.39/containers/<c>/json
    Then the response JSON field "Id" is "<c.id>"
    When I send GET /v1.39/containers/<c.short>/json
    Then the response JSON field "Id" is "<c.id>"
    When I send GET /containers/<c.id>/json
    Then the response JSON field "Name" is "/<c>"

  Scenario: docker inspect --format reads fields
    Given a container "c" that exited with code 3
    When I run "docker inspect --format '{{.State.Status}} {{.State.ExitCode}}' <c>"
    Then the command succeeds
    And stdout is "exited 3\n"
