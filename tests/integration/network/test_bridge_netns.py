"""The data plane on a real kernel: a named netns per "container", veths on a test bridge, the nftables
fwd table between them, and a teardown that leaves no link, mount or table behind."""

from __future__ import annotations

import os
import secrets
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from skiff.network import bridge, netns, nft

pytestmark = pytest.mark.root


@pytest.fixture
def lab(tmp_path: Path) -> Iterator[dict[str, str]]:
    if os.geteuid() != 0:
        pytest.skip("needs root")
    tag = secrets.token_hex(3)
    names = {"bridge": f"skt{tag}", "table": f"skiff-test-{tag}", "subnet": f"10.254.{int(tag[:2], 16)}"}
    yield names
    nft.delete_table(names["table"])
    bridge.delete_link(names["bridge"])
    for path in tmp_path.glob("ns*"):
        netns.remove(path)


def _serve_once(ns: Path, addr: str, port: int, ready: threading.Event) -> threading.Thread:
    def bind() -> socket.socket:
        s = socket.socket()
        s.bind((addr, port))
        s.listen(1)
        return s

    listener = netns.run_in(ns, bind)

    def run() -> None:
        ready.set()
        conn, _ = listener.accept()
        conn.sendall(b"hello from " + addr.encode())
        conn.close()
        listener.close()

    t = threading.Thread(target=run, daemon=True)
    t.start()
    return t


def test_two_namespaces_talk_over_the_bridge_and_teardown_is_complete(
    lab: dict[str, str], tmp_path: Path
) -> None:
    net = lab["subnet"]
    bridge.ensure_bridge(lab["bridge"], f"{net}.1", 24)
    eps = []
    for i in (2, 3):
        ns = tmp_path / f"ns{i}"
        netns.create(ns, bridge.loopback_up)
        ep = bridge.Endpoint(
            lab["bridge"], bridge.host_ifname(), "eth0", f"{net}.{i}", 24, f"{net}.1", f"02:42:0a:fe:00:0{i}"
        )
        bridge.attach(ep, ns)
        eps.append((ns, ep))
    nft.apply(lab["table"], [], [], [nft.Forward(ep.host_ifname, ep.address, "t") for _, ep in eps])
    assert len(nft.rules(lab["table"])) == 0  # the ip table is empty; the netdev one holds the fwd rules

    ready = threading.Event()
    server = _serve_once(eps[0][0], f"{net}.2", 8080, ready)
    ready.wait(5)

    def fetch() -> bytes:
        with socket.create_connection((f"{net}.2", 8080), timeout=5) as c:
            return c.recv(100)

    assert netns.run_in(eps[1][0], fetch) == f"hello from {net}.2".encode()
    server.join(5)

    for ns, ep in eps:
        bridge.delete_link(ep.host_ifname)
        netns.remove(ns)
        assert not bridge.link_exists(ep.host_ifname)
        assert not netns.is_mounted(ns)
    nft.delete_table(lab["table"])
    assert nft.rules(lab["table"]) == []


def test_apply_twice_never_duplicates(lab: dict[str, str]) -> None:
    rules = [nft.Masquerade(f"{lab['subnet']}.0/24", lab["bridge"])]
    ports = [nft.PortRule("tcp", "", 18999, f"{lab['subnet']}.2", 80, lab["bridge"])]
    nft.apply(lab["table"], rules, ports)
    nft.apply(lab["table"], rules, ports)
    assert len(nft.rules(lab["table"])) == 3
