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


def with_link_env(extra: list[str]) -> SpecOpt:
    """``--link`` variables, placed as dockerd orders them: PATH, HOSTNAME (TERM), the links, then the
    config's Env, which wins over a link variable of the same name."""

    def opt(spec: Spec) -> None:
        if not extra:
            return
        env = list(spec["process"].get("env") or [])
        have = {e.split("=", 1)[0] for e in env}
        add = [e for e in extra if e.split("=", 1)[0] not in have]
        at = 0
        for i, e in enumerate(env[:3]):
            if e.startswith(("PATH=", "HOSTNAME=", "TERM=")):
                at = i + 1
        spec["process"]["env"] = env[:at] + add + env[at:]

    return opt
