"""Helpers for core tests: a busybox rootfs tar, a hand-made OCI image layout, mount cleanup.

(Not in conftest.py: every test directory has a ``conftest`` module, so importing from one is ambiguous.)
"""

from __future__ import annotations

import os
from pathlib import Path

from skiff.core.mount import unmount_all

BUSYBOX = Path("/bin/busybox")


def build_busybox_rootfs_tar(dest: Path, gzipped: bool = False, extra: bytes = b"") -> Path:
    """A minimal rootfs: /bin/busybox (busybox-static) with an applet symlink for each applet."""
    import io
    import subprocess
    import tarfile

    listing = subprocess.run([str(BUSYBOX), "--list"], capture_output=True, text=True, check=True)
    applets = listing.stdout.split()
    with tarfile.open(dest, "w:gz" if gzipped else "w", format=tarfile.PAX_FORMAT) as tf:
        def add_dir(name: str, mode: int = 0o755) -> None:
            ti = tarfile.TarInfo(name)
            ti.type, ti.mode, ti.mtime = tarfile.DIRTYPE, mode, 1_700_000_000
            tf.addfile(ti)

        for d in ("bin", "dev", "etc", "proc", "sys", "root", "var"):
            add_dir(d)
        add_dir("tmp", 0o1777)
        ti = tf.gettarinfo(str(BUSYBOX), "bin/busybox")
        ti.uid = ti.gid = 0
        ti.uname = ti.gname = "root"
        with open(BUSYBOX, "rb") as f:
            tf.addfile(ti, f)
        for applet in applets:
            if applet == "busybox":
                continue
            link = tarfile.TarInfo(f"bin/{applet}")
            link.type, link.linkname, link.mtime = tarfile.SYMTYPE, "busybox", 1_700_000_000
            tf.addfile(link)
        passwd = b"root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n"
        ti = tarfile.TarInfo("etc/passwd")
        ti.size, ti.mode, ti.mtime = len(passwd), 0o644, 1_700_000_000
        tf.addfile(ti, io.BytesIO(passwd))
        if extra:
            ti = tarfile.TarInfo("etc/extra")
            ti.size, ti.mode, ti.mtime = len(extra), 0o644, 1_700_000_000
            tf.addfile(ti, io.BytesIO(extra))
    return dest


def build_oci_layout_tar(
    rootfs_tar: Path, dest: Path, names: list[str], nested: bool = False
) -> dict[str, str]:
    """An OCI image layout (gzip layer, one manifest, an index entry per name) as a tarball, by hand."""
    import gzip
    import hashlib
    import io
    import json
    import tarfile

    raw = rootfs_tar.read_bytes()
    layer = gzip.compress(raw, mtime=0)
    diff_id = "sha256:" + hashlib.sha256(raw).hexdigest()
    config = json.dumps({
        "architecture": "amd64", "os": "linux", "created": "2024-01-01T00:00:00Z",
        "config": {"Cmd": ["sh"]}, "rootfs": {"type": "layers", "diff_ids": [diff_id]},
        "history": [{"created": "2024-01-01T00:00:00Z", "created_by": "hand-made"}],
    }).encode()

    def digest(b: bytes) -> str:
        return "sha256:" + hashlib.sha256(b).hexdigest()

    manifest = json.dumps({
        "schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": digest(config),
                   "size": len(config)},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": digest(layer),
                    "size": len(layer)}],
    }).encode()
    top, blobs = manifest, [layer, config, manifest]
    if nested:  # index.json -> a multi-platform index -> the linux/amd64 manifest
        platforms = [
            {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": "sha256:" + "f" * 64,
             "size": 1, "platform": {"os": "linux", "architecture": "arm64"}},
            {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": digest(manifest),
             "size": len(manifest), "platform": {"os": "linux", "architecture": "amd64"}},
        ]
        top = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
                          "manifests": platforms}).encode()
        blobs.append(top)
    top_type = "application/vnd.oci.image." + ("index" if nested else "manifest") + ".v1+json"
    index = json.dumps({
        "schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": [{"mediaType": top_type, "digest": digest(top), "size": len(top),
                       "annotations": {"org.opencontainers.image.ref.name": n}} for n in names],
    }).encode()
    with tarfile.open(dest, "w") as tf:
        def add(name: str, data: bytes) -> None:
            ti = tarfile.TarInfo(name)
            ti.size, ti.mode = len(data), 0o644
            tf.addfile(ti, io.BytesIO(data))

        add("oci-layout", b'{"imageLayoutVersion":"1.0.0"}')
        for blob in blobs:
            add("blobs/sha256/" + digest(blob).split(":")[1], blob)
        add("index.json", index)
    return {"config": digest(config), "manifest": digest(manifest), "diff_id": diff_id}


def unmount_under(root: Path) -> None:
    """Unmount every mount point below ``root`` (deepest first) so a failed test leaves nothing mounted."""
    prefix = os.path.realpath(root) + "/"
    with open("/proc/self/mountinfo") as f:
        points = [line.split()[4] for line in f]
    for point in sorted((p for p in points if p.startswith(prefix)), key=len, reverse=True):
        unmount_all(point)
