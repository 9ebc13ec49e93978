@container @interactive @attach
Feature: Attach over a websocket (GET /containers/{id}/attach/ws)

  Scenario: The websocket carries stdin in and stdout and stderr out as binary messages, unmultiplexed
    Given a container "c" running "sh -c 'read x; echo out-$x; echo err-$x >&2; sleep 300'" with stdin open
    When I open the attach websocket "w" of "c" with "stream=1"
    And I write the text message "42\n" to the websocket "w"
    Then the websocket "w" receives "out-42\n"
    And the websocket "w" receives "err-42\n"
    And the websocket "w" messages are all binary

  Scenario: Before API 1.28 the output comes as text messages
    Given a container "c" running "sh -c 'read x; echo old-$x; sleep 300'" with stdin open
    When I open the attach websocket "w" of "c" with "stream=1" at API version 1.25
    And I write the binary message "7\n" to the websocket "w"
    Then the websocket "w" receives "old-7\n"
    And the websocket "w" messages are all text

  Scenario: logs=1 replays the log before the live stream
    Given a container "c" running "sh -c 'echo early; cat'" with stdin open
    And the log of "c" shows "early"
    When I open the attach websocket "w" of "c" with "logs=1&stream=1"
    Then the websocket "w" receives "early\n"
    When I write the text message "live\n" to the websocket "w"
    Then the websocket "w" receives "early\nlive\n"

  Scenario: The websocket closes with 1000 when the container exits
    Given a container "c" running "sh -c 'read x; echo bye-$x'" with stdin open
    When I open the attach websocket "w" of "c" with "stream=1"
    And I write the text message "now\n" to the websocket "w"
    Then the websocket "w" receives "bye-now\n"
    And the websocket "w" is closed with code 1000
    And the container "c" is exited

  Scenario: Closing the websocket leaves the container running
    Given a container "c" running "cat" with stdin open
    When I open the attach websocket "w" of "c" with "stream=1"
    And I write the text message "ping\n" to the websocket "w"
    Then the websocket "w" receives "ping\n"
    When I close the websocket "w"
    Then the websocket "w" is closed with code 1000
    And the container "c" is running

  Scenario: Detach keys end a websocket attach to a terminal
    Given a container "c" running "sh" with a tty and stdin open
    When I open the attach websocket "w" of "c" with "stream=1"
    And I write the text message "echo ws-$((40+2))\n" to the websocket "w"
    Then the websocket "w" receives "ws-42"
    When I write the text message "\x10\x11" to the websocket "w"
    Then the websocket "w" is closed with code 1000
    And the container "c" is running

  Scenario: A plain GET without the websocket upgrade is refused
    Given a container "c" running "cat" with stdin open
    When I send GET /containers/<c>/attach/ws?stream=1
    Then the status is 400

  Scenario: The websocket of a missing container answers 404
    When I send GET /containers/skiff-no-such-container/attach/ws?stream=1
    Then the status is 404

  Scenario: A websocket attached before the start gets the first output and feeds stdin
    Given a container "c" created with JSON
      """
      {"Cmd": ["sh", "-c", "echo started; cat"], "OpenStdin": true, "HostConfig": {"NetworkMode": "none"}}
      """
    When I open the attach websocket "w" of "c" with "stream=1"
    And I start the container "c"
    Then the websocket "w" receives "started\n"
    When I write the text message "typed\n" to the websocket "w"
    Then the websocket "w" receives "started\ntyped\n"
