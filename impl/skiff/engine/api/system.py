"""System operations: ping, version, info (``/events``, ``/system/df`` and ``/auth`` come later).

Field sets follow what dockerd 20.10 answers, with skiff's own truths in the values.
"""

from __future__ import annotations

import asyncio
import logging
import os
import platform
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol, runtime_checkable

from connexion import request
from starlette.responses import Response

from skiff.engine import hostinfo
from skiff.engine.buildinfo import ENGINE_VERSION, GIT_COMMIT, RUNTIME_VERSION, SKIFF_VERSION
from skiff.engine.context import services
from skiff.engine.responses import json_response
from skiff.engine.spec import API_VERSION, MIN_API_VERSION

log = logging.getLogger("skiff.engine.api.system")

CORE_TIMEOUT = 1.0


@runtime_checkable
class ContainerCounts(Protocol):
    """What ``/info`` asks of the containers backend (optional)."""

    async def counts(self) -> dict[str, int]:
        """``{"Containers", "ContainersRunning", "ContainersPaused", "ContainersStopped"}``."""
        ...


@runtime_checkable
class ImageCount(Protocol):
    """What ``/info`` asks of the images backend (optional)."""

    async def count(self) -> int: ...


def _build_time() -> str:
    moment = datetime.fromtimestamp(Path(__file__).stat().st_mtime, tz=UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.000000000+00:00")


BUILD_TIME = _build_time()


async def ping() -> Response:
    """``GET``/``HEAD /_ping``: ``OK`` with dockerd's headers (HEAD: empty body, Content-Length 0)."""
    body = b"" if request.method == "HEAD" else b"OK"
    return Response(body, media_type="text/plain", headers={
        "Cache-Control": "no-cache, no-store, must-revalidate",
        "Pragma": "no-cache",
    })


async def _core_version() -> tuple[str, str]:
    core = services().core
    if core is None:
        return SKIFF_VERSION, ""
    try:
        answer = await asyncio.wait_for(core.version(), CORE_TIMEOUT)
        return str(answer.version), str(answer.revision)
    except Exception as exc:
        log.warning("skiff-containerd version unavailable: %s", exc)
        return SKIFF_VERSION, ""


async def version() -> Response:
    containerd_version, containerd_commit = await _core_version()
    kernel = hostinfo.kernel_version()
    arch = hostinfo.go_arch()
    return json_response({
        "Platform": {"Name": "Skiff Engine"},
        "Components": [
            {"Name": "Engine", "Version": ENGINE_VERSION, "Details": {
                "ApiVersion": API_VERSION, "Arch": arch, "BuildTime": BUILD_TIME, "Experimental": "false",
                "GitCommit": GIT_COMMIT, "GoVersion": RUNTIME_VERSION, "KernelVersion": kernel,
                "MinAPIVersion": MIN_API_VERSION, "Os": "linux"}},
            {"Name": "containerd", "Version": f"skiff-containerd {containerd_version}",
             "Details": {"GitCommit": containerd_commit or GIT_COMMIT}},
            {"Name": "runc", "Version": f"skiff-runc {SKIFF_VERSION}", "Details": {"GitCommit": GIT_COMMIT}},
        ],
        "Version": ENGINE_VERSION,
        "ApiVersion": API_VERSION,
        "MinAPIVersion": MIN_API_VERSION,
        "GitCommit": GIT_COMMIT,
        "GoVersion": RUNTIME_VERSION,
        "Os": "linux",
        "Arch": arch,
        "KernelVersion": kernel,
        "BuildTime": BUILD_TIME,
    })


async def _counts() -> tuple[dict[str, int], int]:
    svc = services()
    counts = {"Containers": 0, "ContainersRunning": 0, "ContainersPaused": 0, "ContainersStopped": 0}
    images = 0
    if isinstance(svc.containers, ContainerCounts):
        try:
            counts.update(await svc.containers.counts())
        except Exception as exc:
            log.warning("container counts unavailable: %s", exc)
    if isinstance(svc.images, ImageCount):
        try:
            images = await svc.images.count()
        except Exception as exc:
            log.warning("image count unavailable: %s", exc)
    return counts, images


def _warnings() -> list[str] | None:
    config = services().config
    warnings = []
    for host in config.effective_hosts:
        if host.startswith("tcp://") and not (config.tlsverify or config.tlscert):
            address = host[len("tcp://"):]
            warnings.append(f"WARNING: API is accessible on http://{address} without encryption.\n"
                            "         Access to the remote API is equivalent to root access on the host. "
                            "Refer\n         to the 'Docker daemon attack surface' section in the "
                            "documentation for\n         more information: "
                            "https://docs.docker.com/go/attack-surface/")
    if not hostinfo.sysctl_on("net.bridge.bridge-nf-call-iptables"):
        warnings.append("WARNING: bridge-nf-call-iptables is disabled")
    return warnings or None


async def info() -> Response:
    config = services().config
    counts, images = await _counts()
    release = hostinfo.os_release()
    data_root = Path(config.data_root)
    containerd_version, containerd_commit = await _core_version()
    commit = {"ID": containerd_commit or GIT_COMMIT, "Expected": containerd_commit or GIT_COMMIT}
    return json_response({
        "ID": hostinfo.engine_id(data_root),
        **counts,
        "Images": images,
        "Driver": "overlay2",
        "DriverStatus": [["Backing Filesystem", hostinfo.backing_filesystem(data_root)],
                         ["Supports d_type", "true"], ["Native Overlay Diff", "true"],
                         ["userxattr", "false"]],
        "Plugins": {"Volume": ["local"], "Network": ["bridge", "host", "null"], "Authorization": None,
                    "Log": ["json-file"]},
        **hostinfo.cgroup_features(),
        "IPv4Forwarding": hostinfo.sysctl_on("net.ipv4.ip_forward"),
        "BridgeNfIptables": hostinfo.sysctl_on("net.bridge.bridge-nf-call-iptables"),
        "BridgeNfIp6tables": hostinfo.sysctl_on("net.bridge.bridge-nf-call-ip6tables"),
        "Debug": config.debug,
        "NFd": hostinfo.open_fds(),
        "OomKillDisable": hostinfo.cgroup_features()["OomKillDisable"],
        "NGoroutines": len(asyncio.all_tasks()),
        "SystemTime": hostinfo.rfc3339_nano(),
        "LoggingDriver": "json-file",
        "CgroupDriver": "cgroupfs",
        "CgroupVersion": hostinfo.cgroup_version(),
        "NEventsListener": 0,
        "KernelVersion": hostinfo.kernel_version(),
        "OperatingSystem": release.get("PRETTY_NAME", "Linux"),
        "OSVersion": release.get("VERSION_ID", ""),
        "OSType": "linux",
        "Architecture": platform.machine(),
        "IndexServerAddress": "https://index.docker.io/v1/",
        "RegistryConfig": {
            "AllowNondistributableArtifactsCIDRs": [], "AllowNondistributableArtifactsHostnames": [],
            "InsecureRegistryCIDRs": ["127.0.0.0/8"],
            "IndexConfigs": {"docker.io": {"Name": "docker.io", "Mirrors": [], "Secure": True,
                                           "Official": True}},
            "Mirrors": [],
        },
        "NCPU": _ncpu(),
        "MemTotal": hostinfo.mem_total(),
        "GenericResources": None,
        "DockerRootDir": str(data_root),
        "HttpProxy": "", "HttpsProxy": "", "NoProxy": "",
        "Name": hostinfo.hostname(),
        "Labels": [],
        "ExperimentalBuild": False,
        "ServerVersion": ENGINE_VERSION,
        "Runtimes": {name: {"path": path} for name, path in config.runtime_paths.items()},
        "DefaultRuntime": config.default_runtime,
        "Swarm": {"NodeID": "", "NodeAddr": "", "LocalNodeState": "inactive", "ControlAvailable": False,
                  "Error": "", "RemoteManagers": None},
        "LiveRestoreEnabled": False,
        "Isolation": "",
        "InitBinary": "",
        "ContainerdCommit": commit,
        "RuncCommit": {"ID": GIT_COMMIT, "Expected": GIT_COMMIT},
        "InitCommit": {"ID": "", "Expected": ""},
        "SecurityOptions": [],
        "ProductLicense": f"skiff {SKIFF_VERSION} (containerd {containerd_version})",
        "Warnings": _warnings(),
    })


def _ncpu() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


async def auth(auth_config: object = None, **_: object) -> Response:
    """``POST /auth`` (docker login): the core checks the credentials against the registry's ``/v2/``."""
    from skiff.core.transfer_client import Auth

    body = auth_config if isinstance(auth_config, dict) else {}
    images = services().images
    if images is None:
        return json_response({"message": "the images backend is not available"}, 503)
    creds = Auth(str(body.get("username") or ""), str(body.get("password") or ""),
                 str(body.get("identitytoken") or ""), str(body.get("registrytoken") or ""))
    status, identity_token = await images.distribution().login(str(body.get("serveraddress") or ""), creds)
    return json_response({"IdentityToken": identity_token, "Status": status})


async def events(since: str | None = None, until: str | None = None, filters: str | None = None,
                 **_: object) -> Response:
    """``GET /events``: JSON messages, one per line, flushed as they happen (headers at once)."""
    from starlette.responses import StreamingResponse

    from skiff.engine.backend import eventstream
    from skiff.engine.responses import go_json

    bus = services().containers.events
    source = await eventstream.stream(bus, since, until, filters)

    async def body() -> AsyncIterator[bytes]:
        yield b""
        async for event in source:
            yield go_json(event)

    return StreamingResponse(body(), media_type="application/json")


async def data_usage(**_: object) -> Response:
    """``GET /system/df`` (skiff.engine.backend.df)."""
    from skiff.engine.backend import df

    svc = services()
    return json_response(await df.data_usage(svc.containers, svc.images))
