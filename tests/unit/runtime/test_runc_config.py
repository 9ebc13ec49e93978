"""Config validation with the pre-generated schema validator, and the typed OCI models."""

from __future__ import annotations

import copy
import json
import sys
from pathlib import Path
from typing import Any

import pytest
from skiff.oci import _schema_gen
from skiff.oci.runtime import Spec
from skiff.oci.validate import InvalidConfig, validate_config

pytestmark = pytest.mark.unit

sys.path.insert(0, str(Path(__file__).parents[2] / "integration" / "runtime"))
from runc_bundle import docker_config  # noqa: E402

SCHEMA_DIR = Path(_schema_gen.__file__).with_name("schema")


def docker() -> dict[str, Any]:
    return docker_config(["sh", "-c", "echo hi"], cgroups_path="/docker/abc")


def test_generated_validator_is_current() -> None:
    pytest.importorskip("fastjsonschema")
    assert _schema_gen.main(["--check"]) == 0, "run: .venv/bin/python -m skiff.oci._schema_gen"


def test_vendored_schema_matches_shared_specs() -> None:
    shared = Path(__file__).parents[3].parent / "shared/specs/oci-runtime-spec-v1.3.0"  # beside the repo
    if not shared.is_dir():
        pytest.skip("shared specs not present")
    for path in shared.glob("*.json"):
        assert (SCHEMA_DIR / path.name).read_text() == path.read_text(), path.name


def test_docker_config_is_valid() -> None:
    validate_config(docker())


def mutate(path: str, value: Any) -> dict[str, Any]:
    config = copy.deepcopy(docker())
    *parents, last = path.split(".")
    node = config
    for key in parents:
        node = node[int(key)] if isinstance(node, list) else node[key]
    if value is KeyError:
        del node[last]
    else:
        node[last] = value
    return config


@pytest.mark.parametrize(("path", "value", "message"), [
    ("ociVersion", KeyError, "config must contain ['ociVersion'] properties"),
    ("process.cwd", KeyError, "process must contain ['cwd'] properties"),
    ("process.cwd", 5, "process.cwd must be string"),
    ("process.args", "sh", "process.args must be array"),
    ("process.user.uid", -1, "process.user.uid must be bigger than or equal to 0"),
    ("root.path", KeyError, "root must contain ['path'] properties"),
    ("mounts.0.destination", KeyError, "mounts[0] must contain ['destination'] properties"),
    ("linux.namespaces.0.type", "bogus", "linux.namespaces[0] cannot be validated by any definition"),
    ("hostname", 7, "hostname must be string"),
    ("process.rlimits", [{"type": "nofile", "soft": 1, "hard": 1}],
     "process.rlimits[0].type must match pattern"),
])
def test_bad_configs_are_refused(path: str, value: Any, message: str) -> None:
    with pytest.raises(InvalidConfig) as info:
        validate_config(mutate(path, value))
    assert str(info.value).startswith(message)


def test_agrees_with_jsonschema() -> None:
    """The generated validator and jsonschema (Draft 4 with the same bundled schema) agree."""
    jsonschema = pytest.importorskip("jsonschema")
    schema = _schema_gen.bundle(SCHEMA_DIR)
    checker = jsonschema.Draft4Validator(schema)
    cases = [docker(), mutate("process.cwd", 5), mutate("linux.namespaces.0.type", "bogus"),
             mutate("process.rlimits", [{"type": "RLIMIT_NOFILE", "soft": 1, "hard": 2}]),
             mutate("process.rlimits", [{"type": "nofile", "soft": 1, "hard": 2}]),
             mutate("linux.resources.pids", {"limit": 10}), mutate("mounts", "x")]
    for case in cases:
        ours = True
        try:
            validate_config(case)
        except InvalidConfig:
            ours = False
        assert ours == checker.is_valid(case), json.dumps(case)[:200]


def test_spec_model() -> None:
    config = mutate("process.rlimits", [{"type": "RLIMIT_NOFILE", "soft": 10, "hard": 20}])
    config["linux"]["resources"]["memory"]["limit"] = 1 << 26
    config["linux"]["sysctl"] = {"net.ipv4.ip_forward": "1"}
    spec = Spec.from_dict(config)
    assert spec.process is not None and spec.linux is not None and spec.root is not None
    assert spec.process.args == ("sh", "-c", "echo hi")
    assert spec.process.env_map()["HOSTNAME"] == "skiffbox"
    assert spec.process.rlimits[0].type == "RLIMIT_NOFILE"
    assert spec.process.capabilities is not None and "CAP_KILL" in spec.process.capabilities.bounding
    assert spec.linux.cgroups_path == "/docker/abc"
    assert spec.linux.resources.memory_limit == 1 << 26
    assert [ns.type for ns in spec.linux.namespaces] == ["mount", "network", "uts", "pid", "ipc"]
    assert spec.linux.namespace("pid") is not None and spec.linux.namespace("user") is None
    assert spec.linux.sysctl == (("net.ipv4.ip_forward", "1"),)
    assert spec.mounts[0].destination == "/proc" and spec.mounts[0].options == ("nosuid", "noexec", "nodev")
    with pytest.raises(AttributeError):
        spec.hostname = "x"  # type: ignore[misc]


def test_hooks_model() -> None:
    config = docker()
    config["hooks"] = {"prestart": [{"path": "/bin/h", "args": ["h", "x"], "timeout": 3}], "poststop": []}
    validate_config(config)
    spec = Spec.from_dict(config)
    (hook,) = spec.hooks.get("prestart")
    assert (hook.path, hook.args, hook.timeout) == ("/bin/h", ("h", "x"), 3)
    assert hook.to_dict() == config["hooks"]["prestart"][0]
    assert spec.hooks.get("poststop") == () and Spec.from_dict(docker()).hooks.get("prestart") == ()
