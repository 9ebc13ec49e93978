"""Engine integration tests: pytest marks and shared fixtures."""

from __future__ import annotations

import warnings

warnings.filterwarnings("ignore", message=r"Using `httpx` with `starlette.testclient`")
