@image
Feature: Crafted layer tarballs: nothing lands outside the image, and dockerd's answers

  dockerd unpacks a layer inside a chroot of the layer's directory: a name that climbs out with ../ or
  starts with / lands at the layer's root, symlinks are followed inside the layer, and what cannot be
  done there (a hard link to a file that is not in the layer, a whiteout of "." or "..") fails the load.

  Scenario Outline: A member named <member> lands inside the layer
    Given a docker-save archive "<img>:1" of busybox with a top layer holding
      | name     | kind | data    |
      | <member> | file | escaped |
    When I load the archive
    Then the load reports "Loaded image: <img>:1"
    And no file named "evil-h4b" appeared outside the image
    When I run "docker run --rm <img>:1 cat /evil-h4b"
    Then the command succeeds
    And stdout is "escaped"

    Examples:
      | member                  |
      | ../evil-h4b             |
      | ../../../../../evil-h4b |
      | a/../../evil-h4b        |
      | /evil-h4b               |

  Scenario: A write through a symlink to an absolute directory lands in that directory of the layer
    Given a docker-save archive "<img>:1" of busybox with a top layer holding
      | name          | kind | data    |
      | tmp/          | dir  |         |
      | lnk           | sym  | /tmp    |
      | lnk/evil-h4b  | file | through |
    When I load the archive
    Then the load reports "Loaded image: <img>:1"
    And no file named "evil-h4b" appeared outside the image
    When I run "docker run --rm <img>:1 cat /tmp/evil-h4b"
    Then stdout is "through"

  Scenario: A relative symlink that climbs out is stored as it is and resolves inside the container
    Given a docker-save archive "<img>:1" of busybox with a top layer holding
      | name | kind | data                   |
      | up   | sym  | ../../../../etc/passwd |
    When I load the archive
    Then the load reports "Loaded image: <img>:1"
    When I run "docker run --rm <img>:1 readlink /up"
    Then stdout is "../../../../etc/passwd\n"
    When I run "docker run --rm <img>:1 head -n 1 /up"
    Then stdout is "root:x:0:0:root:/root:/bin/sh\n"

  Scenario Outline: A layer that would write or link outside itself is refused with dockerd's message
    Given a docker-save archive "<img>:1" of busybox with a top layer holding
      | name    | kind    | data    |
      | <name1> | <kind1> | <data1> |
      | <name2> | <kind2> | <data2> |
    When I load the archive
    Then the load fails with "Error processing tar file(exit status 1): <message>"
    And the image "<img>:1" does not exist
    And no file named "evil-h4b" appeared outside the image

    Examples:
      | name1 | kind1 | data1           | name2        | kind2 | data2     | message                                                       |
      | lnk   | sym   | /nowhere        | lnk/evil-h4b | file  | x         | open /lnk/evil-h4b: no such file or directory                 |
      | lnk   | sym   | ../../../../tmp | lnk/evil-h4b | file  | x         | open /lnk/evil-h4b: no such file or directory                 |
      | a     | sym   | /etc            | hard         | link  | a/passwd  | link /a/passwd /hard: no such file or directory               |
      | d/    | dir   |                 | hard         | link  | ../../etc/passwd | link /etc/passwd /hard: no such file or directory      |
      | hard  | link  | later           | later        | file  | x         | link /later /hard: no such file or directory                  |
      | d/    | dir   |                 | d/.wh...     | file  |           | failed to mknod("/", S_IFCHR, 0): file exists                 |
      | d/    | dir   |                 | d/.wh..      | file  |           | failed to mknod("/d", S_IFCHR, 0): file exists                |
      | lnk   | sym   | /               | lnk/.wh.lnk  | file  |           | failed to mknod("/lnk/lnk", S_IFCHR, 0): file exists          |

  Scenario: A hard link through a symlink to a file of the same layer is made inside the layer
    Given a docker-save archive "<img>:1" of busybox with a top layer holding
      | name      | kind | data     |
      | data/     | dir  |          |
      | data/file | file | linked   |
      | a         | sym  | /data    |
      | hard      | link | a/file   |
    When I load the archive
    Then the load reports "Loaded image: <img>:1"
    When I run "docker run --rm <img>:1 sh -c 'cat /hard; stat -c %h /data/file'"
    Then stdout is "linked2\n"

  Scenario: A whiteout through a symlink to / hides the lower layer's file at the layer's root
    Given a docker-save archive "<img>:1" of busybox with a top layer holding
      | name               | kind | data |
      | lnk                | sym  | /    |
      | lnk/etc/.wh.group  | file |      |
    When I load the archive
    Then the load reports "Loaded image: <img>:1"
    When I run "docker run --rm <img>:1 sh -c 'ls /etc/group || echo gone'"
    Then stdout contains "gone"
    And stdout does not contain "/etc/group\n"

  Scenario: A layer with the same member twice is refused (a symlink, then a file through its name)
    Given a docker-save archive "<img>:1" of busybox with a top layer holding
      | name   | kind | data        |
      | passwd | sym  | /etc/passwd |
      | passwd | file | pwned       |
    When I load the archive
    Then the load fails with "Error processing tar file(duplicates of file paths not supported): "
    And the image "<img>:1" does not exist

  Scenario: Device nodes and fifos are made inside the layer
    Given a docker-save archive "<img>:1" of busybox with a top layer holding
      | name      | kind | data |
      | devs/     | dir  |      |
      | devs/sda  | blk  | 8,0  |
      | devs/fifo | fifo |      |
    When I load the archive
    Then the load reports "Loaded image: <img>:1"
    When I run "docker run --rm <img>:1 stat -c '%t,%T %F' /devs/sda /devs/fifo"
    Then stdout is "8,0 block special file\n0,0 fifo\n"

  Scenario: docker import of a layer with a hard link to a missing file fails as dockerd's import does
    Given a docker-save archive "<img>:1" of busybox with a top layer holding
      | name | kind | data    |
      | hard | link | nothere |
    When I import the top layer as "<imp>:1"
    Then the command fails
    And stderr is "Error response from daemon: Error processing tar file(exit status 1): link /nothere /hard: no such file or directory\n"
    And the image "<imp>:1" does not exist

  Scenario: Importing an empty body makes an image of one empty layer, as dockerd does
    When I send POST /v1.39/images/create?fromSrc=-&repo=<img>&tag=1
    Then the status is 200
    And the response JSON field "status" matches "sha256:[0-9a-f]{64}"
    And the image "<img>:1" exists
    And the response JSON field "Size" is 0
    When I run "docker image inspect -f '{{len .RootFS.Layers}}' <img>:1"
    Then stdout is "1\n"
