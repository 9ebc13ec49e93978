"""kill -9 of skiff-containerd in the middle of a pull: after a restart no partial image is listed, no
unverified blob is kept, and the same pull completes."""

from __future__ import annotations

import asyncio
import hashlib
import io
import json
import os
import signal
import sys
import tarfile
import time
from pathlib import Path

import httpx
import pytest
from skiff.core.client import CoreClient
from skiff.core.images import mediatypes as mt
from skiff.core.transfer_client import TransferClient
from test_daemon import Daemon, run

sys.path.insert(0, str(Path(__file__).resolve().parents[3]))
from vm.registry import BINARY, Registry

pytestmark = [pytest.mark.root, pytest.mark.skipif(not Path(BINARY).exists(), reason="needs docker-registry")]
LAYER_MB = 160


def _put_blob(client: httpx.Client, base: str, repo: str, data: bytes) -> str:
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    url = str(httpx.URL(base).join(client.post(f"{base}/v2/{repo}/blobs/uploads/").headers["location"]))
    resp = client.put(f"{url}{'&' if '?' in url else '?'}digest={digest}", content=data)
    assert resp.status_code == 201, resp.text
    return digest


def _push_big_image(registry: Registry) -> None:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tf:
        info = tarfile.TarInfo("big.bin")
        info.size = LAYER_MB << 20
        tf.addfile(info, io.BytesIO(os.urandom(info.size)))
    layer = buf.getvalue()
    base = f"http://{registry.address}"
    config = json.dumps({"architecture": "amd64", "os": "linux", "config": {},
                         "rootfs": {"type": "layers",
                                    "diff_ids": ["sha256:" + hashlib.sha256(layer).hexdigest()]}}).encode()
    with httpx.Client(timeout=60) as client:
        layer_digest = _put_blob(client, base, "big", layer)
        config_digest = _put_blob(client, base, "big", config)
        manifest = json.dumps({
            "schemaVersion": 2, "mediaType": mt.DOCKER_MANIFEST,
            "config": {"mediaType": mt.DOCKER_CONFIG, "digest": config_digest, "size": len(config)},
            "layers": [{"mediaType": mt.DOCKER_LAYER, "digest": layer_digest, "size": len(layer)}],
        }).encode()
        resp = client.put(f"{base}/v2/big/manifests/1", content=manifest,
                          headers={"Content-Type": mt.DOCKER_MANIFEST})
        assert resp.status_code == 201, resp.text


def test_kill_9_in_the_middle_of_a_pull(workdir: Path) -> None:
    d = Daemon(workdir / "containerd.sock", workdir / "root", workdir / "state")
    with Registry() as registry:
        _push_big_image(registry)
        d.start()
        try:
            ingest = d.root / "content" / "ingest"
            blobs = d.root / "content" / "blobs" / "sha256"

            async def pull_until_ingesting() -> None:
                c = CoreClient(str(d.address))
                stream = TransferClient.of(c).pull(f"{registry.address}/big:1", insecure=True)
                task = asyncio.ensure_future(anext(stream))
                deadline = time.monotonic() + 30
                while time.monotonic() < deadline:
                    if any(p.stat().st_size > 0 for p in ingest.iterdir()):
                        break
                    await asyncio.sleep(0.005)
                assert d.proc is not None
                os.kill(d.proc.pid, signal.SIGKILL)
                d.proc.wait()
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)
                await c.close()

            run(pull_until_ingesting())
            d.proc = None
            d.address.unlink()  # the killed daemon's socket: start() waits for the new one
            d.start()

            async def after_restart() -> None:
                c = CoreClient(str(d.address))
                assert await c.images_list() == []
                assert list(ingest.iterdir()) == []
                for blob in blobs.iterdir():  # anything kept is complete and verified
                    assert "sha256:" + hashlib.sha256(blob.read_bytes()).hexdigest() == "sha256:" + blob.name
                ref = f"{registry.address}/big:1"
                lines = [p async for p in TransferClient.of(c).pull(ref, insecure=True)]
                assert lines[-1].digest.startswith("sha256:")
                digest = lines[-1].digest  # the tag, and repo@digest as dockerd records it
                assert sorted(i.name for i in await c.images_list()) == sorted(
                    [f"{registry.address}/big:1", f"{registry.address}/big@{digest}"])
                await c.close()

            run(after_restart())
        finally:
            d.stop()
