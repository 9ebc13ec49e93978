"""``skiffd``: parse flags and daemon.json, bind the listeners, serve the Engine API, supervise the core.

One uvicorn ``Server`` per ``-H`` in one event loop, all with the hijack-capable h11 protocol.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib
import json
import logging
import signal
import sys
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from skiff.engine import logs
from skiff.engine.config import DaemonConfig
from skiff.engine.context import Services, set_services
from skiff.engine.listeners import Listener, ListenerError, open_listeners, server_ssl_context

log = logging.getLogger("skiff.engine.main")

# connexion imports starlette's test client at import time; its deprecation notice is noise in a daemon
warnings.filterwarnings("ignore", message=r"Using `httpx` with `starlette.testclient`")

DEFAULT_CONFIG_FILE = "/etc/skiff/daemon.json"
CONTAINERD_READY_TIMEOUT = 20.0

# daemon.json key -> (DaemonConfig field, argparse dest)
FILE_KEYS: dict[str, str] = {
    "hosts": "hosts", "data-root": "data_root", "exec-root": "exec_root", "containerd": "containerd",
    "tls": "tls", "tlsverify": "tlsverify", "tlscacert": "tlscacert", "tlscert": "tlscert",
    "tlskey": "tlskey", "debug": "debug", "log-level": "log_level", "insecure-tcp": "insecure_tcp",
    "init-path": "init_path", "insecure-registries": "insecure_registries",
    "runtimes": "runtimes", "default-runtime": "default_runtime",
}


_PREFIX = "unable to configure the Docker daemon with file"


class ConfigError(Exception):
    """Flags and daemon.json do not make a valid configuration."""


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="skiffd", description="Skiff engine daemon (Docker Engine API v1.39)")
    # every default is None so that "given on the command line" can be told apart from "default"
    p.add_argument("-H", "--host", dest="hosts", action="append", help="daemon socket(s) to connect to")
    p.add_argument("--data-root", dest="data_root", help="root directory of persistent state")
    p.add_argument("--exec-root", dest="exec_root", help="root directory for execution state files")
    p.add_argument("--config-file", dest="config_file", help="daemon configuration file")
    p.add_argument("--containerd", help="skiff-containerd socket to use instead of starting one")
    p.add_argument("--insecure-tcp", dest="insecure_tcp", action="store_const", const=True,
                   help="allow tcp:// hosts without TLS")
    p.add_argument("--tls", action="store_const", const=True, help="use TLS; implied by --tlsverify")
    p.add_argument("--tlsverify", action="store_const", const=True, help="use TLS and verify the remote")
    p.add_argument("--tlscacert", help="trust certs signed only by this CA")
    p.add_argument("--tlscert", help="path to TLS certificate file")
    p.add_argument("--tlskey", help="path to TLS key file")
    p.add_argument("-l", "--log-level", dest="log_level",
                   choices=["debug", "info", "warn", "error", "fatal"], help="set the logging level")
    p.add_argument("-D", "--debug", action="store_const", const=True, help="enable debug mode")
    p.add_argument("--init-path", dest="init_path", help="path to the docker-init binary")
    p.add_argument("--insecure-registry", dest="insecure_registries", action="append",
                   help="registry (host[:port] or CIDR) to reach over plain HTTP or unverified TLS")
    p.add_argument("--add-runtime", dest="runtimes", action="append",
                   help="register an OCI runtime as NAME=PATH (runc: Skiff's skiff-runc)")
    p.add_argument("--default-runtime", dest="default_runtime", help="the runtime containers use by default")
    p.add_argument("--validate", action="store_true", help="validate the configuration and exit")
    return p


def _format(value: Any) -> str:
    if isinstance(value, list):
        return "[" + " ".join(str(v) for v in value) + "]"
    return str(value)


def load_config(argv: list[str] | None = None) -> tuple[DaemonConfig, bool]:
    """Flags merged with daemon.json (a key in both is an error, as dockerd says); also --validate."""
    args = build_parser().parse_args(argv)
    flags = {dest: getattr(args, dest) for dest in FILE_KEYS.values() if getattr(args, dest) is not None}
    config_file = args.config_file or DEFAULT_CONFIG_FILE
    from_file: dict[str, Any] = {}
    path = Path(config_file)
    if path.exists() or args.config_file is not None:
        try:
            raw = json.loads(path.read_text() or "{}")
        except (OSError, ValueError) as exc:
            raise ConfigError(f"{_PREFIX} {config_file}: {exc}") from exc
        if not isinstance(raw, dict):
            raise ConfigError(f"{_PREFIX} {config_file}: not a JSON object")
        unknown = sorted(k for k in raw if k not in FILE_KEYS)
        if unknown:
            raise ConfigError(f"{_PREFIX} {config_file}: the following "
                              f"directives don't match any configuration option: {', '.join(unknown)}")
        from_file = {FILE_KEYS[k]: v for k, v in raw.items()}
        conflicts = [f"{key}: (from flag: {_format(flags[dest])}, from file: {_format(from_file[dest])})"
                     for key, dest in FILE_KEYS.items() if dest in flags and dest in from_file]
        if conflicts:
            raise ConfigError(f"{_PREFIX} {config_file}: the following "
                              "directives are specified both as a flag and in the configuration file: "
                              + ", ".join(conflicts))
    merged = {**from_file, **flags}
    config = DaemonConfig(config_file=path)
    for dest, value in merged.items():
        if dest == "hosts":
            if not isinstance(value, list) or not all(isinstance(h, str) for h in value):
                raise ConfigError("hosts must be a list of strings")
            config.hosts = list(value)
        elif dest == "insecure_registries":
            if not isinstance(value, list) or not all(isinstance(h, str) for h in value):
                raise ConfigError("insecure-registries must be a list of strings")
            config.insecure_registries = list(value)
        elif dest == "runtimes":
            config.runtimes = _runtimes(value)
        elif dest in ("data_root", "exec_root"):
            setattr(config, dest, Path(value))
        elif dest in ("tls", "tlsverify", "debug", "insecure_tcp"):
            setattr(config, dest, bool(value))
        else:
            setattr(config, dest, None if value is None else str(value))
    if config.tlsverify:
        config.tls = True
    if config.default_runtime not in config.runtime_paths:
        raise ConfigError(f"default runtime {config.default_runtime} does not exist")
    if config.log_level not in logs.LEVELS:
        raise ConfigError(f"unable to parse logging level: {config.log_level}")
    return config, bool(args.validate)


def _runtimes(value: Any) -> dict[str, str]:
    """``--add-runtime name=path`` flags or daemon.json ``{"name": {"path": ...}}``, as dockerd."""
    out: dict[str, str] = {}
    if isinstance(value, list):
        for item in value:
            name, sep, path = str(item).partition("=")
            if not sep or not name or not path:
                raise ConfigError(f"invalid runtime {item!r}: expected NAME=PATH")
            out[name] = path
    elif isinstance(value, dict):
        for name, spec in value.items():
            if not isinstance(spec, dict) or not isinstance(spec.get("path"), str):
                raise ConfigError(f"runtime {name}: a path is required")
            out[str(name)] = spec["path"]
    else:
        raise ConfigError("runtimes must be an object")
    return out


@dataclass
class Daemon:
    config: DaemonConfig
    listeners: list[Listener]
    servers: list[Any]
    supervisor: Any = None
    core: Any = None


def build_services(config: DaemonConfig, core: Any) -> Services:
    """The engine backends from ``skiff.engine.backend.build_services`` when it exists, else core only."""
    try:
        backend = importlib.import_module("skiff.engine.backend")
    except ModuleNotFoundError:
        backend = None
    factory = getattr(backend, "build_services", None)
    if factory is None:
        log.info("skiff.engine.backend.build_services is not available; serving system operations only")
        return Services(core=core, config=config)
    services: Services = factory(core, config)
    services.core = services.core or core
    services.config = config
    return services


def make_core_client(config: DaemonConfig) -> Any:
    try:
        from skiff.core.client import CoreClient
    except ImportError as exc:
        log.warning("skiff.core.client is not available: %s", exc)
        return None
    return CoreClient(config.containerd_address)


async def serve(config: DaemonConfig, started: float) -> int:
    import uvicorn

    from skiff.engine.app import create_app
    from skiff.engine.hijack import HijackH11Protocol
    from skiff.engine.supervisor import ContainerdSupervisor
    from skiff.engine.tlsproto import tls_protocol_factory

    config.exec_root.mkdir(parents=True, exist_ok=True)
    listeners = open_listeners(config)
    ssl_context = server_ssl_context(config)
    supervisor = None
    if config.containerd is None:
        supervisor = ContainerdSupervisor(config)
        await supervisor.start()  # the core starts while the app is built
    app = create_app(spec_cache_dir=config.exec_root / "engine")
    if supervisor is not None and not await supervisor.wait_ready(CONTAINERD_READY_TIMEOUT):
        log.error("skiff-containerd is not ready after %.0fs; serving anyway", CONTAINERD_READY_TIMEOUT)
    # the gRPC channel is made once the core listens: a channel that failed to connect backs off
    # (1 s, growing) before it tries again
    core = make_core_client(config)
    set_services(build_services(config, core))

    servers = []
    for listener in listeners:
        # TLS is terminated inside the protocol (tlsproto) so that a client's close_notify is a
        # half-close of a hijacked stream rather than the end of the connection
        http: Any = tls_protocol_factory(ssl_context, HijackH11Protocol) \
            if listener.tls and ssl_context is not None else HijackH11Protocol
        uv_config = uvicorn.Config(app, http=http, ws="none", lifespan="off", log_config=None,
                                   access_log=config.debug, server_header=False, date_header=True,
                                   timeout_graceful_shutdown=5, proxy_headers=False)
        uv_config.load()
        server = uvicorn.Server(uv_config)
        server.lifespan = uv_config.lifespan_class(uv_config)
        await server.startup(sockets=listener.sockets)
        servers.append(server)
        log.info("API listen on %s", listener.address.address if listener.address.proto != "fd"
                 else str(listener.address))
    log.info("Daemon has completed initialization (%.0f ms)", (time.monotonic() - started) * 1000)

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    # systemd's ExecReload sends SIGHUP, whose default action would kill the daemon
    loop.add_signal_handler(signal.SIGHUP, lambda: log.warning(
        "reloading the configuration is not supported yet; ignoring SIGHUP"))
    ticks = [asyncio.create_task(server.main_loop()) for server in servers]
    await stop.wait()
    log.info("Processing signal 'terminated'")
    for server in servers:
        server.should_exit = True
    await asyncio.gather(*ticks, return_exceptions=True)
    for server, listener in zip(servers, listeners, strict=True):
        await server.shutdown(sockets=listener.sockets)
        listener.close()
    if core is not None:
        with contextlib.suppress(Exception):
            await core.close()
    if supervisor is not None:
        await supervisor.stop()
    log.info("Daemon shutdown complete")
    return 0


def main(argv: list[str] | None = None) -> int:
    started = time.monotonic()
    from skiff.engine import leanimports

    leanimports.install()  # before connexion is imported: ~10-25 MB less resident at idle
    try:
        config, validate = load_config(argv)
    except ConfigError as exc:
        print(f"skiffd: {exc}", file=sys.stderr)
        return 1
    logs.setup(config.log_level, config.debug)
    if validate:
        print("configuration OK", file=sys.stderr)
        return 0
    try:
        return asyncio.run(serve(config, started))
    except ListenerError as exc:
        log.error("failed to start daemon: %s", exc)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
