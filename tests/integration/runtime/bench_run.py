"""``<runtime> run`` of a busybox ``true`` bundle: skiff-runc against runc and crun, side by side.

Usage (root): .venv/bin/python tests/integration/runtime/bench_run.py [N] [--seccomp]
Runs are interleaved (one of each runtime per round) so that machine noise hits all alike. Prints a
Markdown table: median and min wall time of ``run`` (create, start, wait for the init, delete) and the peak
RSS of the process tree (GNU time %M), plus the ratio to runc. ``--seccomp`` puts the
profile dockerd 20.10 sends into the config, as a real ``docker run`` has. crun refuses cgroup v1 when the
hybrid cgroup2 mount has controllers (this machine), so the benchmark runs in a private mount namespace
without /sys/fs/cgroup/unified (for every runtime alike). ``--no-cgroups`` drops ``cgroupsPath`` for all.
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from runc_bundle import docker_config, make_rootfs, write_config

RUNTIMES = {
    "skiff-runc": str(Path(sys.executable).with_name("skiff-runc")),
    "runc": "/usr/sbin/runc",
    "crun": "/usr/bin/crun",
}
TIME = "/usr/bin/time" if Path("/usr/bin/time").exists() else ""


def one_run(cmd: list[str]) -> tuple[float, int]:
    """Wall seconds and peak RSS (KiB) of ``cmd``'s process tree. GNU time measures the RSS: a child forked
    from this Python would carry Python's own high-water mark into its rusage."""
    with tempfile.NamedTemporaryFile("r") as out:
        timed = [TIME, "-q", "-f", "%M", "-o", out.name, *cmd] if TIME else cmd
        t0 = time.perf_counter()
        res = subprocess.run(
            timed, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, check=False
        )
        wall = time.perf_counter() - t0
        if res.returncode != 0:
            raise SystemExit(f"{cmd} exited {res.returncode}: {res.stderr.decode()}")
        text = out.read().strip()
    return wall, int(text.splitlines()[-1]) if text else 0


def hide_unified_cgroup() -> None:
    """A private mount namespace for this process and its children, minus the hybrid cgroup2 mount."""
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    clone_newns, ms_rec, ms_private, mnt_detach = 0x20000, 0x4000, 0x40000, 2
    if libc.unshare(clone_newns) != 0:
        raise OSError(ctypes.get_errno(), "unshare(CLONE_NEWNS)")
    if libc.mount(None, b"/", None, ms_rec | ms_private, None) != 0:
        raise OSError(ctypes.get_errno(), "make / private")
    if os.path.ismount("/sys/fs/cgroup/unified"):
        libc.umount2(b"/sys/fs/cgroup/unified", mnt_detach)


def main() -> None:
    hide_unified_cgroup()
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    n = int(args[0]) if args else 20
    runtimes = {k: v for k, v in RUNTIMES.items() if shutil.which(v) or Path(v).exists()}
    with tempfile.TemporaryDirectory() as tmp:
        rootfs = Path(tmp) / "rootfs"
        make_rootfs(rootfs)
        bundles = {}
        for name in runtimes:
            bundle = Path(tmp) / name
            bundle.mkdir()
            config = docker_config(["true"], cgroups_path=f"/skiff-bench-run-{name}-{os.getpid()}")
            if "--no-cgroups" in sys.argv:
                config["linux"].pop("cgroupsPath", None)
            config["root"]["path"] = str(rootfs)
            if "--seccomp" in sys.argv:
                config["linux"]["seccomp"] = json.loads(
                    (Path(__file__).parent / "data" / "docker-20.10-seccomp.json").read_text()
                )
            write_config(bundle, config)
            bundles[name] = bundle
        walls: dict[str, list[float]] = {k: [] for k in runtimes}
        rss: dict[str, list[int]] = {k: [] for k in runtimes}
        for i in range(n + 1):  # round 0 warms caches and is not counted
            for name, binary in runtimes.items():
                cmd = [
                    binary,
                    "--root",
                    str(Path(tmp) / f"state-{name}"),
                    "run",
                    "--bundle",
                    str(bundles[name]),
                    f"bench{i}",
                ]
                wall, peak = one_run(cmd)
                if i:
                    walls[name].append(wall)
                    rss[name].append(peak)
    base = statistics.median(walls["runc"]) if "runc" in walls else None
    print(
        f"`run` of a busybox `true` bundle, {n} interleaved runs each"
        f"{' (docker seccomp profile)' if '--seccomp' in sys.argv else ''}"
        f"{' (no cgroups)' if '--no-cgroups' in sys.argv else ' (cgroup v1)'}\n"
    )
    print("| runtime | median ms | min ms | vs runc (median) | peak RSS MiB |")
    print("|---|---|---|---|---|")
    for name in runtimes:
        med = statistics.median(walls[name])
        ratio = f"{med / base:.2f}x" if base else "-"
        print(
            f"| {name} | {med * 1000:.1f} | {min(walls[name]) * 1000:.1f} | {ratio} | "
            f"{max(rss[name]) / 1024:.1f} |"
        )


if __name__ == "__main__":
    main()
