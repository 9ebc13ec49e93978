"""An idle shim holds one container: what its process imports is its memory (about 1 MB of anonymous memory
for ``socket``/``selectors``/``enum``/``json``/``re`` alone), so the serving path must stay without them;
exec and terminal support come in only when asked for, and still work."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from shim_bundles import config
from shim_support import Container, until
from skiff.shim.protocol import ShimClient, decode_frame_header, start_shim

pytestmark = pytest.mark.root

Make = Callable[..., Container]
LEAN = ("enum", "json", "re", "selectors", "signal", "socket", "collections", "typing", "skiff.shim.execs")

# runs the real shim; once it has served (shutdown), records what the daemon imported
TRACER = """#!{python}
import os
import sys
import skiff.shim.main as m

serve = m._serve


def traced(opts, listener):
    try:
        serve(opts, listener)
    finally:
        with open(opts["bundle"] + "/modules.tmp", "w") as f:
            f.write("\\n".join(sorted(sys.modules)))
        os.rename(opts["bundle"] + "/modules.tmp", opts["bundle"] + "/modules.txt")


m._serve = traced
sys.exit(m.main())
"""


def test_a_container_lifecycle_imports_no_heavy_modules(containers: Make, tmp_path: Path) -> None:
    tracer = tmp_path / "traced-shim"
    tracer.write_text(TRACER.format(python=sys.executable))
    tracer.chmod(0o755)
    ctr = containers(["sh", "-c", "echo out; echo err >&2; exec sleep 1000"])
    ctr.sock = start_shim(ctr.id, ctr.bundle, ctr.runtime, ctr.log_path, runtime_root=ctr.runtime_root,
                          shim=tracer)
    c = ctr.client()
    c.create()
    c.start()
    assert c.state().status == "running"
    c.kill(9)
    assert c.wait(timeout=30).exit_status == 137
    assert len(ctr.log_lines()) == 2
    c.delete()
    c.shutdown()
    c.close()
    record = ctr.bundle / "modules.txt"
    until(record.exists, what="the shim to exit")  # shutdown replies before the loop stops
    modules = record.read_text().split()
    assert "skiff.shim.service" in modules  # it did serve
    assert not {m for m in modules if m in LEAN or m.split(".")[0] in LEAN}


def _output(client: ShimClient, exec_id: str) -> bytes:
    out = b""
    for frame in client.attach(exec_id=exec_id):
        _, length = decode_frame_header(frame[:8])
        out += frame[8:8 + length]
    return out


def test_exec_and_exec_with_a_terminal(containers: Make) -> None:
    ctr = containers(["sleep", "1000"])
    ctr.start_shim()
    c = ctr.client()
    c.create()
    c.start()
    process = {**config(ctr.id, ["sh", "-c", "echo exec-out; exit 4"])["process"], "terminal": False}
    c.exec("e1", process)
    watcher = ctr.client()
    frames = watcher.attach(exec_id="e1")
    c.start_exec("e1")
    out = b"".join(f[8:] for f in frames)
    assert out == b"exec-out\n"
    assert c.wait_exec("e1", timeout=30).exit_status == 4
    tty = {**config(ctr.id, ["sh", "-c", "test -t 1 && echo on-a-tty"])["process"]}
    c.exec("e2", tty, terminal=True)
    watcher2 = ctr.client()
    frames2 = watcher2.attach(exec_id="e2")
    c.start_exec("e2")
    assert b"".join(f[8:] for f in frames2) == b"on-a-tty\r\n"
    assert c.wait_exec("e2", timeout=30).exit_status == 0
    assert json.loads((ctr.bundle / "config.json").read_text())["process"]["args"] == ["sleep", "1000"]
    c.kill(9)
    assert c.wait(timeout=30).exit_status == 137
