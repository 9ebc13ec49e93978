@system
Feature: Versioned and unversioned API paths

  Scenario Outline: <path> is served
    When I send GET <path>
    Then the status is 200
    And the response is a JSON array

    Examples:
      | path                    |
      | /containers/json        |
      | /v1.39/containers/json  |
      | /images/json            |
      | /v1.39/images/json      |

  Scenario Outline: A version newer than the server's is refused on <path>
    When I send GET <path>
    Then the status is 400
    And the error message matches "client version 1\.99 is too new\. Maximum supported API version is 1\.\d+"

    Examples:
      | path                   |
      | /v1.99/_ping           |
      | /v1.99/version         |
      | /v1.99/containers/json |

  Scenario: An unknown path is not found
    When I send GET /v1.39/no-such-endpoint
    Then the status is 404
    And the error message is "page not found"
