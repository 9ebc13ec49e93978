"""Spec options for networking: the container joins the network namespace skiffd prepared."""

from __future__ import annotations

from skiff.core.specgen import Spec, SpecOpt


def with_network_namespace(path: str | None) -> SpecOpt:
    """Join the netns at ``path`` (a named netns or another container's); None keeps the spec as it is
    (a fresh namespace, or none at all for ``--network host``)."""

    def opt(spec: Spec) -> None:
        if not path:
            return
        for ns in spec["linux"]["namespaces"]:
            if ns["type"] == "network":
                ns["path"] = path
                return

    return opt
