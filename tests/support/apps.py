"""Running a service app in-process, with its lifespan (migrations, relay, consumer) started."""
from __future__ import annotations

import contextlib
import uuid
from typing import Any, AsyncIterator, Callable

import httpx
from fastapi import FastAPI

from shared.settings import ServiceSettings

ADMIN_KEY = "test-admin-key"
READER_KEY = "test-reader-key"
TEST_API_KEYS = {
    ADMIN_KEY: ["*"],
    READER_KEY: ["profile:read", "scoring:read", "engagement:read", "feedback:read"],
}


def settings_for(settings_cls: type[ServiceSettings], *, database_url: str, broker: str, **overrides: Any) -> Any:
    defaults: dict[str, Any] = dict(
        environment="test", database_url=database_url, kafka_bootstrap_servers=broker,
        consumer_group=f"{settings_cls.model_fields['service_name'].default}-{uuid.uuid4().hex[:8]}",
        consumer_session_timeout_ms=6000, outbox_poll_interval_ms=50, consumer_retry_backoff_ms=20,
        api_keys=TEST_API_KEYS,
    )
    return settings_cls(**{**defaults, **overrides})


@contextlib.asynccontextmanager
async def running_app(create_app: Callable[[Any], FastAPI], settings: ServiceSettings,
                      api_key: str = ADMIN_KEY) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver",
                                     headers={"Authorization": f"Bearer {api_key}"}) as client:
            yield app, client
