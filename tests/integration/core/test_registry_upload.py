"""Chunked, resumable blob uploads (PATCH with Content-Range, then PUT ?digest=) against a real
docker-registry, and a push that takes that path end to end."""

from __future__ import annotations

import hashlib
import io
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from skiff.core.content.local import LocalStore
from skiff.core.images.service import ImageService, ImportOptions
from skiff.core.leases import Leases
from skiff.core.metadata.store import MetadataStore
from skiff.core.remotes.progress import Progress
from skiff.core.remotes.pull import Puller
from skiff.core.remotes.push import Pusher
from skiff.core.remotes.registry import Registry as Client
from skiff.core.snapshots.overlay import OverlaySnapshotter

sys.path.insert(0, str(Path(__file__).resolve().parents[3]))
from vm.registry import BINARY, Registry

pytestmark = [pytest.mark.root, pytest.mark.skipif(not Path(BINARY).exists(), reason="needs docker-registry")]

MiB = 1 << 20


@pytest.fixture(scope="module")
def registry() -> Iterator[Registry]:
    with Registry() as reg:
        yield reg


class Recording(Client):
    """A client that records its requests and, when told, loses the connection on one PATCH (the lowest
    edge: what a dropped TCP connection looks like to httpx)."""

    def __init__(self, domain: str, fail_patch: int = 0) -> None:
        super().__init__(domain, insecure=True)
        self.calls: list[tuple[str, str]] = []
        self.fail_patch = fail_patch

    def request(self, method: str, path: str, scope: str, **kwargs: Any) -> httpx.Response:
        headers = kwargs.get("headers") or {}
        self.calls.append((method, str(headers.get("Content-Range", ""))))
        if method == "PATCH" and sum(1 for m, _ in self.calls if m == "PATCH") == self.fail_patch:
            raise httpx.ConnectError("connection reset by peer")
        return super().request(method, path, scope, **kwargs)


def _blob(size: int) -> tuple[bytes, str]:
    data = os.urandom(size)
    return data, "sha256:" + hashlib.sha256(data).hexdigest()


def test_chunked_upload_sends_content_ranges_then_commits(registry: Registry) -> None:
    data, digest = _blob(3 * MiB + 123)
    with Recording(registry.address) as reg:
        _, location = reg.start_upload("chunks/a")
        seen: list[int] = []
        reg.upload_chunks("chunks/a", location, io.BytesIO(data), len(data), digest, MiB, seen.append)
        patches = [rng for m, rng in reg.calls if m == "PATCH"]
        assert patches == ["0-1048575", "1048576-2097151", "2097152-3145727", f"3145728-{len(data) - 1}"]
        assert seen == [MiB, 2 * MiB, 3 * MiB, len(data)]
        assert reg.calls[-1][0] == "PUT"
        assert reg.get_blob("chunks/a", digest) == data


def test_a_lost_chunk_is_resumed_from_what_the_registry_holds(registry: Registry) -> None:
    data, digest = _blob(4 * MiB)
    with Recording(registry.address, fail_patch=3) as reg:
        _, location = reg.start_upload("chunks/b")
        reg.upload_chunks("chunks/b", location, io.BytesIO(data), len(data), digest, MiB)
        methods = [m for m, _ in reg.calls]
        assert "GET" in methods  # the upload's status, after the lost PATCH
        assert reg.get_blob("chunks/b", digest) == data


def test_another_client_resumes_an_upload_from_its_status(registry: Registry) -> None:
    data, digest = _blob(3 * MiB)
    with Client(registry.address, insecure=True) as first:
        _, location = first.start_upload("chunks/c")
        resp = first.request("PATCH", location, "repository:chunks/c:pull,push", content=data[: 2 * MiB],
                             headers={"Content-Type": "application/octet-stream",
                                      "Content-Range": f"0-{2 * MiB - 1}"})
        assert resp.status_code == 202
        location = resp.headers["location"]
    with Client(registry.address, insecure=True) as second:
        location, held = second.upload_status("chunks/c", location)
        assert held == 2 * MiB
        second.upload_chunks("chunks/c", location, io.BytesIO(data), len(data), digest, MiB, offset=held)
        assert second.get_blob("chunks/c", digest) == data


def test_push_in_chunks_then_pull(registry: Registry, workdir: Path) -> None:
    def service(root: Path) -> tuple[ImageService, OverlaySnapshotter, MetadataStore]:
        sn, meta = OverlaySnapshotter(root / "snapshots"), MetadataStore(root / "metadata.db")
        return ImageService(LocalStore(root / "content"), sn, meta, Leases(), lambda _e: None), sn, meta

    a, sn_a, meta_a = service(workdir / "a")
    b, sn_b, meta_b = service(workdir / "b")
    try:
        payload = os.urandom(2 * MiB + 7)
        buf = io.BytesIO()
        import tarfile

        with tarfile.open(fileobj=buf, mode="w") as tf:
            info = tarfile.TarInfo("random.bin")
            info.size = len(payload)
            tf.addfile(info, io.BytesIO(payload))
        buf.seek(0)
        ref = f"{registry.address}/chunks/img:1"
        a.import_(buf, ImportOptions(ref))
        progress: list[Progress] = []
        Pusher(a, chunked_min=1, chunk_size=512 * 1024).push(ref, progress.append, insecure=True)
        assert "Pushed" in [p.status for p in progress]
        Puller(b).pull(ref, lambda _p: None, insecure=True)
        assert b.get(ref).record.target_digest == a.get(ref).record.target_digest
    finally:
        for sn, meta in ((sn_a, meta_a), (sn_b, meta_b)):
            sn.close()
            meta.close()
