"""Kill -9 of skiffd with containers on a user network and a published port: the port keeps answering
(its proxy outlives the daemon), and after the restart containers still reach each other by name, the port
answers, and nothing is duplicated (nft rules, proxies, netns mounts); removal leaves nothing behind."""

from __future__ import annotations

import json
import os
import signal
import socket
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path

import pytest
from backend_support import Skiffd
from skiff.engine.backend.networks import NetworkService
from skiff.network import bridge, nft

pytestmark = pytest.mark.root


def wait_until(predicate: Callable[[], bool], timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.05)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def get(url: str) -> bytes | None:
    try:
        with urllib.request.urlopen(url, timeout=2) as resp:
            return bytes(resp.read())
    except OSError:
        return None


def children(pid: int) -> list[int]:
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        found += [int(c) for c in (task / "children").read_text().split()]
    return found


def proxies() -> list[int]:
    out = []
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                if b"skiff.network.proxy" in (proc / "cmdline").read_bytes():
                    out.append(int(proc.name))
            except OSError:
                pass
    return out


def test_network_survives_kill_9_of_skiffd(skiffd: Skiffd) -> None:
    assert skiffd.process is not None
    svc = NetworkService.for_daemon(skiffd.root / "data", skiffd.root / "exec")
    port = free_port()
    net = "recovery-net"
    skiffd.docker("network", "create", net)
    before = set(proxies())
    try:
        srv = (
            skiffd.docker(
                "run",
                "-d",
                "--name",
                "srv",
                "--network",
                net,
                "-p",
                f"{port}:8080",
                "busybox",
                "httpd",
                "-f",
                "-p",
                "8080",
                "-h",
                "/etc",
            )
            .stdout.decode()
            .strip()
        )
        url = f"http://127.0.0.1:{port}/hostname"
        wait_until(lambda: get(url) == f"{srv[:12]}\n".encode())
        mine = set(proxies()) - before
        assert len(mine) == 1

        # skiffd and skiff-containerd; the proxies are its children too but live on, like docker-proxy
        daemons = [p for p in [skiffd.process.pid, *children(skiffd.process.pid)] if p not in mine]
        for pid in daemons:
            os.kill(pid, signal.SIGKILL)
        skiffd.process.wait(10)
        assert get(url) == f"{srv[:12]}\n".encode(), "the published port died with skiffd"

        skiffd.start()
        wait_until(lambda: get(url) == f"{srv[:12]}\n".encode())
        out = skiffd.docker(
            "run", "--rm", "--network", net, "busybox", "wget", "-qO-", "http://srv:8080/hostname"
        )
        assert out.stdout == f"{srv[:12]}\n".encode()
        assert set(proxies()) - before == mine, "proxies were duplicated or lost"
        dnat = [r for r in nft.rules(svc.table) if "dnat" in json.dumps(r)]
        assert len(dnat) == 2  # prerouting and output, once each
        assert len(list((skiffd.root / "exec" / "netns").iterdir())) == 1
    finally:
        skiffd.remove_all_containers()
        skiffd.docker("network", "rm", net)
    assert set(proxies()) - before == set()
    assert list((skiffd.root / "exec" / "netns").iterdir()) == []
    assert [r for r in nft.rules(svc.table) if "dnat" in json.dumps(r)] == []
    assert not any(bridge.link_exists(n.bridge) for n in svc.nets.values() if n.name == net)
