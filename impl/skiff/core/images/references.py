"""Docker image references: parse, normalise (``busybox`` -> ``docker.io/library/busybox:latest``) and
shorten for display (``busybox:latest``)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from skiff import errdefs

DEFAULT_DOMAIN = "docker.io"
OFFICIAL_PREFIX = "library/"
DEFAULT_TAG = "latest"

_COMPONENT = re.compile(r"^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$")
_LABEL = r"[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?"
_DOMAIN = re.compile(rf"^{_LABEL}(?:\.{_LABEL})*(?::[0-9]+)?$")
_TAG = re.compile(r"^[\w][\w.-]{0,127}$")
_DIGEST = re.compile(r"^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-fA-F0-9]{32,}$")
_HEX64 = re.compile(r"^[a-f0-9]{64}$")


@dataclass(frozen=True)
class Reference:
    domain: str
    path: str
    tag: str = ""
    digest: str = ""

    @property
    def name(self) -> str:
        """The repository: ``docker.io/library/busybox``."""
        return f"{self.domain}/{self.path}"

    def __str__(self) -> str:
        out = self.name
        if self.tag:
            out += ":" + self.tag
        if self.digest:
            out += "@" + self.digest
        return out

    def familiar_name(self) -> str:
        """The repository as Docker shows it: ``busybox``, ``user/app``, ``quay.io/x/y``."""
        if self.domain != DEFAULT_DOMAIN:
            return self.name
        return self.path[len(OFFICIAL_PREFIX):] if self.path.startswith(OFFICIAL_PREFIX) else self.path

    def familiar(self) -> str:
        """The whole reference as Docker shows it: ``busybox:latest``."""
        out = self.familiar_name()
        if self.tag:
            out += ":" + self.tag
        if self.digest:
            out += "@" + self.digest
        return out


def _invalid(ref: str, why: str = "") -> errdefs.InvalidArgument:
    return errdefs.InvalidArgument(f"invalid reference format{': ' + why if why else ''}" if ref else
                                   "invalid reference format")


def parse(ref: str) -> Reference:
    """Parse and normalise; a reference with neither tag nor digest stays tagless (see ``normalise``)."""
    if not ref or ref != ref.strip():
        raise _invalid(ref)
    rest, _, digest = ref.partition("@")
    if digest and not _DIGEST.match(digest):
        raise _invalid(ref)
    tag = ""
    slash = rest.rfind("/")
    colon = rest.rfind(":")
    if colon > slash:
        rest, tag = rest[:colon], rest[colon + 1:]
        if not _TAG.match(tag):
            raise _invalid(ref)
    first, sep, remainder = rest.partition("/")
    if sep and ("." in first or ":" in first or first == "localhost" or first != first.lower()):
        domain, path = first, remainder
        if not _DOMAIN.match(domain):
            raise _invalid(ref)
    else:
        domain, path = DEFAULT_DOMAIN, rest
    if domain == "index.docker.io":
        domain = DEFAULT_DOMAIN
    if domain == DEFAULT_DOMAIN and "/" not in path:
        path = OFFICIAL_PREFIX + path
    if path != path.lower():
        raise _invalid(ref, "repository name must be lowercase")
    if not path or not all(_COMPONENT.match(c) for c in path.split("/")):
        raise _invalid(ref)
    if _HEX64.match(path.removeprefix(OFFICIAL_PREFIX)) and domain == DEFAULT_DOMAIN and not tag:
        raise errdefs.InvalidArgument(
            f"invalid repository name ({rest}), cannot specify 64-byte hexadecimal strings"
        )
    return Reference(domain, path, tag, digest)


def normalise(ref: str) -> Reference:
    """``parse`` plus the default tag: ``busybox`` -> ``docker.io/library/busybox:latest``."""
    r = parse(ref)
    if not r.tag and not r.digest:
        r = Reference(r.domain, r.path, DEFAULT_TAG)
    return r


def familiar(name: str) -> str:
    """Display form of a stored (normalised) name; names that do not parse are returned unchanged."""
    try:
        return parse(name).familiar()
    except errdefs.InvalidArgument:
        return name
