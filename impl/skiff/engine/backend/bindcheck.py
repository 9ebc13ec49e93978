"""Host paths of bind mounts, checked at create as dockerd does: a ``Binds`` source that does not exist
is created (a directory), a ``Mounts`` bind source that does not exist is refused."""

from __future__ import annotations

import os
from typing import Any

from skiff import errdefs


def prepare(host_config: dict[str, Any]) -> None:
    for m in host_config.get("Mounts") or []:
        if not isinstance(m, dict) or m.get("Type") != "bind":
            continue
        source = str(m.get("Source") or "")
        if not source:
            raise errdefs.InvalidArgument(
                'invalid mount config for type "bind": field Source must not be empty'
            )
        if not os.path.isabs(source):
            raise errdefs.InvalidArgument(
                'invalid mount config for type "bind": invalid mount path: '
                f"'{source}' mount path must be absolute"
            )
        if not os.path.exists(source):
            raise errdefs.InvalidArgument(
                f'invalid mount config for type "bind": bind source path does not exist: {source}'
            )
    for bind in host_config.get("Binds") or []:
        source = str(bind).split(":", 1)[0]
        if source.startswith("/") and not os.path.exists(source):
            os.makedirs(source, 0o755, exist_ok=True)
