"""Harness patch `stateful-links`: OpenAPI links for schemathesis's stateful phase.

The vendored spec declares no links, so a stateful run cannot chain a create to the calls that use what it
made. This adds them to the fuzzer's own copy of the converted spec only (conformance/spec stays the
contract): create a container, then inspect/start/stop/kill/restart/pause/top/exec/delete it by the Id
the 201 returned (and start -> stop -> delete by the path id of the request before); create an exec, then
inspect it; create a network or a volume, then inspect/delete it; and read-only chains from every list to
the inspects of its first item, which are the only ones the reference's side-effect-free selection keeps.
ExecStart and ContainerWait are not linked: on a generated command they can block past the timeout.
"""

from __future__ import annotations

from typing import Any

NAME = "stateful-links"
_BODY_ID = "$response.body#/Id"
_PATH_ID = "$request.path.id"
_FIRST_ID = "$response.body#/0/Id"

# (source operationId, response status) -> [(target operationId, {parameter: runtime expression})]
LINKS: dict[tuple[str, str], list[tuple[str, dict[str, str]]]] = {
    ("ContainerCreate", "201"): [
        (op, {"id": _BODY_ID}) for op in (
            "ContainerInspect", "ContainerStart", "ContainerStop", "ContainerKill", "ContainerRestart",
            "ContainerPause", "ContainerTop", "ContainerChanges", "ContainerLogs", "ContainerExec",
            "ContainerRename", "ContainerUpdate", "ContainerDelete",
        )
    ],
    ("ContainerStart", "204"): [
        (op, {"id": _PATH_ID}) for op in (
            "ContainerInspect", "ContainerStop", "ContainerKill", "ContainerPause", "ContainerTop",
            "ContainerExec", "ContainerDelete",
        )
    ],
    ("ContainerPause", "204"): [(op, {"id": _PATH_ID}) for op in ("ContainerUnpause", "ContainerInspect")],
    ("ContainerStop", "204"): [(op, {"id": _PATH_ID}) for op in ("ContainerStart", "ContainerDelete")],
    ("ContainerKill", "204"): [(op, {"id": _PATH_ID}) for op in ("ContainerInspect", "ContainerDelete")],
    ("ContainerExec", "201"): [("ExecInspect", {"id": _BODY_ID}), ("ExecResize", {"id": _BODY_ID})],
    ("NetworkCreate", "201"): [
        (op, {"id": _BODY_ID}) for op in ("NetworkInspect", "NetworkConnect", "NetworkDelete")
    ],
    ("VolumeCreate", "201"): [
        (op, {"name": "$response.body#/Name"}) for op in ("VolumeInspect", "VolumeDelete")
    ],
    ("ContainerList", "200"): [
        (op, {"id": _FIRST_ID}) for op in ("ContainerInspect", "ContainerTop", "ContainerChanges")
    ],
    # schemathesis starts chains only at operations it trusts to succeed on random input, and its
    # dependency analysis does not trust ContainerCreate (its body names images and networks nobody
    # produced): it is reached from the image list instead, that image merged into the body (BODIES)
    ("ImageList", "200"): [
        ("ImageInspect", {"name": _FIRST_ID}), ("ImageHistory", {"name": _FIRST_ID}), ("ContainerCreate", {}),
    ],
    ("NetworkList", "200"): [("NetworkInspect", {"id": _FIRST_ID})],
    ("VolumeList", "200"): [("VolumeInspect", {"name": "$response.body#/Volumes/0/Name"})],
}


# request bodies merged into the generated one (schemathesis's default merge_body)
BODIES: dict[tuple[str, str], dict[str, str]] = {("ImageList", "ContainerCreate"): {"Image": _FIRST_ID}}


def add_links(spec: dict[str, Any]) -> int:
    """Add LINKS to the operations of `spec` (an OpenAPI 3 document) in place; return how many were added."""
    ops: dict[str, dict[str, Any]] = {}
    for item in spec.get("paths", {}).values():
        for op in item.values():
            if isinstance(op, dict) and "operationId" in op:
                ops[op["operationId"]] = op
    added = 0
    for (source, status), targets in LINKS.items():
        response = ops[source]["responses"][status]
        links = response.setdefault("links", {})
        for target, params in targets:
            if target not in ops:
                raise KeyError(f"{NAME}: {source} links to unknown operation {target}")
            link: dict[str, Any] = {"operationId": target, "parameters": dict(params)}
            if (source, target) in BODIES:
                link["requestBody"] = dict(BODIES[(source, target)])
            links[target] = link
            added += 1
    return added
