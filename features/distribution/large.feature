@image @registry
Feature: Large layers go up to the registry intact (Skiff sends blobs of 64 MiB and more in PATCH chunks)

  Scenario: docker push of an image with a 96 MiB layer, then the reference pulls the same layers
    Given a local registry
    And the target has a one-layer image of 96 MiB of random data as "<registry.value>/<prefix>/big:1"
    When I run "docker push <registry.value>/<prefix>/big:1"
    Then the command succeeds
    And stdout contains "Pushed"
    And stdout has the pushed digest, remembered as "pushed"
    When the reference runs docker pull "<registry.value>/<prefix>/big:1"
    Then the command succeeds
    And stdout contains "Digest: <pushed.value>"
    And the reference's image "<registry.value>/<prefix>/big:1" has the target's layers
