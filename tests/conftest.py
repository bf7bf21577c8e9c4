"""Fixtures shared by every tier: a real broker and a real database, fresh for the tests that need them.

TEST_DATABASE_URL selects PostgreSQL (e.g. postgresql+asyncpg://postgres@127.0.0.1:5432/postgres): each
test then gets a database of its own on that server. Without it, each test gets its own SQLite file.
TEST_KAFKA_BOOTSTRAP_SERVERS points the tests at a running broker; without it one is started.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import AsyncIterator, Iterator

import pytest

from shared.devbroker import DevBroker, free_port, start_broker
from tools.scratch_databases import fresh_database
from tests.support.proxy import CuttableProxy


@pytest.fixture(scope="session")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Bootstrap servers of the session's broker."""
    external = os.environ.get("TEST_KAFKA_BOOTSTRAP_SERVERS")
    if external:
        yield external
        return
    running = start_broker(log_path=tmp_path_factory.mktemp("broker") / "broker.log")
    yield running.bootstrap_servers
    running.stop()


@pytest.fixture
async def broker_behind_proxy(tmp_path: Path) -> AsyncIterator[tuple[DevBroker, CuttableProxy]]:
    """A broker of the test's own, reached through a proxy the test can cut to simulate an outage."""
    proxy_port = free_port()
    running = start_broker(log_path=tmp_path / "broker.log", advertised_port=proxy_port)
    proxy = CuttableProxy(proxy_port, running.port)
    await proxy.start()
    yield running, proxy
    await proxy.cut()
    running.stop()


@pytest.fixture
async def database_url(tmp_path: Path) -> AsyncIterator[str]:
    async with fresh_database(os.environ.get("TEST_DATABASE_URL"), tmp_path) as url:
        yield url
