"""The input side of a process over real pipes and ptys: stdin writes, EOF, console fd passing, resize."""

from __future__ import annotations

import fcntl
import os
import socket
import struct
import termios

import pytest
from skiff.shim import stdio
from skiff.shim.loop import Loop

pytestmark = pytest.mark.unit


def test_stdin_sink_writes_then_closes_for_eof() -> None:
    loop = Loop()
    r, w = os.pipe()
    sink = stdio.StdinSink(loop, w)
    sink.feed(b"hello ")
    sink.feed(b"world")
    sink.close()
    assert sink.closed
    data = b""
    while chunk := os.read(r, 100):
        data += chunk
    assert data == b"hello world"  # and then EOF: the write end is closed
    os.close(r)


def test_stdin_sink_buffers_when_the_reader_is_slow() -> None:
    loop = Loop()
    r, w = os.pipe()
    sink = stdio.StdinSink(loop, w)
    big = b"x" * (1 << 20)
    sink.feed(big)  # more than a pipe holds: the rest waits for writability
    assert not sink.closed
    drained: list[bool] = []
    sink.when_drained(lambda: drained.append(True))
    got = 0
    os.set_blocking(r, False)
    while got < len(big):
        try:
            got += len(os.read(r, 65536))
        except BlockingIOError:
            sink._writable()  # what the loop would call once the pipe is writable
    assert drained == [True]
    sink.close()
    os.close(r)


def test_a_dead_reader_drops_input_without_raising() -> None:
    loop = Loop()
    r, w = os.pipe()
    os.close(r)
    sink = stdio.StdinSink(loop, w)
    sink.feed(b"nobody reads this")  # EPIPE (SIGPIPE is ignored by Python)
    sink.close()
    assert sink.closed


def test_console_socket_passes_a_pty_master_and_resize_sets_its_size(tmp_path: os.PathLike[str]) -> None:
    listener, path = stdio.console_listener(str(tmp_path))
    master, slave = os.openpty()
    try:
        client = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        client.connect(path)
        socket.send_fds(client, [b"/dev/ptmx"], [master])
        client.close()
        received = stdio.receive_master(listener, path)
        assert not os.path.exists(path)
        stdio.resize(received, 120, 40)
        rows, cols, _, _ = struct.unpack("HHHH", fcntl.ioctl(slave, termios.TIOCGWINSZ, b"\0" * 8))
        assert (rows, cols) == (40, 120)
        os.close(received)
    finally:
        os.close(master)
        os.close(slave)
