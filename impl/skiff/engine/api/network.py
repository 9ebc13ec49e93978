"""Network operations (thin: ``skiff.engine.backend.networks.NetworkService`` does the work).

Without a network backend (unit tests' services) lookups answer dockerd's "not found": ``docker inspect``
falls through container -> image -> network -> volume -> plugin and needs a 404 here.
"""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from skiff import errdefs
from skiff.engine.backend import filters as filters_mod
from skiff.engine.context import services
from skiff.engine.responses import json_response

LIST_FILTERS = ("dangling", "driver", "id", "label", "name", "scope", "type")
PRUNE_FILTERS = ("label", "label!", "until")


def _networks() -> Any:
    return getattr(services().containers, "network", None)


def _need() -> Any:
    net = _networks()
    if net is None:
        raise errdefs.NotImplemented_("networking is not available in this daemon")
    return net


def _matches(n: dict[str, Any], f: filters_mod.Filters) -> bool:
    builtin = n["Name"] in ("bridge", "host", "none")
    if f.get("name") and not any(v in n["Name"] for v in f["name"]):
        return False
    if f.get("id") and not any(n["Id"].startswith(v) for v in f["id"]):
        return False
    if f.get("driver") and n["Driver"] not in f["driver"]:
        return False
    if f.get("scope") and n["Scope"] not in f["scope"]:
        return False
    if f.get("type"):
        for v in f["type"]:
            if v not in ("custom", "builtin"):
                raise errdefs.InvalidArgument(f"invalid filter: 'type'='{v}'")
        if ("builtin" if builtin else "custom") not in f["type"]:
            return False
    if f.get("dangling"):
        want = f["dangling"][0].lower() in ("1", "true")
        if want != (not builtin and not n["Containers"]):
            return False
    return filters_mod.match_labels(f.get("label", []), n["Labels"])


async def list_(filters: str | None = None, **_: Any) -> Response:
    f = filters_mod.parse(filters)
    filters_mod.validate(f, LIST_FILTERS)
    net = _networks()
    nets = net.list_networks() if net is not None else []
    out = []
    for n in nets:
        if _matches(n, f):
            n = dict(n)
            n["Containers"] = {}  # dockerd lists networks without their endpoints
            out.append(n)
    return json_response(out)


async def inspect(id_: str, verbose: bool = False, scope: str | None = None, **_: Any) -> Response:
    """``verbose`` adds nothing for a local network (dockerd 20.10 adds Services only for swarm ones);
    every network here is local, so another ``scope`` finds none."""
    net = _networks()
    if net is None or (scope and scope != "local"):
        raise errdefs.NotFound(f"network {id_} not found")
    return json_response(net.find_network(id_))


async def create(network_config: Any = None, **_: Any) -> Response:
    if not isinstance(network_config, dict):
        raise errdefs.InvalidArgument("invalid network config")
    return json_response(await _need().create_network(network_config), status=201)


async def delete(id_: str, **_: Any) -> Response:
    net = _networks()
    if net is None:
        raise errdefs.NotFound(f"network {id_} not found")
    await net.delete_network(id_)
    return json_response(None, 204)


async def connect(id_: str, container: Any = None, **_: Any) -> Response:
    body = container if isinstance(container, dict) else {}
    net = _need()
    record = services().containers.get(str(body.get("Container") or ""))
    network = net.find(id_)  # a fresh dockerd answers 404 "network X not found" here too
    await net.connect(network.id, record, dict(body.get("EndpointConfig") or {}))
    return json_response(None, 200)


async def disconnect(id_: str, container: Any = None, **_: Any) -> Response:
    body = container if isinstance(container, dict) else {}
    net = _need()
    record = services().containers.get(str(body.get("Container") or ""))
    network = net.find(id_)
    await net.disconnect(network.id, record, bool(body.get("Force")))
    return json_response(None, 200)


async def prune(filters: str | None = None, **_: Any) -> Response:
    f = filters_mod.parse(filters)
    filters_mod.validate(f, PRUNE_FILTERS)
    net = _need()

    def keep(n: dict[str, Any]) -> bool:
        return filters_mod.match_labels(f.get("label", []), n["Labels"]) and filters_mod.match_not_labels(
            f.get("label!", []), n["Labels"]
        )

    deleted = await net.prune(keep)
    return json_response({"NetworksDeleted": deleted or None})
