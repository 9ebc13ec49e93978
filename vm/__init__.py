"""Provisioning of the reference Docker and of the test image.

The reference runs on a backend implementing :class:`vm.backend.Backend`: ``local`` (a dockerd from Debian's
docker.io on this machine, :mod:`vm.local`; the default and CI's) or ``qemu`` (the same Docker in a Debian VM
under software emulation, :mod:`vm.qemu`; see vm/README.md for its cost).
"""
