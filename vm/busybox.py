#!/usr/bin/env python3
"""Build the test image from Debian's busybox-static and import it into a target as ``busybox:latest``.

`python -m vm.busybox [--host URL] [--force] [--tar-only PATH]`. The rootfs is /bin/busybox with every applet
as a relative symlink beside it, /etc/passwd and /etc/group with root and nobody, /tmp and /root. The tar is
deterministic (fixed mtimes, sorted entries), so both targets get byte-identical layers.
"""

from __future__ import annotations

import argparse
import io
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

BUSYBOX = Path("/bin/busybox")
IMAGE = "busybox:latest"
CHANGES = ('CMD ["sh"]', "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin")
MTIME = 1_700_000_000  # fixed: same tar bytes on every machine and run

PASSWD = "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n"
GROUP = "root:x:0:\nnogroup:x:65534:\nnobody:x:65534:\n"


def applets(busybox: Path = BUSYBOX) -> list[str]:
    """Applet names this busybox provides, without `busybox` itself."""
    out = subprocess.run([str(busybox), "--list"], check=True, capture_output=True, text=True).stdout
    return sorted({a for a in out.split() if a and "/" not in a and a != "busybox"})


def _dir(name: str, mode: int = 0o755) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type, info.mode, info.mtime = tarfile.DIRTYPE, mode, MTIME
    return info


def _file(tar: tarfile.TarFile, name: str, data: bytes, mode: int = 0o644) -> None:
    info = tarfile.TarInfo(name)
    info.size, info.mode, info.mtime = len(data), mode, MTIME
    tar.addfile(info, io.BytesIO(data))


def build_rootfs_tar(dest: Path, busybox: Path = BUSYBOX) -> Path:
    """Write the rootfs tar to `dest` and return it."""
    if not busybox.exists():
        raise SystemExit(f"{busybox} missing: apt-get install busybox-static")
    with tarfile.open(dest, "w", format=tarfile.PAX_FORMAT) as tar:
        for d, mode in (("bin", 0o755), ("etc", 0o755), ("root", 0o700), ("tmp", 0o1777)):
            tar.addfile(_dir(d, mode))
        _file(tar, "bin/busybox", busybox.read_bytes(), 0o755)
        for name in applets(busybox):
            link = tarfile.TarInfo(f"bin/{name}")
            link.type, link.linkname, link.mode, link.mtime = tarfile.SYMTYPE, "busybox", 0o777, MTIME
            tar.addfile(link)
        _file(tar, "etc/group", GROUP.encode())
        _file(tar, "etc/passwd", PASSWD.encode())
    return dest


def docker_cli() -> str:
    cli = shutil.which("docker")
    if cli is None:
        raise SystemExit("docker CLI not found: apt-get install docker.io")
    return cli


def has_image(host: str, ref: str = IMAGE) -> bool:
    res = subprocess.run(
        [docker_cli(), "-H", host, "image", "inspect", "--format", "{{.Id}}", ref],
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
    )
    return res.returncode == 0


def import_into(host: str, ref: str = IMAGE, force: bool = False) -> bool:
    """Import the rootfs into the daemon at `host` as `ref`; return False if it was already there."""
    if not force and has_image(host, ref):
        return False
    with tempfile.TemporaryDirectory(prefix="skiff-busybox-") as tmp:
        tar = build_rootfs_tar(Path(tmp) / "rootfs.tar")
        cmd = [docker_cli(), "-H", host, "import"]
        for change in CHANGES:
            cmd += ["-c", change]
        cmd += [str(tar), ref]
        subprocess.run(cmd, check=True, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
    return True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default=os.environ.get("DOCKER_HOST", "unix:///var/run/docker-ref.sock"))
    parser.add_argument("--force", action="store_true", help="import even if busybox:latest exists")
    parser.add_argument("--tar-only", type=Path, help="only write the rootfs tar to this path")
    args = parser.parse_args(argv)
    if args.tar_only:
        print(build_rootfs_tar(args.tar_only))
        return 0
    done = import_into(args.host, force=args.force)
    print(f"{IMAGE} {'imported into' if done else 'already present on'} {args.host}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
