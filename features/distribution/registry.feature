@image @registry
Feature: Pulling from and pushing to a real registry (docker-registry on 127.0.0.1, plain HTTP)

  Scenario: docker pull of an image the reference pushed, then run it
    Given a local registry
    And the reference pushed "busybox:latest" to the registry as "<registry.value>/<prefix>/bb:1"
    And the image "<registry.value>/<prefix>/bb:1" is removed after the scenario
    When I run "docker pull <registry.value>/<prefix>/bb:1"
    Then the command succeeds
    And stdout contains "1: Pulling from <prefix>/bb"
    And stdout contains "Digest: <digest.value>"
    And stdout contains "Status: Downloaded newer image for <registry.value>/<prefix>/bb:1"
    When I run "docker run --rm <registry.value>/<prefix>/bb:1 echo pulled"
    Then the command succeeds
    And stdout is "pulled\n"

  Scenario: The pull progress is Docker's JSON message stream
    Given a local registry
    And the reference pushed "busybox:latest" to the registry as "<registry.value>/<prefix>/bb:2"
    And the image "<registry.value>/<prefix>/bb:2" is removed after the scenario
    When I send POST /images/create?fromImage=<registry.value>/<prefix>/bb&tag=2
    Then the status is 200
    And the response header "Content-Type" is "application/json"
    And the progress stream has a message with status "Pulling from <prefix>/bb"
    And the progress stream has a message with status "Digest: <digest.value>"
    And the progress stream ends with "Status: Downloaded newer image for <registry.value>/<prefix>/bb:2"

  Scenario: A second pull of the same image is up to date
    Given a local registry
    And the reference pushed "busybox:latest" to the registry as "<registry.value>/<prefix>/bb:3"
    And the image "<registry.value>/<prefix>/bb:3" is removed after the scenario
    And I ran "docker pull <registry.value>/<prefix>/bb:3" successfully
    When I run "docker pull <registry.value>/<prefix>/bb:3"
    Then the command succeeds
    And stdout contains "Status: Image is up to date for <registry.value>/<prefix>/bb:3"

  Scenario: A pull by digest
    Given a local registry
    And the reference pushed "busybox:latest" to the registry as "<registry.value>/<prefix>/bb:4"
    And the image "<registry.value>/<prefix>/bb@<digest.value>" is removed after the scenario
    When I run "docker pull <registry.value>/<prefix>/bb@<digest.value>"
    Then the command succeeds
    And stdout contains "Digest: <digest.value>"
    When I run "docker run --rm <registry.value>/<prefix>/bb@<digest.value> echo by-digest"
    Then stdout is "by-digest\n"
    When I run "docker image inspect --format '{{json .RepoDigests}}' <registry.value>/<prefix>/bb@<digest.value>"
    Then stdout contains ""<registry.value>/<prefix>/bb@<digest.value>""

  Scenario: docker run of an image that is not there pulls it first
    Given a local registry
    And the reference pushed "busybox:latest" to the registry as "<registry.value>/<prefix>/bb:5"
    And the image "<registry.value>/<prefix>/bb:5" is removed after the scenario
    When I run "docker run --rm <registry.value>/<prefix>/bb:5 echo auto"
    Then the command succeeds
    And stdout is "auto\n"
    And stderr contains "Unable to find image '<registry.value>/<prefix>/bb:5' locally"

  Scenario: A tag the registry does not have is Docker's 404
    Given a local registry
    And the reference pushed "busybox:latest" to the registry as "<registry.value>/<prefix>/bb:6"
    When I send POST /images/create?fromImage=<registry.value>/<prefix>/bb&tag=nope
    Then the status is 404
    And the error message is "manifest for <registry.value>/<prefix>/bb:nope not found: manifest unknown: manifest unknown"

  Scenario: docker push to the registry, then the reference pulls and runs it
    Given a local registry
    And the image "busybox" is tagged as "<registry.value>/<prefix>/up:1"
    When I run "docker push <registry.value>/<prefix>/up:1"
    Then the command succeeds
    And stdout contains "The push refers to repository [<registry.value>/<prefix>/up]"
    And stdout contains "1: digest: sha256:"
    When the reference pulls "<registry.value>/<prefix>/up:1" and runs "echo pushed"
    Then the command succeeds
    And stdout is "pushed\n"

  Scenario: A second push finds its layers already in the registry
    Given a local registry
    And the image "busybox" is tagged as "<registry.value>/<prefix>/up:2"
    And I ran "docker push <registry.value>/<prefix>/up:2" successfully
    When I run "docker push <registry.value>/<prefix>/up:2"
    Then the command succeeds
    And stdout contains "Layer already exists"

  Scenario: docker push of an image that is not there
    Given a local registry
    When I run "docker push <registry.value>/<prefix>/missing:1"
    Then the command fails
    And stderr contains "An image does not exist locally with the tag: <registry.value>/<prefix>/missing"

  Scenario: docker login checks the credentials against the registry (htpasswd basic auth)
    Given a local registry with the user "alice" and password "s3cret"
    When I run "DOCKER_CONFIG=<dockercfg.value> docker login -u alice -p wrong <registry.value>"
    Then the command fails
    And stderr contains "login attempt to http://<registry.value>/v2/ failed with status: 401 Unauthorized"
    When I run "DOCKER_CONFIG=<dockercfg.value> docker login -u alice -p s3cret <registry.value>"
    Then the command succeeds
    And stdout contains "Login Succeeded"

  Scenario: Push and pull carry the credentials in X-Registry-Auth
    Given a local registry with the user "alice" and password "s3cret"
    And the image "busybox" is tagged as "<registry.value>/<prefix>/priv:1"
    And I ran "DOCKER_CONFIG=<dockercfg.value> docker login -u alice -p s3cret <registry.value>" successfully
    When I run "DOCKER_CONFIG=<dockercfg.value> docker push <registry.value>/<prefix>/priv:1"
    Then the command succeeds
    When I run "docker rmi <registry.value>/<prefix>/priv:1"
    Then the command succeeds
    When I run "DOCKER_CONFIG=<dockercfg.value> docker logout <registry.value>"
    And I run "DOCKER_CONFIG=<dockercfg.value> docker pull <registry.value>/<prefix>/priv:1"
    Then the command fails
    And stderr contains "no basic auth credentials"
    When I run "DOCKER_CONFIG=<dockercfg.value> docker login -u alice -p s3cret <registry.value>"
    And I run "DOCKER_CONFIG=<dockercfg.value> docker pull <registry.value>/<prefix>/priv:1"
    Then the command succeeds
    And stdout contains "Status: Downloaded newer image for <registry.value>/<prefix>/priv:1"

  Scenario: A layer whose content does not match its digest fails the pull, and nothing is stored
    Given a local registry
    And the reference pushed a one-layer image of random data to the registry as "<registry.value>/<prefix>/bad:1"
    And the registry serves corrupt data for the layers of "<registry.value>/<prefix>/bad:1"
    And the image "<registry.value>/<prefix>/bad:1" is removed after the scenario
    When I run "docker pull <registry.value>/<prefix>/bad:1"
    Then the command fails
    And stderr contains "filesystem layer verification failed for digest sha256:"
    And the image "<registry.value>/<prefix>/bad:1" does not exist

  Scenario: docker-py pushes and pulls through the registry
    Given a local registry
    And the image "busybox" is tagged as "<registry.value>/<prefix>/py:1"
    When docker-py pushes "<registry.value>/<prefix>/py:1"
    Then the docker-py push stream reports the digest and no error
    When I run "docker rmi <registry.value>/<prefix>/py:1"
    And docker-py pulls "<registry.value>/<prefix>/py:1"
    Then the docker-py pulled image has the tag "<registry.value>/<prefix>/py:1"

  Scenario: docker search of a registry that only speaks v2 is dockerd's error
    Given a local registry
    When I run "docker search <registry.value>/bb"
    Then the command fails
    And stderr contains "Unexpected status code 404"
