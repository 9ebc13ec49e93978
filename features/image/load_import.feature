@image
Feature: Loading image archives and importing root filesystems

  Scenario: An archive saved by the reference with docker save loads into the target
    Given the reference's "busybox:latest" saved with docker save as "<saved>:1"
    When I load the archive
    Then the status is 200
    And the load reports "Loaded image: <saved>:1"
    And the image "<saved>:1" exists
    When I run "docker run --rm <saved>:1 echo loaded"
    Then the command succeeds
    And stdout is "loaded\n"

  Scenario: An OCI image layout archive (with manifest.json, as docker save writes it since 25) loads
    Given an OCI-layout archive of the busybox rootfs named "<oci>:1" with CMD ["echo", "from-oci"]
    When I load the archive
    Then the status is 200
    And the load reports "Loaded image: <oci>:1"
    When I run "docker run --rm <oci>:1"
    Then the command succeeds
    And stdout is "from-oci\n"

  Scenario: docker load reads an archive from stdin
    Given the reference's "busybox:latest" saved with docker save as "<saved>:2"
    When I pipe the archive into "docker load"
    Then the command succeeds
    And stdout is "Loaded image: <saved>:2\n"

  Scenario: Import from stdin applies the changes
    When I import the busybox rootfs as "<imp>:v1" with the changes
      | change                   |
      | CMD ["echo", "imported"] |
      | ENV GREETING=hi          |
    Then the status is 200
    And the image "<imp>:v1" exists
    And the response JSON field "Config.Cmd" is ["echo", "imported"]
    And the response JSON field "Config.Env" contains "GREETING=hi"
    When I run "docker run --rm <imp>:v1"
    Then the command succeeds
    And stdout is "imported\n"

  Scenario: docker import of a tar file with -c
    When I run "docker import -c 'CMD ["sh", "-c", "echo $GREETING"]' -c 'ENV GREETING=hello' <rootfs.value> <imp>:v2"
    Then the command succeeds
    And stdout matches "sha256:[0-9a-f]{64}\n"
    When I run "docker run --rm <imp>:v2"
    Then stdout is "hello\n"
