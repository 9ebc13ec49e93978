"""The runtime is spawned with clean signal state (Python ignores SIGPIPE/SIGXFSZ; glibc's posix_spawn would
make the child ignore signals 32/33) and exec failures surface as OSError."""

from __future__ import annotations

import errno
import os

import pytest
from skiff.shim.runc import spawn

pytestmark = pytest.mark.unit


def test_child_has_default_dispositions_and_empty_mask() -> None:
    r, w = os.pipe()
    null = os.open(os.devnull, os.O_RDONLY)
    try:
        pid = spawn("/bin/grep", ["grep", "-E", "^Sig(Ign|Blk)", "/proc/self/status"], (null, w, w))
    finally:
        os.close(w)
        os.close(null)
    with os.fdopen(r, "rb") as f:
        out = f.read().decode()
    assert os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]) == 0
    assert dict(line.split() for line in out.splitlines()) == {
        "SigBlk:": "0000000000000000", "SigIgn:": "0000000000000000"}


def test_exec_failure_raises() -> None:
    with pytest.raises(OSError) as err:
        spawn("/nonexistent/runtime", ["runtime"], (0, 1, 2))
    assert err.value.errno == errno.ENOENT
