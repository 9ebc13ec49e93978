@system
Feature: GET and HEAD /_ping tell a client what it talks to

  Scenario Outline: <method> <path> answers 200 with the API version, OS type and server headers
    When I send <method> <path>
    Then the status is 200
    And the response header "Api-Version" matches "1\.\d+"
    And the response header "OSType" is "linux"
    And the response header "Server" matches ".+\(linux\)"
    And the response header "Cache-Control" is "no-cache, no-store, must-revalidate"
    And the response header "Pragma" is "no-cache"

    Examples:
      | method | path          |
      | GET    | /_ping        |
      | GET    | /v1.39/_ping  |
      | HEAD   | /_ping        |
      | HEAD   | /v1.39/_ping  |

  Scenario: GET /_ping answers OK as plain text
    When I send GET /_ping
    Then the response body is "OK"
    And the response header "Content-Type" is "text/plain; charset=utf-8"

  Scenario: HEAD /_ping has no body
    When I send HEAD /_ping
    Then the response body is empty
