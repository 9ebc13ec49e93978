@image @registry
Feature: Pulling schema1 images (manifest.v1+prettyjws), converted to an image config as dockerd 20.10 does

  The registry is docker-registry with schema1 enabled; the test PUTs a signed schema1 manifest (RS256 JWS)
  of the busybox rootfs under a throwaway layer that carries CMD.

  Scenario: docker pull of a schema1 image: the same image ID as dockerd's conversion, RepoDigests, history, run
    Given a local registry that accepts schema1 manifests
    And the registry has a schema1 image "<registry.value>/<prefix>/old:1" of the busybox layer
    And the reference pulled "<registry.value>/<prefix>/old:1", remembered its ID as "dockerd_id" and removed it
    And the image "<registry.value>/<prefix>/old:1" is removed after the scenario
    When I run "docker pull <registry.value>/<prefix>/old:1"
    Then the command succeeds
    And stdout contains "1: Pulling from <prefix>/old"
    And stdout contains "Pull complete"
    And stdout contains "Digest: <digest.value>"
    And stdout contains "Status: Downloaded newer image for <registry.value>/<prefix>/old:1"
    When I run "docker image inspect --format '{{.Id}} {{json .RepoDigests}} {{json .Config.Cmd}} {{len .RootFS.Layers}}' <registry.value>/<prefix>/old:1"
    Then stdout is "<dockerd_id.value> ["<registry.value>/<prefix>/old@<digest.value>"] ["sh"] 1\n"
    When I run "docker history --format '{{.CreatedBy}}' <registry.value>/<prefix>/old:1"
    Then stdout contains "/bin/sh -c #(nop)  CMD ["sh"]\n/bin/sh -c #(nop) ADD file:rootfs in / \n"
    When I run "docker run --rm <registry.value>/<prefix>/old:1 echo from-schema1"
    Then the command succeeds
    And stdout is "from-schema1\n"
    When I run "docker pull <registry.value>/<prefix>/old:1"
    Then the command succeeds
    And stdout matches "1: Pulling from <prefix>/old\n[0-9a-f]{12}: Already exists\nDigest: <digest.value>\nStatus: Image is up to date for <registry.value>/<prefix>/old:1\n<registry.value>/<prefix>/old:1\n"

  Scenario: A pull of a schema1 image by its digest (taken over the payload without the signatures)
    Given a local registry that accepts schema1 manifests
    And the registry has a schema1 image "<registry.value>/<prefix>/old:2" of the busybox layer
    And the image "<registry.value>/<prefix>/old@<digest.value>" is removed after the scenario
    When I run "docker pull <registry.value>/<prefix>/old@<digest.value>"
    Then the command succeeds
    And stdout contains "Digest: <digest.value>"
    When I run "docker run --rm <registry.value>/<prefix>/old@<digest.value> echo by-digest"
    Then stdout is "by-digest\n"

  Scenario: A schema1 image pushed again goes up as schema2, the same manifest dockerd pushes
    Given a local registry that accepts schema1 manifests
    And the registry has a schema1 image "<registry.value>/<prefix>/old:3" of the busybox layer
    And the reference pulled "<registry.value>/<prefix>/old:3", pushed it as "<registry.value>/<prefix>/again:1", remembered the digest as "dockerd_push" and removed both
    And the image "<registry.value>/<prefix>/old:3" is removed after the scenario
    And I ran "docker pull <registry.value>/<prefix>/old:3" successfully
    And the image "<registry.value>/<prefix>/again:2" is removed after the scenario
    And I ran "docker tag <registry.value>/<prefix>/old:3 <registry.value>/<prefix>/again:2" successfully
    When I run "docker push <registry.value>/<prefix>/again:2"
    Then the command succeeds
    And stdout contains "2: digest: <dockerd_push.value> size: "

  Scenario: A schema1 image from before Docker 1.8.3 gets the image ID dockerd gives it (v1 image struct round trip)
    Given a local registry that accepts schema1 manifests
    And the registry has a schema1 image "<registry.value>/<prefix>/older:1" of the busybox layer, as Docker before 1.8.3 wrote it
    And the reference pulled "<registry.value>/<prefix>/older:1", remembered its ID as "dockerd_id" and removed it
    And the image "<registry.value>/<prefix>/older:1" is removed after the scenario
    When I run "docker pull <registry.value>/<prefix>/older:1"
    Then the command succeeds
    When I run "docker image inspect --format '{{.Id}} {{json .Config.Cmd}} {{.Config.WorkingDir}} {{.Author}}' <registry.value>/<prefix>/older:1"
    Then stdout is "<dockerd_id.value> ["sh"] /tmp Ann <a@b>\n"
    When I run "docker run --rm <registry.value>/<prefix>/older:1 pwd"
    Then stdout is "/tmp\n"
