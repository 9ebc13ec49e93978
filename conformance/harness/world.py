"""Per-scenario state: a unique name prefix, what the scenario made (by ID), and a cleanup that checks itself.


Every container a scenario makes carries the label ``skiff.test.scenario=<prefix>`` (CLI `run`/`create` get it
injected, API bodies get it merged), so containers made with auto-generated names are found and removed too.
Images are tracked by the references the scenario gave them (always starting with the prefix) and by the
IDs of images it imported or loaded; a tag on a shared image (busybox) is only untagged, never deleted by ID.
"""

from __future__ import annotations

import json
import re
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

from conformance.harness import api, cli
from conformance.target import Target

LABEL_KEY = "skiff.test.scenario"
PLACEHOLDER = re.compile(r"<([a-z0-9_]+)(?:\.(id|short|value))?>")
DEADLINE_S = 30.0


def poll(predicate: Callable[[], Any], deadline_s: float = DEADLINE_S, what: str = "condition") -> Any:
    """Return the first truthy value of `predicate()`, polling until the deadline (then fail)."""
    end = time.monotonic() + deadline_s
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= end:
            raise AssertionError(f"timed out after {deadline_s}s waiting for {what}")
        time.sleep(0.05)


@dataclass
class World:
    target: Target
    http: httpx.Client
    prefix: str = field(default_factory=lambda: f"skt-{uuid.uuid4().hex[:10]}")
    containers: dict[str, str] = field(default_factory=dict)  # alias -> ID
    container_ids: list[str] = field(default_factory=list)
    image_refs: list[str] = field(default_factory=list)  # references this scenario created (untag)
    image_ids: list[str] = field(default_factory=list)  # images this scenario created (delete by ID)
    volumes: list[str] = field(default_factory=list)
    values: dict[str, Any] = field(default_factory=dict)
    last_cli: cli.Result | None = None
    last_response: httpx.Response | None = None
    last_json: Any = None

    # names and placeholders ---------------------------------------------------------------------------------
    @property
    def label(self) -> str:
        return f"{LABEL_KEY}={self.prefix}"

    def name(self, alias: str) -> str:
        return f"{self.prefix}-{alias}"

    def expand(self, text: str) -> str:
        """`<prefix>`, `<label>`, `<alias>` -> prefixed name, `<alias.id>` / `<alias.short>` -> recorded ID,
        `<key.value>` -> a value a step remembered."""

        def sub(m: re.Match[str]) -> str:
            alias, attr = m.group(1), m.group(2)
            if attr is None:
                if alias == "prefix":
                    return self.prefix
                if alias == "label":
                    return self.label
                return self.name(alias)
            if attr == "value":
                if alias not in self.values:
                    raise AssertionError(f"no value recorded for <{alias}.value>")
                return str(self.values[alias])
            ident = self.containers.get(alias) or self.values.get(alias)
            if ident is None:
                raise AssertionError(f"no ID recorded for <{alias}>")
            ident = str(ident).removeprefix("sha256:")
            return ident if attr == "id" else ident[:12]

        return PLACEHOLDER.sub(sub, text)

    # containers ---------------------------------------------------------------------------------------------
    def track_container(self, ident: str, alias: str | None = None) -> str:
        if ident not in self.container_ids:
            self.container_ids.append(ident)
        if alias:
            self.containers[alias] = ident
        return ident

    def container_id(self, alias: str) -> str:
        if alias not in self.containers:
            raise AssertionError(f"no container {alias!r} in this scenario")
        return self.containers[alias]

    def create_container(self, alias: str | None, body: dict[str, Any], name: bool = True) -> str:
        body = dict(body)
        body.setdefault("Image", "busybox")
        body["Labels"] = {**body.get("Labels", {}), LABEL_KEY: self.prefix}
        query = f"?name={self.name(alias)}" if alias and name else ""
        resp = api.check(self.http.post(api.v(f"/containers/create{query}"), json=body), 201)
        return self.track_container(resp.json()["Id"], alias)

    def inspect(self, ident: str) -> dict[str, Any]:
        resp = api.check(self.http.get(api.v(f"/containers/{ident}/json")), 200)
        data: dict[str, Any] = resp.json()
        return data

    def state(self, ident: str) -> dict[str, Any]:
        state: dict[str, Any] = self.inspect(ident)["State"]
        return state

    def wait_status(self, ident: str, status: str, deadline_s: float = DEADLINE_S) -> dict[str, Any]:
        result: dict[str, Any] = poll(
            lambda: (s := self.state(ident))["Status"] == status and s,
            deadline_s,
            f"container {ident[:12]} to be {status}",
        )
        return result

    def labelled_containers(self) -> list[str]:
        url = api.v(f"/containers/json?all=1&filters={api.filters(label=[self.label])}")
        return [c["Id"] for c in api.check(self.http.get(url), 200).json()]

    # images ------------------------------------------------------------------------------------------------
    def image_id(self, ref: str) -> str | None:
        resp = self.http.get(api.v(f"/images/{ref}/json"))
        if resp.status_code == 404:
            return None
        ident: str = api.check(resp, 200).json()["Id"]
        return ident

    def our_image_refs(self) -> list[str]:
        refs: list[str] = []
        for img in api.check(self.http.get(api.v("/images/json")), 200).json():
            refs += [t for t in img.get("RepoTags") or [] if t.startswith(self.prefix)]
        return refs

    # cleanup -----------------------------------------------------------------------------------------------
    def cleanup(self) -> list[str]:
        """Remove everything this scenario made, by ID; return what is left afterwards (should be [])."""
        errors: list[str] = []
        ids = list(dict.fromkeys([*self.container_ids, *self.labelled_containers()]))
        for ident in ids:
            # A 409 is usually AutoRemove racing us ("removal already in progress"): the poll judges.
            resp = self.http.delete(api.v(f"/containers/{ident}?force=1&v=1"))
            if not self._gone(ident):
                errors.append(f"DELETE container {ident[:12]}: {resp.status_code} {resp.text.strip()}")
        for ref in dict.fromkeys([*self.image_refs, *self.our_image_refs()]):
            resp = self.http.delete(api.v(f"/images/{ref}?force=1"))
            if resp.status_code not in (200, 404):
                errors.append(f"DELETE image {ref}: {resp.status_code} {resp.text.strip()}")
        for ident in self.image_ids:
            resp = self.http.delete(api.v(f"/images/{ident}?force=1"))
            if resp.status_code not in (200, 404):
                errors.append(f"DELETE image {ident}: {resp.status_code} {resp.text.strip()}")
        for vol in self.volumes:
            resp = self.http.delete(api.v(f"/volumes/{vol}?force=1"))
            if resp.status_code not in (204, 404):
                errors.append(f"DELETE volume {vol}: {resp.status_code} {resp.text.strip()}")
        return errors + self.leftovers()

    def _gone(self, ident: str) -> bool:
        def gone() -> bool:
            return self.http.get(api.v(f"/containers/{ident}/json")).status_code == 404

        try:
            poll(gone, DEADLINE_S, f"container {ident[:12]} to be gone")
        except AssertionError:
            return False
        return True

    def leftovers(self) -> list[str]:
        left = [f"container {i[:12]}" for i in self.labelled_containers()]
        left += [
            f"container {i[:12]}"
            for i in self.container_ids
            if self.http.get(api.v(f"/containers/{i}/json")).status_code != 404
            and f"container {i[:12]}" not in left
        ]
        left += [f"image {r}" for r in self.our_image_refs()]
        left += [f"image {i}" for i in self.image_ids if self.image_id(i) is not None]
        left += [
            f"volume {n}" for n in self.volumes if self.http.get(api.v(f"/volumes/{n}")).status_code != 404
        ]
        return left


def dump(value: Any) -> str:
    return json.dumps(value, indent=1)[:2000]
