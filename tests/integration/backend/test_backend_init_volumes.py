"""--init, local volumes, logs --since/--until and a body-less commit through the docker CLI against a real
skiffd stack, with the reference Docker 20.10's answers alongside where they are compared."""

from __future__ import annotations

import json
import os
import time
from typing import Any

import pytest
from backend_support import Skiffd

pytestmark = pytest.mark.root


def inspect(skiffd: Skiffd, *args: str) -> Any:
    return json.loads(skiffd.docker("inspect", *args).stdout)[0]


def test_init_runs_docker_init_and_forwards_term(skiffd: Skiffd) -> None:
    cid = skiffd.docker(
        "run", "-d", "--init", "--name", "inited", "busybox", "sh", "-c", "while :; do sleep 0.1; done"
    ).stdout.decode().strip()
    try:
        top = skiffd.docker("top", cid).stdout.decode()
        assert "/sbin/docker-init -- sh -c" in top
        info = inspect(skiffd, cid)
        assert info["HostConfig"]["Init"] is True and info["Path"] == "sh"  # as dockerd: the user's command
        started = time.monotonic()
        skiffd.docker("stop", "-t", "20", cid)
        assert time.monotonic() - started < 10
        assert inspect(skiffd, cid)["State"]["ExitCode"] == 143
    finally:
        skiffd.docker("rm", "-f", cid, check=False)


def test_anonymous_and_named_volumes(skiffd: Skiffd) -> None:
    cid = skiffd.docker(
        "run", "--name", "vols", "-v", "/data", "-v", "itvol:/named", "busybox",
        "sh", "-c", "echo anon > /data/f; echo named > /named/g",
    ).stdout
    assert cid == b""
    mounts = {m["Destination"]: m for m in inspect(skiffd, "vols")["Mounts"]}
    anon, named = mounts["/data"], mounts["/named"]
    assert (anon["Type"], anon["Driver"], anon["Mode"], len(anon["Name"])) == ("volume", "local", "", 64)
    assert (named["Name"], named["Mode"]) == ("itvol", "z")
    with open(os.path.join(anon["Source"], "f")) as f:
        assert f.read() == "anon\n"
    skiffd.docker("rm", "-v", "vols")
    assert not os.path.exists(anon["Source"])
    assert os.path.exists(os.path.join(named["Source"], "g"))
    out = skiffd.docker("run", "--rm", "-v", "itvol:/named", "busybox", "cat", "/named/g")
    assert out.stdout == b"named\n"
    skiffd.docker("volume", "rm", "itvol")
    assert not os.path.exists(named["Source"])


def test_logs_since_until_and_commit_without_body(skiffd: Skiffd) -> None:
    skiffd.docker("run", "--name", "timed", "busybox", "sh", "-c", "echo first; sleep 1.2; echo second")
    lines = skiffd.docker("logs", "--timestamps", "timed").stdout.decode().splitlines()
    first_time, second_time = lines[0].split()[0], lines[1].split()[0]
    # the CLI sends these RFC 3339 times as "<seconds>.<nanoseconds>"; both bounds are inclusive
    assert skiffd.docker("logs", "--since", second_time, "timed").stdout == b"second\n"
    assert skiffd.docker("logs", "--until", first_time, "timed").stdout == b"first\n"
    assert skiffd.docker("logs", "--since", first_time, "--until", second_time, "timed").stdout == (
        b"first\nsecond\n"
    )
    image = skiffd.docker("commit", "timed").stdout.decode().strip()
    assert image.startswith("sha256:")
    skiffd.docker("rm", "timed")
    skiffd.docker("rmi", image)
