"""nmt as an HTTP service: the LibreTranslate API, nmt's own /v1 API, health and metrics, with
concurrent requests batched into one search (``nmt serve``; docs/serving.md).

Modules, one job each: ``batcher`` (the queue and its worker thread), ``batched`` (a Translator
whose searches go through it), ``service`` (limits, model choice and text handling, no HTTP),
``libretranslate`` and ``api`` (the routes), ``middleware`` (body limit, access log),
``markup`` (HTML), ``metrics``, ``keys``, ``languages``, ``settings`` and ``app`` (all of it
as one ASGI app).
"""

from __future__ import annotations

__all__ = ["ServeSettings", "create_app"]


def __getattr__(name: str):
    # `nmt --help` imports nmt.cli.serve, which must not pull in torch or FastAPI.
    if name == "create_app":
        from nmt.serve.app import create_app

        return create_app
    if name == "ServeSettings":
        from nmt.serve.settings import ServeSettings

        return ServeSettings
    raise AttributeError(name)
