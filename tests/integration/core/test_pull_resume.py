"""A blob download cut off mid-way resumes with a Range request (dockerd's resumable layer download),
through a proxy in front of a real docker-registry that drops the first blob response half-way."""

from __future__ import annotations

import io
import os
import sys
import tarfile
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from skiff.core.content.local import LocalStore
from skiff.core.images.service import ImageService, ImportOptions
from skiff.core.leases import Leases
from skiff.core.metadata.store import MetadataStore
from skiff.core.remotes.pull import Puller
from skiff.core.remotes.push import Pusher
from skiff.core.snapshots.overlay import OverlaySnapshotter

sys.path.insert(0, str(Path(__file__).resolve().parents[3]))
from vm.registry import BINARY, Registry

pytestmark = [pytest.mark.root, pytest.mark.skipif(not Path(BINARY).exists(), reason="needs docker-registry")]


class CuttingProxy(ThreadingHTTPServer):
    """Forwards GET/HEAD to the registry; the first big blob answer stops after half its body."""

    daemon_threads = True

    def __init__(self, upstream: str) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.upstream = upstream
        self.cut = False
        self.ranges: list[str] = []


class _Handler(BaseHTTPRequestHandler):
    server: CuttingProxy
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: object) -> None:
        pass

    def _forward(self) -> None:
        headers = {k: v for k, v in self.headers.items() if k.lower() in ("accept", "range", "authorization")}
        if "range" in {k.lower() for k in headers}:
            self.server.ranges.append(self.headers["Range"])
        req = urllib.request.Request(f"http://{self.server.upstream}{self.path}", headers=headers,
                                     method=self.command)
        try:
            resp = urllib.request.urlopen(req, timeout=30)
        except urllib.error.HTTPError as err:
            resp = err
        body = resp.read()
        self.send_response(resp.status)
        for k, v in resp.headers.items():
            if k.lower() not in ("transfer-encoding", "connection", "content-length"):
                self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command == "HEAD":
            return
        if "/blobs/" in self.path and len(body) > 1 << 20 and not self.server.cut:
            self.server.cut = True
            self.wfile.write(body[: len(body) // 2])
            self.wfile.flush()
            self.close_connection = True
            return
        self.wfile.write(body)

    do_GET = _forward
    do_HEAD = _forward


@pytest.fixture
def setup(workdir: Path) -> Iterator[tuple[Registry, CuttingProxy, ImageService, ImageService]]:
    closers = []
    services = []
    for name in ("a", "b"):
        sn, meta = OverlaySnapshotter(workdir / name / "snapshots"), MetadataStore(workdir / name / "m.db")
        closers += [sn.close, meta.close]
        store = LocalStore(workdir / name / "content")
        services.append(ImageService(store, sn, meta, Leases(), lambda _e: None))
    with Registry() as reg:
        proxy = CuttingProxy(reg.address)
        thread = threading.Thread(target=proxy.serve_forever, daemon=True)
        thread.start()
        try:
            yield reg, proxy, services[0], services[1]
        finally:
            proxy.shutdown()
            proxy.server_close()
            for close in closers:
                close()


def test_a_layer_cut_off_half_way_is_resumed_with_a_range(
        setup: tuple[Registry, CuttingProxy, ImageService, ImageService]) -> None:
    reg, proxy, a, b = setup
    payload = os.urandom(3 << 20)
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tf:
        info = tarfile.TarInfo("random.bin")
        info.size = len(payload)
        tf.addfile(info, io.BytesIO(payload))
    buf.seek(0)
    a.import_(buf, ImportOptions(f"{reg.address}/cut:1"))
    Pusher(a).push(f"{reg.address}/cut:1", lambda _p: None, insecure=True)
    via = f"127.0.0.1:{proxy.server_address[1]}/cut:1"
    Puller(b).pull(via, lambda _p: None, insecure=True)
    assert proxy.cut
    assert len(proxy.ranges) == 1 and proxy.ranges[0].startswith("bytes=") and proxy.ranges[0] != "bytes=0-"
    assert b.get(via).record.config_digest == a.get(f"{reg.address}/cut:1").record.config_digest
