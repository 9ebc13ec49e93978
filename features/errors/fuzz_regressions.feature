@errors @fuzz
Feature: Inputs the fuzzer (schemathesis) once crashed or hung Skiff on answer as dockerd 20.10 does

  # conformance/fuzz found: a push of a name that is not a valid reference started the JSON stream and then
  # failed inside it, aborting the response; dockerd answers 500 with the parse error before streaming.
  Scenario: Pushing an image by an upper-case name
    When with the header "X-Registry-Auth: e30=" I send POST /v1.39/images/NotLowerCase/push
    Then the status is 500
    And the error message is "invalid reference format: repository name must be lowercase"

  Scenario: Pushing with a tag that is not a tag
    When with the header "X-Registry-Auth: e30=" I send POST /v1.39/images/busybox/push?tag=not%20a%20tag
    Then the status is 500
    And the error message is "invalid tag format"

  # conformance/fuzz found: a body-taking operation sent without a body waited for one until the client gave
  # up (connexion had already taken the empty request message); now an absent body reads as empty.
  Scenario: Loading images without a body answers at once, with the error in the stream
    When I send POST /v1.39/images/load
    Then the status is 200
    And the response JSON field "error" matches ".+"

  Scenario: Uploading an archive without a body to a missing container
    When I send PUT /v1.39/containers/<prefix>-nosuch/archive?path=/
    Then the status is 404
    And the error message is "No such container: <prefix>-nosuch"

  # conformance/fuzz found: connexion decoded JSON bodies as UTF-8 before parsing, so a byte that is not
  # UTF-8 answered 500 with a Python message; dockerd's decoder reads bytes and names the bad one.
  Scenario: A JSON body that starts with a byte that is not UTF-8
    When with the JSON bytes "ba" I send POST /v1.39/volumes/create
    Then the status is 400
    And the error message is "invalid character 'º' looking for beginning of value"

  # conformance/fuzz found: a registry name IDNA cannot encode raised a Python UnicodeError (500 with its text)
  Scenario: Logging in to a registry whose name no DNS can hold
    When with the JSON bytes "7b22757365726e616d65223a2261222c2270617373776f7264223a2262222c2273657276657261646472657373223a22c29278227d" I send POST /v1.39/auth
    Then the status is 500
    And the error message matches "Get ".*/v2/": dial tcp: lookup.*no such host"

  # conformance/fuzz found: a search term IDNA cannot encode raised a Python UnicodeError (500 with its text);
  # dockerd checks the limit first and looks a term without "." or ":" up on the default index.
  Scenario: Searching with a limit out of range
    When I send GET /v1.39/images/search?term=busybox&limit=1174
    Then the status is 400
    And the error message is "Limit 1174 is outside the range of [1, 100]"

  # conformance/fuzz (stateful: create -> start -> kill) found: a kill that lands while the process ends and
  # its shim leaves answered 503 "shim ... is unavailable"; dockerd answers 204, or 409 once it saw the exit.
  Scenario: Killing containers whose process ends at once
    When 8 containers of "true" are each started and at once killed with signal "KILL"
    Then every kill answered 204 or 409

  Scenario: Signalling containers whose process ends at once
    When 8 containers of "true" are each started and at once killed with signal "TERM"
    Then every kill answered 204 or 409

  # conformance/fuzz (replayed on the reference) found: a volume list filters value that is not JSON answered
  # 500 with Python's decoder message; dockerd's volume routes answer 400 with Go's (the other lists: 500).
  Scenario: Listing volumes with filters that are not JSON
    When I send GET /v1.39/volumes?filters=%5BR%1A
    Then the status is 400
    And the error message is "error reading volume filters: invalid character 'R' looking for beginning of value"

  # conformance/fuzz found: the reference-name check (Docker's grammar as a Python regex) backtracked
  # exponentially on a long run of digits that then fails, holding the image store ~40 s (read timeouts on
  # /images/..., /info, /system/df); dockerd's RE2 answers at once.
  Scenario: Exporting by a name that looks like a long number
    When I send GET /v1.39/images/get?names=4.980969714951716e%2B213
    Then the status is 500
    And the error message is "invalid reference format"

  # conformance/fuzz (stateful, against the qemu reference) found: dockerd reads stop/restart ?t= with Go's
  # strconv.Atoi and answers its refusal with a 500, before looking the container up (P23).
  Scenario Outline: A stop or restart timeout that is not an integer
    When I send POST /v1.39/containers/<prefix>-nosuch/<action>?t=<t>
    Then the status is 500
    And the error message is "strconv.Atoi: parsing "<t>": invalid syntax"

    Examples:
      | action  | t   |
      | stop    | e   |
      | restart | 1.5 |

  Scenario: A stop timeout beyond 64 bits
    When I send POST /v1.39/containers/<prefix>-nosuch/stop?t=99999999999999999999
    Then the status is 500
    And the error message is "strconv.Atoi: parsing "99999999999999999999": value out of range"

  Scenario: A stop with a valid timeout reaches the container lookup
    When I send POST /v1.39/containers/<prefix>-nosuch/stop?t=-1
    Then the status is 404
    And the error message is "No such container: <prefix>-nosuch"

  # conformance/fuzz found: dockerd refuses an empty or blank network name with libnetwork's 500
  Scenario: Creating a network with an empty name
    When I send POST /v1.39/networks/create with JSON:
      """
      {"Name": ""}
      """
    Then the status is 500
    And the error message is "invalid name: "

  Scenario: Creating a network with a blank name
    When I send POST /v1.39/networks/create with JSON:
      """
      {"Name": "  "}
      """
    Then the status is 500
    And the error message is "invalid name:   "
