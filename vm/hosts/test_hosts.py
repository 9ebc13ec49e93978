"""Operator checks on each daemon host (testinfra's `host` fixture, local backend).

Run after a full feature run: the daemon runs, its socket is 0660 root:docker, its data root is where it
was configured, and nothing of removed containers is left: no mounts under its roots beyond those of running
containers, no network namespaces or per-container cgroups without a running container, no shims of
containers that do not run, no containers the harness labelled.
"""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path
from typing import Any

import httpx

from conformance.harness import api
from conformance.harness.world import LABEL_KEY
from vm.hosts.conftest import Daemon

CGROUP_CTRLS = ("memory", "pids", "cpu,cpuacct")
ID = re.compile(r"^[0-9a-f]{64}$")


def _get(d: Daemon, path: str) -> Any:
    with httpx.Client(transport=httpx.HTTPTransport(uds=d.socket), base_url="http://d", timeout=30) as c:
        return api.check(c.get(api.v(path)), 200).json()


def _running(d: Daemon) -> set[str]:
    return {c["Id"] for c in _get(d, "/containers/json")}


def test_daemon_process_runs(host: Any, daemon: Daemon) -> None:
    """The process listening on the socket is the daemon, and it runs as root."""
    out = host.check_output("ss -xlpn")
    line = next((x for x in out.splitlines() if f" {daemon.socket} " in x), "")
    m = re.search(r'users:\(\("([^"]+)",pid=(\d+)', line)
    assert m, f"nothing listens on {daemon.socket}"
    assert m.group(1).startswith(daemon.process[:15]), line
    proc = host.process.get(pid=int(m.group(2)))
    assert proc.user == "root"


def test_socket_mode_and_group(host: Any, daemon: Daemon) -> None:
    sock = host.file(daemon.socket)
    assert sock.is_socket
    assert sock.mode == 0o660, oct(sock.mode)
    assert sock.user == "root"
    assert sock.group == ("docker" if host.group("docker").exists else "root")


def test_data_root_is_configured(host: Any, daemon: Daemon) -> None:
    info = _get(daemon, "/info")
    assert info["DockerRootDir"] == daemon.data_root
    assert host.file(daemon.data_root).is_directory


def test_no_containers_left_by_the_harness(daemon: Daemon) -> None:
    flt = api.filters(label=[LABEL_KEY])
    left = [c["Id"][:12] for c in _get(daemon, f"/containers/json?all=1&filters={flt}")]
    assert not left, f"containers labelled {LABEL_KEY} still exist: {left}"


def test_no_stray_mounts(host: Any, daemon: Daemon) -> None:
    running = _running(daemon)
    roots = (daemon.data_root.rstrip("/") + "/", daemon.exec_root.rstrip("/") + "/")
    stray = []
    for line in host.file("/proc/self/mounts").content_string.splitlines():
        point = line.split()[1]
        if not point.startswith(roots):
            continue
        ids = {part for part in point.split("/") if ID.match(part)}
        kind = line.split()[2]
        if kind == "overlay" and daemon.name == "docker":
            continue  # overlay2 dirs are layer ids; checked through the netns/cgroups of running ones
        if kind == "nsfs" and point.endswith("/netns/default"):
            continue
        if ids and not ids & running:
            stray.append(point)
    assert not stray, f"mounts of containers that do not run: {stray[:10]}"


def test_no_stray_netns(host: Any, daemon: Daemon) -> None:
    keys = set()
    for cid in _running(daemon):
        keys.add(_get(daemon, f"/containers/{cid}/json")["NetworkSettings"].get("SandboxKey") or "")
    prefix = str(Path(daemon.exec_root) / "netns") + "/"
    mounted = [
        line.split()[1] for line in host.file("/proc/self/mounts").content_string.splitlines()
        if line.split()[2] == "nsfs" and line.split()[1].startswith(prefix)
    ]
    stray = [p for p in mounted if not p.endswith("/default") and p not in keys]
    assert not stray, f"network namespaces without a running container: {stray}"


def test_no_stray_cgroups(daemon: Daemon) -> None:
    running = _running(daemon)
    known = {c["Id"] for c in _get(daemon, "/containers/json?all=1")}
    stray = []
    for ctrl in CGROUP_CTRLS:
        parent = Path("/sys/fs/cgroup") / ctrl / daemon.cgroup_parent
        if not parent.is_dir():
            continue
        for d in parent.iterdir():
            if not ID.match(d.name):
                continue
            procs = (d / "cgroup.procs").read_text().split()
            # ours and not running, or anyone's and empty: a cgroup a removed container left behind
            if (d.name in known and d.name not in running and procs) or not procs:
                stray.append(f"{ctrl}/{daemon.cgroup_parent}/{d.name[:12]} ({len(procs)} procs)")
    assert not stray, f"per-container cgroups without a running container: {stray[:10]}"


def test_no_stray_shims(host: Any, daemon: Daemon) -> None:
    running = _running(daemon)
    stray = []
    for p in host.process.filter(comm=daemon.shim[:15]):
        args = p.args
        if daemon.name == "skiff" and daemon.exec_root not in args:
            continue  # another skiffd's shim
        ids = set(re.findall(r"[0-9a-f]{64}", args))
        if ids and not ids & running:
            stray.append(f"{p.pid} {args[:120]}")
    assert not stray, f"shims of containers that do not run: {stray}"


def test_no_stray_veths_on_the_bridge(host: Any, daemon: Daemon) -> None:
    bridge = "docker0" if daemon.name == "docker" else None
    if bridge is None or not os.path.exists(f"/sys/class/net/{bridge}"):
        return
    ports = os.listdir(f"/sys/class/net/{bridge}/brif")
    bridged = sum(
        1 for cid in _running(daemon)
        if "bridge" in (_get(daemon, f"/containers/{cid}/json")["NetworkSettings"].get("Networks") or {})
    )
    assert len(ports) <= bridged, f"{len(ports)} veths on {bridge}, {bridged} running bridged containers"


def _live_private_tags() -> set[str]:
    """The bridge/table tags of the skiffd processes running now (a private --exec-root hashes to its tag)."""
    tags: set[str] = set()
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            argv = (proc / "cmdline").read_bytes().decode(errors="replace").split("\0")
        except OSError:
            continue
        if not any(a.endswith("skiffd") for a in argv[:2]) or "--exec-root" not in argv:
            continue
        root = Path(argv[argv.index("--exec-root") + 1])
        tags.add(hashlib.sha256(str(root.resolve()).encode()).digest()[:4].hex())
    return tags


def test_no_private_daemon_network_left(host: Any, daemon: Daemon) -> None:
    """A private skiffd (tests, side-by-side daemons) removes its ``skf<tag>`` bridge and ``skiff-<tag>``
    nftables table when it goes; any left without a live daemon is a leak."""
    if daemon.name != "skiff":
        return
    live = _live_private_tags()
    bridges = {n[3:] for n in os.listdir("/sys/class/net") if re.fullmatch(r"skf[0-9a-f]{8}", n)}
    tables = set(re.findall(r"^table ip skiff-([0-9a-f]{8})$", host.check_output("nft list tables"), re.M))
    assert not bridges - live, f"bridges of stopped daemons: {sorted('skf' + t for t in bridges - live)}"
    assert not tables - live, f"nft tables of stopped daemons: {sorted('skiff-' + t for t in tables - live)}"
