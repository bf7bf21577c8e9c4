"""Fixtures for the service integration tests."""
from __future__ import annotations

import os
from typing import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI

from services.profile.app import create_app
from services.profile.settings import ProfileSettings
from tests.support.apps import running_app, settings_for
from tools.scratch_databases import fresh_database


@pytest.fixture(scope="module")
async def profile(broker: str, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    """One running profile app, on a database of its own, for each test module that asks for it."""
    async with fresh_database(os.environ.get("TEST_DATABASE_URL"), tmp_path_factory.mktemp("profile")) as url:
        async with running_app(create_app, settings_for(ProfileSettings, database_url=url, broker=broker)) as app:
            yield app
