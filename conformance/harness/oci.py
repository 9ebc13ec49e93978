"""Make image archives from a rootfs tar: an OCI image layout (index.json, oci-layout, blobs/sha256/...),
optionally with Docker's manifest.json beside it as `docker save` of Docker 25+ writes it."""

from __future__ import annotations

import hashlib
import io
import json
import platform
import tarfile
from pathlib import Path

ENV_PATH = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


def _arch() -> str:
    return {"x86_64": "amd64", "aarch64": "arm64"}.get(platform.machine(), platform.machine())


def _add(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size, info.mode, info.mtime = len(data), 0o644, 1_700_000_000
    tar.addfile(info, io.BytesIO(data))


def oci_archive(rootfs_tar: Path, ref: str, cmd: list[str], docker_manifest: bool = False) -> bytes:
    """An OCI layout tar holding one image named `ref` (repo:tag) with the rootfs as its only layer."""
    layer = rootfs_tar.read_bytes()
    layer_digest = hashlib.sha256(layer).hexdigest()
    config = json.dumps(
        {
            "architecture": _arch(),
            "os": "linux",
            "config": {"Cmd": cmd, "Env": [ENV_PATH]},
            "rootfs": {"type": "layers", "diff_ids": [f"sha256:{layer_digest}"]},
            "history": [{"created_by": "skiff conformance oci_archive"}],
        }
    ).encode()
    config_digest = hashlib.sha256(config).hexdigest()
    manifest = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {
                "mediaType": "application/vnd.oci.image.config.v1+json",
                "digest": f"sha256:{config_digest}",
                "size": len(config),
            },
            "layers": [
                {
                    "mediaType": "application/vnd.oci.image.layer.v1.tar",
                    "digest": f"sha256:{layer_digest}",
                    "size": len(layer),
                }
            ],
        }
    ).encode()
    manifest_digest = hashlib.sha256(manifest).hexdigest()
    index = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.index.v1+json",
            "manifests": [
                {
                    "mediaType": "application/vnd.oci.image.manifest.v1+json",
                    "digest": f"sha256:{manifest_digest}",
                    "size": len(manifest),
                    "annotations": {
                        "io.containerd.image.name": f"docker.io/library/{ref}"
                        if "/" not in ref.split(":")[0]
                        else ref,
                        "org.opencontainers.image.ref.name": ref.rsplit(":", 1)[-1],
                    },
                }
            ],
        }
    ).encode()
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        _add(tar, "oci-layout", b'{"imageLayoutVersion":"1.0.0"}')
        _add(tar, "index.json", index)
        for digest, data in ((layer_digest, layer), (config_digest, config), (manifest_digest, manifest)):
            _add(tar, f"blobs/sha256/{digest}", data)
        if docker_manifest:
            _add(
                tar,
                "manifest.json",
                json.dumps(
                    [
                        {
                            "Config": f"blobs/sha256/{config_digest}",
                            "RepoTags": [ref],
                            "Layers": [f"blobs/sha256/{layer_digest}"],
                        }
                    ]
                ).encode(),
            )
    return buf.getvalue()
