"""Each named spec patch applies, does what its reason says, and fails loudly if its target vanishes."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
from skiff.engine import spec as specmod

pytestmark = pytest.mark.unit


@pytest.fixture(scope="module")
def raw() -> dict[str, Any]:
    return specmod._yaml_load(specmod.SPEC_FILE.read_text())  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def patched() -> dict[str, Any]:
    return specmod.load_spec()


def op(spec: dict[str, Any], path: str, method: str) -> dict[str, Any]:
    return spec["paths"][path][method]  # type: ignore[no-any-return]


def test_every_patch_file_has_name_reason_and_one_kind() -> None:
    patches = specmod.load_patches()
    names = [p.name for p in patches]
    assert len(names) == len(set(names)) >= 11
    for patch in patches:
        assert patch.reason and "\n" not in patch.reason.strip()
        assert bool(patch.ops) != bool(patch.function), patch.name
        assert (specmod.PATCH_DIR / f"{patch.name}.yaml").exists()


def test_vendored_spec_is_unchanged_by_loading(raw: dict[str, Any]) -> None:
    before = copy.deepcopy(raw)
    specmod.patched_spec(raw, specmod.load_patches())
    assert raw == before


def test_p01_name_path_format(raw: dict[str, Any], patched: dict[str, Any]) -> None:
    def fmt(spec: dict[str, Any]) -> str | None:
        params = op(spec, "/images/{name}/json", "get")["parameters"]
        return next(p for p in params if p["name"] == "name").get("format")
    assert fmt(raw) is None
    assert fmt(patched) == "path"
    assert specmod.name_path_format(copy.deepcopy(raw)) == 14  # 6 image, 7 plugin, 1 distribution ops


def test_p02_p03_consumes(patched: dict[str, Any]) -> None:
    assert "text/plain" in op(patched, "/containers/{id}/resize", "post")["consumes"]
    assert "text/plain" in op(patched, "/swarm/unlockkey", "get")["consumes"]
    for path, method in [("/build", "post"), ("/images/load", "post"), ("/containers/{id}/archive", "put")]:
        consumes = op(patched, path, method)["consumes"]
        assert {"application/x-tar", "application/octet-stream", "text/plain"} <= set(consumes)


def test_p04_build_content_type(patched: dict[str, Any]) -> None:
    param = next(p for p in op(patched, "/build", "post")["parameters"] if p["name"] == "Content-type")
    assert "enum" not in param


def test_p05_go_nulls(patched: dict[str, Any]) -> None:
    env = patched["definitions"]["ContainerConfig"]["properties"]["Env"]
    assert env["x-nullable"] is True
    # an explicit x-nullable: false is kept
    falses = [n for n in specmod._walk(patched["definitions"]) if n.get("x-nullable") is False]
    assert falses


def test_p06_to_p08(patched: dict[str, Any]) -> None:
    d = patched["definitions"]
    assert d["Resources"]["properties"]["MemorySwappiness"]["minimum"] == -1
    assert "enum" not in d["HostConfig"]["allOf"][1]["properties"]["LogConfig"]["properties"]["Type"]
    assert "no" in d["RestartPolicy"]["properties"]["Name"]["enum"]


def test_p09_empty_enum_values(patched: dict[str, Any]) -> None:
    for node in specmod._walk(patched["definitions"]):
        if node.get("type") == "string" and isinstance(node.get("enum"), list):
            assert "" in node["enum"]


def test_p10_logs_raw_stream(patched: dict[str, Any]) -> None:
    assert op(patched, "/containers/{id}/logs", "get")["produces"] == ["application/vnd.docker.raw-stream"]


def test_p11_int_ranges(patched: dict[str, Any]) -> None:
    memory = patched["definitions"]["Resources"]["properties"]["Memory"]
    assert memory["maximum"] == 2**63 - 1 and memory["minimum"] == -(2**63)
    swappiness = patched["definitions"]["Resources"]["properties"]["MemorySwappiness"]
    assert swappiness["maximum"] == 100  # existing bounds are kept


def test_op_patch_whose_target_vanished_fails(raw: dict[str, Any]) -> None:
    broken = specmod.Patch("PX", "test", ops=[{"op": "replace", "path": "/definitions/Nope/x", "value": 1}])
    with pytest.raises(specmod.PatchError, match="PX"):
        specmod.apply_patch(copy.deepcopy(raw), broken)


def test_function_patch_that_changes_nothing_fails() -> None:
    with pytest.raises(specmod.PatchError, match="changed nothing"):
        specmod.apply_patch({"paths": {}, "definitions": {}}, specmod.Patch("PY", "t", function="go_nulls"))


def test_list_selector_and_extend() -> None:
    doc: dict[str, Any] = {"a": [{"name": "x", "enum": [1]}, {"name": "y"}], "b": {"c": ["t"]}}
    specmod.apply_op(doc, {"op": "remove", "path": "/a/[name=x]/enum"})
    specmod.apply_op(doc, {"op": "extend", "path": "/b/c", "value": ["t", "u"]})
    assert doc == {"a": [{"name": "x"}, {"name": "y"}], "b": {"c": ["t", "u"]}}


def test_cache_roundtrip(tmp_path: Path, patched: dict[str, Any]) -> None:
    first = specmod.load_spec(cache_dir=tmp_path)
    files = list(tmp_path.glob("spec-*.pickle"))
    assert len(files) == 1
    assert specmod.load_spec(cache_dir=tmp_path) == first == patched
    files[0].write_bytes(b"corrupt")
    assert specmod.load_spec(cache_dir=tmp_path) == patched


def test_app_built_from_the_cache_skips_revalidation_and_still_routes(tmp_path: Path) -> None:
    from connexion.spec import Swagger2Specification
    from skiff.engine.app import create_app

    before = Swagger2Specification._validate_spec
    first = create_app(spec_cache_dir=tmp_path)
    assert len(list(tmp_path.glob("spec-*.pickle"))) == 1
    second = create_app(spec_cache_dir=tmp_path)
    assert Swagger2Specification._validate_spec == before
    assert second.resolver.resolved == first.resolver.resolved
    assert len(second.resolver.resolved) == 105
