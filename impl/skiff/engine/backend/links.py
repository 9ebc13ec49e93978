"""The legacy ``--link`` environment (dockerd's links.Link.ToEnv): ``ALIAS_PORT``, ``ALIAS_PORT_<n>_<PROTO>*``
(with ``_START``/``_END`` for runs of contiguous ports), ``ALIAS_NAME`` and ``ALIAS_ENV_*`` from the
linked container's config."""

from __future__ import annotations

import posixpath
from typing import Any


def _ports(exposed: dict[str, Any] | None) -> list[tuple[int, str]]:
    out = []
    for spec in exposed or {}:
        port, _, proto = str(spec).partition("/")
        if port.isdigit():
            out.append((int(port), (proto or "tcp").lower()))
    # ascending by number; for one number tcp first (dockerd's sort)
    return sorted(out, key=lambda p: (p[0], p[1] != "tcp"))


def _contiguous(ports: list[tuple[int, str]], value: int, index: int) -> int:
    """dockerd's nextContiguous: the last index of the run starting at ``index``."""
    if index + 1 == len(ports):
        return index
    for i in range(index + 1, len(ports)):
        if ports[i][0] > value + 1:
            return i - 1
        value += 1
    return len(ports) - 1


def link_env(
    parent_name: str, alias: str, child_ip: str, child_env: list[str] | None, exposed: dict[str, Any] | None
) -> list[str]:
    """The variables a container linked to a child at ``child_ip`` as ``alias`` gets."""
    name = posixpath.join(parent_name if parent_name.startswith("/") else "/" + parent_name, alias)
    key = posixpath.basename(name).upper().replace("-", "_")
    ports = _ports(exposed)
    env: list[str] = []
    if ports:
        env.append(f"{key}_PORT={ports[0][1]}://{child_ip}:{ports[0][0]}")
    i = 0
    while i < len(ports):
        j = _contiguous(ports, ports[i][0], i)
        if j > i + 1:
            (p, proto), (q, qproto) = ports[i], ports[j]
            base = f"{key}_PORT_{p}_{proto.upper()}"
            env += [
                f"{base}_START={proto}://{child_ip}:{p}",
                f"{base}_ADDR={child_ip}",
                f"{base}_PROTO={proto}",
                f"{base}_PORT_START={p}",
                f"{key}_PORT_{p}_{qproto.upper()}_END={qproto}://{child_ip}:{q}",
                f"{key}_PORT_{p}_{qproto.upper()}_PORT_END={q}",
            ]
            i = j + 1
        else:
            i += 1
    for p, proto in ports:
        base = f"{key}_PORT_{p}_{proto.upper()}"
        env += [f"{base}={proto}://{child_ip}:{p}", f"{base}_ADDR={child_ip}", f"{base}_PORT={p}",
                f"{base}_PROTO={proto}"]
    env.append(f"{key}_NAME={name}")
    for item in child_env or []:
        var, sep, value = str(item).partition("=")
        if sep and var not in ("HOME", "PATH"):
            env.append(f"{key}_ENV_{var}={value}")
    return env
