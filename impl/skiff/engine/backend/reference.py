"""Image references as Docker normalises them: ``busybox`` is ``docker.io/library/busybox:latest``."""

from __future__ import annotations

import re
from dataclasses import dataclass

from skiff import errdefs

DEFAULT_DOMAIN = "docker.io"
LEGACY_DOMAIN = "index.docker.io"
OFFICIAL_PREFIX = "library/"
DEFAULT_TAG = "latest"

_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|[-]*)[a-z0-9]+)*"
_DOMAIN_COMPONENT = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_DOMAIN = rf"{_DOMAIN_COMPONENT}(?:\.{_DOMAIN_COMPONENT})*(?::[0-9]+)?"
_PATH = rf"{_COMPONENT}(?:/{_COMPONENT})*"
_TAG = r"[\w][\w.-]{0,127}"
_DIGEST = r"[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}"
_REFERENCE = re.compile(rf"^(?:({_DOMAIN})/)?({_PATH})(?::({_TAG}))?(?:@({_DIGEST}))?$")
_HEX64 = re.compile(r"^[a-f0-9]{64}$")
_SHA256_DIGEST = re.compile(r"^sha256:[a-f0-9]{64}$")
_ID_PREFIX = re.compile(r"^(?:sha256:)?[a-f0-9]{1,64}$")


@dataclass(frozen=True)
class Reference:
    domain: str
    path: str
    tag: str = ""
    digest: str = ""

    @property
    def repository(self) -> str:
        return f"{self.domain}/{self.path}"

    def __str__(self) -> str:
        out = self.repository
        if self.tag:
            out += f":{self.tag}"
        if self.digest:
            out += f"@{self.digest}"
        return out

    def familiar_repository(self) -> str:
        if self.domain == DEFAULT_DOMAIN:
            return self.path.removeprefix(OFFICIAL_PREFIX)
        return self.repository

    def familiar(self) -> str:
        out = self.familiar_repository()
        if self.tag:
            out += f":{self.tag}"
        if self.digest:
            out += f"@{self.digest}"
        return out

    def with_default_tag(self) -> Reference:
        if self.tag or self.digest:
            return self
        return Reference(self.domain, self.path, DEFAULT_TAG, "")


def parse(value: str) -> Reference:
    """parse_normalized_named: fill in docker.io and library/; raise InvalidArgument like Docker."""
    if _HEX64.match(value):
        raise errdefs.InvalidArgument(
            f"invalid repository name ({value}), cannot specify 64-byte hexadecimal strings"
        )
    domain, remainder = split_domain(value)
    name_part = remainder.split("@", 1)[0]
    if ":" in name_part:
        name_part = name_part.rsplit(":", 1)[0]
    if name_part.lower() != name_part:
        raise errdefs.InvalidArgument("invalid reference format: repository name must be lowercase")
    m = _REFERENCE.match(f"{domain}/{remainder}")
    if not m or not value:
        raise errdefs.InvalidArgument("invalid reference format")
    ref_domain, path, tag, digest = m.groups()
    if len(f"{ref_domain}/{path}") > 255:
        raise errdefs.InvalidArgument(
            "invalid reference format: repository name must not be more than 255 characters"
        )
    return Reference(ref_domain or domain, path, tag or "", digest or "")


def split_domain(value: str) -> tuple[str, str]:
    i = value.find("/")
    if i == -1 or (
        not any(c in value[:i] for c in ".:") and value[:i] != "localhost" and value[:i].lower() == value[:i]
    ):
        domain, remainder = DEFAULT_DOMAIN, value
    else:
        domain, remainder = value[:i], value[i + 1 :]
    if domain == LEGACY_DOMAIN:
        domain = DEFAULT_DOMAIN
    if domain == DEFAULT_DOMAIN and "/" not in remainder:
        remainder = OFFICIAL_PREFIX + remainder
    return domain, remainder


def normalize_name(value: str) -> str:
    """The full name core stores: ``docker.io/library/busybox:latest``."""
    return str(parse(value).with_default_tag())


def familiar_name(full: str) -> str:
    """``docker.io/library/busybox:latest`` -> ``busybox:latest``; other strings unchanged."""
    try:
        return parse(full).familiar()
    except errdefs.InvalidArgument:
        return full


def familiar_tagged(value: str) -> str:
    """What Docker prints in "No such image": the familiar name with the default tag."""
    try:
        return parse(value).with_default_tag().familiar()
    except errdefs.InvalidArgument:
        return value


def missing_name(value: str) -> str:
    """How Docker's "No such image: X" names a reference (``ParseAnyReference``, then the default tag):
    a 64-hex ID or a sha256 digest is shown as ``sha256:<hex>``, anything else as a familiar tagged name."""
    if _HEX64.match(value):
        return f"sha256:{value}"
    if _SHA256_DIGEST.match(value):
        return value
    return familiar_tagged(value)


def looks_like_id(value: str) -> bool:
    return bool(_ID_PREFIX.match(value))
