"""The skiffd ASGI application: connexion 3 over the patched spec, wrapped for Docker's conventions.

Request validation is on; response validation is off (it buffers whole bodies and breaks streams,
engine-api-notes C5). The outermost layer is ``VersionMiddleware`` (paths, versions, default headers).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from connexion import AsyncApp
from connexion.middleware import MiddlewarePosition
from connexion.options import SwaggerUIOptions
from connexion.spec import Swagger2Specification

from skiff.engine import bodies, errors
from skiff.engine.querybool import DockerURIParser
from skiff.engine.resolver import SkiffResolver
from skiff.engine.spec import build_spec, cache_path, load_patches, read_cache, write_cache
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


@contextmanager
def _trusted_spec(trusted: bool) -> Iterator[None]:
    """Skip connexion's meta-schema validation of a spec that passed it before it was cached.

    That validation is most of the app's build time (~0.35 s of ~0.45 s on the test machine).
    """
    if not trusted:
        yield
        return
    had_own = "_validate_spec" in Swagger2Specification.__dict__
    original = Swagger2Specification.__dict__.get("_validate_spec")
    Swagger2Specification._validate_spec = classmethod(lambda cls, spec: None)
    try:
        yield
    finally:
        if had_own:
            Swagger2Specification._validate_spec = original
        else:
            del Swagger2Specification._validate_spec


def create_app(spec_cache_dir: Path | None = None) -> EngineApp:
    """Build the app; with ``spec_cache_dir`` the patched, validated spec is cached there for next time."""
    started = time.monotonic()
    cache = cache_path(spec_cache_dir) if spec_cache_dir is not None else None
    spec = read_cache(cache) if cache is not None else None
    trusted = spec is not None
    if spec is None:
        spec = build_spec()
    resolver = SkiffResolver()
    app = AsyncApp(__name__)
    app.add_middleware(bodies.GoBodyMiddleware, position=MiddlewarePosition.BEFORE_VALIDATION)
    with _trusted_spec(trusted):
        app.add_api(
            spec,
            resolver=resolver,
            pythonic_params=True,
            validate_responses=False,
            strict_validation=False,
            uri_parser_class=DockerURIParser,
            validator_map=bodies.validator_map(),
            swagger_ui_options=SwaggerUIOptions(swagger_ui=False, serve_spec=False),
        )
    if cache is not None and not trusted:
        write_cache(cache, spec)  # only a spec connexion has validated is cached
    errors.install(app)
    # connexion builds its middleware stack lazily on the first request; build it now so the
    # first `docker` command does not pay for it.
    middleware = app.middleware
    middleware.app, middleware.middleware_stack = middleware._build_middleware_stack()
    implemented = sorted(k for k, v in resolver.resolved.items() if v not in ("501", "swarm"))
    log.info("engine app ready in %.0f ms (spec %s, patches %s): %d operations routed, %d implemented",
             (time.monotonic() - started) * 1000, "cached" if trusted else "patched and validated",
             ",".join(p.name.split("-", 1)[0] for p in load_patches()), len(resolver.resolved),
             len(implemented))
    return EngineApp(app, resolver)
