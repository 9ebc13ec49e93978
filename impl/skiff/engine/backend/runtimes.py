"""Per-container OCI runtimes: ``HostConfig.Runtime`` names one of the daemon's runtimes (``--add-runtime``,
daemon.json ``runtimes``, and ``runc``, which is Skiff's skiff-runc unless configured otherwise).

As dockerd: an empty name is the daemon's default runtime and is written back into the HostConfig; an unknown
name is refused at create with 400 "Unknown runtime specified <name>". The chosen binary goes to core with
the container (Containers.Create ``runtime``), whose shims then run it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from skiff import errdefs

OWN_RUNC = "runc"  # the name dockerd gives its bundled runc; here skiff-runc, core's default binary


def resolve(requested: Any, host_config: dict[str, Any], paths: Mapping[str, str], default: str,
            configured: Mapping[str, str]) -> str:
    """The binary for the container (``""``: core's default, skiff-runc); sets ``HostConfig.Runtime``.

    ``requested`` is the Runtime the client sent (before defaults), ``paths`` every runtime by name,
    ``configured`` the ones the daemon's configuration added (a configured ``runc`` replaces skiff-runc)."""
    name = str(requested or "") or default
    if name not in paths:
        raise errdefs.InvalidArgument(f"Unknown runtime specified {name}")
    host_config["Runtime"] = name
    if name == OWN_RUNC and OWN_RUNC not in configured:
        return ""
    return paths[name]
