"""Provisioning of the reference Docker and of the test image.

The reference runs on a backend: today only ``local`` (a dockerd from Debian's docker.io on this machine,
see :mod:`vm.local`); a VM backend can be added beside it implementing :class:`vm.backend.Backend`.
"""
