"""The shim starts once per container and stays for its life: pin what its process imports (typing alone
costs ~8 ms; socket, selectors, signal, enum, json and re together about 1 MB of every idle shim's memory)."""

from __future__ import annotations

import subprocess
import sys

import pytest

pytestmark = pytest.mark.unit

HEAVY = ("typing", "asyncio", "dataclasses", "subprocess", "argparse", "threading", "contextlib", "inspect",
         "grpc", "google.protobuf", "skiff.shim.protocol", "skiff.oci", "skiff.core", "skiff.engine")
# what the daemon must do without (the C modules _socket, _signal, _json and select do the work)
LEAN = ("enum", "json", "re", "selectors", "signal", "socket", "collections", "functools", "skiff.runtime")
# only imported once an exec or a terminal is asked for
LAZY = ("skiff.shim.execs",)


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


def test_serving_imports_stay_lean() -> None:
    loaded = _imported("import skiff.shim.main, skiff.shim.service, skiff.shim.loop, ctypes\n"
                       "skiff.shim.loop.Loop().on_sigchld(lambda: None)")
    assert not {m for m in loaded if m in LEAN or m.split(".")[0] in LEAN}
    assert not set(LAZY) & loaded
