"""What skiffd says about itself in ``/version``, ``/info`` and the ``Server`` header."""

from __future__ import annotations

import platform
import sys
from importlib import metadata

try:
    SKIFF_VERSION = metadata.version("skiff")
except metadata.PackageNotFoundError:  # running from a source tree without installation
    SKIFF_VERSION = "0.0.0"

# Docker release whose Engine API behaviour skiff follows; the CLI parses this as semver.
ENGINE_VERSION = f"20.10.24+skiff{SKIFF_VERSION}"
GIT_COMMIT = "skiff"
RUNTIME_VERSION = f"python{platform.python_version()}"  # dockerd reports its Go version here
PYTHON_IMPLEMENTATION = f"{platform.python_implementation()} {sys.version.split()[0]}"
