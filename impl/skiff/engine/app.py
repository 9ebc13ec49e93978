"""The skiffd ASGI application: connexion 3 over the patched spec, wrapped for Docker's conventions.

Request validation is on; response validation is off (it buffers whole bodies and breaks streams,
engine-api-notes C5). The outermost layer is ``VersionMiddleware`` (paths, versions, default headers).
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

from connexion import AsyncApp
from connexion.options import SwaggerUIOptions

from skiff.engine import errors
from skiff.engine.querybool import DockerURIParser
from skiff.engine.resolver import SkiffResolver
from skiff.engine.spec import load_spec
from skiff.engine.versioning import VersionMiddleware

log = logging.getLogger("skiff.engine.app")


class EngineApp:
    """The ASGI callable plus what it was built from (the resolver's report is used by tests)."""

    def __init__(self, connexion_app: AsyncApp, resolver: SkiffResolver) -> None:
        self.connexion_app = connexion_app
        self.resolver = resolver
        self.asgi = VersionMiddleware(connexion_app)

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        await self.asgi(scope, receive, send)


def create_app(spec_cache_dir: Path | None = None) -> EngineApp:
    started = time.monotonic()
    spec = load_spec(cache_dir=spec_cache_dir)
    resolver = SkiffResolver()
    app = AsyncApp(__name__)
    app.add_api(
        spec,
        resolver=resolver,
        pythonic_params=True,
        validate_responses=False,
        strict_validation=False,
        uri_parser_class=DockerURIParser,
        swagger_ui_options=SwaggerUIOptions(swagger_ui=False, serve_spec=False),
    )
    errors.install(app)
    # connexion builds its middleware stack lazily on the first request; build it now so the
    # first `docker` command does not pay for it.
    app.middleware._build_middleware_stack()
    implemented = sorted(k for k, v in resolver.resolved.items() if v not in ("501", "swarm"))
    log.info("engine app ready in %.0f ms: %d operations routed, %d implemented",
             (time.monotonic() - started) * 1000, len(resolver.resolved), len(implemented))
    return EngineApp(app, resolver)
