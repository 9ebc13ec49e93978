@container @interactive
Feature: Interactive containers: stdin, terminals, attach

  Scenario: docker run -i passes piped stdin to the container and closes it at its end
    When I pipe "hello\nworld\n" into "docker run --network none -i --rm busybox sh -c 'cat; echo done'"
    Then the command succeeds
    And stdout is "hello\nworld\ndone\n"

  Scenario: docker run -i reports the exit status of a process that read its stdin
    When I pipe "abc\n" into "docker run --network none -i --rm busybox sh -c 'read x; echo got $x; exit 4'"
    Then the command exits with 4
    And stdout is "got abc\n"

  Scenario: Without -i the container's stdin is empty
    When I pipe "ignored\n" into "docker run --network none --rm busybox sh -c 'cat; echo end'"
    Then the command succeeds
    And stdout is "end\n"

  Scenario: docker run -t gives the container a terminal and one raw stream
    When I run "docker run --network none -t --rm busybox sh -c 'tty; echo err >&2'"
    Then the command succeeds
    And stdout is "/dev/pts/0\r\nerr\r\n"
    And stderr is empty

  Scenario: A person types into docker run -it busybox sh
    When I open a terminal running "docker run --network none -it --rm busybox sh"
    And I type "echo $((6*7))"
    Then the terminal shows "42"
    When I type "exit 3"
    Then the terminal command exits with 3

  Scenario: docker attach feeds stdin to a container started with -i, and ctrl-p ctrl-q detaches
    Given I ran "docker run --network none -dit --name <c> busybox sh" successfully
    When I open a terminal running "docker attach <c>"
    And I type "echo attached-$((40+2))"
    Then the terminal shows "attached-42"
    When I press ctrl-p ctrl-q
    Then the terminal shows a line matching ".*read escape sequence"
    And the terminal command exits with 1
    When I run "docker inspect -f {{.State.Running}} <c>"
    Then stdout is "true\n"
    When I run "docker rm -f <c>" successfully

  Scenario: Resizing the terminal of docker run -it resizes the container's pty
    When I open a terminal running "docker run -it --rm --network none busybox sh"
    And I type "echo $((6*7))"
    Then the terminal shows "42"
    When I resize the terminal to 80x20
    Then typing "stty size" eventually shows "20 80"
    When I type "exit"
    Then the terminal command exits with 0

  Scenario: Resizing the terminal of docker exec -it resizes the exec's pty
    Given I ran "docker run -d --network none --name <c> busybox sleep 300" successfully
    When I open a terminal running "docker exec -it <c> sh"
    And I type "echo $((6*7))"
    Then the terminal shows "42"
    When I resize the terminal to 70x15
    Then typing "stty size" eventually shows "15 70"
    When I type "exit 4"
    Then the terminal command exits with 4
