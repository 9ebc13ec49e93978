"""``docker top``: the host's ``ps`` filtered to the processes of a container's cgroup, as dockerd does."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from skiff import errdefs

CGROUP_ROOT = Path("/sys/fs/cgroup")
HIERARCHIES = ("pids", "memory", "cpu", "unified", "")


def cgroup_pids(cgroups_path: str, root: Path = CGROUP_ROOT) -> list[int]:
    """PIDs in the container's cgroup (v1 pids/memory/cpu, then the unified hierarchy)."""
    for hierarchy in HIERARCHIES:
        procs = root / hierarchy / cgroups_path.lstrip("/") / "cgroup.procs"
        try:
            return [int(line) for line in procs.read_text().split()]
        except (OSError, ValueError):
            continue
    return []


def parse_ps(output: str, pids: list[int]) -> dict[str, Any]:
    """dockerd's parsePSOutput: titles from the first line, the last column keeps its spaces."""
    lines = output.splitlines()
    if not lines:
        raise errdefs.Unknown("Couldn't find PID field in ps output")
    titles = lines[0].split()
    if "PID" not in titles:
        raise errdefs.Unknown("Couldn't find PID field in ps output")
    pid_index = titles.index("PID")
    wanted = set(pids)
    processes: list[list[str]] = []
    for line in lines[1:]:
        fields = line.split()
        if len(fields) <= pid_index:
            continue
        try:
            pid = int(fields[pid_index])
        except ValueError:
            raise errdefs.Unknown(f"Unexpected pid '{fields[pid_index]}': invalid syntax") from None
        if pid in wanted:
            head = fields[: len(titles) - 1]
            processes.append([*head, " ".join(fields[len(titles) - 1 :])])
    return {"Processes": processes, "Titles": titles}


async def top(cgroups_path: str, ps_args: str | None) -> dict[str, Any]:
    args = (ps_args or "-ef").split()
    proc = await asyncio.create_subprocess_exec(
        "ps", *args, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    out, err = await proc.communicate()
    if proc.returncode != 0:
        first = err.decode(errors="replace").strip().splitlines()
        raise errdefs.Unknown(f"ps: {first[0] if first else 'exit status ' + str(proc.returncode)}")
    return parse_ps(out.decode(errors="replace"), cgroup_pids(cgroups_path))
