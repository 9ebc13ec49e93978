"""Schema1 manifests (the canonical payload, dockerd's layer checks, its image config bytes) and certs.d."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest
from skiff import errdefs
from skiff.core.remotes import schema1
from skiff.core.remotes.certs import host_dir

pytestmark = pytest.mark.unit

BASE = "a" * 64
TOP = "b" * 64


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _manifest(history: list[dict[str, object]], blobs: list[str]) -> bytes:
    doc = {"schemaVersion": 1, "name": "x/y", "tag": "1", "architecture": "amd64",
           "fsLayers": [{"blobSum": b} for b in blobs],
           "history": [{"v1Compatibility": json.dumps(h)} for h in history]}
    return json.dumps(doc, indent=3).encode()


def _signed(content: bytes) -> bytes:
    length = len(content[: len(content.rstrip()) - 1].rstrip())
    protected = _b64(json.dumps({"formatLength": length, "formatTail": _b64(content[length:])}).encode())
    sig = json.dumps([{"header": {"alg": "RS256"}, "signature": "xx", "protected": protected}])
    return content[:length] + b',\n   "signatures": ' + sig.encode() + content[length:]


def test_the_canonical_payload_drops_the_signatures() -> None:
    content = _manifest([{"id": BASE}], ["sha256:" + "1" * 64])
    assert schema1.canonical(_signed(content)) == content
    assert schema1.canonical(content) == content


def test_layers_run_top_down_and_repeated_ids_collapse() -> None:
    history = [{"id": TOP, "parent": BASE, "throwaway": True}, {"id": BASE}, {"id": BASE}]
    layers = schema1.layers(_signed(_manifest(history, ["sha256:t", "sha256:b", "sha256:b"])))
    assert [(v.blob, v.throwaway) for v in layers] == [("sha256:t", True), ("sha256:b", False)]


@pytest.mark.parametrize(("history", "message"), [
    ([{"id": TOP, "parent": "c" * 64}, {"id": BASE}], "invalid parent ID. Expected"),
    ([{"id": BASE, "parent": TOP}], "invalid parent ID in the base layer"),
])
def test_a_broken_parent_chain_is_refused(history: list[dict[str, object]], message: str) -> None:
    with pytest.raises(errdefs.InvalidArgument, match=message):
        schema1.layers(_manifest(history, ["sha256:x"] * len(history)))


def test_the_config_is_dockerds_bytes() -> None:
    top = ('{"id":"' + TOP + '", "parent":"' + BASE + '", "os":"linux", "created":"2023-11-14T22:13:21.500Z",'
           ' "config":{"Cmd":["sh"], "Env":["A=<b>"]}, "architecture":"amd64", "throwaway":true, "Size":3,'
           ' "docker_version":"18.09.7"}')
    base = '{"created":"2023-11-14T22:13:20Z","container_config":{"Cmd":["a","b"]}}'
    history = [schema1.history_entry(base, False), schema1.history_entry(top, True)]
    config = schema1.make_config(top, ["sha256:" + "d" * 64], history)
    assert config == (
        b'{"architecture":"amd64","config":{"Cmd":["sh"],"Env":["A=\\u003cb\\u003e"]},'
        b'"created":"2023-11-14T22:13:21.500Z","docker_version":"18.09.7",'
        b'"history":[{"created":"2023-11-14T22:13:20Z",'
        b'"created_by":"a b"},{"created":"2023-11-14T22:13:21.5Z","empty_layer":true}],"os":"linux",'
        b'"rootfs":{"type":"layers","diff_ids":["sha256:' + b"d" * 64 + b'"]}}'
    )


def test_certs_d_names_no_directory_outside_its_roots() -> None:
    assert host_dir("..") is None
    assert host_dir("a/../../etc") is None


def test_certs_d_loads_the_cas_of_the_host_and_skips_verification_when_insecure(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import ssl
    import subprocess

    from skiff.core.remotes.certs import tls_context

    d = tmp_path / "192.0.2.9:5000"
    d.mkdir()
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-subj", "/CN=t", "-keyout", str(tmp_path / "k"), "-out", str(d / "ca.crt")],
                   check=True, capture_output=True)
    monkeypatch.setenv("SKIFF_CERTS_D", str(tmp_path))
    base = len(ssl.create_default_context().get_ca_certs())
    ctx = tls_context("192.0.2.9:5000", insecure=False)
    assert len(ctx.get_ca_certs()) == base + 1
    assert ctx.verify_mode == ssl.CERT_REQUIRED
    assert tls_context("192.0.2.9:5000", insecure=True).verify_mode == ssl.CERT_NONE
    (d / "client.cert").write_text("x")
    with pytest.raises(errdefs.Unknown, match=r"missing key client\.key"):
        tls_context("192.0.2.9:5000", insecure=False)


def test_before_docker_1_8_3_the_config_goes_through_dockerds_v1_image_struct() -> None:
    top = json.dumps({"id": TOP, "created": "2015-01-01T00:00:00.000Z", "Size": 7, "junk": 1,
                      "config": {"cmd": "sh", "Labels": {"b": "2", "a": "1"}, "StopTimeout": 0},
                      "container_config": {"Cmd": ["x"]}})
    config = json.loads(schema1.make_config(top, [], []), object_pairs_hook=list)
    keys = [k for k, _ in config]
    assert keys == ["config", "container_config", "created", "history", "rootfs"]  # junk, Size, id gone
    cfg = dict(config)["config"]
    assert [k for k, _ in cfg] == [
        "Hostname", "Domainname", "User", "AttachStdin", "AttachStdout", "AttachStderr", "Tty", "OpenStdin",
        "StdinOnce", "Env", "Cmd", "Image", "Volumes", "WorkingDir", "Entrypoint", "OnBuild", "Labels",
        "StopTimeout"]
    assert dict(cfg)["Cmd"] == ["sh"] and dict(cfg)["Labels"] == [("a", "1"), ("b", "2")]
    assert dict(config)["created"] == "2015-01-01T00:00:00Z"
    new = json.dumps({"docker_version": "1.8.3", "junk": 1})
    assert json.loads(schema1.make_config(new, [], []))["junk"] == 1
