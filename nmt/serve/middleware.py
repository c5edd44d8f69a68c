"""Two ASGI middlewares around the whole service: a body-size limit and the access log.

Both are plain ASGI (no BaseHTTPMiddleware), so they add no task or copy per request, and they
wrap everything mounted on the app, the web UI included.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable

from nmt.serve.metrics import Metrics

log = logging.getLogger("nmt.serve")

_BODY_METHODS = {"POST", "PUT", "PATCH", "DELETE"}


class BodyTooLarge(Exception):
    pass


class BodyLimit:
    """Refuse a request body over ``limit_for(path)`` bytes with 413 before reading it.

    A declared Content-Length over the limit is refused at once, unread. A body sent without
    one (chunked) is read up to the limit and refused as soon as it passes it, so no request
    ever makes the server hold more than the limit; one within the limit is handed on as read.
    """

    def __init__(self, app, limit_for: Callable[[str], int], metrics: Metrics) -> None:
        self.app, self.limit_for, self.metrics = app, limit_for, metrics

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http" or scope["method"] not in _BODY_METHODS:
            return await self.app(scope, receive, send)
        limit = self.limit_for(scope["path"])
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None:
            try:
                too_large = int(declared) > limit
            except ValueError:
                return await _error(send, 400, "the Content-Length header is not a number.")
            if too_large:
                return await self._refuse(send, limit)
            return await self.app(scope, receive, send)
        chunks, size = [], 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return  # the client went away
            size += len(message.get("body", b""))
            if size > limit:
                return await self._refuse(send, limit)
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                break
        body, replayed = b"".join(chunks), False

        async def replay():
            nonlocal replayed
            if replayed:
                return await receive()
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}

        await self.app(scope, replay, send)

    async def _refuse(self, send, limit: int) -> None:
        self.metrics.rejected.labels("body_too_large").inc()
        await _error(send, 413, f"the request body is larger than this server accepts "
                                f"({limit:,} bytes); send less text per request.",
                     [(b"connection", b"close")])


async def _error(send, status: int, message: str, headers: list | None = None) -> None:
    body = json.dumps({"error": message}).encode("utf-8")
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"),
                            (b"content-length", str(len(body)).encode()), *(headers or [])]})
    await send({"type": "http.response.body", "body": body})


class AccessLog:
    """One log line and the request metrics per HTTP request: client, method, path without the
    query string (where an API key could be), status and time. Routes are counted by their
    template (``/translate``), mounted apps by their mount point, anything else as "other"."""

    def __init__(self, app, metrics: Metrics, mounts: tuple[str, ...] = ()) -> None:
        self.app, self.metrics, self.mounts = app, metrics, mounts

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        started, status = time.perf_counter(), 500

        async def watch(message):
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, watch)
        finally:
            seconds = time.perf_counter() - started
            route = _route_label(scope, self.mounts)
            self.metrics.requests.labels(route, scope["method"], str(status)).inc()
            self.metrics.latency.labels(route).observe(seconds)
            client = scope.get("client") or ("-", 0)
            log.info('%s "%s %s" %d %.1f ms', client[0], scope["method"], scope["path"], status,
                     seconds * 1000)


def _route_label(scope, mounts: tuple[str, ...]) -> str:
    template = getattr(scope.get("route"), "path", None)
    path = scope["path"]
    mount = next((m for m in mounts if path == m or path.startswith(m + "/")), "")
    if template is None:
        return mount or "other"
    return mount + template if not template.startswith(mount + "/") else template
