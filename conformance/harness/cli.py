"""The real docker CLI via subprocess, pointed at a target with `-H`, never at /var/run/docker.sock."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import time
from dataclasses import dataclass

ENV_ASSIGN = re.compile(r"^[A-Z_][A-Z0-9_]*=")
CREATING = {("run",), ("create",), ("container", "run"), ("container", "create")}


@dataclass(frozen=True)
class Result:
    argv: list[str]
    exit_code: int
    stdout: str
    stderr: str
    seconds: float


def docker() -> str:
    path = shutil.which("docker")
    if path is None:
        raise AssertionError("docker CLI not found on PATH")
    return path


def split(cmdline: str) -> tuple[dict[str, str], list[str]]:
    """Split `VAR=x docker args...` into the extra environment and argv (argv[0] is `docker`)."""
    words = shlex.split(cmdline)
    env: dict[str, str] = {}
    while words and ENV_ASSIGN.match(words[0]):
        key, _, value = words.pop(0).partition("=")
        env[key] = value
    if not words or words[0] != "docker":
        raise AssertionError(f"only docker commands are run by steps, got {cmdline!r}")
    return env, words


def with_label(args: list[str], label: str) -> list[str]:
    """Insert `--label <label>` after `run`/`create` so every container the CLI makes is found."""
    for sub in sorted(CREATING, key=len, reverse=True):
        if tuple(args[1 : 1 + len(sub)]) == sub:
            cut = 1 + len(sub)
            return [*args[:cut], "--label", label, *args[cut:]]
    return args


def run(
    host: str,
    args: list[str],
    extra_env: dict[str, str] | None = None,
    timeout: float = 120.0,
    stdin: bytes | None = None,
) -> Result:
    """Run `docker -H host args[1:]` with no stdin unless given; the result keeps stdout and stderr apart."""
    env = dict(os.environ)
    env.pop("DOCKER_CONTEXT", None)
    env.pop("DOCKER_HOST", None)
    env.update(extra_env or {})
    argv = [docker(), "-H", host, *args[1:]]
    start = time.monotonic()
    proc = subprocess.run(
        argv,
        input=stdin if stdin is not None else b"",
        capture_output=True,
        env=env,
        timeout=timeout,
    )
    return Result(
        argv=argv,
        exit_code=proc.returncode,
        stdout=proc.stdout.decode(errors="replace"),
        stderr=proc.stderr.decode(errors="replace"),
        seconds=time.monotonic() - start,
    )
