"""The shim starts once per container: pin what its process imports (typing alone costs ~8 ms)."""

from __future__ import annotations

import subprocess
import sys

import pytest

pytestmark = pytest.mark.unit

HEAVY = ("typing", "asyncio", "dataclasses", "subprocess", "argparse", "threading", "contextlib", "inspect",
         "grpc", "google.protobuf", "skiff.shim.protocol", "skiff.oci", "skiff.core", "skiff.engine")


def _imported(code: str) -> set[str]:
    script = f"import sys\n{code}\nprint('\\n'.join(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True).stdout
    return set(out.split())


def test_start_path_imports_stay_light() -> None:
    loaded = _imported("import skiff.shim.main")
    assert not {m for m in loaded if m.split(".")[0] in HEAVY or m in HEAVY}
    assert "json" not in loaded  # nothing on the start path needs it


def test_serving_imports_stay_light() -> None:
    loaded = _imported("import skiff.shim.main, skiff.shim.service, ctypes")
    assert not {m for m in loaded if m in HEAVY or m.split(".")[0] in HEAVY}
