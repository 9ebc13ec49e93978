"""Container names: validation and Docker-style ``adjective_surname`` generation (our own word lists)."""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable

from skiff import errdefs

VALID_NAME = re.compile(r"^/?[a-zA-Z0-9][a-zA-Z0-9_.-]+$")

ADJECTIVES: tuple[str, ...] = (
    "agile",
    "amber",
    "ardent",
    "bold",
    "brave",
    "bright",
    "brisk",
    "calm",
    "candid",
    "cheerful",
    "clever",
    "cosmic",
    "crisp",
    "curious",
    "daring",
    "deft",
    "eager",
    "earnest",
    "fearless",
    "festive",
    "frank",
    "gentle",
    "glad",
    "golden",
    "graceful",
    "hardy",
    "humble",
    "jolly",
    "keen",
    "kind",
    "lively",
    "loyal",
    "lucid",
    "mellow",
    "merry",
    "mighty",
    "nimble",
    "noble",
    "patient",
    "placid",
    "plucky",
    "quiet",
    "radiant",
    "rapid",
    "serene",
    "sincere",
    "steady",
    "sturdy",
    "swift",
    "tidy",
    "upbeat",
    "vivid",
    "witty",
    "zesty",
)

# Scientists, engineers and explorers.
SURNAMES: tuple[str, ...] = (
    "agnesi",
    "ampere",
    "archimedes",
    "avogadro",
    "babbage",
    "bohr",
    "boole",
    "cannon",
    "cantor",
    "carver",
    "celsius",
    "curie",
    "darwin",
    "dirac",
    "euclid",
    "euler",
    "faraday",
    "fermi",
    "fourier",
    "franklin",
    "galileo",
    "gauss",
    "germain",
    "hamilton",
    "hertz",
    "hopper",
    "huygens",
    "jemison",
    "joule",
    "kelvin",
    "kepler",
    "lamarr",
    "laplace",
    "leibniz",
    "lovelace",
    "maxwell",
    "meitner",
    "mendel",
    "newton",
    "noether",
    "ohm",
    "pascal",
    "planck",
    "ramanujan",
    "riemann",
    "sagan",
    "tesla",
    "turing",
    "volta",
    "wright",
    "yalow",
    "zuse",
)


def generate(taken: Callable[[str], bool], rand: Callable[[int], int] = secrets.randbelow) -> str:
    """A free ``adjective_surname``; after many collisions a digit is appended, as Docker does."""
    for attempt in range(100):
        name = f"{ADJECTIVES[rand(len(ADJECTIVES))]}_{SURNAMES[rand(len(SURNAMES))]}"
        if attempt >= 10:
            name += str(rand(10))
        if not taken(name):
            return name
    raise errdefs.Unknown("could not generate a unique container name")


def normalize(name: str) -> str:
    """Validate a requested name and give it its leading slash."""
    if not VALID_NAME.match(name):
        raise errdefs.InvalidArgument(
            f"Invalid container name ({name}), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed"
        )
    return name if name.startswith("/") else "/" + name
