"""Push: upload an image's layers and config (skipping what the registry has, mounting from another
repository of the same registry when a local image came from there), then PUT its manifest as stored."""

from __future__ import annotations

import json
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

from skiff import errdefs
from skiff.core.content.store import read_blob
from skiff.core.images import references
from skiff.core.images.service import ImageService
from skiff.core.remotes.progress import Emit, Progress, Throttle, short_id
from skiff.core.remotes.registry import Credentials, Registry

MAX_UPLOADS = 5
CHUNK = 1 << 20
CHUNKED_UPLOAD_MIN = 64 << 20  # blobs from this size go up in PATCH chunks (resumable)
UPLOAD_CHUNK = 32 << 20


class Pusher:
    def __init__(self, images: ImageService, chunked_min: int = CHUNKED_UPLOAD_MIN,
                 chunk_size: int = UPLOAD_CHUNK) -> None:
        self.images = images
        self.store = images.store
        self.chunked_min = chunked_min
        self.chunk_size = chunk_size

    def _mount_sources(self, domain: str, repo: str, digest: str) -> list[str]:
        """Other repositories of the same registry whose local images hold ``digest``."""
        out = []
        for rec in self.images.meta.images():
            try:
                ref = references.parse(rec.name)
            except errdefs.InvalidArgument:
                continue
            if ref.domain != domain or ref.path == repo or ref.path in out:
                continue
            try:
                manifest = json.loads(read_blob(self.store, rec.target_digest))
            except (errdefs.NotFound, ValueError):
                continue
            if any(lay.get("digest") == digest for lay in manifest.get("layers") or []):
                out.append(ref.path)
        return out

    def push(self, ref: str, emit: Emit, creds: Credentials | None = None, insecure: bool = False) -> None:
        parsed = references.normalise(ref)
        rec = self.images.meta.image(str(parsed))
        if rec is None:
            raise errdefs.NotFound(f"An image does not exist locally with the tag: {parsed.familiar_name()}")
        manifest_data = read_blob(self.store, rec.target_digest)
        manifest = json.loads(manifest_data)
        config = json.loads(read_blob(self.store, rec.config_digest))
        diff_ids = list((config.get("rootfs") or {}).get("diff_ids") or [])
        layers = list(manifest.get("layers") or [])
        repo = parsed.path
        with Registry(parsed.domain, creds, insecure) as reg:
            _ = reg.base  # fail early (and once) when the registry cannot be reached
            ids = [short_id(d) for d in diff_ids] if len(diff_ids) == len(layers) else \
                [short_id(lay["digest"]) for lay in layers]
            for lid in reversed(ids):
                emit(Progress(id=lid, status="Preparing"))
            with ThreadPoolExecutor(max_workers=MAX_UPLOADS, thread_name_prefix="push") as pool:
                futures = [pool.submit(self._push_blob, reg, parsed.domain, repo, str(lay["digest"]),
                                       int(lay.get("size", 0)), lid, emit)
                           for lay, lid in zip(layers, ids, strict=True)]
                for fut in futures:
                    fut.result()
            self._push_blob(reg, parsed.domain, repo, rec.config_digest, 0, "", None)
            digest = reg.put_manifest(repo, parsed.tag or "latest", rec.target_media_type, manifest_data)
        with self.images.lock:  # dockerd records repo@digest of what it pushed
            self.images._record([f"{parsed.name}@{digest}"], rec.target_digest, rec.target_media_type,
                                rec.target_size, rec.config_digest)
        tag = parsed.tag or "latest"
        emit(Progress(status=f"{tag}: digest: {digest} size: {len(manifest_data)}", digest=digest,
                      size=len(manifest_data), image_id=rec.config_digest))

    def _push_blob(self, reg: Registry, domain: str, repo: str, digest: str, size: int, lid: str,
                   emit: Emit | None) -> None:
        def say(status: str, current: int = 0, total: int = 0) -> None:
            if emit is not None:
                emit(Progress(id=lid, status=status, current=current, total=total))

        if reg.has_blob(repo, digest):
            say("Layer already exists")
            return
        for source in self._mount_sources(domain, repo, digest)[:3]:
            mounted, _ = reg.start_upload(repo, digest, source)
            if mounted:
                say(f"Mounted from {source}")
                return
        _, location = reg.start_upload(repo)
        total = size or self.store.info(digest).size
        throttle = Throttle(emit) if emit is not None else None

        if total >= self.chunked_min:
            def sent(offset: int) -> None:
                if throttle is not None:
                    throttle.update(Progress(id=lid, status="Pushing", current=offset, total=total))

            with self.store.read(digest) as f:
                reg.upload_chunks(repo, location, f, total, digest, self.chunk_size, sent)
            say("Pushed")
            return

        def chunks() -> Iterator[bytes]:
            sent = 0
            with self.store.read(digest) as f:
                while data := f.read(CHUNK):
                    sent += len(data)
                    if throttle is not None:
                        throttle.update(Progress(id=lid, status="Pushing", current=sent, total=total))
                    yield data

        reg.upload(repo, location, chunks(), digest)
        say("Pushed")
