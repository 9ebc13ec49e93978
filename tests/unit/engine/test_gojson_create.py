# ruff: noqa: E501  (rows of recorded bodies and messages read best one per line)
"""ContainerCreate bodies reach the handler as dockerd's decoder leaves them (behaviour seen on dockerd 20.10).

dockerd decoded every body below (its answer came from later checks: image lookup, memory minimum...); the
decoded shapes follow Go's encoding/json rules and runconfig's getHostConfig.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from skiff import errdefs
from skiff.engine import gojson
from skiff.engine.bodies import check_for_json, decode_body
from skiff.engine.context import Services
from skiff.engine.gotypes import CONTAINER_CONFIG_WRAPPER

pytestmark = pytest.mark.unit


def decoded(body: bytes) -> Any:
    return decode_body("ContainerCreate", "application/json", body)


@pytest.mark.parametrize(("body", "expected"), [
    # StrSlice takes one string (Cmd, Entrypoint, Shell, CapAdd, CapDrop); nulls in a list become ""
    (b'{"Image":"b","Cmd":"echo hi","Entrypoint":["sh",null]}',
     {"Image": "b", "Cmd": ["echo hi"], "Entrypoint": ["sh", ""]}),
    (b'{"Image":"b","HostConfig":{"CapAdd":"NET_ADMIN"}}', {"Image": "b", "HostConfig": {"CapAdd": ["NET_ADMIN"]}}),
    # keys match case-insensitively, unknown keys are dropped
    (b'{"image":"b","HOSTCONFIG":{"memory":7},"Capabilities":1}', {"Image": "b", "HostConfig": {"Memory": 7}}),
    # duplicates: the last scalar wins, objects merge, null leaves a scalar unchanged
    (b'{"Image":"a","Image":null,"Labels":{"x":"1"},"Labels":{"y":null}}',
     {"Image": "a", "Labels": {"x": "1", "y": ""}}),
    (b'{"Image":"b","HostConfig":{"Memory":1},"HostConfig":{"CpuShares":2}}',
     {"Image": "b", "HostConfig": {"Memory": 1, "CpuShares": 2}}),
    (b'{"Image":"b","Env":null,"Tty":null}', {"Image": "b", "Env": None, "Tty": None}),
    # a fixed-size array drops extra elements unchecked and pads with zeros
    (b'{"Image":"b","HostConfig":{"ConsoleSize":[1,2,"x"]}}', {"Image": "b", "HostConfig": {"ConsoleSize": [1, 2]}}),
    (b'{"Image":"b","HostConfig":{"ConsoleSize":[5]}}', {"Image": "b", "HostConfig": {"ConsoleSize": [5, 0]}}),
    # the deprecated top-level HostConfig fields and Cpuset (runconfig getHostConfig)
    (b'{"Image":"b","Memory":5,"Binds":["/a:/a"]}', {"Image": "b", "HostConfig": {"Memory": 5, "Binds": ["/a:/a"]}}),
    (b'{"Image":"b","Memory":5,"Binds":["/a:/a"],"HostConfig":{"CpuShares":2}}',
     {"Image": "b", "HostConfig": {"CpuShares": 2, "Memory": 5}}),
    (b'{"Image":"b","Cpuset":"0-1","HostConfig":{}}', {"Image": "b", "HostConfig": {"CpusetCpus": "0-1"}}),
    # anything after the first value is not read
    (b'{"Image":"b"} trailing', {"Image": "b"}),
    # Go decodes invalid UTF-8 and lone surrogates as U+FFFD
    (b'{"Image":"b\xff","Env":["\\ud800"]}', {"Image": "b\ufffd", "Env": ["\ufffd"]}),
    (b'{"Image":null}', {"Image": None}),
    (b'{"Image":"b","NetworkingConfig":{"EndpointsConfig":{"n":null,"m":{"Aliases":["x"]}}}}',
     {"Image": "b", "NetworkingConfig": {"EndpointsConfig": {"n": None, "m": {"Aliases": ["x"]}}}}),
])
def test_decoded_body(body: bytes, expected: Any) -> None:
    assert decoded(body) == expected


def test_deep_but_valid_nesting_decodes() -> None:
    value = gojson.parse_first_value(b"[" * 5000 + b"]" * 5000)
    for _ in range(4999):
        value = value[0]
    assert value == []
    assert gojson.parse_first_value(b'{"":"x","k":[{"":""}]}') == [("", "x"), ("k", [[("", "")]])]


@pytest.mark.parametrize(("content_type", "body", "message"), [
    ("text/plain", b"{}", "Content-Type specified (text/plain) must be 'application/json'"),
    ("text/plain", b"", "Content-Type specified (text/plain) must be 'application/json'"),
    ("", b"{}", "Content-Type specified () must be 'application/json'"),
    ("application/x-tar", b"{}", "Content-Type specified (application/x-tar) must be 'application/json'"),
])
def test_content_type_must_be_json(content_type: str, body: bytes, message: str) -> None:
    with pytest.raises(errdefs.InvalidArgument) as info:
        check_for_json(content_type, body)
    assert str(info.value) == message


@pytest.mark.parametrize("content_type", ["application/json", "Application/JSON", "application/json; charset=utf-8"])
def test_json_content_types(content_type: str) -> None:
    check_for_json(content_type, b"{}")
    check_for_json("", b"")


def test_type_names() -> None:
    hc = dict(dict(CONTAINER_CONFIG_WRAPPER.fields)["HostConfig"].elem.fields)  # type: ignore[union-attr]
    assert gojson.type_name(hc["BlkioWeightDevice"]) == "[]*blkiodev.WeightDevice"
    assert gojson.type_name(hc["MemorySwappiness"]) == "int64"
    assert gojson.go_string(hc["MemorySwappiness"]) == "*int64"


class FakeContainers:
    def __init__(self) -> None:
        self.bodies: list[tuple[str | None, Any]] = []

    async def create(self, name: str | None, body: Any) -> dict[str, Any]:
        self.bodies.append((name, body))
        return {"Id": "0" * 64, "Warnings": []}


@pytest.fixture
def containers(fresh_services: Services) -> FakeContainers:
    fake = FakeContainers()
    fresh_services.containers = fake
    return fake


@pytest.mark.anyio
@pytest.mark.parametrize("anyio_backend", ["asyncio"])
async def test_create_over_http(client: httpx.AsyncClient, containers: FakeContainers) -> None:
    url = "/v1.39/containers/create"
    json_ct = {"Content-Type": "application/json"}
    r = await client.post(url, content=b"{bad", headers=json_ct)
    assert (r.status_code, r.json()) == (
        500, {"message": "invalid character 'b' looking for beginning of object key string"})
    assert r.headers["content-type"] == "application/json"
    r = await client.post(url, content=b"", headers=json_ct)
    assert (r.status_code, r.json()) == (500, {"message": "EOF"})
    r = await client.post(url, content=b"{}", headers=json_ct)
    assert (r.status_code, r.json()) == (400, {"message": "Config cannot be empty in order to create a container"})
    r = await client.post(url, content=b'{"Image":"b"}', headers={"Content-Type": "text/plain"})
    assert (r.status_code, r.json()) == (
        400, {"message": "Content-Type specified (text/plain) must be 'application/json'"})
    assert containers.bodies == []
    # accepted as dockerd accepts it: no jsonschema on a Go-decoded body (enum, string Cmd, bad name)
    body = b'{"image":"b","Cmd":"x","HostConfig":{"RestartPolicy":{"Name":"foo"},"MemorySwappiness":500}}'
    r = await client.post(url, params={"name": "bad/name"}, content=body, headers=json_ct)
    assert r.status_code == 201, r.text
    assert containers.bodies == [("bad/name", {
        "Image": "b", "Cmd": ["x"], "HostConfig": {"RestartPolicy": {"Name": "foo"}, "MemorySwappiness": 500}})]
