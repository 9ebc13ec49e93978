"""Pull: resolve a reference at a registry, fetch config and layers, verify, unpack, record the name.

Layers download in parallel (Docker's three at a time), each streamed into a content-store ingest whose
digest is checked before it becomes visible; unpacking follows in layer order as soon as each layer is
in, so download and extraction overlap. Blobs already in the store are not fetched again. Everything
written is leased until the image record exists; a failure collects it again.
"""

from __future__ import annotations

import hashlib
import json
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import httpx

from skiff import errdefs
from skiff.core.content.store import read_blob, write_blob
from skiff.core.diff.apply import decompressed
from skiff.core.images import mediatypes as mt
from skiff.core.images import references
from skiff.core.images.service import ImageService
from skiff.core.images.unpack import Layer, chain_ids
from skiff.core.leases import Lease
from skiff.core.remotes import schema1
from skiff.core.remotes.progress import Emit, Progress, Throttle, short_id
from skiff.core.remotes.registry import Credentials, Manifest, Registry

MAX_DOWNLOADS = 3
CHUNK = 1 << 20
DOWNLOAD_ATTEMPTS = 5  # dockerd's maxDownloadAttempts
RETRY_DELAY_S = 0.5  # times the failures so far (dockerd waits 5 s per failure)


def _parse_json(data: bytes, what: str) -> dict[str, Any]:
    try:
        doc = json.loads(data)
    except ValueError:
        raise errdefs.InvalidArgument(f"invalid {what}: not JSON") from None
    if not isinstance(doc, dict):
        raise errdefs.InvalidArgument(f"invalid {what}: not an object")
    return doc


def parse_platform(platform: str) -> tuple[str, str, str]:
    parts = (platform or "linux/amd64").split("/")
    os_ = parts[0] or "linux"
    arch = parts[1] if len(parts) > 1 else "amd64"
    variant = parts[2] if len(parts) > 2 else ""
    return os_, arch, variant


def media_type_of(m: Manifest, doc: dict[str, Any]) -> str:
    mtype = str(doc.get("mediaType") or "")
    if not mtype:
        mtype = m.media_type
    if not mtype or mtype in ("application/json", "application/octet-stream"):
        mtype = mt.OCI_INDEX if "manifests" in doc else mt.OCI_MANIFEST
    return mtype


class Puller:
    def __init__(self, images: ImageService) -> None:
        self.images = images
        self.store = images.store

    def pull(self, ref: str, emit: Emit, creds: Credentials | None = None, insecure: bool = False,
             platform: str = "") -> None:
        parsed = references.normalise(ref)
        repo = parsed.path
        with Registry(parsed.domain, creds, insecure) as reg:
            tag_or_digest = parsed.digest or parsed.tag
            manifest = reg.get_manifest(repo, tag_or_digest)
            emit(Progress(id=parsed.tag or parsed.digest, status=f"Pulling from {parsed.path}"))
            top_digest = manifest.digest
            doc = _parse_json(manifest.data, "manifest")
            mtype = media_type_of(manifest, doc)
            if mtype in mt.INDEXES:
                manifest, doc = self._choose(reg, repo, doc, platform)
                mtype = media_type_of(manifest, doc)
            old_schema = (schema1.is_schema1(manifest.media_type, manifest.data)
                          or doc.get("schemaVersion") == 1)
            if mtype not in mt.MANIFESTS and not old_schema:
                raise errdefs.InvalidArgument(f"unsupported manifest media type {mtype}")
            with self.images.leases.lease() as lease:
                try:
                    fetched: set[str] | None = None
                    if old_schema:  # converted as dockerd does; the image's manifest becomes a schema2 one
                        fetched = set()
                        manifest, doc = self._from_schema1(reg, repo, manifest, lease, emit, fetched)
                        mtype = mt.DOCKER_MANIFEST
                    names = [str(parsed)]
                    if not parsed.digest:  # dockerd also records repo@digest (the top manifest's)
                        names.append(f"{parsed.name}@{top_digest}")
                    updated = self._fetch(reg, repo, manifest, doc, mtype, lease, emit, names, fetched)
                except BaseException:
                    self.images._collect_after_failure(lease)
                    raise
            config_digest = doc["config"]["digest"]
            emit(Progress(status=f"Digest: {top_digest}", digest=top_digest, size=len(manifest.data),
                          image_id=config_digest, updated=updated))

    def _choose(self, reg: Registry, repo: str, index: dict[str, Any], platform: str
                ) -> tuple[Manifest, dict[str, Any]]:
        os_, arch, variant = parse_platform(platform)
        entries = index.get("manifests") or []
        for entry in entries:
            p = entry.get("platform") or {}
            if p.get("os") == os_ and p.get("architecture") == arch and (
                    not variant or p.get("variant") == variant):
                m = reg.get_manifest(repo, str(entry["digest"]))
                return m, _parse_json(m.data, "manifest")
        raise errdefs.NotFound(f"no matching manifest for {os_}/{arch}"
                               f"{'/' + variant if variant else ''} in the manifest list entries")

    def _from_schema1(self, reg: Registry, repo: str, manifest: Manifest, lease: Lease, emit: Emit,
                      fetched: set[str]) -> tuple[Manifest, dict[str, Any]]:
        """Download a schema1 image's layers, make its config as dockerd does and a schema2 manifest
        for it (stored, leased); ``fetched`` gets the blobs downloaded here."""
        v1_layers = schema1.layers(manifest.data)
        bottom_up = list(reversed(v1_layers))
        blobs = list(dict.fromkeys(v.blob for v in bottom_up if not v.throwaway))
        for digest in blobs:
            lease.add(digest)
        missing = [d for d in blobs if not self._has(d)]
        for digest in blobs:  # dockerd's download manager speaks of every layer, bottom up
            emit(Progress(id=short_id(digest),
                          status="Pulling fs layer" if digest in missing else "Already exists"))
        cancel = threading.Event()
        with ThreadPoolExecutor(max_workers=MAX_DOWNLOADS, thread_name_prefix="pull") as pool:
            futures = [pool.submit(self._download, reg, repo, d, 0, emit, cancel) for d in missing]
            try:
                for fut in futures:
                    fut.result()
            except BaseException:
                cancel.set()
                raise
        fetched.update(missing)
        diff_of = {d: self._diff_id(d) for d in blobs}
        history = [schema1.history_entry(v.v1, v.throwaway) for v in bottom_up]
        layer_blobs = [v.blob for v in bottom_up if not v.throwaway]
        config = schema1.make_config(v1_layers[0].v1, [diff_of[d] for d in layer_blobs], history)
        config_digest = write_blob(self.store, config)
        lease.add(config_digest)
        doc: dict[str, Any] = {
            "schemaVersion": 2,
            "mediaType": mt.DOCKER_MANIFEST,
            "config": {"mediaType": mt.DOCKER_CONFIG, "size": len(config), "digest": config_digest},
            "layers": [{"mediaType": mt.DOCKER_LAYER_GZIP, "size": self.store.info(d).size, "digest": d}
                       for d in layer_blobs],
        }
        data = json.dumps(doc, indent=3).encode()
        return Manifest(mt.DOCKER_MANIFEST, data, write_blob(self.store, data)), doc

    def _diff_id(self, digest: str) -> str:
        """The digest of a layer blob's uncompressed tar."""
        h = hashlib.sha256()
        with self.store.read(digest) as raw:
            src = decompressed(raw)
            while chunk := src.read(CHUNK):
                h.update(chunk)
        return "sha256:" + h.hexdigest()

    def _has(self, digest: str) -> bool:
        try:
            self.store.info(digest)
            return True
        except errdefs.NotFound:
            return False

    def _fetch(self, reg: Registry, repo: str, manifest: Manifest, doc: dict[str, Any], mtype: str,
               lease: Lease, emit: Emit, names: list[str], fetched: set[str] | None = None) -> bool:
        try:
            config_desc = doc["config"]
            layer_descs = list(doc.get("layers") or [])
            config_digest = str(config_desc["digest"])
        except (KeyError, TypeError):
            raise errdefs.InvalidArgument("invalid manifest: no config") from None
        lease.add(config_digest)
        if not self._has(config_digest):
            write_blob(self.store, reg.get_blob(repo, config_digest), config_digest)
        config = _parse_json(read_blob(self.store, config_digest), "image config")
        diff_ids = list((config.get("rootfs") or {}).get("diff_ids") or [])
        if len(diff_ids) != len(layer_descs):
            raise errdefs.InvalidArgument("invalid image: the config's diff IDs do not match the layers")
        chains = chain_ids(diff_ids)
        existing = {c for c in chains if self._snapshot_exists(c)}
        quiet = len(existing) == len(chains) and bool(self.images.meta.images_by_config(config_digest))
        layers = [Layer(str(d["digest"]), diff) for d, diff in zip(layer_descs, diff_ids, strict=True)]
        futures: list[Future[None] | None] = []
        pool = ThreadPoolExecutor(max_workers=MAX_DOWNLOADS, thread_name_prefix="pull")
        cancel = threading.Event()
        try:
            for layer, desc, chain in zip(layers, layer_descs, chains, strict=True):
                lease.add(layer.digest)
                lid = short_id(layer.digest)
                if fetched is not None:  # schema1: _from_schema1 fetched and announced the layers
                    futures.append(None)
                    continue
                if chain in existing or self._has(layer.digest):
                    if not quiet:  # dockerd says nothing of the layers of an image it already has
                        emit(Progress(id=lid, status="Already exists"))
                    futures.append(None)
                    continue
                emit(Progress(id=lid, status="Pulling fs layer"))
                futures.append(pool.submit(self._download, reg, repo, layer.digest, int(desc.get("size", 0)),
                                           emit, cancel))
            for layer, fut, chain in zip(layers, futures, chains, strict=True):
                fresh = fut is not None or (fetched is not None and layer.digest in fetched)
                if fut is not None:
                    fut.result()
                if fresh:
                    emit(Progress(id=short_id(layer.digest), status="Extracting"))
                self.images.unpacker.unpack(layers[: chains.index(chain) + 1], lease)
                if fresh:
                    emit(Progress(id=short_id(layer.digest), status="Pull complete"))
        except BaseException:
            cancel.set()
            raise
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
        lease.add(manifest.digest)
        if not self._has(manifest.digest):
            write_blob(self.store, manifest.data, manifest.digest)
        with self.images.lock:
            before = self.images.meta.image(names[0])
            self.images._record(names, manifest.digest, mtype, len(manifest.data), config_digest)
        return before is None or before.target_digest != manifest.digest

    def _snapshot_exists(self, chain: str) -> bool:
        try:
            self.images.snapshotter.stat(chain)
            return True
        except errdefs.NotFound:
            return False

    def _download(self, reg: Registry, repo: str, digest: str, size: int, emit: Emit,
                  cancel: threading.Event) -> None:
        """Stream one blob into the store. A connection lost mid-blob is resumed from the bytes already
        written (``Range``), as dockerd does, up to DOWNLOAD_ATTEMPTS times; the digest is checked at
        the end either way."""
        lid = short_id(digest)
        throttle = Throttle(emit)
        w = self.store.writer(digest)
        try:
            failures = 0
            while True:
                try:
                    if self._stream_into(w, reg, repo, digest, size, lid, throttle, cancel):
                        break
                    w.abort()  # the registry ignored the Range: start the blob again
                    w = self.store.writer(digest)
                except httpx.TransportError as err:
                    failures += 1
                    if failures >= DOWNLOAD_ATTEMPTS:
                        raise errdefs.Unknown(f"download of {digest} failed: {err}") from None
                if cancel.wait(RETRY_DELAY_S * failures):
                    raise errdefs.Unknown("pull cancelled")
            emit(Progress(id=lid, status="Verifying Checksum"))
            try:
                w.commit(size if size > 0 else -1, digest)
            except errdefs.FailedPrecondition as err:
                raise errdefs.InvalidArgument(f"filesystem layer verification failed for digest {digest}: "
                                              f"{err}") from None
            emit(Progress(id=lid, status="Download complete"))
        except BaseException:
            w.abort()
            raise

    def _stream_into(self, w: Any, reg: Registry, repo: str, digest: str, size: int, lid: str,
                     throttle: Throttle, cancel: threading.Event) -> bool:
        """Append the blob from ``w.offset`` on; False when the registry answered a ranged request
        with the whole blob."""
        if 0 < size <= w.offset:  # all there already: the connection dropped after the last byte
            return True
        resp = reg.open_blob(repo, digest, w.offset)
        try:
            if w.offset and resp.status_code != 206:
                return False
            total = size or w.offset + int(resp.headers.get("content-length") or 0)
            for chunk in resp.iter_bytes(CHUNK):
                if cancel.is_set():
                    raise errdefs.Unknown("pull cancelled")
                w.write(chunk)
                throttle.update(Progress(id=lid, status="Downloading", current=w.offset, total=total))
        finally:
            resp.close()
        return True
