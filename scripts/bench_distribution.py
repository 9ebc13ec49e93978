"""Pull / push / save / load of a ~200 MB, 5-layer image of random data: Skiff against the reference Docker.

``.venv/bin/python scripts/bench_distribution.py [--host unix:///var/run/skiff.sock] [--iterations 3]
[--mb 200]`` builds the image as a docker-save tarball, loads it into both daemons, then, interleaved (the
first target alternates), times with the docker CLI: ``docker save`` (to a pipe), ``docker load`` (from
the file), ``docker push`` (to a fresh registry each time) and ``docker pull`` (of the image the reference
pushed, after removing it locally). Prints a Markdown table of medians and the Skiff/Docker ratio.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import os
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from vm.registry import Registry  # noqa: E402

REFERENCE = "unix:///var/run/docker-ref.sock"
NAME = "skiff-bench/random:1"


def build_archive(path: Path, total_mb: int, layers: int = 5) -> None:
    """A docker-save tarball whose layers each hold one file of random bytes."""
    per_layer = total_mb * 1_000_000 // layers
    diff_ids, entries = [], []
    with tarfile.open(path, "w") as out:
        for i in range(layers):
            buf = tempfile.TemporaryFile()  # noqa: SIM115 - closed at the end of the loop
            with tarfile.open(fileobj=buf, mode="w") as lt:
                info = tarfile.TarInfo(f"data{i}.bin")
                info.size = per_layer
                info.mode = 0o644
                data = io.BytesIO(os.urandom(per_layer))
                lt.addfile(info, data)
            size = buf.tell()
            buf.seek(0)
            h = hashlib.sha256()
            while chunk := buf.read(1 << 20):
                h.update(chunk)
            buf.seek(0)
            hexid = h.hexdigest()
            diff_ids.append("sha256:" + hexid)
            ti = tarfile.TarInfo(f"{hexid}/layer.tar")
            ti.size = size
            out.addfile(ti, buf)
            entries.append(f"{hexid}/layer.tar")
            buf.close()
        config = json.dumps({
            "architecture": "amd64", "os": "linux", "created": "2026-01-01T00:00:00Z",
            "config": {"Cmd": ["/bin/sh"]}, "rootfs": {"type": "layers", "diff_ids": diff_ids},
            "history": [{"created": "2026-01-01T00:00:00Z", "created_by": f"layer {i}"}
                        for i in range(layers)],
        }).encode()
        cid = hashlib.sha256(config).hexdigest()
        ti = tarfile.TarInfo(f"{cid}.json")
        ti.size = len(config)
        out.addfile(ti, io.BytesIO(config))
        manifest = json.dumps([{"Config": f"{cid}.json", "RepoTags": [NAME], "Layers": entries}]).encode()
        ti = tarfile.TarInfo("manifest.json")
        ti.size = len(manifest)
        out.addfile(ti, io.BytesIO(manifest))


def docker(host: str, *args: str, stdin: Path | None = None, quiet: bool = True) -> float:
    start = time.monotonic()
    with open(stdin, "rb") if stdin else open(os.devnull, "rb") as inp:
        proc = subprocess.run(["docker", "-H", host, *args], stdin=inp, stdout=subprocess.DEVNULL if quiet
                              else None, stderr=subprocess.PIPE, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"docker -H {host} {' '.join(args)}: {proc.stderr.decode()}")
    return time.monotonic() - start


def rmi(host: str, ref: str) -> None:
    subprocess.run(["docker", "-H", host, "rmi", ref], capture_output=True, check=False)


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--host", default=os.environ.get("SKIFF_HOST", "unix:///var/run/skiff.sock"))
    p.add_argument("--iterations", type=int, default=3)
    p.add_argument("--mb", type=int, default=200)
    args = p.parse_args()
    targets = {"skiff": args.host, "docker": REFERENCE}
    samples: dict[str, dict[str, list[float]]] = {t: {} for t in targets}
    with tempfile.TemporaryDirectory(prefix="skiff-bench-") as tmp:
        archive = Path(tmp) / "image.tar"
        build_archive(archive, args.mb)
        for host in targets.values():
            docker(host, "load", "-i", str(archive))
        with Registry() as source:  # what both pull: the reference's push (gzip layers, as Docker makes)
            pulled = f"{source.address}/bench/pulled:1"
            docker(REFERENCE, "tag", NAME, pulled)
            docker(REFERENCE, "push", pulled)
            rmi(REFERENCE, pulled)
            for i in range(args.iterations):
                order = list(targets.items()) if i % 2 == 0 else list(reversed(targets.items()))
                for name, host in order:
                    s = samples[name]
                    s.setdefault("save", []).append(docker(host, "save", NAME))
                    rmi(host, NAME)
                    s.setdefault("load", []).append(docker(host, "load", "-i", str(archive)))
                    with Registry() as reg:
                        ref = f"{reg.address}/bench/pushed:1"
                        docker(host, "tag", NAME, ref)
                        s.setdefault("push", []).append(docker(host, "push", ref))
                        rmi(host, ref)
                    rmi(host, NAME)  # nothing of the image is left: the pull fetches every layer
                    s.setdefault("pull", []).append(docker(host, "pull", pulled))
                    rmi(host, pulled)
                    docker(host, "load", "-i", str(archive))
        for host in targets.values():
            rmi(host, NAME)
    print(f"| {args.mb} MB, 5 layers (median of {args.iterations}) | Skiff s | Docker s | Skiff/Docker |")
    print("|---|---|---|---|")
    for key in ("pull", "push", "save", "load"):
        sk, dk = statistics.median(samples["skiff"][key]), statistics.median(samples["docker"][key])
        print(f"| {key} | {sk:.2f} | {dk:.2f} | {sk / dk:.2f} |")


if __name__ == "__main__":
    main()
