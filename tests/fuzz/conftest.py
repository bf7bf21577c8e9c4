"""Each service's app in-process on a database of its own, started on first request on schemathesis' loop."""
from __future__ import annotations

import contextlib
import os
from typing import AsyncIterator

import httpx
import pytest

from services.engagement.profile_client import ProfileClient
from tests.fuzz.services import StartedOnce, service_app
from tests.support.apps import ADMIN_KEY
from tests.support.processes import SERVICES
from tools.scratch_databases import fresh_database


@pytest.fixture(scope="package")
async def live_apps(broker: str, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[dict[str, StartedOnce]]:
    async with contextlib.AsyncExitStack() as stack:
        apps: dict[str, StartedOnce] = {}
        for name in SERVICES:
            url = await stack.enter_async_context(
                fresh_database(os.environ.get("TEST_DATABASE_URL"), tmp_path_factory.mktemp(f"fuzz-{name}")))
            app = service_app(name, database_url=url, broker=broker)
            if name == "engagement":  # it reads contact addresses from this profile, in-process
                await app.state.profile.close()
                app.state.profile = ProfileClient("http://profile", ADMIN_KEY,
                                                  transport=httpx.ASGITransport(app=apps["profile"]))
            apps[name] = StartedOnce(app, after=(apps["profile"],) if name == "engagement" else ())
            stack.callback(apps[name].close)
        yield apps
