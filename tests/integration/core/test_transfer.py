"""Pull, push and export against a real docker-registry, over a real content store and overlay snapshots."""

from __future__ import annotations

import hashlib
import io
import json
import sys
import tarfile
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from skiff import errdefs
from skiff.core.content.local import LocalStore
from skiff.core.content.store import read_blob
from skiff.core.images import mediatypes as mt
from skiff.core.images.service import ImageService, ImportOptions
from skiff.core.leases import Leases
from skiff.core.metadata.store import MetadataStore
from skiff.core.remotes.export import export
from skiff.core.remotes.progress import Progress
from skiff.core.remotes.pull import Puller
from skiff.core.remotes.push import Pusher
from skiff.core.snapshots.overlay import OverlaySnapshotter

sys.path.insert(0, str(Path(__file__).resolve().parents[3]))
from vm.registry import BINARY, Registry

pytestmark = [pytest.mark.root, pytest.mark.skipif(not Path(BINARY).exists(), reason="needs docker-registry")]


class Env:
    def __init__(self, root: Path) -> None:
        self.store = LocalStore(root / "content")
        self.sn = OverlaySnapshotter(root / "snapshots")
        self.meta = MetadataStore(root / "metadata.db")
        self.images = ImageService(self.store, self.sn, self.meta, Leases(), lambda _e: None)
        self.progress: list[Progress] = []

    def close(self) -> None:
        self.sn.close()
        self.meta.close()


@pytest.fixture
def registry() -> Iterator[Registry]:
    with Registry() as reg:
        yield reg


@pytest.fixture
def envs(workdir: Path) -> Iterator[tuple[Env, Env]]:
    a, b = Env(workdir / "a"), Env(workdir / "b")
    yield a, b
    a.close()
    b.close()


def _statuses(progress: list[Progress]) -> list[str]:
    return [p.status for p in progress]


def test_push_then_pull_into_another_store(envs: tuple[Env, Env], registry: Registry, busybox_tar: Path
                                            ) -> None:
    a, b = envs
    with open(busybox_tar, "rb") as f:
        img = a.images.import_(f, ImportOptions(f"{registry.address}/bb:1"))  # type: ignore[arg-type]
    Pusher(a.images).push(f"{registry.address}/bb:1", a.progress.append, insecure=True)
    assert "Pushed" in _statuses(a.progress)
    assert a.progress[-1].status.startswith("1: digest: sha256:")
    a.progress.clear()
    Pusher(a.images).push(f"{registry.address}/bb:1", a.progress.append, insecure=True)
    assert "Layer already exists" in _statuses(a.progress)
    a.images.tag(f"{registry.address}/bb:1", f"{registry.address}/other:1")
    a.progress.clear()
    Pusher(a.images).push(f"{registry.address}/other:1", a.progress.append, insecure=True)
    assert "Mounted from bb" in _statuses(a.progress)

    Puller(b.images).pull(f"{registry.address}/bb:1", b.progress.append, insecure=True)
    pulled = b.images.get(f"{registry.address}/bb:1")
    assert pulled.record.config_digest == img.record.config_digest
    assert pulled.record.target_digest == img.record.target_digest
    assert b.sn.stat(pulled.chain_id)
    statuses = _statuses(b.progress)
    for want in ("Pulling from bb", "Pulling fs layer", "Verifying Checksum", "Download complete",
                 "Extracting", "Pull complete"):
        assert want in statuses
    assert b.progress[-1].updated and b.progress[-1].digest == img.record.target_digest
    b.progress.clear()
    Puller(b.images).pull(f"{registry.address}/bb:1", b.progress.append, insecure=True)
    assert not b.progress[-1].updated


def _put_blob(client: httpx.Client, base: str, repo: str, data: bytes) -> str:
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    loc = client.post(f"{base}/v2/{repo}/blobs/uploads/").headers["location"]
    url = str(httpx.URL(base).join(loc))
    resp = client.put(f"{url}{'&' if '?' in url else '?'}digest={digest}", content=data)
    assert resp.status_code == 201, resp.text
    return digest


def test_pull_of_an_oci_index_chooses_linux_amd64(envs: tuple[Env, Env], registry: Registry,
                                                  busybox_tar: Path) -> None:
    _, b = envs
    base = f"http://{registry.address}"
    layer = busybox_tar.read_bytes()
    diff_id = "sha256:" + hashlib.sha256(layer).hexdigest()
    with httpx.Client() as client:
        manifests = []
        for arch in ("arm64", "amd64"):
            config = json.dumps({"architecture": arch, "os": "linux", "config": {"Cmd": [arch]},
                                 "rootfs": {"type": "layers", "diff_ids": [diff_id]}}).encode()
            layer_digest = _put_blob(client, base, "multi", layer)
            config_digest = _put_blob(client, base, "multi", config)
            manifest = json.dumps({
                "schemaVersion": 2, "mediaType": mt.OCI_MANIFEST,
                "config": {"mediaType": mt.OCI_CONFIG, "digest": config_digest, "size": len(config)},
                "layers": [{"mediaType": mt.OCI_LAYER, "digest": layer_digest, "size": len(layer)}],
            }).encode()
            digest = "sha256:" + hashlib.sha256(manifest).hexdigest()
            resp = client.put(f"{base}/v2/multi/manifests/{digest}", content=manifest,
                              headers={"Content-Type": mt.OCI_MANIFEST})
            assert resp.status_code == 201, resp.text
            manifests.append({"mediaType": mt.OCI_MANIFEST, "digest": digest, "size": len(manifest),
                              "platform": {"os": "linux", "architecture": arch}})
        index = json.dumps({"schemaVersion": 2, "mediaType": mt.OCI_INDEX, "manifests": manifests}).encode()
        resp = client.put(f"{base}/v2/multi/manifests/1", content=index,
                          headers={"Content-Type": mt.OCI_INDEX})
        assert resp.status_code == 201, resp.text
    Puller(b.images).pull(f"{registry.address}/multi:1", b.progress.append, insecure=True)
    img = b.images.get(f"{registry.address}/multi:1")
    assert json.loads(img.config)["architecture"] == "amd64"
    assert b.progress[-1].digest == "sha256:" + hashlib.sha256(index).hexdigest()
    with pytest.raises(errdefs.NotFound, match="no matching manifest for linux/s390x"):
        Puller(b.images).pull(f"{registry.address}/multi:1", b.progress.append, insecure=True,
                              platform="linux/s390x")


def test_pull_of_a_missing_tag(envs: tuple[Env, Env], registry: Registry) -> None:
    _, b = envs
    with pytest.raises(errdefs.NotFound, match=r"manifest for .*/nothing:1 not found: manifest unknown"):
        Puller(b.images).pull(f"{registry.address}/nothing:1", b.progress.append, insecure=True)


def test_export_is_a_docker_save_archive_that_loads_back(envs: tuple[Env, Env], busybox_tar: Path) -> None:
    a, b = envs
    with open(busybox_tar, "rb") as f:
        img = a.images.import_(f, ImportOptions("saved:1"))  # type: ignore[arg-type]
    out = io.BytesIO()
    export(a.images, ["saved:1"], out.write)
    out.seek(0)
    with tarfile.open(fileobj=out) as tf:
        manifest = json.load(tf.extractfile("manifest.json"))  # type: ignore[arg-type]
    hexid = img.record.config_digest.split(":")[1]
    assert manifest == [{"Config": f"{hexid}.json", "RepoTags": ["saved:1"],
                         "Layers": [f"{img.diff_ids[0].split(':')[1]}/layer.tar"]}]
    out.seek(0)
    loaded = b.images.load(out)
    assert [item.name for item in loaded] == ["saved:1"]
    assert b.images.get("saved:1").record.config_digest == img.record.config_digest
    assert read_blob(b.store, img.record.config_digest) == img.config
    with pytest.raises(errdefs.NotFound):
        export(a.images, ["nosuch:1"], out.write)
