"""A cheap local webhook provider for the dispatch benchmark: answers 200 to every POST and counts the
deliveries per Idempotency-Key; GET /stats tells how many requests came and for how many distinct keys.

Run in a process of its own: `python -m bench.webhook_receiver <port>`.
"""
from __future__ import annotations

import json
import sys
from collections import Counter
from collections.abc import Awaitable, Callable
from typing import Any

import uvicorn

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]

deliveries: Counter[bytes] = Counter()


async def app(scope: Scope, receive: Receive, send: Send) -> None:
    if scope["type"] != "http":
        return
    more = True
    while more:  # read the body to the end so the connection can be kept alive
        more = (await receive()).get("more_body", False)
    body = b""
    if scope["method"] == "POST":
        key = next((v for k, v in scope["headers"] if k == b"idempotency-key"), b"")
        deliveries[key] += 1
    else:
        body = json.dumps({"requests": sum(deliveries.values()), "distinct": len(deliveries)}).encode()
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})


if __name__ == "__main__":
    uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning", access_log=False,
                loop="uvloop", http="httptools", lifespan="off")
