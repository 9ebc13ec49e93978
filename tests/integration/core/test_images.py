"""The image service over a real content store and overlay snapshotter, with real tars."""

from __future__ import annotations

import dataclasses
import hashlib
import io
import json
import os
import tarfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from core_support import build_busybox_rootfs_tar, build_oci_layout_tar
from skiff import errdefs
from skiff.core.containers import ContainerService
from skiff.core.content.local import LocalStore
from skiff.core.content.store import read_blob
from skiff.core.events import Event
from skiff.core.images import mediatypes as mt
from skiff.core.images.service import ImageService, ImportOptions
from skiff.core.leases import Leases
from skiff.core.metadata.store import MetadataStore
from skiff.core.snapshots.overlay import OverlaySnapshotter
from skiff.core.snapshots.snapshotter import Kind
from skiff.core.snapshots.testsuite import mounted

pytestmark = pytest.mark.root


class Env:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.store = LocalStore(root / "content")
        self.sn = OverlaySnapshotter(root / "snapshots")
        self.meta = MetadataStore(root / "metadata.db")
        self.events: list[Event] = []
        self.images = ImageService(self.store, self.sn, self.meta, Leases(), self.events.append)
        self.containers = ContainerService(self.meta, self.sn, self.images, lambda _id: False,
                                           self.events.append, "/usr/sbin/runc")

    def import_(self, tar: Path, name: str = "", **kw: object) -> str:
        with open(tar, "rb") as f:
            return self.images.import_(f, ImportOptions(name, **kw)).record.config_digest  # type: ignore[arg-type]

    def blobs(self) -> set[str]:
        return {i.digest for i in self.store.walk()}

    def snapshots(self) -> set[str]:
        return {i.key for i in self.sn.walk()}

    def close(self) -> None:
        self.sn.close()
        self.meta.close()


@pytest.fixture
def env(workdir: Path) -> Iterator[Env]:
    e = Env(workdir / "root")
    yield e
    e.close()


def test_import_records_a_docker_style_image(env: Env, busybox_tar: Path) -> None:
    image_id = env.import_(busybox_tar, "busybox", config={"Cmd": ["sh"]}, comment="Imported from -")
    img = env.images.get("busybox")
    assert img.name == "docker.io/library/busybox:latest"
    assert img.record.config_digest == image_id == "sha256:" + hashlib.sha256(img.config).hexdigest()
    config = json.loads(img.config)
    diff_id = "sha256:" + hashlib.sha256(busybox_tar.read_bytes()).hexdigest()
    assert config["architecture"] == "amd64" and config["os"] == "linux"
    assert config["rootfs"] == {"type": "layers", "diff_ids": [diff_id]}
    assert config["config"] == {"Cmd": ["sh"]}
    assert config["history"][0]["comment"] == "Imported from -"
    assert config["created"] == config["history"][0]["created"]
    manifest = json.loads(read_blob(env.store, img.record.target_digest))
    assert img.record.target_media_type == manifest["mediaType"] == mt.DOCKER_MANIFEST
    assert manifest["layers"] == [{"mediaType": mt.DOCKER_LAYER, "size": busybox_tar.stat().st_size,
                                   "digest": diff_id}]
    assert img.chain_id == diff_id and env.sn.stat(diff_id).kind == Kind.COMMITTED
    assert img.size >= os.path.getsize("/bin/busybox")
    assert [e.topic for e in env.events] == ["/images/create"]

    for ref in ("busybox:latest", "docker.io/library/busybox", image_id, image_id[7:], image_id[7:19],
                image_id[:19], img.record.target_digest, "busybox@" + img.record.target_digest):
        assert env.images.get(ref).record.config_digest == image_id, ref
    for missing in ("nothere", "sha256:" + "0" * 64, "busybox:other", "0123456789ab"):
        with pytest.raises(errdefs.NotFound, match="No such image"):
            env.images.get(missing)

    env.sn.view("check", img.chain_id)
    with mounted(env.sn, "check", env.root / "m") as m:
        assert os.readlink(m / "bin" / "sh") == "busybox"
        assert (m / "bin" / "busybox").stat().st_size == os.path.getsize("/bin/busybox")
    env.sn.remove("check")


def test_gzip_import_stores_the_uncompressed_layer(env: Env, workdir: Path) -> None:
    plain = build_busybox_rootfs_tar(workdir / "plain.tar")
    gz = build_busybox_rootfs_tar(workdir / "rootfs.tar.gz", gzipped=True)
    with open(gz, "rb") as f:
        img = env.images.import_(f, ImportOptions("gz"))
    assert img.diff_ids == ["sha256:" + hashlib.sha256(plain.read_bytes()).hexdigest()]


def test_untagged_import_then_tag(env: Env, busybox_tar: Path) -> None:
    image_id = env.import_(busybox_tar)
    [img] = env.images.list_()
    assert img.name == "" and img.record.config_digest == image_id
    env.images.tag(image_id[7:19], "mine:v1")
    assert [i.name for i in env.images.list_()] == ["docker.io/library/mine:v1"]
    with pytest.raises(errdefs.InvalidArgument):
        env.images.tag("mine:v1", "Bad")


def test_retag_leaves_the_old_image_dangling(env: Env, busybox_tar: Path, workdir: Path) -> None:
    old = env.import_(busybox_tar, "app")
    new = env.import_(build_busybox_rootfs_tar(workdir / "v2.tar", extra=b"v2"), "app")
    assert new != old
    listed = {(i.name, i.record.config_digest) for i in env.images.list_()}
    assert listed == {("docker.io/library/app:latest", new), ("", old)}


def test_delete_untags_then_collects(env: Env, busybox_tar: Path) -> None:
    image_id = env.import_(busybox_tar, "busybox")
    env.images.tag("busybox", "other:1")
    res = env.images.delete("busybox")
    assert res.untagged == ["busybox:latest"] and res.deleted == []
    assert env.images.get("other:1").record.config_digest == image_id
    assert len(env.blobs()) == 3
    res = env.images.delete("other:1")
    assert res.untagged == ["other:1"]
    assert res.deleted[0] == image_id and len(res.deleted) == 2  # the image and its one layer
    assert env.images.list_() == []
    assert env.blobs() == set() and env.snapshots() == set()
    assert [e.topic for e in env.events].count("/images/delete") == 2


def test_delete_by_id_removes_every_name(env: Env, busybox_tar: Path) -> None:
    image_id = env.import_(busybox_tar, "a")
    env.images.tag("a", "b")
    res = env.images.delete(image_id[7:19])
    assert sorted(res.untagged) == ["a:latest", "b:latest"] and res.deleted[0] == image_id
    assert env.blobs() == set() and env.snapshots() == set()


def test_images_used_by_containers_survive(env: Env, busybox_tar: Path) -> None:
    image_id = env.import_(busybox_tar, "busybox")
    c = env.containers.create("c1", "busybox", {})
    assert c.record.image == image_id and c.mounts[0].type == "overlay"
    chain = env.images.get(image_id).chain_id
    res = env.images.delete("busybox")
    assert res.untagged == ["busybox:latest"] and res.deleted == []
    assert env.images.list_()[0].name == "", "kept as a dangling image while a container uses it"
    res = env.images.delete(image_id)  # by ID: the image goes, the container's layers stay
    assert res.deleted == [image_id] and env.images.list_() == []
    assert env.sn.stat(c.record.snapshot_key).parent == chain
    env.containers.delete("c1")
    assert env.blobs() == set() and env.snapshots() == set(), "collected once the container is gone"


def test_forced_delete_of_the_last_name_deletes_the_image(env: Env, busybox_tar: Path) -> None:
    image_id = env.import_(busybox_tar, "busybox")
    env.containers.create("c1", "busybox", {})
    res = env.images.delete("busybox", force=True)
    assert res.deleted == [image_id] and env.images.list_() == []
    env.containers.delete("c1")
    assert env.blobs() == set() and env.snapshots() == set()


def test_load_docker_save(env: Env, docker_save_tar: tuple[Path, str, int]) -> None:
    tar, docker_id, docker_size = docker_save_tar
    with open(tar, "rb") as f:
        loaded = env.images.load(f)
    assert [x.name for x in loaded] == ["busybox:latest"]
    img = env.images.get("busybox")
    assert img.record.config_digest == docker_id, "the image ID is the config digest, as in Docker"
    assert img.size == docker_size
    manifest = json.loads(read_blob(env.store, img.record.target_digest))
    assert manifest["layers"][0]["mediaType"] == mt.DOCKER_LAYER
    assert manifest["layers"][0]["digest"] == img.diff_ids[0]
    with open(tar, "rb") as f:  # loading again is idempotent
        assert [x.name for x in env.images.load(f)] == ["busybox:latest"]
    assert len(env.images.list_()) == 1


def test_load_oci_layout(env: Env, busybox_tar: Path, workdir: Path) -> None:
    tar = workdir / "oci.tar"
    ids = build_oci_layout_tar(busybox_tar, tar, ["busybox:oci", "example.com/team/tool:2"])
    with open(tar, "rb") as f:
        loaded = env.images.load(f)
    assert [x.name for x in loaded] == ["busybox:oci", "example.com/team/tool:2"]
    img = env.images.get("example.com/team/tool:2")
    assert img.record.config_digest == ids["config"] and img.record.target_digest == ids["manifest"]
    assert img.record.target_media_type == mt.OCI_MANIFEST
    assert img.chain_id == ids["diff_id"]
    env.sn.view("check", img.chain_id)
    with mounted(env.sn, "check", env.root / "m") as m:
        assert (m / "bin" / "busybox").exists()
    env.sn.remove("check")


def test_load_nested_index_and_gzip_archive(env: Env, busybox_tar: Path, workdir: Path) -> None:
    import gzip

    tar = workdir / "oci.tar"
    ids = build_oci_layout_tar(busybox_tar, tar, ["multi:1"], nested=True)
    gz = workdir / "oci.tar.gz"
    gz.write_bytes(gzip.compress(tar.read_bytes()))
    with open(gz, "rb") as f:
        assert [x.name for x in env.images.load(f)] == ["multi:1"]
    img = env.images.get("multi:1")
    assert img.record.target_digest == ids["manifest"], "the linux/amd64 manifest of the index"
    env.images.delete(img.record.config_digest)
    assert env.blobs() == set() and env.snapshots() == set()


def test_digest_references_skip_untagged_images(env: Env, busybox_tar: Path, workdir: Path) -> None:
    env.import_(build_busybox_rootfs_tar(workdir / "other.tar", extra=b"x"))  # an untagged image
    env.import_(busybox_tar, "busybox")
    digest = env.images.get("busybox").record.target_digest
    assert env.images.get("busybox@" + digest).name == "docker.io/library/busybox:latest"
    with pytest.raises(errdefs.NotFound):
        env.images.get("other@" + digest)


def test_load_untagged_reports_the_id(env: Env, busybox_tar: Path, workdir: Path) -> None:
    tar = workdir / "oci.tar"
    ids = build_oci_layout_tar(busybox_tar, tar, ["latest"])  # a bare tag names no repository
    with open(tar, "rb") as f:
        loaded = env.images.load(f)
    assert [(x.name, x.id) for x in loaded] == [("", ids["config"])]


def test_bad_archives_leave_nothing(env: Env, busybox_tar: Path, workdir: Path) -> None:
    bad = workdir / "bad.tar"
    with tarfile.open(bad, "w") as tf:
        tf.add(busybox_tar, "blobs/sha256/" + "0" * 64)  # wrong digest for its content
    for archive in (bad, busybox_tar):  # a rootfs tar is no image archive either
        with open(archive, "rb") as f, pytest.raises(errdefs.InvalidArgument):
            env.images.load(f)
        assert env.blobs() == set() and env.snapshots() == set()
    garbage = workdir / "garbage"
    garbage.write_bytes(b"not a tar" * 1000)
    with open(garbage, "rb") as f, pytest.raises(errdefs.Unknown, match="archive/tar: invalid tar header"):
        env.images.import_(f, ImportOptions("x"))  # dockerd: 500 "Error processing tar file(...)"
    assert env.blobs() == set() and env.snapshots() == set() and env.images.list_() == []


def _diff_tar(entries: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tf:
        for name, data in entries.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def test_a_commit_is_a_layer_over_its_parent(env: Env, busybox_tar: Path) -> None:
    """Import with ``parent`` (the engine's commit): base layers + the diff, history continued, Parent."""
    base_id = env.import_(busybox_tar, "busybox", comment="Imported from -")
    base = env.images.get("busybox")
    diff = _diff_tar({"hello": b"hi\n", "bin/.wh.vi": b""})
    opts = ImportOptions("commit:1", config={"parent": base_id, "config": {"Cmd": ["sh"]}, "author": "Ann"},
                         comment="a message", created_by="sh -c x")
    child = env.images.import_(io.BytesIO(diff), opts)
    config = json.loads(child.config)
    assert child.diff_ids == [*base.diff_ids, "sha256:" + hashlib.sha256(diff).hexdigest()]
    assert config["history"][-1] == {"created": config["created"], "author": "Ann", "created_by": "sh -c x",
                                     "comment": "a message"}
    assert len(config["history"]) == 2 and "parent" not in config and "comment" not in config
    assert child.record.labels["io.skiff.image.parent"] == base_id
    assert json.loads(child.record.labels["io.skiff.image.layer-sizes"]) == [base.size, 3]
    manifest = json.loads(read_blob(env.store, child.record.target_digest))
    base_manifest = json.loads(read_blob(env.store, base.record.target_digest))
    assert manifest["layers"][:-1] == base_manifest["layers"]
    assert env.sn.stat(child.chain_id).parent == base.chain_id

    empty = env.images.import_(io.BytesIO(b"\0" * 10240), dataclasses.replace(opts, name="commit:2"))
    assert empty.diff_ids == base.diff_ids and empty.chain_id == base.chain_id
    assert json.loads(empty.config)["history"][-1]["empty_layer"] is True
