"""The service as one ASGI app: routes, error answers, limits, metrics and (optionally) the UI.

    from nmt.serve import ServeSettings, create_app
    app = create_app([Translator.load()], ServeSettings())   # any ASGI server can run it

Every error a client can cause is answered as ``{"error": "..."}`` with a 4xx status; load is
answered with 503 and ``Retry-After``. An unexpected failure is a 500 whose body says only
that (the details go to the server's log, never to the client).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response

from nmt import __version__
from nmt.errors import NmtError
from nmt.serve import api, libretranslate
from nmt.serve.batched import RequestTimeout
from nmt.serve.batcher import QueueFull
from nmt.serve.keys import KeyRing
from nmt.serve.metrics import CONTENT_TYPE, Metrics
from nmt.serve.middleware import AccessLog, BodyLimit
from nmt.serve.service import Service
from nmt.serve.settings import ServeSettings
from nmt.translator import Translator

log = logging.getLogger("nmt.serve")

UI_PATH = "/ui"
# Multipart framing around an uploaded file of the UI's largest size.
_UPLOAD_OVERHEAD = 64 * 1024

DESCRIPTION = """Neural machine translation with nmt.

* `POST /translate`, `GET /languages`: the LibreTranslate API, for existing clients.
* `POST /v1/translate`: beam, length penalty, n-best lists with scores and attention.
* `GET /health`, `GET /metrics` (Prometheus).

Concurrent requests are translated together in batched searches; each answer is the same as
the text translated alone."""


def create_app(translators: Sequence[Translator], settings: ServeSettings | None = None) -> FastAPI:
    """The service over ``translators`` (the first is the default model), each behind its own
    batcher; with ``settings.ui`` the web UI is mounted at /ui and uses the same batchers."""
    settings = (settings or ServeSettings()).check()
    metrics = Metrics()
    service = Service(translators, settings, metrics)
    keys = KeyRing(settings.api_keys)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        yield
        service.close()  # queued work finishes; uvicorn has stopped taking requests

    app = FastAPI(title="nmt translation service", version=__version__, description=DESCRIPTION,
                  lifespan=lifespan)
    app.state.service = service
    app.include_router(libretranslate.router(service, keys))
    app.include_router(api.router(service, keys))
    _add_service_routes(app, service, metrics)
    _add_error_answers(app, metrics)

    mounts: tuple[str, ...] = ()
    if settings.ui:
        from nmt.ui.app import mount

        mount(app, service.catalog, UI_PATH, concurrency_limit=settings.max_batch)
        mounts = (UI_PATH,)
    if settings.cors_origins:
        from fastapi.middleware.cors import CORSMiddleware

        app.add_middleware(CORSMiddleware, allow_origins=list(settings.cors_origins),
                           allow_methods=["GET", "POST"], allow_headers=["*"])
    app.add_middleware(BodyLimit, limit_for=_body_limits(settings), metrics=metrics)
    app.add_middleware(AccessLog, metrics=metrics, mounts=mounts)  # outermost: sees every answer
    return app


def _body_limits(settings: ServeSettings):
    from nmt.ui.limits import MAX_UPLOAD_BYTES

    upload = max(settings.max_body_bytes, MAX_UPLOAD_BYTES + _UPLOAD_OVERHEAD)

    def limit_for(path: str) -> int:
        # The UI's file upload is the one place a larger body is expected.
        if settings.ui and path.startswith(UI_PATH + "/") and path.rstrip("/").endswith("/upload"):
            return upload
        return settings.max_body_bytes

    return limit_for


def _add_service_routes(app: FastAPI, service: Service, metrics: Metrics) -> None:
    @app.get("/health", tags=["service"], summary="Liveness and queue lengths")
    async def health() -> dict:
        return {"status": "ok", "version": __version__,
                "models": {e.key: {"source": e.translator.src_lang, "target": e.translator.tgt_lang,
                                   "queued_sentences": e.translator.batcher.waiting}
                           for e in service.catalog.entries}}

    @app.get("/metrics", tags=["service"], summary="Prometheus metrics",
             response_class=Response, responses={200: {"content": {CONTENT_TYPE: {}}}})
    async def prometheus() -> Response:
        return Response(metrics.render(), media_type=CONTENT_TYPE)

    @app.get("/", include_in_schema=False)
    async def root() -> RedirectResponse:
        return RedirectResponse(UI_PATH + "/" if service.settings.ui else "/docs")


def _add_error_answers(app: FastAPI, metrics: Metrics) -> None:
    def error(status: int, message: str, headers: dict | None = None) -> JSONResponse:
        return JSONResponse({"error": message}, status_code=status, headers=headers)

    @app.exception_handler(QueueFull)
    async def queue_full(request: Request, exc: QueueFull) -> JSONResponse:
        metrics.rejected.labels("queue_full").inc()
        return error(503, str(exc), {"Retry-After": str(exc.retry_after)})

    @app.exception_handler(RequestTimeout)
    async def timed_out(request: Request, exc: RequestTimeout) -> JSONResponse:
        return error(503, str(exc), {"Retry-After": str(max(1, int(exc.seconds // 2)))})

    @app.exception_handler(libretranslate.Forbidden)
    async def forbidden(request: Request, exc: NmtError) -> JSONResponse:
        return error(403, str(exc))

    @app.exception_handler(api.Unauthorized)
    async def unauthorized(request: Request, exc: NmtError) -> JSONResponse:
        return error(401, str(exc), {"WWW-Authenticate": "Bearer"})

    @app.exception_handler(NmtError)
    async def bad_request(request: Request, exc: NmtError) -> JSONResponse:
        return error(400, str(exc))

    @app.exception_handler(Exception)
    async def internal(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected error answering %s %s", request.method, request.url.path)
        return error(500, "internal error; the server's log has the details.")
