"""Steps that talk to published ports from the host (loopback only), polling with a deadline."""

from __future__ import annotations

import time
import urllib.request
from typing import Any

from behave import then


@then('an HTTP GET of "{url}" from the host answers "{text}"')
def step_http_get(context: Any, url: str, text: str) -> None:
    url = context.world.expand(url)
    expected = context.world.expand(text).encode().decode("unicode_escape")
    deadline = time.monotonic() + 15
    last: object = None
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=3) as resp:
                body = resp.read().decode()
            if body == expected:
                return
            last = body
        except OSError as err:
            last = err
        time.sleep(0.1)
    raise AssertionError(f"GET {url}: {last!r} != {expected!r}")
