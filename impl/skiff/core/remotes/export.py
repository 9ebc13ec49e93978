"""Export images as a ``docker save`` tarball (manifest.json, repositories, ``<id>.json`` configs and
``<layer>/layer.tar`` uncompressed layers), written as a stream that real ``docker load`` reads."""

from __future__ import annotations

import io
import json
import tarfile
import tempfile
from collections.abc import Callable
from typing import Any, BinaryIO

from skiff import errdefs
from skiff.core.content.store import read_blob
from skiff.core.diff.apply import decompressed
from skiff.core.images import references
from skiff.core.images.service import ImageService

CHUNK = 1 << 20


class _Sink(io.RawIOBase):
    """A write-only file handing what tarfile writes to ``put`` in chunks."""

    def __init__(self, put: Callable[[bytes], None]) -> None:
        self._put = put
        self._buf = bytearray()

    def writable(self) -> bool:
        return True

    def write(self, b: Any) -> int:
        self._buf += b
        if len(self._buf) >= CHUNK:
            self.flush_out()
        return len(b)

    def flush_out(self) -> None:
        if self._buf:
            self._put(bytes(self._buf))
            self._buf = bytearray()


def _add(tf: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mode = 0o644
    tf.addfile(info, io.BytesIO(data))


def _add_dir(tf: tarfile.TarFile, name: str) -> None:
    info = tarfile.TarInfo(name)
    info.type = tarfile.DIRTYPE
    info.mode = 0o755
    tf.addfile(info)


def _layer_stream(images: ImageService, digest: str) -> tuple[BinaryIO, int, Any]:
    """The uncompressed layer and its size: a blob stored uncompressed as is, else spooled through a
    temporary file (tar needs the size before the data)."""
    f = images.store.read(digest)
    head = f.read(2)
    f.seek(0)
    if head != b"\x1f\x8b":
        return f, images.store.info(digest).size, f
    spool = tempfile.TemporaryFile(dir=  # noqa: SIM115 - handed to the caller, which closes it
        str(getattr(images.store, "ingest_dir", "")) or None)
    src = decompressed(f)
    while data := src.read(CHUNK):
        spool.write(data)
    f.close()
    size = spool.tell()
    spool.seek(0)
    return spool, size, spool


def export(images: ImageService, refs: list[str], put: Callable[[bytes], None]) -> None:
    """Write the archive of ``refs`` (names or IDs) to ``put``; unknown references fail before any byte."""
    chosen: list[tuple[str, list[str]]] = []  # (config digest, familiar names)
    for ref in refs:
        rec, by_name = images.resolve(ref)
        names: list[str] = []
        if by_name and not rec.dangling:
            parsed = references.parse(rec.name)
            if not parsed.digest:
                names = [parsed.familiar()]
        for existing in chosen:
            if existing[0] == rec.config_digest:
                existing[1].extend(n for n in names if n not in existing[1])
                break
        else:
            chosen.append((rec.config_digest, names))
    sink = _Sink(put)
    manifest: list[dict[str, Any]] = []
    repositories: dict[str, dict[str, str]] = {}
    done_layers: set[str] = set()
    with tarfile.open(fileobj=sink, mode="w|", format=tarfile.PAX_FORMAT) as tf:
        for config_digest, names in chosen:
            rec = images.meta.images_by_config(config_digest)[0]
            config_raw = read_blob(images.store, config_digest)
            config = json.loads(config_raw)
            diff_ids = list((config.get("rootfs") or {}).get("diff_ids") or [])
            image_manifest = json.loads(read_blob(images.store, rec.target_digest))
            blobs = [str(lay["digest"]) for lay in image_manifest.get("layers") or []]
            if len(blobs) != len(diff_ids):
                raise errdefs.FailedPrecondition(f"image {config_digest}: layers do not match its config")
            hexid = config_digest.split(":", 1)[1]
            _add(tf, f"{hexid}.json", config_raw)
            paths = []
            for diff_id, blob in zip(diff_ids, blobs, strict=True):
                layer_dir = diff_id.split(":", 1)[1]
                paths.append(f"{layer_dir}/layer.tar")
                if layer_dir in done_layers:
                    continue
                done_layers.add(layer_dir)
                _add_dir(tf, layer_dir)
                _add(tf, f"{layer_dir}/VERSION", b"1.0")
                stream, size, closer = _layer_stream(images, blob)
                try:
                    info = tarfile.TarInfo(f"{layer_dir}/layer.tar")
                    info.size = size
                    info.mode = 0o644
                    tf.addfile(info, stream)
                finally:
                    closer.close()
            manifest.append({"Config": f"{hexid}.json", "RepoTags": names or None, "Layers": paths})
            for name in names:
                repo, _, tag = name.rpartition(":")
                repositories.setdefault(repo, {})[tag] = paths[-1].split("/")[0] if paths else hexid
        _add(tf, "manifest.json", json.dumps(manifest, separators=(",", ":")).encode())
        if repositories:
            _add(tf, "repositories", json.dumps(repositories, separators=(",", ":")).encode())
    sink.flush_out()
