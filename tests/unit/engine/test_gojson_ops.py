# ruff: noqa: E501  (rows of recorded bodies and messages read best one per line)
"""The other Go-decoded bodies: answers recorded from dockerd 20.10.24 for an unknown container/exec id.

A row with ``None`` is a body dockerd decoded (it answered "No such container"/"No such exec instance").
"""

from __future__ import annotations

import pytest
from skiff import errdefs
from skiff.engine.bodies import _NO_BODY, decode_body

pytestmark = pytest.mark.unit


def answer(op_id: str, body: bytes) -> tuple[int, str] | None:
    try:
        decode_body(op_id, "application/json", body)
    except errdefs.InvalidArgument as err:
        return 400, str(err)
    except errdefs.Unknown as err:
        return 500, str(err)
    return None


ROWS = [
    ("ContainerUpdate", b'{"Memory":"x"}', (500, "json: cannot unmarshal string into Go struct field UpdateConfig.Memory of type int64")),
    ("ContainerUpdate", b'{"RestartPolicy":{"Name":1}}', (500, "json: cannot unmarshal number into Go struct field RestartPolicy.RestartPolicy.Name of type string")),
    ("ContainerUpdate", b'{"CpuShares":1.5}', (500, "json: cannot unmarshal number 1.5 into Go struct field UpdateConfig.CpuShares of type int64")),
    ("ContainerUpdate", b'1', (500, "json: cannot unmarshal number into Go value of type container.UpdateConfig")),
    ("ContainerUpdate", b'{"Ulimits":[{"Hard":"x"}]}', (500, "json: cannot unmarshal string into Go struct field Ulimit.Ulimits.Hard of type int64")),
    ("ContainerUpdate", b'{"BlkioWeight":-1}', (500, "json: cannot unmarshal number -1 into Go struct field UpdateConfig.BlkioWeight of type uint16")),
    ("ContainerUpdate", b'{bad', (500, "invalid character 'b' looking for beginning of object key string")),
    ("ContainerUpdate", b'', (500, "EOF")),
    ("ContainerUpdate", b'{}', None),
    ("ContainerUpdate", b'{"memory":1}', None),
    ("ContainerUpdate", b'{"Memory":1} x', None),
    ("ContainerExec", b'{"Cmd":"x"}', (400, "json: cannot unmarshal string into Go struct field ExecConfig.Cmd of type []string")),
    ("ContainerExec", b'{"Cmd":[1]}', (400, "json: cannot unmarshal number into Go struct field ExecConfig.Cmd of type string")),
    ("ContainerExec", b'{"Tty":1}', (400, "json: cannot unmarshal number into Go struct field ExecConfig.Tty of type bool")),
    ("ContainerExec", b'{"Env":"x"}', (400, "json: cannot unmarshal string into Go struct field ExecConfig.Env of type []string")),
    ("ContainerExec", b'1', (400, "json: cannot unmarshal number into Go value of type types.ExecConfig")),
    ("ContainerExec", b'{}', (400, "No exec command specified")),
    ("ContainerExec", b'null', (400, "No exec command specified")),
    ("ContainerExec", b'{bad', (400, "invalid character 'b' looking for beginning of object key string")),
    ("ContainerExec", b'', (400, "got EOF while reading request body")),
    ("ContainerExec", b'{"DetachKeys":1}', (400, "json: cannot unmarshal number into Go struct field ExecConfig.DetachKeys of type string")),
    ("ContainerExec", b'{"Cmd":["sh"]} x', None),
    ("ExecStart", b'{"Detach":1}', (400, "json: cannot unmarshal number into Go struct field ExecStartCheck.Detach of type bool")),
    ("ExecStart", b'{"Tty":"x"}', (400, "json: cannot unmarshal string into Go struct field ExecStartCheck.Tty of type bool")),
    ("ExecStart", b'1', (400, "json: cannot unmarshal number into Go value of type types.ExecStartCheck")),
    ("ExecStart", b'{bad', (400, "invalid character 'b' looking for beginning of object key string")),
    ("ExecStart", b'', (400, "got EOF while reading request body")),
    ("ExecStart", b'{}', None),
    ("ExecStart", b'null', None),
    ("ExecStart", b'{"ConsoleSize":1}', None),
    ("ImageCommit", b'{"Image":1}', (500, "json: cannot unmarshal number into Go struct field ContainerConfigWrapper.Image of type string")),
    ("ImageCommit", b'{"HostConfig":{"Memory":"x"}}', (500, "json: cannot unmarshal string into Go struct field HostConfig.HostConfig.Memory of type int64")),
    ("ImageCommit", b'{"Cmd":1}', (500, "json: cannot unmarshal number into Go struct field ContainerConfigWrapper.Cmd of type string")),
    ("ImageCommit", b'1', (500, "json: cannot unmarshal number into Go value of type runconfig.ContainerConfigWrapper")),
    ("ImageCommit", b'{bad', (500, "invalid character 'b' looking for beginning of object key string")),
    ("ImageCommit", b'{}', None),
    ("ImageCommit", b'null', None),
    ("ImageCommit", b'', None),
]


@pytest.mark.parametrize(("op_id", "body", "expected"), ROWS, ids=[f"{o}-{b[:24]!r}" for o, b, _e in ROWS])
def test_as_dockerd(op_id: str, body: bytes, expected: tuple[int, str] | None) -> None:
    assert answer(op_id, body) == expected


def test_decoded_shapes() -> None:
    assert decode_body("ImageCommit", "", b"") is _NO_BODY
    assert decode_body("ImageCommit", "application/json", b'{"cmd":"x","Memory":5,"HostConfig":{}}') == {"Cmd": ["x"]}
    assert decode_body("ImageCommit", "application/json", b'{"Memory":5}') is None
    assert decode_body("ContainerExec", "application/json", b'{"cmd":["sh"],"ConsoleSize":[1,2]}') == {"Cmd": ["sh"]}
    assert decode_body("ContainerUpdate", "application/json", b'{"memory":7,"restartpolicy":{"name":"no"}}') == {
        "Memory": 7, "RestartPolicy": {"Name": "no"}}
