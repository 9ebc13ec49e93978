@sdk @interactive
Feature: docker-py drives exec, attach and events

  Background:
    Given docker-py runs "sleep 300" in busybox detached without network as "c"

  Scenario: exec_run with demux keeps stdout and stderr apart and reports the exit code
    When docker-py execs "sh -c 'echo out; echo err >&2; exit 4'" in "c" with demux
    Then the docker-py exec gave exit code 4, stdout "out\n" and stderr "err\n"

  Scenario: exec_run streamed with demux
    When docker-py streams an exec of "sh -c 'echo a; echo b >&2; echo c'" in "c" with demux
    Then the docker-py exec stream gave stdout "a\nc\n" and stderr "b\n"

  Scenario: attach_socket talks to a shell with a terminal
    When docker-py runs "sh" in busybox with stdin open and a tty as "t"
    Then docker-py sends "echo $((6*7))\n" through attach_socket of "t" and reads "42"

  Scenario: events(decode=True) reports the container's actions
    When docker-py execs "true" in "c" with demux
    Then docker-py events of "c" since the scenario began include "create,start,exec_die"
