@container @interactive @attach
Feature: Detach keys end an attach to a terminal, the container keeps running

  Scenario: ctrl-p ctrl-q on an attach to a terminal ends the attach, not the container
    Given a container "c" running "sh" with a tty and stdin open
    When I attach "a" to "c" with "stream=1&stdin=1&stdout=1&stderr=1"
    And I send "echo one-$((40+2))\n" to the attach "a"
    Then the attach "a" shows "one-42"
    When I send "\x10" to the attach "a"
    And I send "\x11" to the attach "a"
    Then the attach "a" ends
    And the container "c" is running
    And the events of "c" include "attach, detach"

  Scenario: Bytes before the detach keys in the same write still reach the container
    Given a container "c" running "sh" with a tty and stdin open
    When I attach "a" to "c" with "stream=1&stdin=1&stdout=1"
    And I send "echo before > /tmp/mark\n\x10\x11echo after > /tmp/mark\n" to the attach "a"
    Then the attach "a" ends
    When I attach "b" to "c" with "stream=1&stdin=1&stdout=1"
    And I send "cat /tmp/mark\n" to the attach "b"
    Then the attach "b" shows "\r\nbefore\r\n"

  Scenario: A broken detach sequence passes its bytes on
    Given a container "c" running "sh" with a tty and stdin open
    When I attach "a" to "c" with "stream=1&stdin=1&stdout=1"
    And I send "\x10" to the attach "a"
    And I send "echo still-$((6*7))\n" to the attach "a"
    Then the attach "a" shows "still-42"
    And the attach "a" is still open

  Scenario: detachKeys chooses another sequence; ctrl-p ctrl-q then reach the container
    Given a container "c" running "sh" with a tty and stdin open
    When I attach "a" to "c" with "stream=1&stdin=1&stdout=1&detachKeys=ctrl-a,x"
    And I send "\x10\x11echo custom-$((6*7))\n" to the attach "a"
    Then the attach "a" shows "custom-42"
    And the attach "a" is still open
    When I send "\x01x" to the attach "a"
    Then the attach "a" ends
    And the container "c" is running

  Scenario: Without a terminal the detach keys are ordinary input
    Given a container "c" running "cat" with stdin open
    When I attach "a" to "c" with "stream=1&stdin=1&stdout=1"
    And I send "x\x10\x11y\n" to the attach "a"
    Then the attach "a" shows "x\x10\x11y\n"
    And the attach "a" is still open
    And the container "c" is running

  Scenario Outline: Invalid detach keys are refused with 400 before the hijack
    Given a container "c" running "sh" with a tty and stdin open
    When I attach "a" to "c" with "stream=1&stdin=1&stdout=1&detachKeys=<keys>"
    Then the attach "a" answers 400
    And the attach "a" body is "Invalid detach keys (<shown>) provided\r\n"

    Examples:
      | keys      | shown    |
      | ctrl-A    | ctrl-A   |
      | ab        | ab       |
      | a%2C%2Cb  | a,,b     |

  Scenario: docker attach --detach-keys detaches on the chosen keys
    Given I ran "docker run --network none -dit --name <c> busybox sh" successfully
    When I open a terminal running "docker attach --detach-keys ctrl-a,x <c>"
    And I type "echo attached-$((40+2))"
    Then the terminal shows "attached-42"
    When I press ctrl-a x
    Then the terminal shows a line matching ".*read escape sequence"
    And the terminal command exits with 1
    When I run "docker inspect -f {{.State.Running}} <c>"
    Then stdout is "true\n"
    When I run "docker rm -f <c>" successfully

  Scenario: docker run -it detaches on ctrl-p ctrl-q and the container keeps running
    When I open a terminal running "docker run --network none -it --name <c> busybox sh"
    And I type "echo run-$((40+2))"
    Then the terminal shows "run-42"
    When I press ctrl-p ctrl-q
    Then the terminal command exits with 0
    When I run "docker inspect -f {{.State.Running}} <c>"
    Then stdout is "true\n"
    When I run "docker rm -f <c>" successfully

  Scenario: docker exec -it detaches on ctrl-p ctrl-q and the exec's shell runs on
    Given I ran "docker run --network none -d --name <c> busybox sleep 300" successfully
    When I open a terminal running "docker exec -it <c> sh"
    And I type "echo exec-$((40+2))"
    Then the terminal shows "exec-42"
    When I press ctrl-p ctrl-q
    Then the terminal shows a line matching ".*read escape sequence"
    And the terminal command exits with 1
    When I run "docker exec <c> ps -o comm"
    Then stdout contains "\nsh\n"
    When I run "docker rm -f <c>" successfully

  Scenario: ctrl-p ctrl-q in a terminal exec ends its stream with dockerd's error and ends the exec
    Given a container "c" running "sleep 300" with stdin open
    When I send POST /containers/<c>/exec with JSON:
      """
      {"Cmd": ["sh"], "Tty": true, "AttachStdin": true, "AttachStdout": true, "AttachStderr": true}
      """
    Then the status is 201
    And I remember the exec from the response as "e"
    When I start the exec "e" attached as "x"
    And I send "echo exec-$((40+2))\n" to the attach "x"
    Then the attach "x" shows "exec-42"
    When I send "\x10\x11" to the attach "x"
    Then the attach "x" output ends with "exec attach failed: error on attach stdin: read escape sequence\r\n"
    And the exec "e" ends with exit code 126

  Scenario: Invalid exec DetachKeys are refused at exec create
    Given a container "c" running "sleep 300" with stdin open
    When I send POST /containers/<c>/exec with JSON:
      """
      {"Cmd": ["sh"], "Tty": true, "AttachStdin": true, "DetachKeys": "ctrl-,zz"}
      """
    Then the status is 500
    And the error message is "Invalid escape keys (ctrl-,zz) provided"
