"""Raw HTTP to the Engine API over the unix socket (httpx): status codes and `{"message"}` bodies as sent."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

import httpx

from vm.ping import unix_path

API_VERSION = "1.39"


def client(host: str, timeout: float = 60.0) -> httpx.Client:
    """An httpx client whose base URL is the daemon; paths are given in full (`/v1.39/...` or unversioned)."""
    return httpx.Client(
        transport=httpx.HTTPTransport(uds=unix_path(host)), base_url="http://docker", timeout=timeout
    )


def v(path: str) -> str:
    """Prefix `path` with the API version this project serves."""
    return f"/v{API_VERSION}{path}"


def filters(**kv: list[str]) -> str:
    """Docker's `filters` query value, URL-encoded."""
    return quote(json.dumps(kv))


def check(resp: httpx.Response, *ok: int) -> httpx.Response:
    if resp.status_code not in ok:
        raise AssertionError(
            f"{resp.request.method} {resp.request.url.path} -> {resp.status_code}: {resp.text[:500]}"
        )
    return resp


def json_of(resp: httpx.Response) -> Any:
    return resp.json()
