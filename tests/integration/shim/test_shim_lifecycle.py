"""skiff-shim over a real OCI runtime: lifecycle, exit statuses, json-file log, attach, survival."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
from collections.abc import Callable

import pytest
from shim_support import Container, pid_alive, until
from skiff import errdefs
from skiff.shim.protocol import ShimClient, decode_frame_header, start_shim

pytestmark = pytest.mark.root

Make = Callable[..., Container]
TIME = re.compile(rb"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?Z$")


def run(ctr: Container) -> tuple[ShimClient, int]:
    ctr.start_shim()
    c = ctr.client()
    c.create()
    c.start()
    return c, c.wait(timeout=30).exit_status


def frames(raw: list[bytes]) -> dict[int, bytes]:
    out: dict[int, bytes] = {1: b"", 2: b""}
    for frame in raw:
        stream, length = decode_frame_header(frame[:8])
        assert len(frame) == 8 + length
        out[stream] += frame[8:]
    return out


def test_echo_hello_logs_json_file_and_exits_0(containers: Make) -> None:
    ctr = containers(["echo", "hello"])
    c, status = run(ctr)
    assert status == 0
    (line,) = ctr.log_lines()
    rec = json.loads(line)
    assert rec["log"] == "hello\n" and rec["stream"] == "stdout"
    assert line == b'{"log":"hello\\n","stream":"stdout","time":"' + rec["time"].encode() + b'"}\n'
    assert TIME.match(rec["time"].encode())
    state = c.state()
    assert state.status == "stopped" and state.exit_status == 0 and state.id == ctr.id
    exit_json = json.loads((ctr.bundle / "exit.json").read_text())
    assert exit_json == {"exit_status": 0, "exited_at": state.exited_at, "pid": state.pid}
    assert TIME.match(state.exited_at.encode())


def test_exit_status_and_both_streams(containers: Make) -> None:
    ctr = containers(["sh", "-c", "echo out; echo err >&2; exit 3"])
    _, status = run(ctr)
    assert status == 3
    recs = sorted((r["stream"], r["log"]) for r in map(json.loads, ctr.log_lines()))
    assert recs == [("stderr", "err\n"), ("stdout", "out\n")]


def test_attach_before_start_receives_frames(containers: Make) -> None:
    ctr = containers(["sh", "-c", "echo out; echo err >&2; printf tail"])
    ctr.start_shim()
    c = ctr.client()
    both = c.attach()
    only_err = c.attach(stdout=False)
    c.create()
    c.start()
    assert frames(list(both)) == {1: b"out\ntail", 2: b"err\n"}
    assert frames(list(only_err)) == {1: b"", 2: b"err\n"}
    assert c.wait(timeout=30).exit_status == 0
    # attaching after the output ended: an immediate end of stream
    assert list(c.attach()) == []


def test_kill_sigkill_gives_137(containers: Make) -> None:
    ctr = containers(["sleep", "1000"])
    ctr.start_shim()
    c = ctr.client()
    pid = c.create().pid
    assert c.start().pid == pid
    assert c.state().status == "running"
    c.kill(signal.SIGKILL)
    assert c.wait(timeout=30).exit_status == 137
    assert c.state().status == "stopped"
    assert not pid_alive(pid)
    with pytest.raises(errdefs.NotFound):
        c.kill(signal.SIGTERM)


def test_sigterm_to_a_trapping_init_and_kill_all(containers: Make) -> None:
    # a pid namespace's init only gets the signals it handles (SIGKILL aside), as under Docker
    ctr = containers(["sh", "-c", "trap 'exit 7' TERM; echo ready; sleep 1000 & wait"])
    ctr.start_shim()
    c = ctr.client()
    output = iter(c.attach())
    c.create()
    c.start()
    assert next(output).endswith(b"ready\n")  # the trap is set: a TERM before it would be ignored by pid 1
    c.kill(signal.SIGTERM)
    assert c.wait(timeout=30).exit_status == 7
    ctr2 = containers(["sh", "-c", "sleep 1000 & sleep 1001"])
    ctr2.start_shim()
    c2 = ctr2.client()
    c2.create()
    c2.start()
    c2.kill(signal.SIGKILL, all=True)
    assert c2.wait(timeout=30).exit_status == 137


def test_shim_survives_its_starter(containers: Make) -> None:
    ctr = containers(["sleep", "1000"])
    starter_code = (
        "import sys, time\n"
        "from skiff.shim.protocol import ShimClient, start_shim\n"
        f"sock = start_shim({ctr.id!r}, {str(ctr.bundle)!r}, {str(ctr.runtime)!r}, {str(ctr.log_path)!r},"
        f" runtime_root={str(ctr.runtime_root)!r})\n"
        "c = ShimClient(sock); c.create(); c.start()\n"
        "print(sock, flush=True)\n"
        "time.sleep(1000)\n"
    )
    starter = subprocess.Popen([sys.executable, "-c", starter_code], stdout=subprocess.PIPE)
    with starter:
        try:
            assert starter.stdout is not None
            ctr.sock = starter.stdout.readline().decode().strip()
            assert ctr.sock == str(ctr.bundle / "shim.sock")
            shim_pid = ctr.shim_pid()
            # its own session (led by the intermediate child that exited), not a session leader itself
            assert os.getsid(shim_pid) not in (os.getsid(starter.pid), os.getsid(0), shim_pid)
        finally:
            os.kill(starter.pid, signal.SIGKILL)  # by PID
            starter.wait(timeout=10)
    assert pid_alive(shim_pid)
    with open(f"/proc/{shim_pid}/stat") as f:
        assert int(f.read().rsplit(")", 1)[1].split()[1]) != starter.pid
    c = ctr.client()  # a "restarted core" reconnects
    state = c.state()
    assert state.status == "running"
    c.kill(signal.SIGKILL)
    assert c.wait(timeout=30).exit_status == 137


def test_delete_and_shutdown_leave_nothing(containers: Make) -> None:
    ctr = containers(["sh", "-c", "echo bye"])
    c, _ = run(ctr)
    shim_pid = ctr.shim_pid()
    init_pid = c.state().pid
    deleted = c.delete()
    assert (deleted.pid, deleted.exit_status) == (init_pid, 0)
    assert ctr.runtime_state().returncode != 0  # the runtime forgot it
    assert c.state().deleted
    with pytest.raises(errdefs.NotFound):
        c.delete()
    c.shutdown()
    assert not (ctr.bundle / "shim.sock").exists() and not (ctr.bundle / "shim.pid").exists()
    until(lambda: not pid_alive(shim_pid), what="shim to exit")
    assert not pid_alive(init_pid)
    assert json.loads((ctr.bundle / "exit.json").read_text())["exit_status"] == 0
    with pytest.raises(errdefs.Unavailable):
        ShimClient(ctr.sock).state()


def test_delete_never_started_container(containers: Make) -> None:
    ctr = containers(["echo", "never"])
    ctr.start_shim()
    c = ctr.client()
    pid = c.create().pid
    assert pid_alive(pid)
    with pytest.raises(errdefs.FailedPrecondition):
        c.shutdown()
    deleted = c.delete()
    assert deleted.exit_status == 137 and not pid_alive(pid)
    assert c.wait(timeout=10).exit_status == 137
    assert ctr.log_lines() == []
    c.shutdown()


def test_illegal_transitions(containers: Make) -> None:
    ctr = containers(["sleep", "1000"])
    ctr.start_shim()
    c = ctr.client()
    with pytest.raises(errdefs.NotFound):
        c.state()
    with pytest.raises(errdefs.FailedPrecondition):
        c.start()
    c.create()
    with pytest.raises(errdefs.AlreadyExists):
        c.create()
    c.start()
    with pytest.raises(errdefs.FailedPrecondition):
        c.start()
    with pytest.raises(errdefs.FailedPrecondition):
        c.delete()
    with pytest.raises(errdefs.InvalidArgument):
        c.kill(0)


def test_create_failure_returns_the_runtime_error(containers: Make) -> None:
    ctr = containers(["/no/such/binary"])
    ctr.start_shim()
    c = ctr.client()
    with pytest.raises(errdefs.SkiffError, match="/no/such/binary") as err:
        c.create()
    assert "\n" not in str(err.value)
    assert ctr.log_lines() == []  # the runtime's complaint is not container output


def test_wait_returns_only_after_all_output_is_logged(containers: Make) -> None:
    script = "i=0; while [ $i -lt 3000 ]; do echo line $i; i=$((i+1)); done; printf end"
    ctr = containers(["sh", "-c", script])
    ctr.start_shim()
    c = ctr.client()
    other = ctr.client()
    c.create()
    c.start()
    assert other.wait(timeout=30).exit_status == 0
    lines = ctr.log_lines()
    assert len(lines) == 3001
    assert json.loads(lines[-2])["log"] == "line 2999\n"
    assert json.loads(lines[-1])["log"] == "end"
    assert c.wait(timeout=30).exit_status == 0


def test_long_lines_are_split_at_16k(containers: Make) -> None:
    ctr = containers(["sh", "-c", "head -c 40000 /dev/zero | tr '\\0' x; echo; echo short"])
    _, status = run(ctr)
    assert status == 0
    logs = [json.loads(line)["log"] for line in ctr.log_lines()]
    assert logs == ["x" * 16384, "x" * 16384, "x" * (40000 - 32768) + "\n", "short\n"]


def test_second_shim_on_the_same_bundle_is_refused(containers: Make) -> None:
    ctr = containers(["true"])
    ctr.start_shim()
    with pytest.raises(errdefs.AlreadyExists):
        start_shim(ctr.id, ctr.bundle, ctr.runtime, ctr.log_path, runtime_root=ctr.runtime_root)
    assert ctr.client().shutdown() is not None


def test_socket_and_files(containers: Make) -> None:
    ctr = containers(["true"])
    sock = ctr.start_shim()
    assert oct(os.stat(sock).st_mode & 0o777) == "0o600"
    shim_pid = ctr.shim_pid()
    assert pid_alive(shim_pid)
    with open(f"/proc/{shim_pid}/status") as f:
        assert "Threads:\t1\n" in f.read()
    c = ctr.client()
    c.create()
    c.start()
    assert c.wait(timeout=30).exit_status == 0
    assert (ctr.bundle / "init.pid").read_text().strip() == str(c.state().pid)


def test_host_pid_namespace_leftovers_are_killed(containers: Make) -> None:
    # a background process would hold stdout open forever after the init exits without a pid namespace
    ctr = containers(["sh", "-c", "sleep 1000 & echo started"])
    config = json.loads((ctr.bundle / "config.json").read_text())
    config["linux"]["namespaces"] = [ns for ns in config["linux"]["namespaces"] if ns["type"] != "pid"]
    (ctr.bundle / "config.json").write_text(json.dumps(config))
    _, status = run(ctr)
    assert status == 0
    assert [json.loads(line)["log"] for line in ctr.log_lines()] == ["started\n"]


def test_an_attached_client_that_does_not_read_blocks_nothing(containers: Make) -> None:
    ctr = containers(["sh", "-c", "head -c 3000000 /dev/zero | tr '\\0' y | fold -w 999"])
    ctr.start_shim()
    c = ctr.client()
    stalled = c.attach()  # never read until the end
    c.create()
    c.start()
    assert c.wait(timeout=60).exit_status == 0
    logged = "".join(json.loads(line)["log"] for line in ctr.log_lines())
    assert logged.count("y") == 3000000
    received = frames(list(stalled))
    assert received[1] == logged.encode()


def test_the_container_does_not_inherit_pythons_ignored_signals(containers: Make) -> None:
    ctr = containers(["grep", "-E", "^Sig(Ign|Blk)", "/proc/self/status"])
    _, status = run(ctr)
    assert status == 0
    masks = dict(json.loads(line)["log"].split() for line in ctr.log_lines())
    assert masks == {"SigBlk:": "0000000000000000", "SigIgn:": "0000000000000000"}
