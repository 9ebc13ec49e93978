"""skiffd's network service: bridge networks (the default ``bridge`` and user-defined ones), a sandbox
(named netns) per started container with an endpoint per network, published ports, the embedded DNS and
the nftables table, persisted under ``<data-root>/network`` and reconciled on start.

Docker's model: a container gets its sandbox (``SandboxKey``, a netns bind mount under the exec root) when
it starts and loses it when it stops; the runtime joins that netns by path, so a container's network
survives a restart of skiffd untouched."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import ipaddress
import json
import logging
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from skiff import errdefs
from skiff.engine.backend import links as links_mod
from skiff.engine.backend import timefmt
from skiff.engine.backend.record import Container
from skiff.network import bridge, dns, ipam, ipam6, netns, nft

log = logging.getLogger(__name__)
logging.getLogger("pyroute2").setLevel(logging.WARNING)  # its debug lines would flood skiffd -D logs

DEFAULT_BRIDGE = "skiff0"
DEFAULT_SUBNET = "172.31.0.0/16"
DEFAULT_TABLE = "skiff"
DEFAULT_EXEC_ROOT = "/var/run/skiff"
PREDEFINED = ("bridge", "host", "none")
VETH_GONE_TIMEOUT = 2.0  # how long a released sandbox's veths may take to go with their namespace
HOSTS_HEADER = (
    "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\nfe00::0\tip6-localnet\n"
    "ff00::0\tip6-mcastprefix\nff02::1\tip6-allnodes\nff02::2\tip6-allrouters\n"
)


@dataclass
class Net:
    """A bridge network (dockerd's libnetwork network with the bridge driver)."""

    id: str
    name: str
    bridge: str
    subnet: str
    gateway: str
    created: str
    ip_range: str = ""
    internal: bool = False
    attachable: bool = False
    labels: dict[str, str] = field(default_factory=dict)
    options: dict[str, str] = field(default_factory=dict)
    default: bool = False
    enable_ipv6: bool = False
    subnet6: str = ""
    gateway6: str = ""

    def __post_init__(self) -> None:
        self.pool = ipam.Pool.parse(self.subnet, self.gateway, self.ip_range)
        self.pool6 = (
            ipam6.Pool6.parse(self.subnet6, self.gateway6) if self.subnet6 and self.enable_ipv6 else None
        )

    def to_json(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if k not in ("pool", "pool6")}

    def release(self, address: str, address6: str = "") -> None:
        self.pool.release(address)
        if address6 and self.pool6 is not None:
            self.pool6.release(address6)


@dataclass
class Attachment:
    """One endpoint: the container's interface ``ifname`` on ``network_id``."""

    network_id: str
    host_ifname: str
    ifname: str
    address: str
    mac: str
    endpoint_id: str
    aliases: list[str] = field(default_factory=list)
    address6: str = ""


@dataclass
class Binding:
    proto: str
    host_ip: str
    host_port: int
    port: int
    proxy_pid: int = 0


@dataclass
class Sandbox:
    """A started container's network: its netns, its endpoints, its published ports."""

    cid: str
    key: str  # netns path (another container's for container:<id>)
    name: str = ""
    hostname: str = ""
    attachments: list[Attachment] = field(default_factory=list)
    bindings: list[Binding] = field(default_factory=list)
    owned: bool = True  # the netns is ours to remove

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> Sandbox:
        d = dict(d)
        d["attachments"] = [Attachment(**a) for a in d.get("attachments") or []]
        d["bindings"] = [Binding(**b) for b in d.get("bindings") or []]
        return cls(**d)

    @property
    def primary(self) -> Attachment | None:
        return self.attachments[0] if self.attachments else None


def _port_key(spec: str) -> tuple[int, str]:
    port, _, proto = spec.partition("/")
    return int(port), (proto or "tcp")


def _alive_proxy(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return b"skiff.network.proxy" in f.read()
    except OSError:
        return False


def _wrap(err: Exception) -> errdefs.SkiffError:
    if isinstance(err, errdefs.SkiffError):
        return err
    return errdefs.Unknown(f"failed to set up container networking: {err}")


class NetworkService:
    """Networks of one skiffd; teardown methods are safe to call again."""

    def __init__(
        self,
        data_root: Path,
        exec_root: Path,
        bridge_name: str = DEFAULT_BRIDGE,
        subnet: str = DEFAULT_SUBNET,
        table: str = DEFAULT_TABLE,
    ) -> None:
        self.dir = data_root / "network"
        self.netns_dir = exec_root / "netns"
        self.bridge_name = bridge_name
        self.table = table
        self.lock = asyncio.Lock()
        self.nets: dict[str, Net] = {}
        self.sandboxes: dict[str, Sandbox] = {}
        self.resolvers: dict[str, dns.Server] = {}
        self._pending: dict[str, asyncio.Future[None]] = {}
        self._ready: set[str] = set()
        self.events: Any = None  # the daemon's EventBus: network create/destroy/connect/disconnect
        self.link_envs: dict[str, list[str]] = {}  # cid -> its --link variables, made by setup
        self._reapers: set[asyncio.Future[None]] = set()  # veth removals still under way
        self._load(subnet)

    def _emit(self, action: str, net: Net, cid: str = "") -> None:
        """A network event with dockerd's attributes (``container`` for connect/disconnect)."""
        if self.events is None:
            return
        attrs = {"container": cid} if cid else {}
        attrs.update({"name": net.name, "type": "bridge"})
        self.events.publish("network", action, net.id, attrs)

    @classmethod
    def for_daemon(cls, data_root: Path, exec_root: Path) -> NetworkService:
        """``skiff0`` on 172.31.0.0/16 for the system daemon; a daemon with a private exec root (tests,
        side-by-side daemons) gets its own bridge, /24 and nftables table, so daemons never share rules."""
        if str(exec_root) == DEFAULT_EXEC_ROOT:
            return cls(data_root, exec_root)
        h = hashlib.sha256(str(exec_root.resolve()).encode()).digest()
        tag = h[:4].hex()
        return cls(
            data_root,
            exec_root,
            bridge_name=f"skf{tag}",
            subnet=f"10.{200 + h[4] % 50}.{h[5]}.0/24",
            table=f"skiff-{tag}",
        )

    # ---------- persistence ----------
    def _load(self, subnet: str) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)
        try:
            data = json.loads((self.dir / "networks.json").read_text())
        except (OSError, ValueError):
            data = {}
        for d in data.get("networks") or []:
            with contextlib.suppress(TypeError, ValueError, errdefs.SkiffError):
                net = Net(**d)
                self.nets[net.id] = net
        if not any(n.default for n in self.nets.values()):
            old = data.get("bridge") or {}
            net = Net(
                id=str(old.get("Id") or secrets.token_hex(32)),
                name="bridge",
                bridge=self.bridge_name,
                subnet=subnet,
                gateway="",
                created=str(old.get("Created") or timefmt.now()),
                default=True,
                options={
                    "com.docker.network.bridge.default_bridge": "true",
                    "com.docker.network.bridge.enable_icc": "true",
                    "com.docker.network.bridge.enable_ip_masquerade": "true",
                    "com.docker.network.bridge.host_binding_ipv4": "0.0.0.0",
                    "com.docker.network.bridge.name": self.bridge_name,
                    "com.docker.network.driver.mtu": "1500",
                },
            )
            net.gateway = str(net.pool.gateway)
            self.nets[net.id] = net
            self._save_nets()
        for path in sorted((self.dir / "sandboxes").glob("*.json")):
            with contextlib.suppress(OSError, ValueError, TypeError):
                sb = Sandbox.from_json(json.loads(path.read_text()))
                self.sandboxes[sb.cid] = sb
                for a in sb.attachments:
                    owner = self.nets.get(a.network_id)
                    if owner is not None:
                        owner.pool.used.add(ipaddress.IPv4Address(a.address))
                        if a.address6 and owner.pool6 is not None:
                            owner.pool6.used.add(ipaddress.IPv6Address(a.address6))

    def _save_nets(self) -> None:
        tmp = self.dir / ".networks.json"
        tmp.write_text(json.dumps({"networks": [n.to_json() for n in self.nets.values()]}))
        os.replace(tmp, self.dir / "networks.json")

    def _save(self, sb: Sandbox) -> None:
        d = self.dir / "sandboxes"
        d.mkdir(parents=True, exist_ok=True)
        tmp = d / f".{sb.cid}.json"
        tmp.write_text(json.dumps(sb.to_json()))
        os.replace(tmp, d / f"{sb.cid}.json")

    def _forget(self, cid: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            (self.dir / "sandboxes" / f"{cid}.json").unlink()

    def _config_path(self, cid: str) -> Path:
        return self.dir / "endpoints" / f"{cid}.json"

    def endpoint_configs(self, record: Container) -> dict[str, dict[str, Any]]:
        """The networks ``record`` belongs to (network ID -> its EndpointSettings config), in order."""
        try:
            saved = json.loads(self._config_path(record.id).read_text())
            return {k: v for k, v in saved.items() if k in self.nets}
        except (OSError, ValueError):
            pass
        mode = self.mode(record)
        if mode in ("host", "none") or mode.startswith("container:"):
            return {}
        with contextlib.suppress(errdefs.NotFound):
            return {self.find(mode).id: {}}
        return {}

    def _store_configs(self, cid: str, configs: dict[str, dict[str, Any]]) -> None:
        path = self._config_path(cid)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{cid}.json")
        tmp.write_text(json.dumps(configs))
        os.replace(tmp, path)

    # ---------- lookups ----------
    @staticmethod
    def mode(record: Container) -> str:
        mode = str(record.host_config.get("NetworkMode") or "default")
        return "bridge" if mode == "default" else mode

    def find(self, ref: str) -> Net:
        """By full ID, name, or unique ID prefix, as dockerd's FindNetwork."""
        for net in self.nets.values():
            if net.id == ref:
                return net
        for net in self.nets.values():
            if net.name == ref:
                return net
        matches = [n for n in self.nets.values() if ref and n.id.startswith(ref)]
        if len(matches) == 1:
            return matches[0]
        if len(matches) > 1:
            raise errdefs.InvalidArgument(
                f"network {ref} is ambiguous ({len(matches)} matches found based on ID prefix)"
            )
        raise errdefs.NotFound(f"network {ref} not found")

    def netns_path(self, cid: str) -> str | None:
        sb = self.sandboxes.get(cid)
        return sb.key if sb is not None and sb.key else None

    # ---------- nftables ----------
    def _sync_rules(self, check_links: bool = False) -> None:
        """Load the table for the current sandboxes; ``check_links`` (reconcile) leaves out interfaces a
        crash removed, which a netdev chain could not hook."""
        ports: list[nft.PortRule] = []
        forwards: list[nft.Forward] = []
        present = set(bridge.list_links("veth")) if check_links else None
        for sb in self.sandboxes.values():
            first = sb.primary
            for b in sb.bindings:
                if first is not None and ":" not in b.host_ip:
                    br = self.nets[first.network_id].bridge if first.network_id in self.nets else ""
                    ports.append(nft.PortRule(b.proto, b.host_ip, b.host_port, first.address, b.port, br))
            for a in sb.attachments:
                if present is None or a.host_ifname in present:
                    forwards.append(nft.Forward(a.host_ifname, a.address, a.network_id[:12]))
        masq = [nft.Masquerade(n.subnet, n.bridge) for n in self.nets.values() if not n.internal]
        nft.apply(self.table, masq, ports, forwards)

    def _ensure_bridge(self, net: Net) -> None:
        if net.id not in self._ready or not bridge.link_exists(net.bridge):
            bridge.ensure_bridge(
                net.bridge, net.gateway, net.pool.prefixlen,
                gateway6=str(net.pool6.gateway) if net.pool6 else "",
                prefixlen6=net.pool6.prefixlen if net.pool6 else 0,
            )
            self._ready.add(net.id)

    # ---------- container lifecycle ----------
    def on_create(self, record: Container, networking_config: Any) -> None:
        """``POST /containers/create``: the networks of NetworkMode and NetworkingConfig must exist."""
        mode = self.mode(record)
        if mode in ("host", "none") or mode.startswith("container:"):
            return
        first = self.find(mode)
        configs: dict[str, dict[str, Any]] = {first.id: {}}
        endpoints = (
            (networking_config or {}).get("EndpointsConfig") or {}
            if isinstance(networking_config, dict)
            else {}
        )
        for ref, cfg in endpoints.items():
            net = self.find("bridge" if ref == "default" else ref)
            configs[net.id] = {k: v for k, v in dict(cfg or {}).items() if v}
        self._store_configs(record.id, configs)

    async def setup(self, record: Container, lookup: Callable[[str], Container]) -> None:
        """Before the task is created: the sandbox for ``record``'s network mode, and its /etc files."""
        mode = self.mode(record)
        if mode == "host":
            await asyncio.to_thread(self._host_files, record)
            return
        if mode == "none":
            return
        if mode.startswith("container:"):
            other = lookup(mode.split(":", 1)[1])
            if not other.state.running:
                raise errdefs.Conflict(f"cannot join network of a non running container: {other.id}")
            path = self.netns_path(other.id) or f"/proc/{other.state.pid}/ns/net"
            self.sandboxes[record.id] = Sandbox(record.id, key=path, owned=False)
            await asyncio.to_thread(self._copy_files, other, record)
            return
        configs = self.endpoint_configs(record)
        if not configs:
            raise errdefs.NotFound(f"network {mode} not found")
        self.link_envs.pop(record.id, None)
        links = self._links(record, lookup) if self.nets[next(iter(configs))].default else []
        await self._settle(record.id)
        if any((c or {}).get("IPAMConfig") for c in configs.values()):
            await self._drain()  # a static address may still be held by a veth being removed
        async with self.lock:
            await self._release_locked(record.id)
            sb = Sandbox(
                record.id,
                key=str(self.netns_dir / record.id[:12]),
                name=record.name.lstrip("/"),
                hostname=str(record.config.get("Hostname") or record.short_id),
            )
            self.sandboxes[record.id] = sb
            try:
                # what users see fail (addresses, ports) is decided now; the plumbing runs while the
                # runtime creates the container and is awaited (``ready``) before the task starts
                for nid, cfg in configs.items():
                    self._plan(sb, self.nets[nid], cfg)
                first = sb.primary
                assert first is not None
                hc = record.host_config
                if hc.get("PortBindings") or hc.get("PublishAllPorts"):  # no thread hop for none
                    sb.bindings = await asyncio.to_thread(
                        self._bind_ports, record, first.endpoint_id, first.address
                    )
                self._save(sb)
                await asyncio.to_thread(netns.create, Path(sb.key), bridge.loopback_up)
            except Exception as err:
                await self._release_locked(record.id)
                raise _wrap(err) from err
        self._pending[record.id] = asyncio.ensure_future(self._plumb_all(record, sb, links))
        for a in sb.attachments:
            self._emit("connect", self.nets[a.network_id], record.id)

    async def _plumb_all(self, record: Container, sb: Sandbox, links: list[str]) -> None:
        started = time.perf_counter()
        async with self.lock:
            try:
                for i, a in enumerate(list(sb.attachments)):
                    await asyncio.to_thread(self._plumb, sb, a, self.nets[a.network_id], i == 0)
                await asyncio.to_thread(self._sync_rules)
                await self._start_dns(sb)
                await asyncio.to_thread(self._write_files, record, sb, self._user_defined(sb), links)
            except Exception as err:
                raise _wrap(err) from err
        log.debug("network of %s ready in %.1f ms", record.short_id, (time.perf_counter() - started) * 1000)

    async def ready(self, cid: str) -> None:
        """Before the task starts: the interfaces, rules and files ``setup`` began are in place."""
        task = self._pending.pop(cid, None)
        if task is not None:
            await task

    async def _settle(self, cid: str) -> None:
        task = self._pending.pop(cid, None)
        if task is not None:
            with contextlib.suppress(Exception):
                await task

    def _user_defined(self, sb: Sandbox) -> bool:
        return any(not self.nets[a.network_id].default for a in sb.attachments if a.network_id in self.nets)

    def _attach(self, sb: Sandbox, net: Net, cfg: dict[str, Any]) -> Attachment:
        a = self._plan(sb, net, cfg)
        try:
            self._plumb(sb, a, net, len(sb.attachments) == 1)
        except BaseException:
            sb.attachments.remove(a)
            net.release(a.address, a.address6)
            raise
        return a

    def _plan(self, sb: Sandbox, net: Net, cfg: dict[str, Any]) -> Attachment:
        """Allocate the endpoint (address, names) and record it in the sandbox; no kernel work."""
        wanted = str(((cfg or {}).get("IPAMConfig") or {}).get("IPv4Address") or "")
        if wanted and net.default:
            raise errdefs.InvalidArgument(
                "user specified IP address is supported on user defined networks only"
            )
        wanted6 = str(((cfg or {}).get("IPAMConfig") or {}).get("IPv6Address") or "")
        addr = net.pool.allocate(wanted)
        addr6 = ""
        if net.pool6 is not None:
            try:
                addr6 = str(net.pool6.allocate(wanted6))
            except BaseException:
                net.pool.release(addr)
                raise
        aliases = [str(a) for a in (cfg or {}).get("Aliases") or []]
        a = Attachment(
            network_id=net.id,
            host_ifname=bridge.host_ifname(),
            ifname=f"eth{len(sb.attachments)}",
            address=str(addr),
            mac=ipam.mac_for(addr),
            endpoint_id=secrets.token_hex(32),
            aliases=aliases,
            address6=addr6,
        )
        sb.attachments.append(a)
        return a

    def _plumb(self, sb: Sandbox, a: Attachment, net: Net, first: bool) -> None:
        """The veth pair of a planned endpoint, configured inside the sandbox."""
        self._ensure_bridge(net)
        ep = bridge.Endpoint(
            net.bridge,
            a.host_ifname,
            a.ifname,
            a.address,
            net.pool.prefixlen,
            net.gateway,
            a.mac,
            default_route=first and not net.internal,
            address6=a.address6,
            prefixlen6=net.pool6.prefixlen if net.pool6 else 0,
            gateway6=str(net.pool6.gateway) if net.pool6 else "",
        )
        try:
            bridge.attach(ep, sb.key)
        except BaseException:
            bridge.delete_link(a.host_ifname)
            raise

    def _bind_ports(self, record: Container, endpoint_id: str, address: str) -> list[Binding]:
        """Own each host port (bound here, handed to a proxy process), as docker-proxy does."""
        hc = record.host_config
        wanted: list[tuple[str, str, int, int]] = []  # proto, host ip, host port (0 = any), port
        bindings = dict(hc.get("PortBindings") or {})
        if hc.get("PublishAllPorts"):
            for spec in record.config.get("ExposedPorts") or {}:
                bindings.setdefault(spec, [{"HostIp": "", "HostPort": ""}])
        for spec, entries in sorted(bindings.items()):
            port, proto = _port_key(spec)
            for entry in entries or [{}]:
                hp = str((entry or {}).get("HostPort") or "")
                wanted.append(
                    (proto, str((entry or {}).get("HostIp") or ""), int(hp.split("-")[0] or 0), port)
                )
        out: list[Binding] = []
        taken = {(b.proto, b.host_port) for other in self.sandboxes.values() for b in other.bindings}
        name = record.name.lstrip("/")
        try:
            for proto, host_ip, host_port, port in wanted:
                ips = [host_ip] if host_ip else ["0.0.0.0", "::"]
                if host_port and (proto, host_port) in taken:
                    raise errdefs.Unknown(
                        f"driver failed programming external connectivity on endpoint {name} "
                        f"({endpoint_id}): Bind for {ips[0]}:{host_port} failed: port is already allocated"
                    )
                if not host_port:
                    host_port = _ephemeral(proto, ips, taken)
                taken.add((proto, host_port))
                socks: list[socket.socket] = []
                try:
                    for ip in ips:
                        s = _listen(proto, ip, host_port)
                        if s is None:
                            if ip == "::" and not host_ip:
                                continue  # no IPv6 on this host
                            raise errdefs.Unknown(
                                f"driver failed programming external connectivity on endpoint {name} "
                                f"({endpoint_id}): Error starting userland proxy: listen {proto}"
                                f"{'6' if ':' in ip else '4'} {_hostport(ip, host_port)}: bind: "
                                "address already in use"
                            )
                        socks.append(s)
                        host_port = s.getsockname()[1]
                    pid = self._spawn_proxy(socks, proto, address, port)
                finally:
                    for s in socks:
                        s.close()
                for s_ip in ips[: len(socks)]:
                    out.append(Binding(proto, s_ip, host_port, port, pid))
        except BaseException:
            self._stop_proxies(out)
            raise
        return out

    @staticmethod
    def _spawn_proxy(socks: list[socket.socket], proto: str, address: str, port: int) -> int:
        fds = [str(s.fileno()) for s in socks]
        proc = subprocess.Popen(
            [sys.executable, "-I", "-m", "skiff.network.proxy", proto, address, str(port), *fds],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            pass_fds=tuple(s.fileno() for s in socks),
            start_new_session=True,
        )
        return int(proc.pid)

    @staticmethod
    def _stop_proxies(bindings: list[Binding]) -> None:
        for b in bindings:
            if b.proxy_pid and _alive_proxy(b.proxy_pid):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(b.proxy_pid, signal.SIGKILL)
                with contextlib.suppress(ChildProcessError, OSError):
                    os.waitpid(b.proxy_pid, os.WNOHANG)

    # ---------- embedded DNS ----------
    def resolve(self, cid: str, name: str) -> list[str]:
        """Names ``cid`` can resolve: containers (name, alias, short ID, hostname) sharing one of its
        user-defined networks, with their address on that network."""
        me = self.sandboxes.get(cid)
        if me is None:
            return []
        name = name.lower()
        out: list[str] = []
        for mine in me.attachments:
            net = self.nets.get(mine.network_id)
            if net is None or net.default:
                continue
            for other in self.sandboxes.values():
                for a in other.attachments:
                    if a.network_id != mine.network_id:
                        continue
                    names = {other.name.lower(), other.cid[:12], *(x.lower() for x in a.aliases)}
                    if name in names or name == f"{other.name.lower()}.{net.name.lower()}":
                        out.append(a.address)
                        if a.address6:
                            out.append(a.address6)
        return out

    def rename(self, cid: str, name: str) -> None:
        """``docker rename``: the embedded DNS answers the new name and no longer the old one."""
        sb = self.sandboxes.get(cid)
        if sb is not None and sb.owned:
            sb.name = name.lstrip("/")
            self._save(sb)

    async def _start_dns(self, sb: Sandbox) -> None:
        if sb.cid in self.resolvers or not self._user_defined(sb):
            return
        cid = sb.cid
        self.resolvers[cid] = await dns.Server.start(
            sb.key, lambda name: self.resolve(cid, name), dns.upstreams()
        )

    def _stop_dns(self, cid: str) -> None:
        server = self.resolvers.pop(cid, None)
        if server is not None:
            server.close()

    # ---------- teardown ----------
    def _teardown(self, sb: Sandbox) -> None:
        """What goes at once: the proxies (so the host ports are free again) and the netns mount."""
        self._stop_proxies(sb.bindings)
        if sb.owned and sb.key.startswith(str(self.netns_dir)):
            netns.remove(Path(sb.key))

    def _reap_later(self, sb: Sandbox) -> None:
        """The veths go off the caller's path: deleting one waits 15-40 ms on the kernel's network-wide
        synchronisation, which an exit or a removal need not wait for; once the netns mount is gone the
        kernel removes them with the namespace (batched, cheaper), and what is still there after
        ``VETH_GONE_TIMEOUT`` is deleted. Their addresses return to the pools only once they are gone (the
        MAC follows the address, so a reuse must not meet the old port)."""
        if not sb.attachments:
            return

        def remove() -> None:
            names = [a.host_ifname for a in sb.attachments]
            if sb.owned:  # the netns mount is gone: the kernel's teardown of the namespace takes the pairs
                names = bridge.wait_gone(names, VETH_GONE_TIMEOUT)
            for name in names:  # still held (a process left inside): delete them
                bridge.delete_link(name)

        async def reap() -> None:
            try:
                await asyncio.to_thread(remove)
            finally:
                for a in sb.attachments:
                    net = self.nets.get(a.network_id)
                    if net is not None:
                        net.release(a.address, a.address6)

        task = asyncio.ensure_future(reap())
        self._reapers.add(task)
        task.add_done_callback(self._reapers.discard)

    async def _drain(self) -> None:
        """Wait for pending veth removals (before a static address, a network removal or shutdown)."""
        while self._reapers:
            await asyncio.gather(*list(self._reapers), return_exceptions=True)

    async def release(self, cid: str, removed: bool = False) -> None:
        """After the task is gone (exit, failed start, removal): everything ``setup`` made; a removed
        container's network configuration goes too."""
        await self._settle(cid)
        async with self.lock:
            await self._release_locked(cid)
        if removed:
            with contextlib.suppress(FileNotFoundError):
                self._config_path(cid).unlink()

    async def _release_locked(self, cid: str) -> None:
        self._stop_dns(cid)
        sb = self.sandboxes.pop(cid, None)
        if sb is None:
            return
        await asyncio.to_thread(self._teardown, sb)
        self._reap_later(sb)
        self._forget(cid)
        for a in sb.attachments:
            if a.network_id in self.nets:
                self._emit("disconnect", self.nets[a.network_id], cid)
        if sb.attachments:
            with contextlib.suppress(errdefs.SkiffError):
                await asyncio.to_thread(self._sync_rules)

    async def reconcile(self, running: dict[str, Container]) -> None:
        """On skiffd start: keep the sandboxes of running containers (respawn their proxies and resolvers),
        drop the rest, remove netns mounts nobody owns, and load the table once."""
        async with self.lock:
            for cid in list(self.sandboxes):
                if cid not in running:
                    await self._release_locked(cid)
            owned = {sb.key for sb in self.sandboxes.values()}
            if self.netns_dir.is_dir():
                for path in self.netns_dir.iterdir():
                    if str(path) not in owned:
                        await asyncio.to_thread(netns.remove, path)
            for sb in self.sandboxes.values():
                groups: dict[int, list[Binding]] = {}
                for b in sb.bindings:
                    groups.setdefault(b.proxy_pid, []).append(b)
                first = sb.primary
                for pid, group in groups.items():
                    if not _alive_proxy(pid) and first is not None:
                        await asyncio.to_thread(self._respawn, first.address, group)
                self._save(sb)
                with contextlib.suppress(Exception):
                    await self._start_dns(sb)
            try:
                for net in self.nets.values():
                    used = any(
                        a.network_id == net.id for sb in self.sandboxes.values() for a in sb.attachments
                    )
                    if used or await asyncio.to_thread(bridge.link_exists, net.bridge):
                        await asyncio.to_thread(self._ensure_bridge, net)
                await asyncio.to_thread(self._sync_rules, True)
            except Exception as err:
                log.warning("network reconcile: %s", err)

    def _respawn(self, address: str, group: list[Binding]) -> None:
        socks = [x for x in (_listen(b.proto, b.host_ip, b.host_port) for b in group) if x is not None]
        try:
            if not socks:
                log.warning("cannot re-publish %s/%s", group[0].host_port, group[0].proto)
                return
            pid = self._spawn_proxy(socks, group[0].proto, address, group[0].port)
            for b in group:
                b.proxy_pid = pid
        finally:
            for s in socks:
                s.close()

    # ---------- /etc files ----------
    def _links(self, record: Container, lookup: Callable[[str], Container]) -> list[str]:
        """``--link name:alias`` on the default bridge: hosts lines ``<ip>\t<alias> <id12> <name>``."""
        out = []
        for link in record.host_config.get("Links") or []:
            target, _, alias = str(link).partition(":")
            alias = alias.rsplit("/", 1)[-1] or target.lstrip("/")
            try:
                other = lookup(target.lstrip("/"))
            except errdefs.NotFound:
                continue
            osb = self.sandboxes.get(other.id)
            if not other.state.running or osb is None or osb.primary is None:
                raise errdefs.Unknown(
                    f"Cannot link to a non running container: {other.name} AS {record.name}/{alias}"
                )
            out.append(f"{osb.primary.address}\t{alias} {other.short_id} {other.name.lstrip('/')}")
            self.link_envs.setdefault(record.id, []).extend(
                links_mod.link_env(
                    record.name, alias, osb.primary.address, other.config.get("Env"),
                    other.config.get("ExposedPorts"),
                )
            )
        return out

    @staticmethod
    def _write_files(record: Container, sb: Sandbox, embedded_dns: bool, links: list[str]) -> None:
        first = sb.primary
        if record.hosts_path and first is not None:
            hostname = str(record.config.get("Hostname") or record.short_id)
            domain = str(record.config.get("Domainname") or "")
            names = f"{hostname}.{domain} {hostname}" if domain else hostname
            extra = "".join(line + "\n" for line in links)
            Path(record.hosts_path).write_text(HOSTS_HEADER + extra + f"{first.address}\t{names}\n")
        if embedded_dns and record.resolv_conf_path:
            kept = []
            with contextlib.suppress(OSError):
                kept = [
                    ln
                    for ln in Path("/etc/resolv.conf").read_text().splitlines()
                    if ln.startswith(("search", "domain"))
                ]
            Path(record.resolv_conf_path).write_text(
                "\n".join([*kept, f"nameserver {dns.ADDRESS}", "options ndots:0"]) + "\n"
            )

    @staticmethod
    def _host_files(record: Container) -> None:
        """``--network host``: the host's hosts and resolv.conf, as dockerd copies them."""
        for src, dst in (("/etc/hosts", record.hosts_path), ("/etc/resolv.conf", record.resolv_conf_path)):
            if dst:
                with contextlib.suppress(OSError):
                    Path(dst).write_bytes(Path(src).read_bytes())

    @staticmethod
    def _copy_files(other: Container, record: Container) -> None:
        for src, dst in (
            (other.hosts_path, record.hosts_path),
            (other.resolv_conf_path, record.resolv_conf_path),
            (other.hostname_path, record.hostname_path),
        ):
            if src and dst:
                with contextlib.suppress(OSError):
                    Path(dst).write_bytes(Path(src).read_bytes())

    # ---------- connect / disconnect ----------
    async def connect(self, ref: str, record: Container, cfg: dict[str, Any]) -> None:
        net = self.find(ref)
        mode = self.mode(record)
        if mode in ("host", "none") or mode.startswith("container:"):
            raise errdefs.InvalidArgument(
                "container cannot be disconnected from host network or connected to host network"
                if mode == "host"
                else "container sharing network namespace with another container or host cannot be "
                "connected to any other network"
            )
        configs = self.endpoint_configs(record)
        if net.id in configs:
            raise errdefs.Conflict(
                f"endpoint with name {record.name.lstrip('/')} already exists in network {net.name}"
            )
        if (cfg or {}).get("IPAMConfig"):
            await self._drain()
        async with self.lock:
            sb = self.sandboxes.get(record.id)
            if sb is not None and record.state.running:
                try:
                    await asyncio.to_thread(self._attach, sb, net, cfg)
                    self._save(sb)
                    await asyncio.to_thread(self._sync_rules)
                    await self._start_dns(sb)
                except Exception as err:
                    raise _wrap(err) from err
                self._emit("connect", net, record.id)
            configs[net.id] = dict(cfg or {})
            self._store_configs(record.id, configs)

    async def disconnect(self, ref: str, record: Container, force: bool = False) -> None:
        net = self.find(ref)
        configs = self.endpoint_configs(record)
        if net.id not in configs:
            if force:
                return
            raise errdefs.Forbidden(f"container {record.id} is not connected to network {net.name}")
        async with self.lock:
            sb = self.sandboxes.get(record.id)
            if sb is not None:
                for a in [a for a in sb.attachments if a.network_id == net.id]:
                    await asyncio.to_thread(bridge.delete_link, a.host_ifname)
                    net.release(a.address, a.address6)
                    sb.attachments.remove(a)
                    self._emit("disconnect", net, record.id)  # the endpoint's leave, as dockerd reports it
                self._save(sb)
                with contextlib.suppress(errdefs.SkiffError):
                    await asyncio.to_thread(self._sync_rules)
            del configs[net.id]
            self._store_configs(record.id, configs)
        self._emit("disconnect", net, record.id)

    # ---------- inspect ----------
    def _endpoint(self, net: Net, a: Attachment | None, cfg: dict[str, Any]) -> dict[str, Any]:
        return {
            "IPAMConfig": cfg.get("IPAMConfig") or None,
            "Links": cfg.get("Links") or None,
            "Aliases": (cfg.get("Aliases") or None)
            if net.default
            else ([*(cfg.get("Aliases") or [])] or None),
            "NetworkID": net.id,
            "EndpointID": a.endpoint_id if a else "",
            "Gateway": net.gateway if a else "",
            "IPAddress": a.address if a else "",
            "IPPrefixLen": net.pool.prefixlen if a else 0,
            "IPv6Gateway": str(net.pool6.gateway) if a and a.address6 and net.pool6 else "",
            "GlobalIPv6Address": a.address6 if a else "",
            "GlobalIPv6PrefixLen": net.pool6.prefixlen if a and a.address6 and net.pool6 else 0,
            "MacAddress": a.mac if a else "",
            "DriverOpts": cfg.get("DriverOpts") or None,
        }

    def settings(self, record: Container) -> dict[str, Any]:
        """``NetworkSettings`` as dockerd fills it for the container's mode."""
        sb = self.sandboxes.get(record.id) if record.state.running else None
        mode = self.mode(record)
        ports: dict[str, Any] = {}
        for spec in record.config.get("ExposedPorts") or {}:
            ports[spec if "/" in spec else f"{spec}/tcp"] = None
        if sb is not None:
            for b in sb.bindings:
                key = f"{b.port}/{b.proto}"
                ports[key] = (ports.get(key) or []) + [{"HostIp": b.host_ip, "HostPort": str(b.host_port)}]
        networks: dict[str, Any] = {}
        if mode in ("host", "none"):
            networks[mode] = {
                **self._endpoint(self.nets[next(iter(self.nets))], None, {}),
                "NetworkID": _fixed_id(mode),
            }
        for nid, cfg in self.endpoint_configs(record).items():
            net = self.nets[nid]
            att = next((a for a in sb.attachments if a.network_id == nid), None) if sb else None
            networks[net.name] = self._endpoint(net, att, cfg)
        top = dict(EMPTY_DEFAULT_ENDPOINT)
        if "bridge" in networks and mode == "bridge":
            top = {k: networks["bridge"][k] for k in top}
        return {
            "Bridge": "",
            "SandboxID": hashlib.sha256(sb.key.encode()).hexdigest() if sb else "",
            "HairpinMode": False,
            "LinkLocalIPv6Address": "",
            "LinkLocalIPv6PrefixLen": 0,
            "Ports": ports,
            "SandboxKey": sb.key if sb else "",
            "SecondaryIPAddresses": None,
            "SecondaryIPv6Addresses": None,
            **top,
            "Networks": networks,
        }

    def summarize(self, record: Container, summary: dict[str, Any]) -> None:
        """``GET /containers/json``: Ports and NetworkSettings.Networks as dockerd lists them."""
        settings = self.settings(record)
        summary["Ports"] = list_ports(settings)
        summary["NetworkSettings"] = {"Networks": settings["Networks"]}

    # ---------- networks API ----------
    def _in_use(self, net: Net) -> list[Sandbox]:
        return [sb for sb in self.sandboxes.values() if any(a.network_id == net.id for a in sb.attachments)]

    def network_json(self, net: Net, names: Callable[[str], str] | None = None) -> dict[str, Any]:
        containers = {
            sb.cid: {
                "Name": sb.name,
                "EndpointID": a.endpoint_id,
                "MacAddress": a.mac,
                "IPv4Address": f"{a.address}/{net.pool.prefixlen}",
                "IPv6Address": f"{a.address6}/{net.pool6.prefixlen}" if a.address6 and net.pool6 else "",
            }
            for sb in self.sandboxes.values()
            for a in sb.attachments
            if a.network_id == net.id
        }
        cfg: dict[str, str] = {"Subnet": net.subnet, "Gateway": net.gateway}
        if net.ip_range:
            cfg["IPRange"] = net.ip_range
        configs: list[dict[str, str]] = [cfg]
        if net.subnet6:  # without EnableIPv6 dockerd keeps the entry but allocates nothing from it
            configs.append({"Subnet": net.subnet6, "Gateway": net.gateway6} if net.enable_ipv6 else
                           {"Subnet": net.subnet6})
        return {
            "Name": net.name,
            "Id": net.id,
            "Created": net.created,
            "Scope": "local",
            "Driver": "bridge",
            "EnableIPv6": net.enable_ipv6,
            "IPAM": {"Driver": "default", "Options": None if net.default else {}, "Config": configs},
            "Internal": net.internal,
            "Attachable": net.attachable,
            "Ingress": False,
            "ConfigFrom": {"Network": ""},
            "ConfigOnly": False,
            "Containers": containers,
            "Options": dict(net.options),
            "Labels": dict(net.labels),
        }

    def _special_json(self, name: str) -> dict[str, Any]:
        created = next(n.created for n in self.nets.values() if n.default)
        return {
            "Name": name,
            "Id": _fixed_id(name),
            "Created": created,
            "Scope": "local",
            "Driver": "null" if name == "none" else "host",
            "EnableIPv6": False,
            "IPAM": {"Driver": "default", "Options": None, "Config": []},
            "Internal": False,
            "Attachable": False,
            "Ingress": False,
            "ConfigFrom": {"Network": ""},
            "ConfigOnly": False,
            "Containers": {},
            "Options": {},
            "Labels": {},
        }

    def list_networks(self) -> list[dict[str, Any]]:
        return [
            *(self.network_json(n) for n in self.nets.values()),
            self._special_json("host"),
            self._special_json("none"),
        ]

    def find_network(self, ref: str) -> dict[str, Any]:
        for name in ("host", "none"):
            if ref in (name, _fixed_id(name)) or (
                len(ref) >= 1
                and _fixed_id(name).startswith(ref)
                and not any(n.id.startswith(ref) for n in self.nets.values())
            ):
                return self._special_json(name)
        return self.network_json(self.find(ref))

    async def create_network(self, body: dict[str, Any]) -> dict[str, Any]:
        name = str(body.get("Name") or "")
        if not name.strip():  # libnetwork's name check, a 500 on dockerd
            raise errdefs.Unknown(f"invalid name: {name}")
        if name in PREDEFINED:
            raise errdefs.Forbidden(f"{name} is a pre-defined network and cannot be created")
        if any(n.name == name for n in self.nets.values()):
            raise errdefs.Conflict(f"network with name {name} already exists")
        driver = str(body.get("Driver") or "bridge")
        if driver != "bridge":
            raise errdefs.NotFound(f'plugin "{driver}" not found')
        all_cfg = [c or {} for c in (body.get("IPAM") or {}).get("Config") or []]  # Go decodes null as {}
        ipam_cfg = [c for c in all_cfg if ":" not in str(c.get("Subnet") or "")]
        subnet6, gateway6 = self._ipv6_config(body, [c for c in all_cfg if ":" in str(c.get("Subnet") or "")])
        taken = [n.subnet for n in self.nets.values()]
        routes = await asyncio.to_thread(_host_routes)
        if ipam_cfg:
            c = ipam_cfg[0]
            # an entry without a subnet is refused like a bad one (libnetwork's 500), never auto-picked
            pool = ipam.Pool.parse(str(c.get("Subnet") or ""), str(c.get("Gateway") or ""),
                                   str(c.get("IPRange") or ""))
            if ipam.overlaps(str(pool.subnet), taken):
                raise errdefs.Forbidden("Pool overlaps with other one on this address space")
            subnet, gateway, ip_range = str(pool.subnet), str(pool.gateway), str(c.get("IPRange") or "")
        else:
            subnet = ipam.pick_subnet(taken + routes)
            gateway, ip_range = str(ipaddress.IPv4Network(subnet).network_address + 1), ""
        nid = secrets.token_hex(32)
        options = {str(k): str(v) for k, v in (body.get("Options") or {}).items()}
        net = Net(
            id=nid,
            name=name,
            bridge=options.get("com.docker.network.bridge.name") or f"br-{nid[:12]}",
            subnet=subnet,
            gateway=gateway,
            created=timefmt.now(),
            ip_range=ip_range,
            internal=bool(body.get("Internal")),
            attachable=bool(body.get("Attachable")),
            labels={str(k): str(v) for k, v in (body.get("Labels") or {}).items()},
            options=options,
            enable_ipv6=bool(body.get("EnableIPv6")),
            subnet6=subnet6,
            gateway6=gateway6,
        )
        self.nets[nid] = net
        self._save_nets()
        self._emit("create", net)
        return {"Id": nid, "Warning": ""}

    def _ipv6_config(self, body: dict[str, Any], v6: list[dict[str, Any]]) -> tuple[str, str]:
        """The IPv6 ``IPAM.Config`` entry: (subnet, gateway), else ("", ""). dockerd picks no IPv6 pool by
        itself here (its defaults have none) and answers 404 for ``EnableIPv6`` without one."""
        if not v6:
            if body.get("EnableIPv6"):
                raise errdefs.NotFound(
                    "could not find an available, non-overlapping IPv6 address pool among the defaults to "
                    "assign to the network"
                )
            return "", ""
        pool = ipam6.Pool6.parse(str(v6[0].get("Subnet") or ""), str(v6[0].get("Gateway") or ""))
        for n in self.nets.values():
            if n.subnet6 and pool.subnet.overlaps(ipaddress.IPv6Network(n.subnet6, strict=False)):
                raise errdefs.Forbidden("Pool overlaps with other one on this address space")
        return str(pool.subnet), str(pool.gateway)

    async def delete_network(self, ref: str) -> None:
        if ref in ("host", "none"):
            raise errdefs.Forbidden(f"{ref} is a pre-defined network and cannot be removed")
        net = self.find(ref)
        if net.default:
            raise errdefs.Forbidden(f"{net.name} is a pre-defined network and cannot be removed")
        if self._in_use(net):
            raise errdefs.Forbidden(
                f"error while removing network: network {net.name} id {net.id} has active endpoints"
            )
        await self._drain()
        async with self.lock:
            del self.nets[net.id]
            self._save_nets()
            self._ready.discard(net.id)
            await asyncio.to_thread(bridge.delete_link, net.bridge)
            with contextlib.suppress(errdefs.SkiffError):
                await asyncio.to_thread(self._sync_rules)
        self._emit("destroy", net)

    async def prune(self, keep: Callable[[dict[str, Any]], bool]) -> list[str]:
        deleted = []
        for net in list(self.nets.values()):
            if net.default or self._in_use(net) or not keep(self.network_json(net)):
                continue
            with contextlib.suppress(errdefs.SkiffError):
                await self.delete_network(net.id)
                deleted.append(net.name)
        return deleted


def _host_routes() -> list[str]:
    """Subnets the host already routes (dockerd avoids them when it picks a pool)."""
    from pyroute2 import IPRoute  # type: ignore[import-untyped]

    out = []
    with contextlib.suppress(Exception), IPRoute() as ipr:
        for r in ipr.get_routes(family=socket.AF_INET):
            dst = r.get_attr("RTA_DST")
            if dst:
                out.append(f"{dst}/{r['dst_len']}")
    return out


def list_ports(settings: dict[str, Any]) -> list[dict[str, Any]]:
    """``docker ps``'s Ports from inspect's ``NetworkSettings.Ports``."""
    out: list[dict[str, Any]] = []
    for spec, bound in sorted((settings.get("Ports") or {}).items()):
        port, proto = _port_key(spec)
        if not bound:
            out.append({"PrivatePort": port, "Type": proto})
            continue
        for b in bound:
            out.append(
                {"IP": b["HostIp"], "PrivatePort": port, "PublicPort": int(b["HostPort"]), "Type": proto}
            )
    return out


def _listen(proto: str, ip: str, port: int) -> socket.socket | None:
    """A bound (and for TCP listening) socket on ``ip``:``port``, or None when it is taken."""
    family = socket.AF_INET6 if ":" in ip else socket.AF_INET
    s = socket.socket(family, socket.SOCK_STREAM if proto == "tcp" else socket.SOCK_DGRAM)
    try:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if family == socket.AF_INET6:
            s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        s.bind((ip, port))
        if proto == "tcp":
            s.listen(128)
    except OSError:
        s.close()
        return None
    return s


def _ephemeral(proto: str, ips: list[str], taken: set[tuple[str, int]]) -> int:
    """dockerd's port allocator: the lowest free port of ``ip_local_port_range``."""
    lo, hi = 32768, 60999
    with contextlib.suppress(OSError, ValueError):
        lo, hi = (int(x) for x in Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split())
    for port in range(lo, hi + 1):
        if (proto, port) in taken:
            continue
        s = _listen(proto, ips[0], port)
        if s is not None:
            s.close()
            return port
    raise errdefs.Unavailable("no free host port to publish on")


def _hostport(ip: str, port: int) -> str:
    return f"[{ip}]:{port}" if ":" in ip else f"{ip}:{port}"


# the default bridge's endpoint fields at the top of NetworkSettings, empty when it is not attached
EMPTY_DEFAULT_ENDPOINT: dict[str, Any] = {
    "EndpointID": "",
    "Gateway": "",
    "GlobalIPv6Address": "",
    "GlobalIPv6PrefixLen": 0,
    "IPAddress": "",
    "IPPrefixLen": 0,
    "IPv6Gateway": "",
    "MacAddress": "",
}


def _fixed_id(name: str) -> str:
    return hashlib.sha256(f"skiff-network-{name}".encode()).hexdigest()


def empty_settings() -> dict[str, Any]:
    """NetworkSettings of a container without a sandbox, as dockerd fills them (no network service)."""
    return {
        "Bridge": "",
        "SandboxID": "",
        "HairpinMode": False,
        "LinkLocalIPv6Address": "",
        "LinkLocalIPv6PrefixLen": 0,
        "Ports": {},
        "SandboxKey": "",
        "SecondaryIPAddresses": None,
        "SecondaryIPv6Addresses": None,
        **EMPTY_DEFAULT_ENDPOINT,
        "Networks": {},
    }


def remove_daemon_network(data_root: Path, exec_root: Path) -> None:
    """After a private daemon (tests) stopped with no container left: its bridges and nftables table.
    Refuses the system daemon's, which stay like docker0."""
    svc = NetworkService.for_daemon(data_root, exec_root)
    if svc.bridge_name == DEFAULT_BRIDGE or svc.sandboxes:
        return
    nft.delete_table(svc.table)
    for net in svc.nets.values():
        bridge.delete_link(net.bridge)
