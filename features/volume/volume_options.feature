@container @volume
Feature: local volume driver options, copy-up of image content into a new volume, and --volumes-from

  Background:
    Given the volumes of this scenario are removed after it

  Scenario: a tmpfs volume made with driver options is a tmpfs in the container
    Given I ran "docker volume create --opt type=tmpfs --opt device=tmpfs --opt o=size=1m <vol>" successfully
    When I run "docker run --rm --network none -v <vol>:/data busybox stat -f -c %T /data"
    Then the command succeeds
    And stdout is "tmpfs\n"

  Scenario: a tmpfs volume is unmounted when its container stops, so its content goes
    Given I ran "docker volume create --opt type=tmpfs --opt device=tmpfs <vol>" successfully
    And I ran "docker run --rm --network none -v <vol>:/data busybox sh -c 'echo gone > /data/f'" successfully
    When I run "docker run --rm --network none -v <vol>:/data busybox ls /data"
    Then the command succeeds
    And stdout is empty

  Scenario: a volume with o=bind shows the host directory it names
    Given the host directory "/tmp/<prefix>-src" holds a file "f" with "from the host"
    And I ran "docker volume create --opt type=none --opt device=/tmp/<prefix>-src --opt o=bind <vol>" successfully
    When I run "docker run --rm --network none -v <vol>:/data busybox cat /data/f"
    Then the command succeeds
    And stdout is "from the host\n"

  Scenario: a new named volume gets the image's content at its mount point
    Given I ran "docker run --rm --network none -v <vol>:/etc busybox true" successfully
    When I run "docker run --rm --network none -v <vol>:/data busybox grep -c ^root: /data/passwd"
    Then the command succeeds
    And stdout is "1\n"

  Scenario: a new anonymous volume gets the image's content at its mount point
    When I run "docker run --rm --network none -v /etc busybox grep -c ^root: /etc/passwd"
    Then the command succeeds
    And stdout is "1\n"

  Scenario: nocopy leaves a new volume empty
    Given I ran "docker run --rm --network none -v <vol>:/etc:nocopy busybox true" successfully
    When I run "docker run --rm --network none -v <vol>:/data busybox sh -c 'test -e /data/passwd || echo absent'"
    Then the command succeeds
    And stdout is "absent\n"

  Scenario: volume-nocopy of a Mounts volume leaves it empty
    Given I ran "docker run --rm --network none --mount type=volume,source=<vol>,target=/etc,volume-nocopy busybox true" successfully
    When I run "docker run --rm --network none -v <vol>:/data busybox sh -c 'test -e /data/passwd || echo absent'"
    Then the command succeeds
    And stdout is "absent\n"

  Scenario: a volume that already has content is not overwritten by the image
    Given I ran "docker run --rm --network none -v <vol>:/data busybox sh -c 'echo mine > /data/passwd'" successfully
    When I run "docker run --rm --network none -v <vol>:/etc busybox cat /etc/passwd"
    Then the command succeeds
    And stdout is "mine\n"

  Scenario: --volumes-from mounts the other container's named volume
    Given I ran "docker create --name <a> --network none -v <vol>:/data busybox true" successfully
    When I run "docker run --rm --network none --volumes-from <a> busybox sh -c 'echo shared > /data/f && cat /data/f'"
    Then the command succeeds
    And stdout is "shared\n"
    When I run "docker run --rm --network none -v <vol>:/x busybox cat /x/f"
    Then stdout is "shared\n"

  Scenario: --volumes-from with :ro mounts the volumes read-only
    Given I ran "docker create --name <a> --network none -v <vol>:/data busybox true" successfully
    When I run "docker run --rm --network none --volumes-from <a>:ro busybox sh -c 'touch /data/f 2>/dev/null || echo refused'"
    Then the command succeeds
    And stdout is "refused\n"

  Scenario: --volumes-from shares an anonymous volume and shows it in inspect
    Given I ran "docker create --name <a> --network none -v /shared busybox true" successfully
    And I ran "docker run --rm --network none --volumes-from <a> busybox sh -c 'echo 1 > /shared/x'" successfully
    And I ran "docker create --name <b> --network none --volumes-from <a> busybox true" successfully
    When I run "docker inspect -f '{{range .Mounts}}{{.Destination}} {{.RW}} {{.Driver}}{{end}}' <b>"
    Then the command succeeds
    And stdout is "/shared true local\n"
    When I run "docker start -a <b>"
    Then the command succeeds

  Scenario: --volumes-from also carries the other container's bind mounts
    Given the host directory "/tmp/<prefix>-bind" holds a file "f" with "bound"
    And I ran "docker create --name <a> --network none -v /tmp/<prefix>-bind:/b busybox true" successfully
    When I run "docker run --rm --network none --volumes-from <a> busybox cat /b/f"
    Then the command succeeds
    And stdout is "bound\n"

  Scenario: --volumes-from a missing container is refused
    When I run "docker run --rm --network none --volumes-from <prefix>-nosuch busybox true"
    Then the command fails
    And stderr contains "No such container: <prefix>-nosuch"

  Scenario: a volume made by --mount with volume-opt and volume-label carries them
    When I run "docker run --rm --network none --mount type=volume,source=<vol>,target=/data,volume-opt=type=tmpfs,volume-opt=device=tmpfs,volume-label=tier=cache busybox stat -f -c %T /data"
    Then the command succeeds
    And stdout is "tmpfs\n"
    When I run "docker volume inspect -f '{{.Options.type}} {{.Labels.tier}}' <vol>"
    Then stdout is "tmpfs cache\n"

  Scenario: --volumes-from keeps a read-only bind read-only and carries no mode
    Given the host directory "/tmp/<prefix>-ro" holds a file "f" with "x"
    And I ran "docker create --name <a> --network none -v /tmp/<prefix>-ro:/b:ro busybox true" successfully
    And I ran "docker create --name <b> --network none --volumes-from <a>:rw busybox true" successfully
    When I run "docker inspect -f '{{range .Mounts}}{{.Type}} {{.RW}} [{{.Mode}}] {{.Propagation}}{{end}}' <b>"
    Then the command succeeds
    And stdout is "bind false [] rprivate\n"
