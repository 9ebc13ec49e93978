# ruff: noqa: E501  (rows of recorded bodies and messages read best one per line)
"""Go's encoding/json messages, each expected answer recorded from dockerd 20.10.24 (go1.19.8).

Every row was sent as the body of POST /v1.39/containers/create to the reference daemon; dockerd answers
a decode failure as 500 with Go's ``err.Error()``, a wrapper without any container.Config field as 400.
"""

from __future__ import annotations

import pytest
from skiff import errdefs
from skiff.engine import gojson
from skiff.engine.bodies import decode_body

pytestmark = pytest.mark.unit


def answer(body: bytes) -> tuple[int, str] | None:
    """What skiff answers for this ContainerCreate body, as (status, message); None if it is accepted."""
    try:
        decode_body("ContainerCreate", "application/json", body)
    except errdefs.InvalidArgument as err:
        return 400, str(err)
    except errdefs.Unknown as err:
        return 500, str(err)
    return None


SYNTAX = [
    (b'{bad', 500, "invalid character 'b' looking for beginning of object key string"),
    (b'', 500, 'EOF'),
    (b'  \n\t', 500, 'EOF'),
    (b'{', 500, 'unexpected EOF'),
    (b'{"Image":', 500, 'unexpected EOF'),
    (b'[', 500, 'unexpected EOF'),
    (b'{"Image":"busybox"', 500, 'unexpected EOF'),
    (b'{"Image" 1}', 500, "invalid character '1' after object key"),
    (b'{"Image":1 2}', 500, "invalid character '2' after object key:value pair"),
    (b'[1 2]', 500, "invalid character '2' after array element"),
    (b'{"Image":"a\tb"}', 500, "invalid character '\\t' in string literal"),
    (b'{"Image":"\\q"}', 500, "invalid character 'q' in string escape code"),
    (b'{"Image":"\\u12x4"}', 500, "invalid character 'x' in \\u hexadecimal character escape"),
    (b'{"Image":-x}', 500, "invalid character 'x' in numeric literal"),
    (b'{"Image":1.x}', 500, "invalid character 'x' after decimal point in numeric literal"),
    (b'{"Image":1ex}', 500, "invalid character 'x' in exponent of numeric literal"),
    (b'{"Image":1e+}', 500, "invalid character '}' in exponent of numeric literal"),
    (b'{"Image":tru}', 500, "invalid character '}' in literal true (expecting 'e')"),
    (b'{"Image":fals}', 500, "invalid character '}' in literal false (expecting 'e')"),
    (b'{"Image":nul}', 500, "invalid character '}' in literal null (expecting 'l')"),
    (b'{"Image":nulx}', 500, "invalid character 'x' in literal null (expecting 'l')"),
    (b"{'a':1}", 500, "invalid character '\\'' looking for beginning of object key string"),
    (b'{"a":1,}', 500, "invalid character '}' looking for beginning of object key string"),
    (b'[1,]', 500, "invalid character ']' looking for beginning of value"),
    (b'{"Image":01}', 500, "invalid character '1' after object key:value pair"),
    (b'{"Image":NaN}', 500, "invalid character 'N' looking for beginning of value"),
    (b'{"Image":"x"}}', 404, 'No such image: x:latest'),
    (b'\xef\xbb\xbf{}', 500, "invalid character 'ï' looking for beginning of value"),
    (b'\x00', 500, "invalid character '\\x00' looking for beginning of value"),
    (b'\x7f', 500, "invalid character '\\x7f' looking for beginning of value"),
    (b'\x80', 500, "invalid character '\\u0080' looking for beginning of value"),
    (b'\xa0', 500, "invalid character '\\u00a0' looking for beginning of value"),
    (b'\xad', 500, "invalid character '\\u00ad' looking for beginning of value"),
    (b'\xc3\xa9', 500, "invalid character 'Ã' looking for beginning of value"),
    (b'\\', 500, "invalid character '\\\\' looking for beginning of value"),
    (b'"', 500, 'unexpected EOF'),
    (b'}', 500, "invalid character '}' looking for beginning of value"),
    (b']', 500, "invalid character ']' looking for beginning of value"),
    (b'{"\x01"}', 500, "invalid character '\\x01' in string literal"),
    (b'{"a"\x0b}', 500, "invalid character '\\v' after object key"),
    (b'[' * 10001, 500, "invalid character '[' exceeded max depth"),
    (b'{"a":' * 10001, 500, "invalid character '{' exceeded max depth"),
    (b'-', 500, 'unexpected EOF'),
    (b'1.', 500, 'unexpected EOF'),
    (b'tr', 500, 'unexpected EOF'),
    (b'1.x', 500, "invalid character 'x' after decimal point in numeric literal"),
    (b'1e', 500, 'unexpected EOF'),
]

TYPES = [
    (b'123', 500, 'json: cannot unmarshal number into Go value of type runconfig.ContainerConfigWrapper'),
    (b'"x"', 500, 'json: cannot unmarshal string into Go value of type runconfig.ContainerConfigWrapper'),
    (b'[]', 500, 'json: cannot unmarshal array into Go value of type runconfig.ContainerConfigWrapper'),
    (b'true', 500, 'json: cannot unmarshal bool into Go value of type runconfig.ContainerConfigWrapper'),
    (b'[' * 3000 + b']' * 3000, 500, 'json: cannot unmarshal array into Go value of type runconfig.ContainerConfigWrapper'),
    (b'{"Image": 123}', 500, 'json: cannot unmarshal number into Go struct field ContainerConfigWrapper.Image of type string'),
    (b'{"Image": "busybox", "Env": "A=1"}', 500, 'json: cannot unmarshal string into Go struct field ContainerConfigWrapper.Env of type []string'),
    (b'{"Image": "busybox", "HostConfig": {"Memory": "x"}}', 500, 'json: cannot unmarshal string into Go struct field HostConfig.HostConfig.Memory of type int64'),
    (b'{"Image":1,"Cmd":1}', 500, 'json: cannot unmarshal number into Go struct field ContainerConfigWrapper.Cmd of type string'),
    (b'{"Cmd":[1]}', 500, 'json: cannot unmarshal array into Go struct field ContainerConfigWrapper.Cmd of type string'),
    (b'{"Cmd":{}}', 500, 'json: cannot unmarshal object into Go struct field ContainerConfigWrapper.Cmd of type string'),
    (b'{"Cmd":true}', 500, 'json: cannot unmarshal bool into Go struct field ContainerConfigWrapper.Cmd of type string'),
    (b'{"Image":[],"Tty":1}', 500, 'json: cannot unmarshal array into Go struct field ContainerConfigWrapper.Image of type string'),
    (b'{"HostConfig":1}', 500, 'json: cannot unmarshal number into Go struct field ContainerConfigWrapper.HostConfig of type container.HostConfig'),
    (b'{"HostConfig":{"Memory":1.5}}', 500, 'json: cannot unmarshal number 1.5 into Go struct field HostConfig.HostConfig.Memory of type int64'),
    (b'{"HostConfig":{"Memory":1e3}}', 500, 'json: cannot unmarshal number 1e3 into Go struct field HostConfig.HostConfig.Memory of type int64'),
    (b'{"HostConfig":{"Memory":9223372036854775808}}', 500, 'json: cannot unmarshal number 9223372036854775808 into Go struct field HostConfig.HostConfig.Memory of type int64'),
    (b'{"HostConfig":{"Memory":-9223372036854775809}}', 500, 'json: cannot unmarshal number -9223372036854775809 into Go struct field HostConfig.HostConfig.Memory of type int64'),
    (b'{"HostConfig":{"BlkioWeight":-1}}', 500, 'json: cannot unmarshal number -1 into Go struct field HostConfig.HostConfig.BlkioWeight of type uint16'),
    (b'{"HostConfig":{"BlkioWeight":65536}}', 500, 'json: cannot unmarshal number 65536 into Go struct field HostConfig.HostConfig.BlkioWeight of type uint16'),
    (b'{"HostConfig":{"BlkioWeight":-0}}', 500, 'json: cannot unmarshal number -0 into Go struct field HostConfig.HostConfig.BlkioWeight of type uint16'),
    (b'{"Labels":{"a":1}}', 500, 'json: cannot unmarshal number into Go struct field ContainerConfigWrapper.Labels of type string'),
    (b'{"Env":[1]}', 500, 'json: cannot unmarshal number into Go struct field ContainerConfigWrapper.Env of type string'),
    (b'{"ExposedPorts":1}', 500, 'json: cannot unmarshal number into Go struct field ContainerConfigWrapper.ExposedPorts of type nat.PortSet'),
    (b'{"Volumes":{"/a":1}}', 500, 'json: cannot unmarshal number into Go struct field ContainerConfigWrapper.Volumes of type struct {}'),
    (b'{"HostConfig":{"NetworkMode":1}}', 500, 'json: cannot unmarshal number into Go struct field HostConfig.HostConfig.NetworkMode of type container.NetworkMode'),
    (b'{"NetworkingConfig":{"EndpointsConfig":{"n":{"Aliases":1}}}}', 500, 'json: cannot unmarshal number into Go struct field EndpointSettings.NetworkingConfig.EndpointsConfig.Aliases of type []string'),
    (b'{"NetworkingConfig":{"EndpointsConfig":true}}', 500, 'json: cannot unmarshal bool into Go struct field NetworkingConfig.NetworkingConfig.EndpointsConfig of type map[string]*network.EndpointSettings'),
    (b'{"HostConfig":{"LogConfig":{"Type":1}}}', 500, 'json: cannot unmarshal number into Go struct field LogConfig.HostConfig.LogConfig.Type of type string'),
    (b'{"Healthcheck":{"Interval":"x"}}', 500, 'json: cannot unmarshal string into Go struct field HealthConfig.Healthcheck.Interval of type time.Duration'),
    (b'{"HostConfig":{"ConsoleSize":"x"}}', 500, 'json: cannot unmarshal string into Go struct field HostConfig.HostConfig.ConsoleSize of type [2]uint'),
    (b'{"HostConfig":{"ConsoleSize":[1,-1]}}', 500, 'json: cannot unmarshal number -1 into Go struct field HostConfig.HostConfig.ConsoleSize of type uint'),
    (b'{"StopTimeout":"x"}', 500, 'json: cannot unmarshal string into Go struct field ContainerConfigWrapper.StopTimeout of type int'),
    (b'{"HostConfig":{"PortBindings":{"80/tcp":[{"HostPort":1}]}}}', 500, 'json: cannot unmarshal number into Go struct field PortBinding.HostConfig.PortBindings.HostPort of type string'),
    (b'{"HostConfig":{"PortBindings":{"80/tcp":{}}}}', 500, 'json: cannot unmarshal object into Go struct field HostConfig.HostConfig.PortBindings of type []nat.PortBinding'),
    (b'{"HostConfig":{"Mounts":[{"TmpfsOptions":{"Mode":"x"}}]}}', 500, 'json: cannot unmarshal string into Go struct field TmpfsOptions.HostConfig.Mounts.TmpfsOptions.Mode of type fs.FileMode'),
    (b'{"HostConfig":{"Ulimits":[{"Hard":"x"}]}}', 500, 'json: cannot unmarshal string into Go struct field Ulimit.HostConfig.Ulimits.Hard of type int64'),
    (b'{"HostConfig":{"BlkioWeightDevice":1}}', 500, 'json: cannot unmarshal number into Go struct field HostConfig.HostConfig.BlkioWeightDevice of type []*blkiodev.WeightDevice'),
    (b'{"HostConfig":{"MemorySwappiness":"x"}}', 500, 'json: cannot unmarshal string into Go struct field HostConfig.HostConfig.MemorySwappiness of type int64'),
    (b'{"HostConfig":{"DeviceRequests":[{"Capabilities":[["a",1]]}]}}', 500, 'json: cannot unmarshal number into Go struct field DeviceRequest.HostConfig.DeviceRequests.Capabilities of type string'),
    (b'{"Memory":"x"}', 500, 'json: cannot unmarshal string into Go struct field ContainerConfigWrapper.Memory of type int64'),
    (b'{"Binds":1}', 500, 'json: cannot unmarshal number into Go struct field ContainerConfigWrapper.Binds of type []string'),
    (b'{"Cpuset":1}', 500, 'json: cannot unmarshal number into Go struct field ContainerConfigWrapper.Cpuset of type string'),
    (b'{"IMAGE":1}', 500, 'json: cannot unmarshal number into Go struct field ContainerConfigWrapper.Image of type string'),
    (b'{"hostconfig":{"memory":"x"}}', 500, 'json: cannot unmarshal string into Go struct field HostConfig.HostConfig.Memory of type int64'),
    (b'{"Env":["a"],"Env":"x"}', 500, 'json: cannot unmarshal string into Go struct field ContainerConfigWrapper.Env of type []string'),
    (b'{"Labels":{"a":"b"},"Labels":{"c":1}}', 500, 'json: cannot unmarshal number into Go struct field ContainerConfigWrapper.Labels of type string'),
    (b'{"Image":"a","Tty":1,"Cmd":1}', 500, 'json: cannot unmarshal number into Go struct field ContainerConfigWrapper.Cmd of type string'),
    (b'{"Labels":{"a":' + b'[' * 3000 + b']' * 3000 + b'}}', 500, 'json: cannot unmarshal array into Go struct field ContainerConfigWrapper.Labels of type string'),
    (b'{}', 400, 'Config cannot be empty in order to create a container'),
    (b'null', 400, 'Config cannot be empty in order to create a container'),
    (b'{"Memory":5}', 400, 'Config cannot be empty in order to create a container'),
    (b'{"HostConfig":{}}', 400, 'Config cannot be empty in order to create a container'),
    (b'{"Unknown":1}', 400, 'Config cannot be empty in order to create a container'),
]


@pytest.mark.parametrize(("body", "status", "message"), SYNTAX, ids=[repr(b[:30]) for b, _s, _m in SYNTAX])
def test_syntax_errors_as_dockerd(body: bytes, status: int, message: str) -> None:
    if status == 404:  # accepted by the decoder: only the image was missing
        assert answer(body) is None
    else:
        assert answer(body) == (status, message)


@pytest.mark.parametrize(("body", "status", "message"), TYPES, ids=[repr(b[:40]) for b, _s, _m in TYPES])
def test_type_errors_as_dockerd(body: bytes, status: int, message: str) -> None:
    assert answer(body) == (status, message)


@pytest.mark.parametrize("c", range(256))
def test_every_byte_is_named_like_go(c: int) -> None:
    """A body of one byte: dockerd answered the ones recorded above; the rest follow the same rule."""
    if c in b" \t\r\n":
        assert answer(bytes([c])) == (500, "EOF")
    elif c in b'"-tfn[{':
        assert answer(bytes([c])) == (500, "unexpected EOF")
    elif c in b"0123456789":
        assert answer(bytes([c])) == (
            500, "json: cannot unmarshal number into Go value of type runconfig.ContainerConfigWrapper")
    else:
        message = answer(bytes([c]))
        assert message is not None and message[1].endswith("looking for beginning of value")


@pytest.mark.parametrize(("c", "quoted"), [
    (0x27, "'\\''"), (0x22, "'\"'"), (0x5C, "'\\\\'"), (0x41, "'A'"), (0x00, "'\\x00'"), (0x1F, "'\\x1f'"),
    (0x7F, "'\\x7f'"), (0x09, "'\\t'"), (0x0B, "'\\v'"), (0x80, "'\\u0080'"), (0xA0, "'\\u00a0'"),
    (0xAD, "'\\u00ad'"), (0xC3, "'\u00c3'"), (0xFF, "'\u00ff'"),
])
def test_quote_char(c: int, quoted: str) -> None:
    assert gojson.quote_char(c) == quoted


@pytest.mark.parametrize(("data", "message"), [
    (b"", "unexpected end of JSON input"),
    (b"  ", "unexpected end of JSON input"),
    (b'{"a":1', "unexpected end of JSON input"),
    (b"1 2", "invalid character '2' after top-level value"),
    (b"{}x", "invalid character 'x' after top-level value"),
    (b"-", "invalid character ' ' in numeric literal"),
    (b"[1,]", "invalid character ']' looking for beginning of value"),
])
def test_unmarshal_check_valid(data: bytes, message: str) -> None:
    with pytest.raises(gojson.GoSyntaxError, match=None) as info:
        gojson.check_valid(data)
    assert str(info.value) == message


@pytest.mark.parametrize("data", [b"1", b" {} ", b"[1, 2]\n", b'"x"', b"null", b"-0.5e+3"])
def test_unmarshal_accepts(data: bytes) -> None:
    gojson.check_valid(data)


def test_first_value_only() -> None:
    """The Decoder reads one value and leaves the rest (dockerd accepted ``{...} trailing``)."""
    assert gojson.scan_first_value(b'{"a":1} trailing') == 7
    assert gojson.scan_first_value(b"123x") == 3
    assert gojson.parse_first_value(b' {"a":[1,2.5,"x",null,true]} junk') == [
        ("a", ["1", "2.5", "x", None, True])]
