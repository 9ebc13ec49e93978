"""Query parameters the way dockerd reads them (engine-api-notes C1).

Docker's ``httputils.BoolValue``: "", "0", "no", "false", "none" (any case) are false, anything else true;
``r.Form.Get`` takes the first of repeated values. connexion only accepts true/false and keeps the last.
"""

from __future__ import annotations

from typing import Any

from connexion.uri_parsing import FirstValueURIParser

FALSE_WORDS = frozenset({"", "0", "no", "false", "none"})


def docker_bool(value: str) -> bool:
    return value.strip().lower() not in FALSE_WORDS


class DockerURIParser(FirstValueURIParser):  # type: ignore[misc]
    """First value wins; booleans follow Docker's rule."""

    def resolve_params(self, params: dict[str, Any], _in: str) -> dict[str, Any]:
        prepared: dict[str, Any] = {}
        for name, values in params.items():
            defn = self.param_defns.get(name)
            if defn is not None and _in != "path" and isinstance(values, list) and values:
                if defn.get("type") == "boolean":
                    values = ["true" if docker_bool(values[0]) else "false"]
                elif defn.get("type") != "array":
                    values = values[:1]  # first value, as Go's Form.Get
            prepared[name] = values
        return super().resolve_params(prepared, _in)  # type: ignore[no-any-return]
