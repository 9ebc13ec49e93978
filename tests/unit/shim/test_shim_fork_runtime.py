"""skiff-runc verbs in a forked child of the shim (fork_call): same stdio, no inherited fds, clean signal
state, the runtime's exit status; and only for this installation's own skiff-runc."""

from __future__ import annotations

import json
import os
import sys

import pytest
from skiff.shim.runc import fork_call, own_runtime

pytestmark = pytest.mark.unit

OWN = os.path.join(os.path.dirname(sys.executable), "skiff-runc")


def _run(argv: list[str]) -> tuple[int, str]:
    r, w = os.pipe()
    null = os.open(os.devnull, os.O_RDONLY)
    try:
        pid = fork_call(argv, (null, w, w))
    finally:
        os.close(w)
        os.close(null)
    with os.fdopen(r, "rb") as f:
        out = f.read().decode()
    return os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]), out


def test_the_child_runs_the_runtime_main_on_the_given_stdio() -> None:
    code, out = _run([OWN, "--version"])
    assert code == 0 and out.startswith("skiff-runc version")


def test_the_runtime_exit_status_comes_back() -> None:
    code, out = _run([OWN, "--root", "/nonexistent-skiff-root", "state", "no-such-container"])
    assert code == 1 and "does not exist" in out


def test_only_our_own_runtime_forks(monkeypatch: pytest.MonkeyPatch) -> None:
    if not os.path.exists(OWN):
        pytest.skip("no skiff-runc next to the interpreter")
    assert own_runtime(OWN)
    assert not own_runtime("/bin/true")
    assert not own_runtime("/nonexistent/runc")
    monkeypatch.setenv("SKIFF_RUNTIME_FORK", "0")
    assert not own_runtime(OWN)


def test_the_child_has_only_its_stdio_and_clean_signal_state(monkeypatch: pytest.MonkeyPatch) -> None:
    """What exec's close-on-exec and default dispositions gave the runtime, the forked child has too."""
    import skiff.runtime.cli

    def probe(argv: list[str]) -> int:
        fds = sorted(int(fd) for fd in os.listdir("/proc/self/fd"))
        with open("/proc/self/status") as f:
            sig = {k: v.strip() for k, v in (ln.split(":", 1) for ln in f) if k in ("SigIgn", "SigBlk")}
        sys.stdout.write(f"{argv} {fds} {sig['SigIgn']} {sig['SigBlk']}\n")
        return 3

    monkeypatch.setattr(skiff.runtime.cli, "main", probe)
    extra = os.open(os.devnull, os.O_RDONLY)
    os.set_inheritable(extra, True)
    try:
        code, out = _run([OWN, "exec", "x"])
    finally:
        os.close(extra)
    argv, rest = out.split("] ", 1)
    fds, ign, blk = rest.rsplit(" ", 2)
    assert code == 3 and argv == "['exec', 'x'"
    assert json.loads(fds) in ([0, 1, 2], [0, 1, 2, 3])  # 3: listdir's own directory fd
    assert (ign.strip(), blk.strip()) == ("0000000000000000", "0000000000000000")
