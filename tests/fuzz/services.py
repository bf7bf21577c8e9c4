"""A service's app as the fuzzer sees it: built from its settings class, consumer off, rate limit out of reach,
started once for the whole run."""
from __future__ import annotations

import asyncio
import contextlib
import importlib
from typing import Any

from starlette.types import ASGIApp, Receive, Scope, Send

from tests.support.apps import settings_for


def service_app(name: str, *, database_url: str, broker: str, **overrides: Any) -> Any:
    module = importlib.import_module(f"services.{name}.settings")
    settings_cls = next(v for k, v in vars(module).items() if k.endswith("Settings") and k != "ServiceSettings")
    # No consumer: the fuzzer is the only client. The rate limit is lifted: it calls faster than any one key may.
    settings = settings_for(settings_cls, database_url=database_url, broker=broker, consumer_enabled=False,
                            rate_limit_per_second=1_000_000, rate_limit_burst=1_000_000, **overrides)
    return importlib.import_module(f"services.{name}.app").create_app(settings)


def openapi_document(name: str) -> dict[str, Any]:
    """The document the service serves at /openapi.json (building it touches no database or broker)."""
    return service_app(name, database_url="sqlite+aiosqlite://", broker="127.0.0.1:1").openapi()


class StartedOnce:
    """The app with its lifespan entered at the first startup and kept through the shutdowns schemathesis
    sends after each test (a service starts once per process; its resources are not made to be reopened).
    `close()` ends it, on the loop it runs on."""

    def __init__(self, app: ASGIApp, *, after: tuple["StartedOnce", ...] = ()):
        self.app = app
        self.after = after  # services this one calls, started before it
        self._running: contextlib.AsyncExitStack | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "lifespan":
            await self.app(scope, receive, send)
            return
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                for dependency in self.after:
                    await dependency.start()
                await self.start()
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def start(self) -> None:
        if self._running is None:
            running = contextlib.AsyncExitStack()
            await running.enter_async_context(self.app.router.lifespan_context(self.app))  # type: ignore[attr-defined]
            self._running, self._loop = running, asyncio.get_running_loop()

    def close(self) -> None:
        if self._running is not None and self._loop is not None:
            asyncio.run_coroutine_threadsafe(self._running.aclose(), self._loop).result(timeout=60)
            self._running = None
