@image @registry
Feature: A TLS registry with a CA the test makes, trusted through certs.d/<host:port>/ca.crt

  The registry listens on a non-loopback address of this host: dockerd (and skiffd, by the same rule)
  treats 127.0.0.0/8 registries as insecure and does not verify their certificates.

  Scenario: docker push over TLS is refused until the registry's CA is in certs.d, then works without a restart
    Given a TLS registry with a CA made for it
    And the image "busybox" is tagged as "<registry.value>/<prefix>/tls:1"
    When I run "docker push <registry.value>/<prefix>/tls:1"
    Then the command fails
    And stderr contains "Get "https://<registry.value>/v2/": x509: certificate signed by unknown authority"
    Given the target trusts the registry's CA in its certs.d
    When I run "docker push <registry.value>/<prefix>/tls:1"
    Then the command succeeds
    And stdout has the pushed digest, remembered as "pushed"
    When I run "docker rmi <registry.value>/<prefix>/tls:1"
    And I run "docker pull <registry.value>/<prefix>/tls:1"
    Then the command succeeds
    And stdout contains "Digest: <pushed.value>"
    When I run "docker run --rm <registry.value>/<prefix>/tls:1 echo over-tls"
    Then stdout is "over-tls\n"

  Scenario: docker pull over TLS of an image the reference pushed, then run it
    Given a TLS registry with a CA made for it
    And the reference trusts the registry's CA in its certs.d
    And the reference pushed "busybox:latest" to the registry as "<registry.value>/<prefix>/tls:2"
    And the image "<registry.value>/<prefix>/tls:2" is removed after the scenario
    And the target trusts the registry's CA in its certs.d
    When I run "docker pull <registry.value>/<prefix>/tls:2"
    Then the command succeeds
    And stdout contains "Digest: <digest.value>"
    And stdout contains "Status: Downloaded newer image for <registry.value>/<prefix>/tls:2"
    When I run "docker image inspect --format '{{json .RepoDigests}}' <registry.value>/<prefix>/tls:2"
    Then stdout contains ""<registry.value>/<prefix>/tls@<digest.value>""
    When I run "docker run --rm <registry.value>/<prefix>/tls:2 echo pulled-over-tls"
    Then stdout is "pulled-over-tls\n"

  Scenario: docker login, push and pull over TLS with htpasswd basic auth
    Given a TLS registry with a CA made for it, and the user "alice" and password "s3cret"
    And the target trusts the registry's CA in its certs.d
    And the image "busybox" is tagged as "<registry.value>/<prefix>/priv:1"
    When I run "DOCKER_CONFIG=<dockercfg.value> docker login -u alice -p wrong <registry.value>"
    Then the command fails
    And stderr contains "login attempt to https://<registry.value>/v2/ failed with status: 401 Unauthorized"
    When I run "DOCKER_CONFIG=<dockercfg.value> docker login -u alice -p s3cret <registry.value>"
    Then the command succeeds
    And stdout contains "Login Succeeded"
    When I run "DOCKER_CONFIG=<dockercfg.value> docker push <registry.value>/<prefix>/priv:1"
    Then the command succeeds
    When I run "docker rmi <registry.value>/<prefix>/priv:1"
    And I run "DOCKER_CONFIG=<dockercfg.value> docker pull <registry.value>/<prefix>/priv:1"
    Then the command succeeds
    And stdout contains "Status: Downloaded newer image for <registry.value>/<prefix>/priv:1"

  Scenario: A registry that demands a client certificate: client.cert and client.key from certs.d
    Given a TLS registry with a CA made for it that demands a client certificate
    And the target trusts the registry's CA in its certs.d
    And the image "busybox" is tagged as "<registry.value>/<prefix>/mtls:1"
    When I run "docker push <registry.value>/<prefix>/mtls:1"
    Then the command fails
    And stderr contains "Get "https://<registry.value>/v2/": remote error: tls: bad certificate"
    Given the target has the registry's client certificate in its certs.d
    When I run "docker push <registry.value>/<prefix>/mtls:1"
    Then the command succeeds
    When I run "docker rmi <registry.value>/<prefix>/mtls:1"
    And I run "docker pull <registry.value>/<prefix>/mtls:1"
    Then the command succeeds
    And stdout contains "Status: Downloaded newer image for <registry.value>/<prefix>/mtls:1"

  Scenario: A TLS registry on 127.0.0.1 needs no CA: loopback registries are insecure, TLS is not verified
    Given a TLS registry on 127.0.0.1 with a CA nobody trusts
    And the image "busybox" is tagged as "<registry.value>/<prefix>/lo:1"
    When I run "docker push <registry.value>/<prefix>/lo:1"
    Then the command succeeds
    When I run "docker rmi <registry.value>/<prefix>/lo:1"
    And I run "docker pull <registry.value>/<prefix>/lo:1"
    Then the command succeeds
    And stdout contains "Status: Downloaded newer image for <registry.value>/<prefix>/lo:1"
