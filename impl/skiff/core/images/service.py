"""The image service: import, load, resolve, tag and delete images; unpack them; collect garbage.

Methods are blocking (they stream blobs and write snapshots) and run on worker threads; one lock orders
the writes of image records against garbage collection.
"""

from __future__ import annotations

import dataclasses
import json
import re
import tarfile
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, BinaryIO

from skiff import errdefs
from skiff.core import gc
from skiff.core.content.store import Store, read_blob, write_blob
from skiff.core.diff.apply import CHUNK, decompressed
from skiff.core.events import Event
from skiff.core.images import mediatypes as mt
from skiff.core.images import references
from skiff.core.images.archive import ArchiveImage, pick_manifest, read_archive
from skiff.core.images.unpack import Layer, Unpacker, chain_ids
from skiff.core.leases import Lease, Leases
from skiff.core.metadata.store import ImageRecord, MetadataStore, dangling_name
from skiff.core.snapshots.snapshotter import Snapshotter
from skiff.core.timeutil import now

_HEX = re.compile(r"^[a-f0-9]{1,64}$")
PARENT_LABEL = "io.skiff.image.parent"  # the image a commit was made over (Docker's Parent)
LAYER_SIZES_LABEL = "io.skiff.image.layer-sizes"  # JSON list: each layer's own size (docker history)
# OCI layer types written into a Docker schema2 manifest of a commit over an OCI image
_DOCKER_LAYER_TYPES = {mt.OCI_LAYER: mt.DOCKER_LAYER, mt.OCI_LAYER_GZIP: mt.DOCKER_LAYER_GZIP}


@dataclass(frozen=True)
class Image:
    """An image as core reports it: one name (empty when untagged) and what it points at."""

    name: str
    record: ImageRecord
    config: bytes
    diff_ids: list[str]
    chain_id: str
    size: int


@dataclass(frozen=True)
class ImportOptions:
    name: str = ""
    config: dict[str, Any] = field(default_factory=dict)
    comment: str = ""
    created_by: str = ""


@dataclass(frozen=True)
class Loaded:
    name: str = ""  # familiar name: "busybox:latest"
    id: str = ""  # set for untagged images


@dataclass(frozen=True)
class DeleteResult:
    untagged: list[str]
    deleted: list[str]


class ImageService:
    def __init__(
        self,
        store: Store,
        snapshotter: Snapshotter,
        meta: MetadataStore,
        leases: Leases,
        publish: Callable[[Event], None],
    ) -> None:
        self.store = store
        self.snapshotter = snapshotter
        self.meta = meta
        self.leases = leases
        self.publish = publish
        self.unpacker = Unpacker(store, snapshotter, meta)
        self.lock = threading.RLock()

    # ---------- reading ----------
    def _image(self, rec: ImageRecord) -> Image:
        config = read_blob(self.store, rec.config_digest)
        diff_ids = list(json.loads(config).get("rootfs", {}).get("diff_ids", []))
        chains = chain_ids(diff_ids)
        sizes = [self.meta.layer_size(c) for c in chains]
        top = chains[-1] if chains else ""
        reported = dataclasses.replace(rec, labels={**rec.labels, LAYER_SIZES_LABEL: json.dumps(sizes)})
        return Image("" if rec.dangling else rec.name, reported, config, diff_ids, top, sum(sizes))

    def _by_id(self, ref: str) -> ImageRecord | None:
        """Full ID, ``sha256:``-prefixed or bare short ID, or a manifest digest."""
        hexpart = ref.removeprefix("sha256:")
        if not _HEX.match(hexpart):
            return None
        records = self.meta.images()
        if len(hexpart) == 64:
            for rec in records:
                if rec.config_digest == "sha256:" + hexpart:
                    return self._preferred(rec.config_digest)
            for rec in records:
                if rec.target_digest == "sha256:" + hexpart:
                    return rec
            return None
        matches = {r.config_digest for r in records if r.config_digest.startswith("sha256:" + hexpart)}
        if len(matches) > 1:
            raise errdefs.InvalidArgument(f"ambiguous image ID prefix {ref!r}")
        return self._preferred(matches.pop()) if matches else None

    def _preferred(self, config_digest: str) -> ImageRecord:
        """The record Docker would show for an ID: its first name, or the dangling record."""
        recs = self.meta.images_by_config(config_digest)
        named = [r for r in recs if not r.dangling]
        return (named or recs)[0]

    def _by_name(self, ref: str) -> tuple[ImageRecord | None, str]:
        try:
            parsed = references.normalise(ref)
        except errdefs.InvalidArgument:
            return None, ""
        if parsed.digest:
            exact = self.meta.image(str(parsed))  # repo@<index digest> recorded by a pull
            if exact is not None:
                return exact, ""
            for rec in self.meta.images():
                if (not rec.dangling and rec.target_digest == parsed.digest
                        and references.parse(rec.name).name == parsed.name):
                    return rec, ""
            return None, ""
        return self.meta.image(str(parsed)), str(parsed)

    def resolve(self, ref: str) -> tuple[ImageRecord, bool]:
        """The record ``ref`` names and whether it was found by name (rather than by ID)."""
        rec, _ = self._by_name(ref)
        if rec is not None:
            return rec, True
        by_id = self._by_id(ref) if ref else None
        if by_id is not None:
            return by_id, False
        raise errdefs.NotFound(f"No such image: {ref}")

    def get(self, ref: str) -> Image:
        return self._image(self.resolve(ref)[0])

    def list_(self) -> list[Image]:
        out = []
        for rec in self.meta.images():
            try:
                out.append(self._image(rec))
            except errdefs.NotFound:
                continue
        return out

    # ---------- names ----------
    def _set_name(self, name: str, target: ImageRecord) -> ImageRecord:
        """Point ``name`` at ``target``'s manifest; the image it pointed at before keeps a dangling record
        if no other name refers to it (Docker: "renaming the old one ... to empty string")."""
        rec = ImageRecord(name, target.target_media_type, target.target_digest, target.target_size,
                          target.config_digest, now(), target.labels)
        with self.lock, self.meta.db.transaction() as tx:
            old = self.meta.image(name)
            self.meta.put_image(tx, rec)
            if not name.startswith("<"):
                self.meta.delete_image(tx, dangling_name(target.config_digest))
            if old is not None and old.config_digest != target.config_digest and not old.dangling:
                others = [r for r in self.meta.images_by_config(old.config_digest, tx) if r.name != name]
                if not others:
                    self.meta.put_image(tx, ImageRecord(
                        dangling_name(old.config_digest), old.target_media_type, old.target_digest,
                        old.target_size, old.config_digest, old.created_at, old.labels))
        self.publish(Event("/images/create", attributes={"name": name}))
        return rec

    def _record(self, names: list[str], manifest: str, media_type: str, size: int, config: str,
                labels: dict[str, str] | None = None) -> list[str]:
        """Record an image under ``names`` (normalised) or, with none, as dangling; returns the names."""
        base = ImageRecord("", media_type, manifest, size, config, now(), labels or {})
        if not names:
            if not self.meta.images_by_config(config):
                self._set_name(dangling_name(config), base)
            return []
        out = []
        for n in names:
            full = str(references.normalise(n))
            self._set_name(full, base)
            out.append(full)
        return out

    def tag(self, source: str, target: str) -> Image:
        rec, _ = self.resolve(source)
        ref = references.normalise(target)
        if ref.digest:
            raise errdefs.InvalidArgument("refusing to create a tag with a digest reference")
        return self._image(self._set_name(str(ref), rec))

    # ---------- writing ----------
    def _write_layer(self, stream: BinaryIO) -> tuple[str, int]:
        """Store an (optionally compressed) layer tar as a blob of its uncompressed bytes: (diff ID, size)."""
        src = decompressed(stream)
        w = self.store.writer()
        try:
            while chunk := src.read(CHUNK):
                w.write(chunk)
            return w.commit(), w.offset
        except BaseException:
            w.abort()
            raise

    def _store_json(self, doc: dict[str, Any], lease: Lease) -> tuple[str, int]:
        data = json.dumps(doc, separators=(",", ":")).encode()
        digest = write_blob(self.store, data)
        lease.add(digest)
        return digest, len(data)

    def import_(self, stream: BinaryIO, opts: ImportOptions) -> Image:
        """A rootfs tar (plain or gzip) becomes a one-layer image with an uncompressed layer blob.

        With ``parent`` in the partial config (a commit), the tar is a diff: the image is the parent's
        layers plus this one (none when the diff is empty), with the parent's history continued."""
        if opts.name:
            references.normalise(opts.name)  # reject a bad name before reading the data
        partial = dict(opts.config)
        parent_ref = str(partial.pop("parent", "") or "")
        if parent_ref:
            return self._commit(stream, opts, partial, parent_ref)
        with self.leases.lease() as lease:
            try:
                diff_id, layer_size = self._write_layer(stream)
                lease.add(diff_id)
                created = now()
                config = _import_config(opts, diff_id, created)
                config_digest, config_size = self._store_json(config, lease)
                manifest = {
                    "schemaVersion": 2,
                    "mediaType": mt.DOCKER_MANIFEST,
                    "config": {"mediaType": mt.DOCKER_CONFIG, "size": config_size, "digest": config_digest},
                    "layers": [{"mediaType": mt.DOCKER_LAYER, "size": layer_size, "digest": diff_id}],
                }
                manifest_digest, manifest_size = self._store_json(manifest, lease)
                self.unpacker.unpack([Layer(diff_id, diff_id)], lease)
                with self.lock:
                    names = self._record([opts.name] if opts.name else [], manifest_digest,
                                         mt.DOCKER_MANIFEST, manifest_size, config_digest)
            except BaseException:
                self._collect_after_failure(lease)
                raise
        return self.get(names[0] if names else config_digest)

    def _parent_image(self, ref: str) -> Image | None:
        try:
            return self._image(self.resolve(ref)[0])
        except errdefs.NotFound:
            return None

    def _base_layers(self, parent: Image) -> list[dict[str, Any]]:
        """The parent's layer descriptors, from its manifest (an index is followed to linux/amd64)."""
        rec = parent.record
        desc = pick_manifest(self.store, {"mediaType": rec.target_media_type, "digest": rec.target_digest})
        manifest = json.loads(read_blob(self.store, desc["digest"]))
        layers = [dict(lay) for lay in manifest.get("layers") or []]
        if len(layers) != len(parent.diff_ids):
            raise errdefs.FailedPrecondition(f"image {rec.config_digest} has {len(parent.diff_ids)} diff IDs "
                                             f"but {len(layers)} layers")
        for lay in layers:
            lay["mediaType"] = _DOCKER_LAYER_TYPES.get(lay.get("mediaType", ""), lay.get("mediaType"))
            lay.pop("annotations", None)
        return layers

    def _commit(
        self, stream: BinaryIO, opts: ImportOptions, partial: dict[str, Any], parent_ref: str
    ) -> Image:
        parent = self._parent_image(parent_ref)
        if parent is None:  # the base went away (rmi -f): a one-layer image of the whole tree, as import
            return self.import_(stream, dataclasses.replace(opts, config=partial))
        with self.leases.lease() as lease:
            try:
                base_layers = self._base_layers(parent)
                for lay in base_layers:
                    lease.add(str(lay["digest"]))
                diff_id, layer_size = self._write_layer(stream)
                lease.add(diff_id)
                empty = self._empty_tar(diff_id)
                base = json.loads(parent.config)
                config = _child_config(base, partial, opts, diff_id, empty, now())
                config_digest, config_size = self._store_json(config, lease)
                new_layers = [] if empty else [{"mediaType": mt.DOCKER_LAYER, "size": layer_size,
                                                "digest": diff_id}]
                manifest = {
                    "schemaVersion": 2,
                    "mediaType": mt.DOCKER_MANIFEST,
                    "config": {"mediaType": mt.DOCKER_CONFIG, "size": config_size, "digest": config_digest},
                    "layers": base_layers + new_layers,
                }
                manifest_digest, manifest_size = self._store_json(manifest, lease)
                layers = [Layer(str(lay["digest"]), d)
                          for lay, d in zip(base_layers, parent.diff_ids, strict=True)]
                if not empty:
                    layers.append(Layer(diff_id, diff_id))
                self.unpacker.unpack(layers, lease)
                with self.lock:
                    names = self._record([opts.name] if opts.name else [], manifest_digest,
                                         mt.DOCKER_MANIFEST, manifest_size, config_digest,
                                         {PARENT_LABEL: parent.record.config_digest})
            except BaseException:
                self._collect_after_failure(lease)
                raise
        return self.get(names[0] if names else config_digest)

    def _empty_tar(self, digest: str) -> bool:
        """A diff without a single member (Docker leaves such a layer out of a commit)."""
        try:
            with self.store.read(digest) as f, tarfile.open(fileobj=f, mode="r|") as tf:
                return tf.next() is None
        except (tarfile.TarError, EOFError):
            return False

    def load(self, stream: BinaryIO) -> list[Loaded]:
        with self.leases.lease() as lease:
            try:
                images = read_archive(stream, self.store, lease)
                out: list[Loaded] = []
                for img in images:
                    out.extend(self._load_one(img, lease))
            except BaseException:
                self._collect_after_failure(lease)
                raise
        return out

    def _load_one(self, img: ArchiveImage, lease: Lease) -> list[Loaded]:
        try:
            config = json.loads(read_blob(self.store, img.config_digest))
            diff_ids = list(config["rootfs"]["diff_ids"])
        except (ValueError, KeyError, TypeError):
            raise errdefs.InvalidArgument(f"invalid archive: bad image config {img.config_digest}") from None
        if len(diff_ids) != len(img.layers):
            raise errdefs.InvalidArgument(f"invalid archive: image {img.config_digest} has "
                                          f"{len(diff_ids)} diff IDs but {len(img.layers)} layers")
        if img.manifest_digest:
            manifest_digest = img.manifest_digest
            media_type = json.loads(read_blob(self.store, manifest_digest)).get("mediaType", mt.OCI_MANIFEST)
            manifest_size = self.store.info(manifest_digest).size
        else:
            manifest = {
                "schemaVersion": 2,
                "mediaType": mt.DOCKER_MANIFEST,
                "config": {"mediaType": mt.DOCKER_CONFIG, "size": self.store.info(img.config_digest).size,
                           "digest": img.config_digest},
                "layers": [{"mediaType": lay.media_type, "size": lay.size, "digest": lay.digest}
                           for lay in img.layers],
            }
            manifest_digest, manifest_size = self._store_json(manifest, lease)
            media_type = mt.DOCKER_MANIFEST
        layers = [Layer(lay.digest, d) for lay, d in zip(img.layers, diff_ids, strict=True)]
        self.unpacker.unpack(layers, lease)
        with self.lock:
            names = self._record(img.names, manifest_digest, media_type, manifest_size, img.config_digest)
        if not names:
            return [Loaded(id=img.config_digest)]
        return [Loaded(name=references.familiar(n)) for n in names]

    def _collect_after_failure(self, lease: Lease) -> None:
        """Drop what a failed import/load wrote: collect with this lease's resources unprotected."""
        with self.lock:
            leased = self.leases.leased() - lease.resources
            gc.collect(self.store, self.snapshotter, self.meta, leased)

    # ---------- deleting ----------
    def _users(self, config_digest: str) -> list[str]:
        return [c.id for c in self.meta.containers() if c.image == config_digest]

    def delete(self, ref: str, force: bool = False, sync_gc: bool = True) -> DeleteResult:
        """Remove the name ``ref``, or every name of the image ``ref`` is an ID of.

        Like containerd, core does not judge conflicts: skiffd applies Docker's rmi rules before asking.
        Removing the last *name* of an image a container uses keeps the image, untagged (Docker's
        ``<none>``), unless ``force``; removing by ID deletes the image. Snapshots a container still
        stands on survive either way (GC never takes the parents of an active snapshot).
        """
        with self.lock:
            rec, by_name = self.resolve(ref)
            config = rec.config_digest
            all_recs = self.meta.images_by_config(config)
            users = self._users(config)
            doomed = [rec.name] if by_name else [r.name for r in all_recs]
            remaining = [r for r in all_recs if r.name not in doomed]
            # dockerd keeps an untagged image that a container uses (unless forced) or that has children
            held = (bool(users) and not force) or self._has_children(config)
            keep_dangling = not remaining and by_name and held
            with self.meta.db.transaction() as tx:
                for name in doomed:
                    self.meta.delete_image(tx, name)
                if keep_dangling:
                    self.meta.put_image(tx, ImageRecord(dangling_name(config), rec.target_media_type,
                                                        rec.target_digest, rec.target_size, config,
                                                        rec.created_at, rec.labels))
            untagged = [references.familiar(n) for n in doomed if not n.startswith("<")]
            deleted: list[str] = []
            if not remaining and not keep_dangling:
                deleted.append(config)
                if sync_gc:
                    collected = gc.collect(self.store, self.snapshotter, self.meta, self.leases.leased())
                    deleted.extend(collected.snapshots)
                deleted.extend(self._prune_parents(rec.labels.get(PARENT_LABEL, ""), sync_gc, doomed))
        for name in doomed:
            self.publish(Event("/images/delete", attributes={"name": name}))
        return DeleteResult(untagged, deleted)

    def _has_children(self, config: str) -> bool:
        return any(r.labels.get(PARENT_LABEL) == config and r.config_digest != config
                   for r in self.meta.images())

    def _prune_parents(self, parent: str, sync_gc: bool, doomed: list[str]) -> list[str]:
        """dockerd's rmi prunes the parent chain: a parent left untagged, childless and unused goes too."""
        deleted: list[str] = []
        while parent:
            recs = self.meta.images_by_config(parent)
            tagged = any(not r.dangling for r in recs)
            if not recs or tagged or self._users(parent) or self._has_children(parent):
                break
            with self.meta.db.transaction() as tx:
                for r in recs:
                    self.meta.delete_image(tx, r.name)
            doomed.extend(r.name for r in recs)
            deleted.append(parent)
            if sync_gc:
                collected = gc.collect(self.store, self.snapshotter, self.meta, self.leases.leased())
                deleted.extend(collected.snapshots)
            parent = recs[0].labels.get(PARENT_LABEL, "")
        return deleted

    def collect(self) -> gc.Collected:
        with self.lock:
            return gc.collect(self.store, self.snapshotter, self.meta, self.leases.leased())


def _child_config(
    base: dict[str, Any], partial: dict[str, Any], opts: ImportOptions, diff_id: str, empty: bool,
    created: str,
) -> dict[str, Any]:
    """dockerd's NewChildImage: the parent's rootfs and history continued by one entry, its platform kept;
    the rest (config, container, container_config, author, docker_version) comes from the caller."""
    history: dict[str, Any] = {"created": created}
    if partial.get("author"):
        history["author"] = partial["author"]
    if opts.created_by:
        history["created_by"] = opts.created_by
    if opts.comment:
        history["comment"] = opts.comment
    if empty:
        history["empty_layer"] = True
    diff_ids = list((base.get("rootfs") or {}).get("diff_ids") or [])
    config: dict[str, Any] = {"created": created}
    for key in ("container", "container_config", "docker_version", "author", "config"):
        if partial.get(key):
            config[key] = partial[key]
    config["architecture"] = base.get("architecture", "amd64")
    if base.get("variant"):
        config["variant"] = base["variant"]
    config["os"] = base.get("os", "linux")
    config["rootfs"] = {"type": "layers", "diff_ids": diff_ids + ([] if empty else [diff_id])}
    config["history"] = [*(base.get("history") or []), history]
    for key in ("os.version", "os.features"):
        if base.get(key):
            config[key] = base[key]
    return config


def _import_config(opts: ImportOptions, diff_id: str, created: str) -> dict[str, Any]:
    """The image config of an import: the caller's partial config, completed like ``docker import``."""
    partial = dict(opts.config)
    if partial and all(k[:1].isupper() for k in partial):  # a container config (Cmd, Env, ...) on its own
        partial = {"config": partial}
    history: dict[str, Any] = {"created": created}
    if opts.created_by:
        history["created_by"] = opts.created_by
    if opts.comment:
        history["comment"] = opts.comment
    config: dict[str, Any] = {
        "architecture": "amd64",
        "config": partial.get("config") or {},
        "created": created,
        "history": [history],
        "os": "linux",
        "rootfs": {"type": "layers", "diff_ids": [diff_id]},
    }
    if opts.comment:
        config["comment"] = opts.comment
    for key, value in partial.items():
        if key not in config:
            config[key] = value
    return config
