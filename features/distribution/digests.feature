@image @registry
Feature: repo@digest references recorded after a pull or a push by tag (RepoDigests, docker images --digests)

  Scenario: A pull by tag records the repository digest, and rmi of the tag untags it too
    Given a local registry
    And the reference pushed "busybox:latest" to the registry as "<registry.value>/<prefix>/bb:7"
    And the image "<registry.value>/<prefix>/bb:7" is removed after the scenario
    When I run "docker pull <registry.value>/<prefix>/bb:7"
    Then the command succeeds
    When I run "docker image inspect --format '{{json .RepoDigests}}' <registry.value>/<prefix>/bb:7"
    Then stdout is "["<registry.value>/<prefix>/bb@<digest.value>"]\n"
    When I run "docker images --digests --format '{{.Repository}} {{.Tag}} {{.Digest}}' <registry.value>/<prefix>/bb"
    Then stdout is "<registry.value>/<prefix>/bb 7 <digest.value>\n"
    When I run "docker rmi <registry.value>/<prefix>/bb:7"
    Then the command succeeds
    And stdout contains "Untagged: <registry.value>/<prefix>/bb:7\n"
    And stdout contains "Untagged: <registry.value>/<prefix>/bb@<digest.value>\n"
    When I run "docker images --digests --format '{{.Repository}} {{.Tag}} {{.Digest}}' <registry.value>/<prefix>/bb"
    Then stdout is empty

  Scenario: A pull by tag and one by digest of the same image share one RepoDigests entry (the tag stays in RepoTags)
    Given a local registry
    And the reference pushed "busybox:latest" to the registry as "<registry.value>/<prefix>/bb:8"
    And the image "<registry.value>/<prefix>/bb:8" is removed after the scenario
    And the image "<registry.value>/<prefix>/bb@<digest.value>" is removed after the scenario
    When I run "docker pull <registry.value>/<prefix>/bb:8"
    And I run "docker pull <registry.value>/<prefix>/bb@<digest.value>"
    Then the command succeeds
    And stdout contains "Status: Image is up to date for <registry.value>/<prefix>/bb@<digest.value>"
    When I run "docker image inspect --format '{{json .RepoTags}} {{json .RepoDigests}}' <registry.value>/<prefix>/bb@<digest.value>"
    Then stdout contains ""<registry.value>/<prefix>/bb:8""
    And stdout contains "] ["<registry.value>/<prefix>/bb@<digest.value>"]\n"

  Scenario: A push by tag records the repository digest the registry answered
    Given a local registry
    And the image "busybox" is tagged as "<registry.value>/<prefix>/up:3"
    When I run "docker push <registry.value>/<prefix>/up:3"
    Then the command succeeds
    And stdout has the pushed digest, remembered as "pushed"
    When I run "docker image inspect --format '{{json .RepoDigests}}' <registry.value>/<prefix>/up:3"
    Then stdout contains ""<registry.value>/<prefix>/up@<pushed.value>""
    When I run "docker images --digests --format '{{.Tag}} {{.Digest}}' <registry.value>/<prefix>/up"
    Then stdout is "3 <pushed.value>\n"
    When I run "docker image inspect --format '{{.Id}}' <registry.value>/<prefix>/up@<pushed.value>"
    Then the command succeeds

  Scenario: When the tag moves to a newer image, the old one keeps its repo@digest (no tag) and lists as dangling
    Given a local registry
    And the reference pushed a one-layer image of random data to the registry as "<registry.value>/<prefix>/mv:1", its digest remembered as "first"
    And the image "<registry.value>/<prefix>/mv@<first.value>" is removed after the scenario
    And the image "<registry.value>/<prefix>/mv:1" is removed after the scenario
    And I ran "docker pull <registry.value>/<prefix>/mv:1" successfully
    And the reference pushed a one-layer image of random data to the registry as "<registry.value>/<prefix>/mv:1", its digest remembered as "second"
    When I run "docker pull <registry.value>/<prefix>/mv:1"
    Then the command succeeds
    And stdout contains "Digest: <second.value>"
    When I run "docker images --digests --format '{{.Tag}} {{.Digest}}' <registry.value>/<prefix>/mv"
    Then stdout contains "1 <second.value>\n"
    And stdout matches ".*[<]none[>] <first.value>\n.*"
    When I run "docker images --filter dangling=true --digests --format '{{.Repository}} {{.Tag}} {{.Digest}}'"
    Then stdout matches ".*<registry.value>/<prefix>/mv [<]none[>] <first.value>\n.*"
    And stdout does not contain "<second.value>"
    When I run "docker images --filter dangling=false --digests --format '{{.Repository}} {{.Tag}} {{.Digest}}'"
    Then stdout matches ".*<registry.value>/<prefix>/mv [<]none[>] <first.value>\n.*"
