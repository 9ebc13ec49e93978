"""Shim start-up and footprint: ``.venv/bin/python tests/integration/shim/bench_shim.py [RUNTIME]`` (root).

Prints the median wall time from ``start_shim`` to ``start`` returning for a ``true`` container (10 runs),
with its parts, and the PSS/RSS of one idle shim (/proc/<pid>/smaps_rollup) before and after its container
runs.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from shim_bundles import make_bundle, make_rootfs
from skiff.shim.protocol import ShimClient, start_shim

RUNS = 10


def memory(pid: int) -> str:
    with open(f"/proc/{pid}/smaps_rollup") as f:
        fields = dict(line.split(":", 1) for line in f if line.startswith(("Rss:", "Pss:")))
    return f"PSS {fields['Pss'].strip()}, RSS {fields['Rss'].strip()}"


def main() -> None:
    runtime = sys.argv[1] if len(sys.argv) > 1 else "/usr/sbin/runc"
    base = Path(tempfile.mkdtemp(prefix="shim-bench-"))
    shim_pids: list[int] = []
    try:
        make_rootfs(base / "rootfs")
        total, shim, create, start = [], [], [], []
        for i in range(RUNS):
            cid = f"shimbench{i}"
            bundle = make_bundle(base / cid, base / "rootfs", cid, ["true"])
            t0 = time.perf_counter()
            sock = start_shim(cid, bundle, runtime, base / "logs" / f"{cid}.log", runtime_root=base / "root")
            t1 = time.perf_counter()
            shim_pids.append(int((bundle / "shim.pid").read_text()))
            c = ShimClient(sock)
            c.create()
            t2 = time.perf_counter()
            c.start()
            t3 = time.perf_counter()
            total.append(t3 - t0)
            shim.append(t1 - t0)
            create.append(t2 - t1)
            start.append(t3 - t2)
            c.wait()
            c.delete()
            c.shutdown()

        def ms(xs: list[float]) -> str:
            return f"{statistics.median(xs) * 1000:.1f} ms"

        print(f"runtime {runtime}: start_shim -> start returned, median of {RUNS}: {ms(total)} "
              f"(start_shim {ms(shim)}, create {ms(create)}, start {ms(start)})")
        bundle = make_bundle(base / "idle", base / "rootfs", "shimbenchidle", ["sleep", "1000"])
        sock = start_shim("shimbenchidle", bundle, runtime, base / "logs" / "idle.log",
                          runtime_root=base / "root")
        pid = int((bundle / "shim.pid").read_text())
        shim_pids.append(pid)
        c = ShimClient(sock)
        print(f"idle shim before create: {memory(pid)}")
        c.create()
        c.start()
        print(f"idle shim with a running container: {memory(pid)}")
        c.kill(9)
        c.wait()
        c.delete()
        c.shutdown()
    finally:
        # a failed run must not leave shims or containers behind: force-delete, then end shims by PID
        for cid in [f"shimbench{i}" for i in range(RUNS)] + ["shimbenchidle"]:
            with contextlib.suppress(OSError):
                subprocess.run([runtime, "--root", str(base / "root"), "delete", "--force", cid],
                               capture_output=True, check=False)
        for pid in shim_pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        shutil.rmtree(base, ignore_errors=True)
        for ctrl in Path("/sys/fs/cgroup").iterdir():
            with contextlib.suppress(OSError):
                (ctrl / "skiff-shim-test").rmdir()


if __name__ == "__main__":
    main()
