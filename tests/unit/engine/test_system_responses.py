"""The system handlers' bodies validate against the (patched) spec's response schemas (notes C5: response
validation is off in production, so it is done here)."""

from __future__ import annotations

import copy
from typing import Any

import httpx
import jsonschema
import pytest
from skiff.engine.spec import load_spec

pytestmark = [pytest.mark.unit, pytest.mark.anyio]


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def nullable_to_jsonschema(node: Any) -> Any:
    """Swagger 2's ``x-nullable: true`` as JSON Schema (``type: [t, "null"]``)."""
    if isinstance(node, dict):
        out = {k: nullable_to_jsonschema(v) for k, v in node.items()}
        if out.get("x-nullable") is True and isinstance(out.get("type"), str):
            out["type"] = [out["type"], "null"]
            if "enum" in out:
                out["enum"] = [*out["enum"], None]
        return out
    if isinstance(node, list):
        return [nullable_to_jsonschema(v) for v in node]
    return node


@pytest.fixture(scope="module")
def spec() -> dict[str, Any]:
    return load_spec()


def validator_for(spec: dict[str, Any], path: str, method: str = "get") -> jsonschema.Draft4Validator:
    schema = copy.deepcopy(spec["paths"][path][method]["responses"][200]["schema"])
    schema["definitions"] = spec["definitions"]
    return jsonschema.Draft4Validator(nullable_to_jsonschema(schema))


@pytest.mark.parametrize("path", ["/version", "/info"])
async def test_response_matches_the_spec(client: httpx.AsyncClient, spec: dict[str, Any], path: str) -> None:
    r = await client.get(path)
    assert r.status_code == 200
    errors = sorted(validator_for(spec, path).iter_errors(r.json()), key=str)
    assert not errors, "\n".join(f"{list(e.path)}: {e.message}" for e in errors)


async def test_info_has_every_field_docker_fills(client: httpx.AsyncClient, spec: dict[str, Any]) -> None:
    body = (await client.get("/info")).json()
    documented = set(spec["definitions"]["SystemInfo"]["properties"])
    # fields dockerd 20.10 leaves out at API 1.39 or that apply to other platforms only
    not_sent = {"ClusterStore", "ClusterAdvertise", "DefaultAddressPools", "SystemStatus"}
    missing = documented - set(body) - not_sent
    assert not missing, missing
