"""Docker schema1 manifests (``...manifest.v1+prettyjws``): read them and make the image config dockerd
20.10 makes from them, byte for byte, so the image ID (the config's digest) is the same.

A signed schema1 manifest is libtrust's "pretty" JWS: the payload with a ``signatures`` array spliced in;
each signature's protected header says how long the payload is (``formatLength``) and what followed it
(``formatTail``). The manifest digest is taken over that canonical payload, not the bytes served.
Signatures are not checked (dockerd 20.10 does not either). ``fsLayers``/``history`` run from the top
layer down; history entries marked ``throwaway`` have no layer of their own.

The config is dockerd's ``MakeConfigFromV1Config``: the top ``v1Compatibility`` object without ``id``,
``parent``, ``Size``, ``parent_id``, ``layer_id`` and ``throwaway``, plus ``rootfs`` and ``history``, the
keys sorted and every other value kept as its original JSON text, compacted (Go's ``json.RawMessage``).
dockerd first re-encodes manifests whose ``docker_version`` is below 1.8.3 (or missing) through its v1
image struct; so does Skiff (v1image.py).
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from dataclasses import dataclass
from typing import Any

from skiff import errdefs
from skiff.core.remotes import v1image

SIGNED = "application/vnd.docker.distribution.manifest.v1+prettyjws"
UNSIGNED = "application/vnd.docker.distribution.manifest.v1+json"
MEDIA_TYPES = (SIGNED, UNSIGNED)
_DROPPED = ("id", "parent", "Size", "parent_id", "layer_id", "throwaway")
_DECODER = json.JSONDecoder()
_FRACTION = re.compile(r"^(.*T\d\d:\d\d:\d\d)(?:\.(\d+))?(.*)$")


@dataclass(frozen=True)
class V1Layer:
    blob: str  # the fsLayers blobSum
    v1: str  # the raw v1Compatibility JSON
    throwaway: bool


def _b64decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def is_schema1(media_type: str, data: bytes) -> bool:
    if media_type in MEDIA_TYPES:
        return True
    if media_type not in ("", "application/json", "text/plain"):
        return False
    try:
        return bool(json.loads(data).get("schemaVersion") == 1)
    except (ValueError, AttributeError):
        return False


def canonical(data: bytes) -> bytes:
    """The signed payload: ``data`` cut at ``formatLength`` plus ``formatTail`` (``data`` itself when
    unsigned)."""
    try:
        doc = json.loads(data)
    except ValueError:
        raise errdefs.InvalidArgument("invalid schema1 manifest: not JSON") from None
    signatures = doc.get("signatures") if isinstance(doc, dict) else None
    if not signatures:
        return data
    try:
        protected = json.loads(_b64decode(str(signatures[0]["protected"])))
        length = int(protected["formatLength"])
        tail = _b64decode(str(protected["formatTail"]))
    except (KeyError, TypeError, ValueError, IndexError, binascii.Error):
        raise errdefs.InvalidArgument("invalid schema1 manifest: bad signature header") from None
    if not 0 < length <= len(data):
        raise errdefs.InvalidArgument("invalid schema1 manifest: formatLength out of range")
    return data[:length] + tail


def layers(data: bytes) -> list[V1Layer]:
    """The layers from the top down, with dockerd's checks (``fixManifestLayers``): one history entry per
    layer, each entry's parent the next one's ID, repeated IDs collapsed."""
    try:
        doc = json.loads(canonical(data))
        fs = [str(f["blobSum"]) for f in doc["fsLayers"]]
        hist = [str(h["v1Compatibility"]) for h in doc["history"]]
    except (KeyError, TypeError, ValueError):
        raise errdefs.InvalidArgument("invalid schema1 manifest") from None
    name = doc.get("name")
    if doc.get("schemaVersion") != 1:
        raise errdefs.InvalidArgument(f"unsupported schema version {doc.get('schemaVersion')} for {name!r}")
    if len(fs) != len(hist):
        raise errdefs.InvalidArgument(f"length of history not equal to number of layers for {name!r}")
    if not fs:
        raise errdefs.InvalidArgument(f"no FSLayers in manifest for {name!r}")
    v1s: list[dict[str, Any]] = []
    for raw in hist:
        try:
            v1 = json.loads(raw)
        except ValueError:
            raise errdefs.InvalidArgument("invalid schema1 manifest: bad v1Compatibility") from None
        if not isinstance(v1, dict):
            raise errdefs.InvalidArgument("invalid schema1 manifest: bad v1Compatibility")
        v1s.append(v1)
    out = [V1Layer(b, h, bool(v.get("throwaway"))) for b, h, v in zip(fs, hist, v1s, strict=True)]
    ids = [str(v.get("id", "")) for v in v1s]
    if str(v1s[-1].get("parent") or ""):
        raise errdefs.InvalidArgument("invalid parent ID in the base layer of the image")
    keep = []
    for i, layer in enumerate(out):
        if i + 1 < len(out):
            if ids[i] == ids[i + 1]:
                continue  # a repeated layer (docker pushed some twice)
            if str(v1s[i].get("parent") or "") != ids[i + 1]:
                raise errdefs.InvalidArgument(f"invalid parent ID. Expected {ids[i + 1]}, got "
                                              f"{v1s[i].get('parent')}")
        keep.append(layer)
    return keep


def history_entry(v1_raw: str, empty: bool) -> dict[str, Any]:
    """dockerd's ``HistoryFromConfig``: created, author, created_by (the container Cmd), comment."""
    v1 = json.loads(v1_raw)
    cmd = (v1.get("container_config") or {}).get("Cmd") or []
    entry: dict[str, Any] = {"created": go_time(str(v1.get("created") or ""))}
    if v1.get("author"):
        entry["author"] = str(v1["author"])
    if cmd:
        entry["created_by"] = " ".join(str(c) for c in cmd)
    if v1.get("comment"):
        entry["comment"] = str(v1["comment"])
    if empty:
        entry["empty_layer"] = True
    return entry


def go_time(value: str) -> str:
    """A timestamp as Go's time.Time marshals it again (RFC 3339, fraction without trailing zeros)."""
    if not value:
        return "0001-01-01T00:00:00Z"
    m = _FRACTION.match(value)
    if m is None:
        return value
    head, fraction, zone = m.groups()
    fraction = (fraction or "").rstrip("0")
    return f"{head}{'.' + fraction if fraction else ''}{zone}"


def make_config(top_v1: str, diff_ids: list[str], history: list[dict[str, Any]]) -> bytes:
    """The image config, as dockerd writes it (see the module docstring)."""
    v1 = json.loads(top_v1)
    found, version = v1image.lookup(v1, "docker_version") if isinstance(v1, dict) else (False, "")
    if isinstance(v1, dict) and v1image.version_less(str(version or "") if found else "", "1.8.3"):
        # dockerd re-encodes these through its v1 image struct first
        values = {k: _go_json(v) for k, v in v1image.reencode(v1, go_time)}
    else:
        values = dict(_raw_members(top_v1))
    for key in _DROPPED:
        values.pop(key, None)
    rootfs: dict[str, Any] = {"type": "layers"}
    if diff_ids:
        rootfs["diff_ids"] = diff_ids
    values["rootfs"] = _go_json(rootfs)
    values["history"] = _go_json(history)
    body = ",".join(f"{_go_json(k)}:{v}" for k, v in sorted(values.items(), key=lambda kv: kv[0].encode()))
    return ("{" + body + "}").encode()


def _go_json(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return _escape_html(text)


def _escape_html(text: str) -> str:
    return (text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
            .replace("\u2028", "\\u2028").replace("\u2029", "\\u2029"))


def _raw_members(text: str) -> list[tuple[str, str]]:
    """The members of a JSON object, each value as its own compacted JSON text."""
    i = _skip(text, 0)
    if text[i:i + 1] != "{":
        raise errdefs.InvalidArgument("invalid schema1 manifest: v1Compatibility is not an object")
    i = _skip(text, i + 1)
    out: list[tuple[str, str]] = []
    if text[i:i + 1] == "}":
        return out
    while True:
        key, i = _DECODER.raw_decode(text, i)
        i = _skip(text, i)
        if text[i:i + 1] != ":":
            raise errdefs.InvalidArgument("invalid schema1 manifest: bad v1Compatibility")
        start = _skip(text, i + 1)
        _, end = _DECODER.raw_decode(text, start)
        out.append((str(key), _compact(text[start:end])))
        i = _skip(text, end)
        if text[i:i + 1] == "}":
            return out
        if text[i:i + 1] != ",":
            raise errdefs.InvalidArgument("invalid schema1 manifest: bad v1Compatibility")
        i = _skip(text, i + 1)


def _skip(text: str, i: int) -> int:
    while i < len(text) and text[i] in " \t\r\n":
        i += 1
    return i


def _compact(raw: str) -> str:
    """Go's json.Compact with HTML escaping: whitespace outside strings goes, strings stay as written."""
    out: list[str] = []
    in_string = escaped = False
    for ch in raw:
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
            out.append(_escape_html(ch))
        elif ch == '"':
            in_string = True
            out.append(ch)
        elif ch not in " \t\r\n":
            out.append(ch)
    return "".join(out)
