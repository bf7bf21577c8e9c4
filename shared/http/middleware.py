"""ASGI middleware: correlation ids, request size limits and request metrics."""
from __future__ import annotations

import json
import re
import time
from typing import Any

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared.logging import new_correlation_id, reset_correlation_id, set_correlation_id
from shared.metrics import HttpMetrics

CORRELATION_HEADER = "x-correlation-id"
_SAFE_CORRELATION = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")


class PlatformMiddleware:
    """Binds a correlation id (taken from `X-Correlation-ID` or made up) to the request, echoes it in
    the response, refuses bodies over the limit with 413, and records latency per route."""

    def __init__(self, app: ASGIApp, *, max_body_bytes: int, metrics: HttpMetrics):
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        incoming = headers.get(CORRELATION_HEADER.encode(), b"").decode("latin-1")
        correlation_id = incoming if _SAFE_CORRELATION.match(incoming) else new_correlation_id()
        declared = headers.get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_body_bytes:
            await self._too_large(send, correlation_id)
            return
        token = set_correlation_id(correlation_id)
        started = time.perf_counter()
        status = 500
        received_bytes = 0

        async def limited_receive() -> Message:
            nonlocal received_bytes
            message = await receive()
            if message["type"] == "http.request":
                received_bytes += len(message.get("body", b""))
                if received_bytes > self.max_body_bytes:
                    # An HTTPException, so that the problem handlers answer it as a 413.
                    raise HTTPException(413, f"request body exceeds {self.max_body_bytes} bytes")
            return message

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = list(message.get("headers", [])) + [
                    (CORRELATION_HEADER.encode(), correlation_id.encode())]
            await send(message)

        try:
            await self.app(scope, limited_receive, send_with_id)
        finally:
            reset_correlation_id(token)
            route = scope.get("route")
            label = getattr(route, "path", "unmatched")
            self.metrics.requests.labels(scope["method"], label, str(status)).inc()
            self.metrics.latency.labels(scope["method"], label).observe(time.perf_counter() - started)

    async def _too_large(self, send: Send, correlation_id: str) -> None:
        body: dict[str, Any] = {"type": "about:blank", "title": "Content Too Large", "status": 413,
                                "detail": f"request body exceeds {self.max_body_bytes} bytes"}
        payload = json.dumps(body).encode()
        await send({"type": "http.response.start", "status": 413, "headers": [
            (b"content-type", b"application/problem+json"), (b"content-length", str(len(payload)).encode()),
            (CORRELATION_HEADER.encode(), correlation_id.encode())]})
        await send({"type": "http.response.body", "body": payload})
