"""The output pump over real pipes and the real loop: json-file records, frames, end of output."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from skiff.shim import wire
from skiff.shim.io import Output
from skiff.shim.loop import Loop

pytestmark = pytest.mark.unit


class Recorder:
    def __init__(self) -> None:
        self.data = b""
        self.closed = False

    def send(self, data: bytes) -> None:
        assert not self.closed
        self.data += data

    def close_after_flush(self) -> None:
        self.closed = True


def test_output_logs_frames_and_ends(tmp_path: Path) -> None:
    loop = Loop()
    done: list[bool] = []
    log = tmp_path / "sub" / "c-json.log"
    out = Output(loop, str(log), lambda: (done.append(True), loop.stop()))
    both, errs = Recorder(), Recorder()
    out.subscribe(both, stdout=True, stderr=True)
    out.subscribe(errs, stdout=False, stderr=True)
    out_w, err_w, _ = out.open_pipes()
    out.begin()
    os.write(out_w, b"one\ntw")
    os.write(err_w, b"oops\n")
    os.write(out_w, b"o\nend")
    os.close(out_w)
    os.close(err_w)
    loop.run()
    assert done == [True] and out.done
    records = [json.loads(line) for line in log.read_bytes().splitlines()]
    by_stream = {s: [r["log"] for r in records if r["stream"] == s] for s in ("stdout", "stderr")}
    assert by_stream == {"stdout": ["one\n", "two\n", "end"], "stderr": ["oops\n"]}
    assert oct(log.stat().st_mode & 0o777) == "0o640"
    assert both.closed and errs.closed
    assert errs.data == wire.encode_frame(wire.STDERR, b"oops\n")
    payload = {1: b"", 2: b""}
    data = both.data
    while data:
        stream, length = wire.decode_frame_header(data[:8])
        payload[stream] += data[8:8 + length]
        data = data[8 + length:]
    assert payload == {1: b"one\ntwo\nend", 2: b"oops\n"}
    late = Recorder()
    out.subscribe(late, stdout=True, stderr=True)
    assert late.closed and late.data == b""
    out.close()


def test_abandon_drops_what_the_runtime_printed(tmp_path: Path) -> None:
    loop = Loop()
    out = Output(loop, str(tmp_path / "c.log"), loop.stop)
    out_w, err_w, _ = out.open_pipes()
    os.write(err_w, b"runtime error\n")
    out.abandon()
    os.close(out_w)
    os.close(err_w)
    assert not out.started and (tmp_path / "c.log").read_bytes() == b""
    out.close()
