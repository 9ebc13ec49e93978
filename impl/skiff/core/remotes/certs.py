"""Registry TLS from the certs.d convention: ``<certs.d>/<host:port>/`` holds ``*.crt`` CAs and
``*.cert``/``*.key`` client pairs, read on every pull or push (a new CA needs no restart, as dockerd).

Skiff reads its own ``/etc/skiff/certs.d`` first, then dockerd's ``/etc/docker/certs.d`` so a host set up
for Docker works unchanged. The system's CAs stay trusted beside them. An insecure registry skips the
verification (dockerd's ``InsecureSkipVerify``) but still presents a client certificate.
"""

from __future__ import annotations

import os
import ssl
from pathlib import Path

from skiff import errdefs

CERTS_DIRS = (Path("/etc/skiff/certs.d"), Path("/etc/docker/certs.d"))


def certs_dirs() -> list[Path]:
    """``SKIFF_CERTS_D`` (colon separated) replaces the defaults: tests with private roots use it."""
    env = os.environ.get("SKIFF_CERTS_D")
    if env:
        return [Path(p) for p in env.split(":") if p]
    return list(CERTS_DIRS)


def host_dir(host: str) -> Path | None:
    """The first certs.d directory for ``host`` (``192.0.2.2:5000``); never one outside the roots."""
    if not host or "/" in host or host in (".", ".."):
        return None
    for root in certs_dirs():
        d = root / host
        if d.is_dir():
            return d
    return None


def tls_context(host: str, insecure: bool) -> ssl.SSLContext:
    """The client context for ``host``: system CAs plus certs.d's, client pairs, verification unless
    the registry is insecure."""
    ctx = ssl.create_default_context()
    d = host_dir(host)
    if d is not None:
        for entry in sorted(d.iterdir()):
            if entry.suffix == ".crt":
                ctx.load_verify_locations(cafile=str(entry))
            elif entry.suffix == ".cert":
                key = entry.with_suffix(".key")
                if not key.exists():
                    raise errdefs.Unknown(f"missing key {key.name} for client certificate {entry.name}. "
                                          "CA certificates must use the extension .crt")
                ctx.load_cert_chain(str(entry), str(key))
    if insecure:
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    return ctx
