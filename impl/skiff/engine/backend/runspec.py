"""A container record -> its OCI spec (via skiff.core.specgen), plus the files Docker bind-mounts in."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

from skiff import errdefs
from skiff.core import specgen
from skiff.core.specopts import resources as resource_opts
from skiff.engine.backend.record import Container

HOSTS = (
    "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\nfe00::0\tip6-localnet\n"
    "ff00::0\tip6-mcastprefix\nff02::1\tip6-allnodes\nff02::2\tip6-allrouters\n"
)


def write_etc_files(record: Container, directory: Path) -> None:
    """hostname, hosts and resolv.conf in the container's directory, as Docker keeps them."""
    hostname = str(record.config.get("Hostname") or record.short_id)
    (directory / "hostname").write_text(hostname + "\n")
    (directory / "hosts").write_text(HOSTS)
    try:
        lines = Path("/etc/resolv.conf").read_text().splitlines()
    except OSError:
        lines = []
    # Like Docker: a loopback resolver is unreachable from the container's network namespace.
    kept = [ln for ln in lines if not (ln.startswith("nameserver") and (" 127." in ln or " ::1" in ln))]
    if not any(ln.startswith("nameserver") for ln in kept):
        kept += ["nameserver 8.8.8.8", "nameserver 8.8.4.4"]
    (directory / "resolv.conf").write_text("\n".join(kept) + "\n")
    record.hostname_path = str(directory / "hostname")
    record.hosts_path = str(directory / "hosts")
    record.resolv_conf_path = str(directory / "resolv.conf")


def rootfs_layers(mounts: list[dict[str, Any]]) -> list[str]:
    """Directories of the rootfs, top first (overlay upperdir then lowerdirs; a bind's source)."""
    out: list[str] = []
    for m in mounts:
        options = list(m.get("options") or [])
        if m.get("type") == "overlay":
            for opt in options:
                if opt.startswith("upperdir="):
                    out.insert(0, opt.split("=", 1)[1])
            for opt in options:
                if opt.startswith("lowerdir="):
                    out += opt.split("=", 1)[1].split(":")
        elif m.get("source"):
            out.append(str(m["source"]))
    return out


def _lookup(layers: list[str], file: str, name: str) -> list[str] | None:
    for layer in layers:
        path = os.path.join(layer, file.lstrip("/"))
        try:
            with open(path) as f:
                for line in f:
                    fields = line.rstrip("\n").split(":")
                    if fields and fields[0] == name:
                        return fields
            return None
        except OSError:
            continue
    return None


def resolve_user(user: str, mounts: list[dict[str, Any]]) -> tuple[int, int, list[int]]:
    """Docker's ``User`` (``name``, ``uid``, ``uid:gid``, ``name:group``) -> uid, gid, additional gids."""
    if not user:
        return 0, 0, [0]
    name, _, group = user.partition(":")
    layers = rootfs_layers(mounts)
    if name.isdigit():
        uid = int(name)
        entry = None
        gid = 0
    else:
        entry = _lookup(layers, "/etc/passwd", name)
        if entry is None or len(entry) < 4:
            raise errdefs.InvalidArgument(f"unable to find user {name}: no matching entries in passwd file")
        uid, gid = int(entry[2]), int(entry[3])
    if group:
        if group.isdigit():
            gid = int(group)
        else:
            gentry = _lookup(layers, "/etc/group", group)
            if gentry is None or len(gentry) < 3:
                raise errdefs.InvalidArgument(
                    f"unable to find group {group}: no matching entries in group file"
                )
            gid = int(gentry[2])
    return uid, gid, [gid]


def docker_env(record: Container) -> list[str]:
    """PATH, HOSTNAME, (TERM), then the config's Env replacing or appending by key."""
    env = [specgen.DEFAULT_PATH_ENV, f"HOSTNAME={record.config.get('Hostname') or record.short_id}"]
    if record.config.get("Tty"):
        env.append("TERM=xterm")
    for item in record.config.get("Env") or []:
        key = item.split("=", 1)[0]
        for i, existing in enumerate(env):
            if existing.split("=", 1)[0] == key:
                env[i] = item
                break
        else:
            env.append(item)
    return env


def _bind_mounts(hc: dict[str, Any]) -> list[dict[str, Any]]:
    out = []
    for bind in hc.get("Binds") or []:
        parts = str(bind).split(":")
        if len(parts) < 2:
            raise errdefs.InvalidArgument(f"invalid volume specification: '{bind}'")
        source, dest = parts[0], parts[1]
        mode = parts[2].split(",") if len(parts) > 2 else []
        if not source.startswith("/"):
            continue  # a named volume: one of the record's mount points
        out.append(specgen.bind_mount(source, dest, readonly="ro" in mode))
    for m in hc.get("Mounts") or []:
        kind = m.get("Type", "")
        if kind == "bind":
            out.append(specgen.bind_mount(str(m["Source"]), str(m["Target"]), bool(m.get("ReadOnly"))))
        elif kind == "tmpfs":
            opts = ["nosuid", "nodev", "noexec"]
            size = (m.get("TmpfsOptions") or {}).get("SizeBytes")
            if size:
                opts.append(f"size={size}")
            out.append({"destination": m["Target"], "type": "tmpfs", "source": "tmpfs", "options": opts})
    for dest, options in (hc.get("Tmpfs") or {}).items():
        opts = ["nosuid", "nodev", "noexec"] + [o for o in str(options).split(",") if o]
        out.append({"destination": dest, "type": "tmpfs", "source": "tmpfs", "options": opts})
    return out


def init_binary(configured: str | None) -> str:
    """The init for ``--init``: the daemon's ``init-path``, else ``docker-init`` on skiffd's PATH (where
    Debian's docker.io puts tini); dockerd's ``exec.LookPath`` error when there is none."""
    if configured:
        return configured
    found = shutil.which(specgen.INIT_BINARY)
    if found is None:
        raise errdefs.Unknown(f'exec: "{specgen.INIT_BINARY}": executable file not found in $PATH')
    return found


def volume_mounts(record: Container) -> list[dict[str, Any]]:
    """The record's volumes as dockerd binds them (``rbind``, plus ``ro``), by destination depth."""
    out = []
    for dest in sorted(record.mount_points, key=lambda d: d.rstrip("/").count("/")):
        point = record.mount_points[dest]
        options = ["rbind"] if point.get("RW", True) else ["rbind", "ro"]
        out.append({"destination": dest, "type": "bind", "source": str(point["Source"]), "options": options})
    return out


def build_spec(record: Container, init_path: str | None = None) -> specgen.Spec:
    """The OCI config for ``record``'s init process; ``init_path`` is the daemon's ``init-path``."""
    cfg, hc = record.config, record.host_config
    uid, gid, groups = resolve_user(str(cfg.get("User") or ""), record.rootfs_mounts)
    opts: list[specgen.SpecOpt] = [
        specgen.with_process_args([record.path, *record.args]),
        specgen.with_terminal(bool(cfg.get("Tty"))),
        specgen.with_env(docker_env(record)),
        specgen.with_cwd(str(cfg.get("WorkingDir") or "/")),
        specgen.with_user(uid, gid, groups),
        specgen.with_hostname(str(cfg.get("Hostname") or record.short_id)),
        specgen.with_cgroups_path(f"/skiff/{record.id}"),
        specgen.with_shm_size(int(hc.get("ShmSize") or specgen.DEFAULT_SHM_SIZE)),
        specgen.with_mounts(
            [
                specgen.bind_mount(record.resolv_conf_path, "/etc/resolv.conf"),
                specgen.bind_mount(record.hostname_path, "/etc/hostname"),
                specgen.bind_mount(record.hosts_path, "/etc/hosts"),
            ]
        ),
        specgen.with_mounts(volume_mounts(record)),
        specgen.with_mounts(_bind_mounts(hc)),
        specgen.with_oom_score_adj(int(hc.get("OomScoreAdj") or 0)),
        specgen.with_memory_limit(
            int(hc.get("Memory") or 0), int(hc.get("MemorySwap") or 0), int(hc.get("MemoryReservation") or 0)
        ),
        specgen.with_cpu_shares(int(hc.get("CpuShares") or 0)),
        specgen.with_cpu_quota(int(hc.get("CpuQuota") or 0), int(hc.get("CpuPeriod") or 0)),
        specgen.with_pids_limit(int(hc.get("PidsLimit") or 0)),
        specgen.with_sysctl(dict(hc.get("Sysctls") or {})),
    ]
    if hc.get("Init"):
        opts.append(specgen.with_init(init_binary(init_path)))
    if hc.get("Privileged"):
        opts.append(specgen.with_privileged())
    else:
        opts.append(specgen.with_capabilities(hc.get("CapAdd") or (), hc.get("CapDrop") or ()))
        if hc.get("MaskedPaths") is not None:
            opts.append(specgen.with_masked_paths(hc["MaskedPaths"]))
        if hc.get("ReadonlyPaths") is not None:
            opts.append(specgen.with_readonly_paths(hc["ReadonlyPaths"]))
    if hc.get("ReadonlyRootfs"):
        opts.append(specgen.with_readonly_rootfs())
    if hc.get("Ulimits"):
        opts.append(specgen.with_rlimits(hc["Ulimits"]))
    for mode_key, ns in (
        ("NetworkMode", "network"),
        ("PidMode", "pid"),
        ("IpcMode", "ipc"),
        ("UTSMode", "uts"),
    ):
        if str(hc.get(mode_key) or "") == "host":
            opts.append(specgen.without_namespace(ns))
    opts.append(resource_opts.with_host_config(cfg, hc, rootfs_layers(record.rootfs_mounts)))
    return specgen.generate(*opts)
