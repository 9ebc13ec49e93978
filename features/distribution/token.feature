@image @registry
Feature: Bearer-token auth (the Distribution token flow: WWW-Authenticate: Bearer realm, service, scope)

  The registry is docker-registry with `auth: token`; the token server is the tests' own (vm/token_server.py):
  it signs RS256 JWTs for known users, gives anonymous callers a token without access, and answers a wrong
  password with 401.

  Scenario: docker login against a token-auth registry checks the credentials at the token server
    Given a local registry with bearer-token auth for the user "alice" and password "s3cret"
    When I run "DOCKER_CONFIG=<dockercfg.value> docker login -u alice -p wrong <registry.value>"
    Then the command fails
    And stderr contains "Get "http://<registry.value>/v2/": unauthorized: incorrect username or password"
    When I run "DOCKER_CONFIG=<dockercfg.value> docker login -u alice -p s3cret <registry.value>"
    Then the command succeeds
    And stdout contains "Login Succeeded"

  Scenario: Push and pull with bearer tokens: denied anonymously, allowed after login
    Given a local registry with bearer-token auth for the user "alice" and password "s3cret"
    And the image "busybox" is tagged as "<registry.value>/<prefix>/tok:1"
    When I run "DOCKER_CONFIG=<dockercfg.value> docker push <registry.value>/<prefix>/tok:1"
    Then the command fails
    And stderr contains "denied: requested access to the resource is denied"
    Given I ran "DOCKER_CONFIG=<dockercfg.value> docker login -u alice -p s3cret <registry.value>" successfully
    When I run "DOCKER_CONFIG=<dockercfg.value> docker push <registry.value>/<prefix>/tok:1"
    Then the command succeeds
    And stdout has the pushed digest, remembered as "pushed"
    When I run "docker rmi <registry.value>/<prefix>/tok:1"
    And I run "DOCKER_CONFIG=<dockercfg.value> docker logout <registry.value>"
    And I run "DOCKER_CONFIG=<dockercfg.value> docker pull <registry.value>/<prefix>/tok:1"
    Then the command fails
    And stderr contains "pull access denied for <registry.value>/<prefix>/tok, repository does not exist or may require 'docker login': denied: requested access to the resource is denied"
    Given I ran "DOCKER_CONFIG=<dockercfg.value> docker login -u alice -p s3cret <registry.value>" successfully
    When I run "DOCKER_CONFIG=<dockercfg.value> docker pull <registry.value>/<prefix>/tok:1"
    Then the command succeeds
    And stdout contains "Digest: <pushed.value>"
    When I run "docker run --rm <registry.value>/<prefix>/tok:1 echo with-a-token"
    Then stdout is "with-a-token\n"

  Scenario: Bearer tokens over TLS: login, push, pull
    Given a TLS registry with a CA made for it and bearer tokens for "alice", password "s3cret"
    And the target trusts the registry's CA in its certs.d
    And the image "busybox" is tagged as "<registry.value>/<prefix>/tok:2"
    When I run "DOCKER_CONFIG=<dockercfg.value> docker login -u alice -p s3cret <registry.value>"
    Then the command succeeds
    When I run "DOCKER_CONFIG=<dockercfg.value> docker push <registry.value>/<prefix>/tok:2"
    Then the command succeeds
    When I run "docker rmi <registry.value>/<prefix>/tok:2"
    And I run "DOCKER_CONFIG=<dockercfg.value> docker pull <registry.value>/<prefix>/tok:2"
    Then the command succeeds
    And stdout contains "Status: Downloaded newer image for <registry.value>/<prefix>/tok:2"

  Scenario: docker-py pushes and pulls with credentials through a token-auth registry
    Given a local registry with bearer-token auth for the user "alice" and password "s3cret"
    And the image "busybox" is tagged as "<registry.value>/<prefix>/tokpy:1"
    When docker-py with the user "alice" and password "s3cret" pushes "<registry.value>/<prefix>/tokpy:1"
    Then the docker-py push stream reports the digest and no error
    When I run "docker rmi <registry.value>/<prefix>/tokpy:1"
    And docker-py with the user "alice" and password "s3cret" pulls "<registry.value>/<prefix>/tokpy:1"
    Then the docker-py pulled image has the tag "<registry.value>/<prefix>/tokpy:1"

  Scenario: docker login keeps the token server's refresh token as an identity token; push and pull use it
    Given a local registry with bearer-token auth for the user "alice" and password "s3cret"
    And the image "busybox" is tagged as "<registry.value>/<prefix>/tokid:1"
    When I run "DOCKER_CONFIG=<dockercfg.value> docker login -u alice -p s3cret <registry.value>"
    Then the command succeeds
    And the docker config "<dockercfg.value>" keeps an identity token and no password for "<registry.value>"
    When I run "DOCKER_CONFIG=<dockercfg.value> docker push <registry.value>/<prefix>/tokid:1"
    Then the command succeeds
    When I run "docker rmi <registry.value>/<prefix>/tokid:1"
    And I run "DOCKER_CONFIG=<dockercfg.value> docker pull <registry.value>/<prefix>/tokid:1"
    Then the command succeeds
    And stdout contains "Status: Downloaded newer image for <registry.value>/<prefix>/tokid:1"

  Scenario: A push to a second repository mounts the layers from the first (a token for both scopes)
    Given a local registry with bearer-token auth for the user "alice" and password "s3cret"
    And the image "busybox" is tagged as "<registry.value>/<prefix>/first:1"
    And the image "busybox" is tagged as "<registry.value>/<prefix>/second:1"
    And I ran "DOCKER_CONFIG=<dockercfg.value> docker login -u alice -p s3cret <registry.value>" successfully
    And I ran "DOCKER_CONFIG=<dockercfg.value> docker push <registry.value>/<prefix>/first:1" successfully
    When I run "DOCKER_CONFIG=<dockercfg.value> docker push <registry.value>/<prefix>/second:1"
    Then the command succeeds
    And stdout contains "Mounted from <prefix>/first"
