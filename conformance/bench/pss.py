"""Proportional set size of every process, from /proc/<pid>/smaps_rollup (kB)."""

from __future__ import annotations

import os


def snapshot() -> dict[int, int]:
    """PID -> PSS in kB for every process we can read (kernel threads and vanished PIDs are left out)."""
    result: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/smaps_rollup") as fh:
                for line in fh:
                    if line.startswith("Pss:"):
                        result[int(entry)] = int(line.split()[1])
                        break
        except OSError:
            continue
    return result


def changed_kb(before: dict[int, int], after: dict[int, int]) -> int:
    """Sum of PSS changes over the processes whose PSS changed: new ones count fully, gone ones negatively."""
    total = 0
    for pid in before.keys() | after.keys():
        delta = after.get(pid, 0) - before.get(pid, 0)
        if delta:
            total += delta
    return total


def parents() -> dict[int, int]:
    """PID -> parent PID for every process."""
    result: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as fh:
                result[int(entry)] = int(fh.read().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
    return result


def with_descendants(roots: set[int], ppids: dict[int, int]) -> set[int]:
    found = set(roots)
    grew = True
    while grew:
        grew = False
        for pid, parent in ppids.items():
            if parent in found and pid not in found:
                found.add(pid)
                grew = True
    return found


def cmdline(pid: int) -> list[str]:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as fh:
            return [a.decode(errors="replace") for a in fh.read().split(b"\0") if a]
    except OSError:
        return []


def engine_pids(
    target_name: str, ppids: dict[int, int], host: str = "unix:///var/run/skiff.sock"
) -> set[int]:
    """The daemon processes of a target and their children: dockerd of the reference (its pidfile) and its
    containerd; or the skiffd serving `host` (found by its command line) and what it supervises."""
    roots: set[int] = set()
    if target_name == "docker":
        try:
            with open("/var/run/docker-ref.pid") as fh:
                roots.add(int(fh.read().strip()))
        except (OSError, ValueError):
            pass
    else:
        for pid in ppids:
            argv = cmdline(pid)
            if not any(os.path.basename(a) == "skiffd" for a in argv[:2]):
                continue
            hosts = [argv[i + 1] for i, a in enumerate(argv[:-1]) if a in ("-H", "--host")]
            if host in hosts or (not hosts and host == "unix:///var/run/skiff.sock"):
                roots.add(pid)
    return with_descendants(roots, ppids)
