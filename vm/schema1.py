"""Schema1 images for the tests: a signed manifest (``...distribution.manifest.v1+prettyjws``) put into
a docker-registry that has ``compatibility: schema1: enabled: true``.

The manifest is libtrust's "pretty" JWS: the JSON with a ``signatures`` array spliced in before its last
``}``; each signature's protected header holds ``formatLength``/``formatTail`` so a reader can cut the
signatures out again (that cut, the canonical payload, is what the manifest digest is taken over).
Signed RS256 with a fresh RSA key given as a JWK.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import json
import time
import urllib.request
from pathlib import Path
from typing import Any

from vm.pki import _openssl, make_ca, sign_rs256

MEDIA_TYPE = "application/vnd.docker.distribution.manifest.v1+prettyjws"
# A gzipped empty tar (two zero blocks), as docker puts under "throwaway" (metadata-only) layers.
EMPTY_LAYER = gzip.compress(b"\0" * 1024, mtime=0)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def sign(content: bytes, key_dir: Path) -> tuple[bytes, str]:
    """(signed manifest, its digest): the pretty JWS of ``content`` and sha256 of the canonical payload."""
    key = make_ca(key_dir, "schema1-signer")
    modulus = _openssl("rsa", "-in", str(key.key), "-noout", "-modulus").decode().strip().split("=", 1)[1]
    jwk = {"kty": "RSA", "n": _b64(bytes.fromhex(modulus)), "e": "AQAB"}
    close = len(content.rstrip()) - 1
    assert content[close:close + 1] == b"}"
    format_length = len(content[:close].rstrip())
    tail = content[format_length:]
    protected = _b64(json.dumps({"formatLength": format_length, "formatTail": _b64(tail),
                                 "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}).encode())
    signing_input = f"{protected}.{_b64(content)}".encode()
    signed_bytes = sign_rs256(key.key, signing_input)
    signature = {"header": {"jwk": jwk, "alg": "RS256"}, "signature": _b64(signed_bytes),
                 "protected": protected}
    signatures = json.dumps([signature], indent=3).replace("\n", "\n   ")
    signed = content[:format_length] + b',\n   "signatures": ' + signatures.encode() + tail
    return signed, _digest(content)


def manifest(name: str, tag: str, layers: list[tuple[str, dict[str, Any]]]) -> bytes:
    """The unsigned schema1 JSON (three-space indent, as docker wrote it). ``layers``: (blob digest, v1
    JSON) from the top layer down, the top one carrying the image's config."""
    doc = {"schemaVersion": 1, "name": name, "tag": tag, "architecture": "amd64",
           "fsLayers": [{"blobSum": d} for d, _ in layers],
           "history": [{"v1Compatibility": json.dumps(v1, separators=(",", ":"))} for _, v1 in layers]}
    return json.dumps(doc, indent=3).encode()


def put_image(registry_url: str, repo: str, tag: str, layer_tar_gz: bytes, work: Path,
              cmd: list[str] | None = None, old: bool = False) -> str:
    """Upload a one-layer image (plus a throwaway layer holding CMD) as schema1; returns the digest.
    ``old``: v1 JSON as a Docker before 1.8.3 wrote it (no docker_version; fields dockerd's v1 image
    struct drops, fills or reorders)."""
    cmd = cmd or ["sh"]
    layer_digest = _digest(layer_tar_gz)
    empty_digest = _digest(EMPTY_LAYER)
    for blob in (layer_tar_gz, EMPTY_LAYER):
        _upload(registry_url, repo, blob)
    base_id = hashlib.sha256(b"base" + layer_digest.encode()).hexdigest()
    top_id = hashlib.sha256(b"top" + base_id.encode()).hexdigest()
    base = {"id": base_id, "created": "2023-11-14T22:13:20Z",
            "container_config": {"Cmd": ["/bin/sh -c #(nop) ADD file:rootfs in / "]}}
    top = {"architecture": "amd64", "config": {"Cmd": cmd, "Env": ["PATH=/usr/sbin:/usr/bin:/sbin:/bin"]},
           "container_config": {"Cmd": ["/bin/sh -c #(nop)  CMD " + json.dumps(cmd)]},
           "created": "2023-11-14T22:13:21Z", "docker_version": "18.09.7", "id": top_id, "os": "linux",
           "parent": base_id, "throwaway": True}
    if old:
        del top["docker_version"]
        top.update({"container": "c" * 64, "Size": 0, "unknown_field": {"a": 1}, "author": "Ann <a@b>",
                    "config": {"Cmd": "sh", "Env": ["PATH=/usr/sbin:/usr/bin:/sbin:/bin"],
                               "ExposedPorts": {"80/tcp": {}}, "Labels": {"b": "2", "a": "1"},
                               "Hostname": "h", "workingdir": "/tmp"}})
    content = manifest(repo, tag, [(empty_digest, top), (layer_digest, base)])
    signed, digest = sign(content, work)
    req = urllib.request.Request(f"{registry_url}/v2/{repo}/manifests/{tag}", data=signed, method="PUT",
                                 headers={"Content-Type": MEDIA_TYPE})
    with urllib.request.urlopen(req, timeout=30) as resp:
        answered = resp.headers.get("Docker-Content-Digest", "")
    assert answered == digest, (answered, digest)
    return digest


def _upload(registry_url: str, repo: str, blob: bytes) -> None:
    req = urllib.request.Request(f"{registry_url}/v2/{repo}/blobs/uploads/", data=b"", method="POST")
    with urllib.request.urlopen(req, timeout=30) as resp:
        location = resp.headers["Location"]
    if location.startswith("/"):
        location = registry_url + location
    sep = "&" if "?" in location else "?"
    req = urllib.request.Request(f"{location}{sep}digest={_digest(blob)}", data=blob, method="PUT",
                                 headers={"Content-Type": "application/octet-stream"})
    urllib.request.urlopen(req, timeout=30).close()
