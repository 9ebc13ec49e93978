"""Docker image references, parsed as the distribution library's ``ParseNormalizedNamed`` does: normalise
(``busybox`` -> ``docker.io/library/busybox:latest``), shorten for display (``busybox:latest``), and name
them in errors with dockerd's wording. The one parser of the project: the engine uses it too."""

from __future__ import annotations

import re
from dataclasses import dataclass

from skiff import errdefs

DEFAULT_DOMAIN = "docker.io"
LEGACY_DOMAIN = "index.docker.io"
OFFICIAL_PREFIX = "library/"
DEFAULT_TAG = "latest"

# the separator is never empty: Docker's `[-]*` (RE2, linear) backtracks exponentially in Python on a long
# run of digits that then fails (fuzz: `4.980969714951716e+213` held the core ~40 s); same language
_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|[-]+)[a-z0-9]+)*"
_DOMAIN_COMPONENT = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_DOMAIN = rf"{_DOMAIN_COMPONENT}(?:\.{_DOMAIN_COMPONENT})*(?::[0-9]+)?"
_PATH = rf"{_COMPONENT}(?:/{_COMPONENT})*"
TAG = re.compile(r"[\w][\w.-]{0,127}")
_DIGEST = r"[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}"
_REFERENCE = re.compile(rf"^(?:({_DOMAIN})/)?({_PATH})(?::({TAG.pattern}))?(?:@({_DIGEST}))?$")
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
    def name(self) -> str:
        """The repository: ``docker.io/library/busybox``."""
        return f"{self.domain}/{self.path}"

    def __str__(self) -> str:
        return self.name + self._suffix()

    def _suffix(self) -> str:
        return (f":{self.tag}" if self.tag else "") + (f"@{self.digest}" if self.digest else "")

    def familiar_name(self) -> str:
        """The repository as Docker shows it: ``busybox``, ``user/app``, ``quay.io/x/y``."""
        if self.domain == DEFAULT_DOMAIN:
            return self.path.removeprefix(OFFICIAL_PREFIX)
        return self.name

    def familiar(self) -> str:
        """The whole reference as Docker shows it: ``busybox:latest``."""
        return self.familiar_name() + self._suffix()

    def with_default_tag(self) -> Reference:
        if self.tag or self.digest:
            return self
        return Reference(self.domain, self.path, DEFAULT_TAG, "")


def parse(value: str) -> Reference:
    """Fill in docker.io and library/; a reference with neither tag nor digest stays tagless (see
    ``normalise``). Raises InvalidArgument with Docker's messages."""
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
    """Docker's rule: the part before the first ``/`` is a registry if it has a ``.`` or ``:``, is
    ``localhost`` or has capitals; otherwise it is on docker.io (official images under library/)."""
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


def normalise(value: str) -> Reference:
    """``parse`` plus the default tag: ``busybox`` -> ``docker.io/library/busybox:latest``."""
    return parse(value).with_default_tag()


def normalised_name(value: str) -> str:
    """The full name core stores: ``docker.io/library/busybox:latest``."""
    return str(normalise(value))


def familiar(name: str) -> str:
    """Display form of a stored (normalised) name; names that do not parse are returned unchanged."""
    try:
        return parse(name).familiar()
    except errdefs.InvalidArgument:
        return name


def familiar_tagged(value: str) -> str:
    """What Docker prints in "No such image": the familiar name with the default tag."""
    try:
        return normalise(value).familiar()
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
