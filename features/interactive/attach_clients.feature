@container @interactive @attach
Feature: Several attached clients, and logs=1 replay on attach

  Scenario: Every attached client gets the output
    Given a container "c" running "cat" with stdin open
    When I attach "a" to "c" with "stream=1&stdout=1"
    Then the attach "a" has the header "Content-Type: application/vnd.docker.raw-stream"
    When I attach "b" to "c" with "stream=1&stdout=1&stderr=1"
    And I attach "in" to "c" with "stream=1&stdin=1&stdout=1"
    And I send "shared-line\n" to the attach "in"
    Then the attach "in" shows "shared-line\n"
    And the attach "a" shows "shared-line\n"
    And the attach "b" shows "shared-line\n"

  Scenario: Every client attached to a terminal gets its output
    Given a container "c" running "sh" with a tty and stdin open
    When I attach "a" to "c" with "stream=1&stdout=1"
    And I attach "in" to "c" with "stream=1&stdin=1&stdout=1"
    And I send "echo tty-$((40+2))\n" to the attach "in"
    Then the attach "in" shows "tty-42"
    And the attach "a" shows "tty-42"

  Scenario: A client that goes away does not disturb the others
    Given a container "c" running "cat" with stdin open
    When I attach "a" to "c" with "stream=1&stdout=1"
    And I attach "b" to "c" with "stream=1&stdout=1"
    And I attach "in" to "c" with "stream=1&stdin=1&stdout=1"
    And I close the attach "a"
    And I send "after-close\n" to the attach "in"
    Then the attach "b" shows "after-close\n"
    And the attach "in" shows "after-close\n"
    And the container "c" is running

  Scenario: Two clients typing into one stdin both reach the container
    Given a container "c" running "cat" with stdin open
    When I attach "x" to "c" with "stream=1&stdin=1&stdout=1"
    And I attach "y" to "c" with "stream=1&stdin=1&stdout=1"
    And I send "from-x\n" to the attach "x"
    Then the attach "y" shows "from-x\n"
    When I send "from-y\n" to the attach "y"
    Then the attach "x" shows "from-x\nfrom-y\n"

  Scenario: logs=1 replays the log before the live stream
    Given a container "c" running "sh -c 'echo early; cat'" with stdin open
    And the log of "c" shows "early"
    When I attach "a" to "c" with "logs=1&stream=1&stdin=1&stdout=1"
    Then the attach "a" shows "early\n"
    When I send "live\n" to the attach "a"
    Then the attach "a" shows "early\nlive\n"

  Scenario: logs=1 without stream replays the log of a stopped container and ends
    Given a container "c" that ran "sh -c 'echo one; echo two >&2; echo three'"
    When I attach "a" to "c" with "logs=1&stdout=1&stderr=1"
    Then the attach "a" ends with stdout "one\nthree\n" and stderr "two\n"
    When I attach "o" to "c" with "logs=1&stdout=1"
    Then the attach "o" ends with stdout "one\nthree\n" and no stderr

  Scenario: logs=1 on a terminal replays its raw stream
    Given a container "c" running "sh -c 'echo tty-early; cat'" with a tty and stdin open
    And the log of "c" shows "tty-early"
    When I attach "a" to "c" with "logs=1&stream=1&stdin=1&stdout=1"
    Then the attach "a" shows "tty-early\r\n"
