"""``-H`` addresses -> bound sockets: ``unix://``, ``tcp://`` (TLS unless --insecure-tcp), ``fd://``.

skiffd binds the sockets itself (so it controls a unix socket's mode and group and can take systemd's
sockets) and hands them to uvicorn.
"""

from __future__ import annotations

import contextlib
import grp
import logging
import os
import socket
import ssl
import stat
from dataclasses import dataclass
from pathlib import Path

from skiff.engine.config import DaemonConfig

log = logging.getLogger("skiff.engine.listeners")

DEFAULT_TCP_HOST = "127.0.0.1"
DEFAULT_HTTP_PORT = 2375
DEFAULT_TLS_PORT = 2376
SD_LISTEN_FDS_START = 3
INSECURE_TCP_WARNING = ("[!] DON'T BIND ON ANY IP ADDRESS WITHOUT setting --tlsverify IF YOU DON'T KNOW "
                        "WHAT YOU'RE DOING [!]")
NO_ACTIVATION = "no sockets found via socket activation: make sure the service was started by systemd"


class ListenerError(Exception):
    """A ``-H`` value that cannot be parsed or bound."""


@dataclass(frozen=True)
class Address:
    """A parsed ``-H``: ``proto`` is unix, tcp or fd; ``address`` a path, ``host:port`` or fd selector."""

    proto: str
    address: str

    def __str__(self) -> str:
        return f"{self.proto}://{self.address}"


def parse_host(value: str, tls: bool = False) -> Address:
    """dockerd's ``-H`` syntax; the scheme is required except for a bare ``/path`` (unix)."""
    value = value.strip()
    if value.startswith("/"):
        return Address("unix", value)
    proto, sep, rest = value.partition("://")
    if not sep:
        raise ListenerError(f"Invalid bind address format: {value}")
    if proto == "unix":
        return Address("unix", rest or "/var/run/skiff.sock")
    if proto == "fd":
        if rest and not rest.isdigit():
            raise ListenerError(f"Invalid bind address format: {value}")
        return Address("fd", rest)
    if proto == "tcp":
        rest = rest.rstrip("/")
        if "/" in rest:
            raise ListenerError(f"Invalid bind address format: {value}")
        default_port = DEFAULT_TLS_PORT if tls else DEFAULT_HTTP_PORT
        if rest.startswith("["):
            host, _, port = rest[1:].partition("]")
            port = port.lstrip(":")
        elif rest.count(":") > 1:
            raise ListenerError(f"Invalid bind address format: {value}")
        else:
            host, _, port = rest.partition(":")
        host = host or DEFAULT_TCP_HOST
        if port and not port.isdigit():
            raise ListenerError(f"Invalid bind address format: {value}")
        port_num = int(port) if port else default_port
        if not 0 <= port_num < 65536:
            raise ListenerError(f"Invalid bind address format: {value}")
        host_text = f"[{host}]" if ":" in host else host
        return Address("tcp", f"{host_text}:{port_num}")
    raise ListenerError(f"Invalid bind address format: {value}")


def split_host_port(address: str) -> tuple[str, int]:
    host, _, port = address.rpartition(":")
    return host.strip("[]"), int(port)


# -- binding -------------------------------------------------------------------------------------------

def docker_gid() -> int:
    """The ``docker`` group's id, or root's if it does not exist (as dockerd does)."""
    try:
        return grp.getgrnam("docker").gr_gid
    except KeyError:
        return 0


def bind_unix(path: str) -> socket.socket:
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        if stat.S_ISSOCK(target.lstat().st_mode):
            target.unlink()  # stale socket from a previous run
        else:
            raise ListenerError(f"{path} exists and is not a socket")
    except FileNotFoundError:
        pass
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    old_umask = os.umask(0o777)  # no window where the socket is reachable with looser permissions
    try:
        sock.bind(path)
    except OSError as exc:
        sock.close()
        raise ListenerError(f"cannot bind {path}: {exc}") from exc
    finally:
        os.umask(old_umask)
    os.chown(path, 0, docker_gid())
    os.chmod(path, 0o660)
    sock.listen(socket.SOMAXCONN)
    return sock


def bind_tcp(address: str) -> socket.socket:
    host, port = split_host_port(address)
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as exc:
        raise ListenerError(f"cannot resolve {host}: {exc}") from exc
    family, socktype, proto, _, sockaddr = infos[0]
    sock = socket.socket(family, socktype, proto)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(sockaddr)
    except OSError as exc:
        sock.close()
        raise ListenerError(f"cannot bind {address}: {exc}") from exc
    sock.listen(socket.SOMAXCONN)
    return sock


def systemd_sockets(selector: str, environ: dict[str, str] | None = None) -> list[socket.socket]:
    """Sockets passed by systemd socket activation (``LISTEN_PID``/``LISTEN_FDS``, fds from 3)."""
    env = os.environ if environ is None else environ
    if env.get("LISTEN_PID") != str(os.getpid()):
        raise ListenerError(NO_ACTIVATION)
    try:
        count = int(env.get("LISTEN_FDS", "0"))
    except ValueError:
        count = 0
    if count <= 0:
        raise ListenerError(NO_ACTIVATION)
    fds = list(range(SD_LISTEN_FDS_START, SD_LISTEN_FDS_START + count))
    if selector:
        wanted = int(selector)
        if wanted not in fds:
            raise ListenerError(f"too few socket activated files passed in by systemd: no fd {wanted}")
        fds = [wanted]
    sockets = []
    for fd in fds:
        os.set_inheritable(fd, False)
        sockets.append(socket.socket(fileno=fd))
    return sockets


def server_ssl_context(config: DaemonConfig) -> ssl.SSLContext | None:
    """TLS for tcp listeners: ``--tls`` (server cert) or ``--tlsverify`` (and client certs from the CA)."""
    if not (config.tls or config.tlsverify):
        return None
    if not (config.tlscert and config.tlskey):
        raise ListenerError("--tlscert and --tlskey are required with --tls/--tlsverify")
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(config.tlscert, config.tlskey)
    if config.tlsverify:
        if not config.tlscacert:
            raise ListenerError("--tlscacert is required with --tlsverify")
        context.load_verify_locations(config.tlscacert)
        context.verify_mode = ssl.CERT_REQUIRED
    return context


@dataclass
class Listener:
    """One ``-H``: its address, the bound sockets and whether connections are TLS."""

    address: Address
    sockets: list[socket.socket]
    tls: bool

    def close(self) -> None:
        for sock in self.sockets:
            sock.close()
        if self.address.proto == "unix":
            with contextlib.suppress(OSError):
                Path(self.address.address).unlink()


def open_listeners(config: DaemonConfig) -> list[Listener]:
    """Bind every host of the config; on any failure the ones already bound are closed."""
    tls_enabled = bool(config.tls or config.tlsverify)
    addresses = [parse_host(h, tls=tls_enabled) for h in config.effective_hosts]
    listeners: list[Listener] = []
    try:
        for address in addresses:
            if address.proto == "unix":
                listeners.append(Listener(address, [bind_unix(address.address)], False))
            elif address.proto == "fd":
                listeners.append(Listener(address, systemd_sockets(address.address), False))
            else:
                if not tls_enabled:
                    if not config.insecure_tcp:
                        raise ListenerError(
                            f"refusing to listen on {address} without TLS: use --tlsverify (or --tls), "
                            "or --insecure-tcp if you accept that anyone reaching the port is root")
                    log.warning("Binding to IP address without --tlsverify is insecure and gives root "
                                "access on this machine to everyone who has access to your network.")
                    log.warning(INSECURE_TCP_WARNING)
                listeners.append(Listener(address, [bind_tcp(address.address)], tls_enabled))
    except BaseException:
        for listener in listeners:
            listener.close()
        raise
    return listeners
