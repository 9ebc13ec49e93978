"""Read image archives as a stream: ``docker save`` tarballs and OCI image layouts.

Every regular member is spooled into the content store as it passes (never held in memory); only the small
index files (manifest.json, index.json, repositories, oci-layout) are kept. What comes out is a list of
images described by content-store digests, ready to be recorded and unpacked.
"""

from __future__ import annotations

import json
import posixpath
import tarfile
from dataclasses import dataclass, field
from typing import Any, BinaryIO

from skiff import errdefs
from skiff.core.content.store import Store, read_blob
from skiff.core.images import mediatypes as mt
from skiff.core.leases import Lease

INDEX_FILES = {"manifest.json", "index.json", "repositories", "oci-layout"}
MAX_INDEX_FILE = 16 << 20
CHUNK = 1 << 20
# tarfile's stream reads: bigger than its 10 KiB records (fewer Python calls), small enough that the copy
# of what is left after each header is cheap
STREAM_RECORD = 64 << 10
PLATFORM = ("linux", "amd64")


@dataclass
class ArchiveLayer:
    digest: str
    media_type: str
    size: int


@dataclass
class ArchiveImage:
    config_digest: str
    layers: list[ArchiveLayer]
    names: list[str] = field(default_factory=list)  # references as written in the archive
    manifest_digest: str = ""  # set for OCI layouts: the manifest is stored as it came


@dataclass
class _Spool:
    digests: dict[str, str] = field(default_factory=dict)  # member path -> blob digest
    sizes: dict[str, int] = field(default_factory=dict)
    links: dict[str, str] = field(default_factory=dict)  # member path -> path it points at
    small: dict[str, bytes] = field(default_factory=dict)

    def resolve(self, path: str) -> str:
        path = posixpath.normpath(path)
        for _ in range(32):
            if path not in self.links:
                break
            path = self.links[path]
        if path not in self.digests:
            raise errdefs.InvalidArgument(f"invalid archive: {path} is missing")
        return self.digests[path]


def _spool(stream: BinaryIO, store: Store, lease: Lease) -> _Spool:
    sp = _Spool()
    try:
        with tarfile.open(fileobj=stream, mode="r|*", bufsize=STREAM_RECORD) as tf:
            for m in tf:
                name = posixpath.normpath(m.name.lstrip("/"))
                if m.issym() or m.islnk():
                    base = posixpath.dirname(name) if m.issym() else ""
                    sp.links[name] = posixpath.normpath(posixpath.join(base, m.linkname.lstrip("/")))
                    continue
                if not m.isreg():
                    continue
                src = tf.extractfile(m)
                assert src is not None
                if name in INDEX_FILES:
                    if m.size > MAX_INDEX_FILE:
                        raise errdefs.InvalidArgument(f"invalid archive: {name} is too large")
                    sp.small[name] = src.read()
                    continue
                expected = ""
                if name.startswith("blobs/sha256/"):
                    expected = "sha256:" + posixpath.basename(name)
                w = store.writer(expected)
                try:
                    while chunk := src.read(CHUNK):
                        w.write(chunk)
                    digest = w.commit(m.size, expected)
                except errdefs.FailedPrecondition as err:
                    raise errdefs.InvalidArgument(f"invalid archive: {name}: {err}") from None
                except BaseException:
                    w.abort()
                    raise
                lease.add(digest)
                sp.digests[name] = digest
                sp.sizes[name] = m.size
    except (tarfile.TarError, EOFError) as err:
        raise errdefs.InvalidArgument(f"invalid archive: {err}") from None
    return sp


def _json(data: bytes, what: str) -> Any:
    try:
        return json.loads(data)
    except ValueError:
        raise errdefs.InvalidArgument(f"invalid archive: {what} is not JSON") from None


def _layer_media_type(store: Store, digest: str) -> str:
    with store.read(digest) as f:
        return mt.DOCKER_LAYER_GZIP if f.read(2) == b"\x1f\x8b" else mt.DOCKER_LAYER


def _docker_save(sp: _Spool, store: Store) -> list[ArchiveImage]:
    out = []
    for entry in _json(sp.small["manifest.json"], "manifest.json"):
        try:
            config = sp.resolve(entry["Config"])
            layers = []
            for path in entry.get("Layers") or []:
                digest = sp.resolve(path)
                layers.append(ArchiveLayer(digest, _layer_media_type(store, digest), store.info(digest).size))
            out.append(ArchiveImage(config, layers, list(entry.get("RepoTags") or [])))
        except (KeyError, TypeError):
            raise errdefs.InvalidArgument("invalid archive: malformed manifest.json") from None
    return out


def pick_manifest(store: Store, desc: dict[str, Any]) -> dict[str, Any]:
    """Follow an index down to the linux/amd64 manifest (or the only one)."""
    for _ in range(8):
        if desc.get("mediaType") not in mt.INDEXES:
            return desc
        index = _json(read_blob(store, desc["digest"]), desc["digest"])
        manifests = index.get("manifests") or []
        chosen = [m for m in manifests
                  if (m.get("platform", {}).get("os"), m.get("platform", {}).get("architecture")) == PLATFORM]
        if not (chosen or manifests):
            raise errdefs.InvalidArgument(f"invalid archive: index {desc['digest']} is empty")
        desc = {**(chosen or manifests)[0], "annotations": desc.get("annotations") or {}}
    raise errdefs.InvalidArgument("invalid archive: indexes nest too deep")


def _oci_layout(sp: _Spool, store: Store) -> list[ArchiveImage]:
    out = []
    index = _json(sp.small["index.json"], "index.json")
    for top in index.get("manifests") or []:
        try:
            desc = pick_manifest(store, top)
            manifest = _json(read_blob(store, desc["digest"]), desc["digest"])
            layers = [ArchiveLayer(lay["digest"], lay["mediaType"], int(lay["size"]))
                      for lay in manifest.get("layers") or []]
            for lay in layers:
                store.info(lay.digest)
            annotations = top.get("annotations") or {}
            name = annotations.get("io.containerd.image.name") or annotations.get(
                "org.opencontainers.image.ref.name", "")
            names = [name] if name and (":" in name or "/" in name) else []
            out.append(ArchiveImage(manifest["config"]["digest"], layers, names, desc["digest"]))
        except (KeyError, TypeError, ValueError):
            raise errdefs.InvalidArgument("invalid archive: malformed OCI index or manifest") from None
        except errdefs.NotFound as err:
            raise errdefs.InvalidArgument(f"invalid archive: {err}") from None
    return out


def read_archive(stream: BinaryIO, store: Store, lease: Lease) -> list[ArchiveImage]:
    """Spool the archive into ``store`` and describe the images in it (docker-save wins over OCI)."""
    sp = _spool(stream, store, lease)
    if "manifest.json" in sp.small:
        return _docker_save(sp, store)
    if "index.json" in sp.small:
        return _oci_layout(sp, store)
    raise errdefs.InvalidArgument("invalid archive: neither manifest.json nor index.json found")
