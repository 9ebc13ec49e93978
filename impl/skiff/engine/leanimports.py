"""Keep skiffd from importing what connexion imports but skiffd never uses (about 25 MB of RSS at idle).

connexion imports ``requests`` (remote ``$ref``s), ``httpx`` (OAuth token info), ``jinja2`` (templated spec
files) and starlette's test client at import time. ``install()``, called before connexion is imported,
puts stand-ins in ``sys.modules``: a plain module that imports the real one on first attribute use, and a
``TestClient`` that imports starlette's when instantiated. Nothing changes for code that does use them.
"""

from __future__ import annotations

import importlib
import sys
import types
from typing import Any

LAZY = ("requests", "httpx", "jinja2")


def _lazy(name: str) -> types.ModuleType:
    stand_in = types.ModuleType(name)

    def real() -> types.ModuleType:
        if sys.modules.get(name) is stand_in:
            del sys.modules[name]
        module = importlib.import_module(name)
        sys.modules[name] = module
        return module

    def __getattr__(attr: str) -> Any:  # PEP 562: only for attributes the stand-in lacks
        if attr.startswith("__") and attr.endswith("__"):
            raise AttributeError(attr)
        return getattr(real(), attr)

    stand_in.__getattr__ = __getattr__  # type: ignore[method-assign]
    return stand_in


class _TestClient:
    def __new__(cls, *args: Any, **kwargs: Any) -> Any:
        name = "starlette.testclient"
        if not hasattr(sys.modules.get(name), "__file__"):  # still the stand-in: import the real one
            sys.modules.pop(name, None)
            importlib.import_module(name)
        return sys.modules[name].TestClient(*args, **kwargs)


def install() -> None:
    for name in LAZY:
        if name not in sys.modules:
            sys.modules[name] = _lazy(name)
    if "starlette.testclient" not in sys.modules:
        stub = types.ModuleType("starlette.testclient")
        stub.TestClient = _TestClient  # type: ignore[attr-defined]
        sys.modules["starlette.testclient"] = stub
