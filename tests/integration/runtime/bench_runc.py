"""Wall time of create + start + (init exits) + delete for a ``true`` container: skiff-runc vs runc.

Usage (root): .venv/bin/python tests/integration/runtime/bench_runc.py [N] [--seccomp]
Prints the median and min of N runs (default 10) per runtime, plus ``state`` alone.
Run ``python -m compileall impl/skiff`` first when PYTHONDONTWRITEBYTECODE is set.
"""

from __future__ import annotations

import ctypes
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from runc_bundle import docker_config, make_rootfs, write_config

RUNTIMES = {"skiff-runc": str(Path(sys.executable).with_name("skiff-runc")), "runc": "/usr/sbin/runc"}


def run(cmd: list[str]) -> None:
    """stderr goes to a file, not a pipe: the container init inherits it and outlives ``create``."""
    with tempfile.TemporaryFile() as err:
        res = subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=err,
                             check=False)
        if res.returncode != 0:
            err.seek(0)
            raise SystemExit(f"{cmd}: {err.read().decode()}")


def main() -> None:
    args = [a for a in sys.argv[1:] if a != "--seccomp"]
    n = int(args[0]) if args else 10
    with_seccomp = "--seccomp" in sys.argv
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(36, 1, 0, 0, 0)  # subreaper: reap the inits ourselves, as the shim would
    with tempfile.TemporaryDirectory() as tmp:
        rootfs = Path(tmp) / "rootfs"
        make_rootfs(rootfs)
        for name, binary in RUNTIMES.items():
            bundle = Path(tmp) / name
            bundle.mkdir()
            config = docker_config(["true"], cgroups_path=f"/skiff-runc-bench-{name}")
            config["root"]["path"] = str(rootfs)
            if with_seccomp:  # the profile dockerd 20.10 puts in every config
                config["linux"]["seccomp"] = json.loads((Path(__file__).parent / "data" /
                                                         "docker-20.10-seccomp.json").read_text())
            write_config(bundle, config)
            base = [binary, "--root", str(Path(tmp) / f"state-{name}")]
            times, state_times = [], []
            for i in range(n + 1):
                cid = f"bench{i}"
                t0 = time.perf_counter()
                run([*base, "create", "--bundle", str(bundle), "--pid-file", str(bundle / "pid"), cid])
                pid = int((bundle / "pid").read_text())
                t1 = time.perf_counter()
                run([*base, "state", cid])
                t2 = time.perf_counter()
                run([*base, "start", cid])
                os.waitpid(pid, 0)
                run([*base, "delete", cid])
                t3 = time.perf_counter()
                if i:  # the first run warms caches
                    times.append(t3 - t2 + t1 - t0)
                    state_times.append(t2 - t1)
            median, state_median = statistics.median(times) * 1000, statistics.median(state_times) * 1000
            print(f"{name:10s} create+start+delete median {median:6.1f} ms "
                  f"(min {min(times) * 1000:.1f}); state median {state_median:.1f} ms")


if __name__ == "__main__":
    main()
