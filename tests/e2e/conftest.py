"""The four services as separate processes, started once for the end-to-end tests."""
from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import AsyncIterator

import httpx
import pytest

from tests.support.apps import ADMIN_KEY, TEST_API_KEYS
from tests.support.processes import SERVICES, ServiceProcess, start_service, wait_until_ready
from tools.scratch_databases import fresh_database


@pytest.fixture(scope="package")
async def stack(broker: str, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[dict[str, ServiceProcess]]:
    workdir = tmp_path_factory.mktemp("stack")
    async with contextlib.AsyncExitStack() as exit_stack:
        services: dict[str, ServiceProcess] = {}
        for name in SERVICES:
            database_url = await exit_stack.enter_async_context(
                fresh_database(os.environ.get("TEST_DATABASE_URL"), _scratch(workdir, name)))
            # Engagement reads contact addresses from this stack's profile, as in production.
            extra_env = {"PROFILE_URL": services["profile"].url, "PROFILE_API_KEY": ADMIN_KEY} if name == "engagement" else None
            services[name] = start_service(name, database_url=database_url, broker=broker,
                                           api_keys=TEST_API_KEYS, workdir=workdir, extra_env=extra_env)
            exit_stack.callback(services[name].stop)
        for service in services.values():
            wait_until_ready(service)
        yield services


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    # Four services, their background jobs and the broker share two cores: a request can wait its turn.
    async with httpx.AsyncClient(headers={"Authorization": f"Bearer {ADMIN_KEY}"}, timeout=30) as client:
        yield client


def _scratch(workdir: Path, name: str) -> Path:
    path = workdir / name
    path.mkdir(exist_ok=True)
    return path
