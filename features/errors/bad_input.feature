@errors
Feature: Bad input gets Docker 20.10's status code and {"message"}, and leaves nothing behind

  Scenario: Malformed JSON in a create body
    Given I counted all containers on the daemon
    When I send POST /v1.39/containers/create with raw body:
      """
      {bad
      """
    Then the status is 500
    And the error message is "invalid character 'b' looking for beginning of object key string"
    And this scenario has 0 containers
    And the daemon has as many containers as before

  Scenario: An empty create body
    When I send POST /v1.39/containers/create with raw body:
      """
      """
    Then the status is 500
    And the error message is "EOF"

  Scenario: A create body without an image
    When I send POST /v1.39/containers/create with raw body:
      """
      {}
      """
    Then the status is 400
    And the error message is "Config cannot be empty in order to create a container"

  Scenario Outline: A wrong type for <field>
    When I send POST /v1.39/containers/create with JSON:
      """
      <body>
      """
    Then the status is 500
    And the error message is "json: cannot unmarshal <json type> into Go struct field <go field> of type <go type>"
    And this scenario has 0 containers

    Examples:
      | field      | body                                                    | json type | go field                             | go type  |
      | Image      | {"Image": 123}                                          | number    | ContainerConfigWrapper.Image         | string   |
      | Env        | {"Image": "busybox", "Env": "A=1"}                      | string    | ContainerConfigWrapper.Env           | []string |
      | Memory     | {"Image": "busybox", "HostConfig": {"Memory": "x"}}     | string    | HostConfig.HostConfig.Memory         | int64    |

  Scenario Outline: An unknown container on <method> <path>
    When I send <method> /v1.39/containers/no-such-container-<prefix><path>
    Then the status is 404
    And the error message is "No such container: no-such-container-<prefix>"

    Examples:
      | method | path    |
      | GET    | /json   |
      | POST   | /start  |
      | POST   | /stop   |
      | POST   | /wait   |
      | POST   | /restart |
      | GET    | /logs?stdout=1 |
      | DELETE |         |

  Scenario: An unknown container on kill names the action
    When I send POST /v1.39/containers/no-such-container-<prefix>/kill
    Then the status is 404
    And the error message is "Cannot kill container: no-such-container-<prefix>: No such container: no-such-container-<prefix>"

  Scenario: An unknown image on inspect
    When I send GET /v1.39/images/no-such-image-<prefix>/json
    Then the status is 404
    And the error message is "no such image: no-such-image-<prefix>: No such image: no-such-image-<prefix>:latest"

  Scenario: An unknown image on delete
    When I send DELETE /v1.39/images/no-such-image-<prefix>:v1
    Then the status is 404
    And the error message is "No such image: no-such-image-<prefix>:v1"

  Scenario: Creating from an image that is not loaded fails and leaves no container
    Given I counted all containers on the daemon
    When I send POST /v1.39/containers/create?name=<c> with JSON:
      """
      {"Image": "no-such-image-<prefix>"}
      """
    Then the status is 404
    And the error message is "No such image: no-such-image-<prefix>:latest"
    And this scenario has 0 containers
    And the daemon has as many containers as before
    When I send GET /v1.39/containers/<c>/json
    Then the status is 404

  Scenario: A name already in use is a conflict and the first container is untouched
    Given a container "c" created with "true"
    When I send POST /v1.39/containers/create?name=<c> with JSON:
      """
      {"Image": "busybox", "Cmd": ["echo", "second"]}
      """
    Then the status is 409
    And the error message is "Conflict. The container name "/<c>" is already in use by container "<c.id>". You have to remove (or rename) that container to be able to reuse that name."
    And this scenario has 1 containers
    And the inspect field "Config.Cmd" of "c" is ["true"]

  Scenario: An invalid container name is rejected
    When I send POST /v1.39/containers/create?name=bad/name with JSON:
      """
      {"Image": "busybox"}
      """
    Then the status is 400
    And the error message is "Invalid container name (bad/name), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed"
    And this scenario has 0 containers

  Scenario: An invalid tag is rejected
    When I send POST /v1.39/images/busybox/tag?repo=Bad_Upper-<prefix>&tag=x
    Then the status is 500
    And the error message is "invalid reference format: repository name must be lowercase"

  Scenario: The CLI reports a missing container on stderr with a non-zero exit
    When I run "docker inspect no-such-container-<prefix>"
    Then the command fails
    And stderr contains "No such object: no-such-container-<prefix>"

  Scenario: The CLI reports a name conflict
    Given a container "c" created with "true"
    When I run "docker create --name <c> busybox true"
    Then the command fails
    And stderr contains "Conflict. The container name \"/<c>\" is already in use"
