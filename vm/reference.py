#!/usr/bin/env python3
"""`python -m vm.reference start|stop|status`: the reference Docker the scenarios run against.

start is idempotent (a daemon that already answers is left alone); stop ends only the PID in the pidfile.
SKIFF_REF_BACKEND selects the backend: `local` (default) or `qemu` (a Debian VM under TCG, see vm/qemu.py;
its socket is vm.qemu.HOST, and HOST below follows the choice, so targets and the fuzzer follow too).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from vm.backend import Backend
from vm.local import LocalDockerd

BACKEND = os.environ.get("SKIFF_REF_BACKEND", "local")
HOST = "unix:///run/skiff-vm/docker.sock" if BACKEND == "qemu" else "unix:///var/run/docker-ref.sock"


def backend() -> Backend:
    if BACKEND == "local":
        return LocalDockerd(host=HOST)
    if BACKEND == "qemu":
        from vm.qemu import QemuDockerd

        return QemuDockerd(host=HOST)
    raise SystemExit(f"unknown SKIFF_REF_BACKEND {BACKEND!r} (known: local, qemu)")


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1 or args[0] not in ("start", "stop", "status"):
        print("usage: python -m vm.reference start|stop|status", file=sys.stderr)
        return 2
    ref = backend()
    if args[0] == "start":
        started = ref.start()
        print(f"reference docker {'started' if started else 'already running'} on {ref.host}")
        if getattr(ref, "timings", None):  # the qemu backend's build/boot seconds
            print(f"timings: {ref.timings}")  # type: ignore[attr-defined]
        return 0
    if args[0] == "stop":
        stopped = ref.stop()
        print(f"reference docker {'stopped' if stopped else 'was not running (no live pidfile PID)'}")
        return 0
    st = ref.status()
    print(f"reference docker on {st.host}: {'running' if st.running else 'not answering'}, pid {st.pid}")
    return 0 if st.running else 3


if __name__ == "__main__":
    sys.exit(main())
