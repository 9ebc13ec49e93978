"""Peak memory of skiffd and its children (skiff-containerd) while they pull, and load, one 1 GB layer.

``.venv/bin/python scripts/bench_image_memory.py --pid <skiffd PID> [--host unix:///var/run/skiff.sock]
[--mb 1000]`` makes a docker-save archive of one layer of random data, has the reference Docker push it to a
fresh local registry, then, sampling /proc every 20 ms, times ``docker pull`` and ``docker load -i`` on
Skiff. Prints the idle and peak sums of RSS and PSS (MB) of skiffd and every descendant.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "scripts"))

from bench_distribution import REFERENCE, build_archive, docker, rmi  # noqa: E402

from conformance.bench.pss import parents, with_descendants  # noqa: E402
from vm.registry import Registry  # noqa: E402

NAME = "skiff-bench/random:1"


def _kb(pid: int, field: str, file: str) -> int:
    try:
        with open(f"/proc/{pid}/{file}") as fh:
            for line in fh:
                if line.startswith(field):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def sample(root: int) -> tuple[int, int]:
    """(RSS, PSS) in kB summed over ``root`` and its descendants."""
    pids = with_descendants({root}, parents())
    return (sum(_kb(p, "VmRSS:", "status") for p in pids), sum(_kb(p, "Pss:", "smaps_rollup") for p in pids))


class Peak(threading.Thread):
    def __init__(self, root: int) -> None:
        super().__init__(daemon=True)
        self.root, self.rss, self.pss, self.stop = root, 0, 0, threading.Event()

    def run(self) -> None:
        while not self.stop.is_set():
            rss, pss = sample(self.root)
            self.rss, self.pss = max(self.rss, rss), max(self.pss, pss)
            time.sleep(0.02)


def measured(root: int, action: object) -> tuple[float, int, int]:
    peak = Peak(root)
    peak.start()
    start = time.monotonic()
    assert callable(action)
    action()
    seconds = time.monotonic() - start
    peak.stop.set()
    peak.join()
    return seconds, peak.rss, peak.pss


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--host", default=os.environ.get("SKIFF_HOST", "unix:///var/run/skiff.sock"))
    p.add_argument("--pid", type=int, required=True, help="skiffd's PID")
    p.add_argument("--mb", type=int, default=1000)
    args = p.parse_args()
    with tempfile.TemporaryDirectory(prefix="skiff-bench-mem-") as tmp:
        archive = Path(tmp) / "image.tar"
        build_archive(archive, args.mb, layers=1)
        docker(REFERENCE, "load", "-i", str(archive))
        with Registry() as reg:
            ref = f"{reg.address}/bench/big:1"
            docker(REFERENCE, "tag", NAME, ref)
            docker(REFERENCE, "push", ref)
            rmi(REFERENCE, ref)
            rmi(REFERENCE, NAME)
            idle_rss, idle_pss = sample(args.pid)
            print(f"idle: RSS {idle_rss / 1024:.0f} MB, PSS {idle_pss / 1024:.0f} MB")
            secs, rss, pss = measured(args.pid, lambda: docker(args.host, "pull", ref))
            print(f"pull {args.mb} MB: {secs:.1f} s, peak RSS {rss / 1024:.0f} MB, "
                  f"peak PSS {pss / 1024:.0f} MB")
            rmi(args.host, ref)
        secs, rss, pss = measured(args.pid, lambda: docker(args.host, "load", "-i", str(archive)))
        print(f"load {args.mb} MB: {secs:.1f} s, peak RSS {rss / 1024:.0f} MB, "
              f"peak PSS {pss / 1024:.0f} MB")
        rmi(args.host, NAME)


if __name__ == "__main__":
    main()
