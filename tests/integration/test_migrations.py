"""Each service's Alembic history builds exactly the schema its models describe, on SQLite and PostgreSQL."""
from __future__ import annotations

import asyncio
import importlib

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from shared.db import create_engine
from shared.migrations import upgrade_to_head

SERVICES = ["profile", "scoring", "engagement", "feedback"]


@pytest.mark.parametrize("service", SERVICES)
async def test_migrations_build_the_schema_the_models_describe(service: str, database_url: str) -> None:
    definition = importlib.import_module(f"services.{service}.app").DEFINITION
    engine = create_engine(database_url)
    try:
        await upgrade_to_head(engine, definition.migrations)
        await upgrade_to_head(engine, definition.migrations)  # a second replica starting finds nothing to do
        async with engine.connect() as connection:
            differences = await connection.run_sync(
                lambda sync: compare_metadata(MigrationContext.configure(sync, opts={"compare_type": True}),
                                              definition.metadata))
    finally:
        await engine.dispose()
    assert differences == []


@pytest.mark.parametrize("service", SERVICES)
async def test_replicas_starting_together_migrate_once_and_both_start(service: str, database_url: str) -> None:
    definition = importlib.import_module(f"services.{service}.app").DEFINITION
    engines = [create_engine(database_url) for _ in range(3)]
    try:
        await asyncio.gather(*(upgrade_to_head(engine, definition.migrations) for engine in engines))
        async with engines[0].connect() as connection:
            differences = await connection.run_sync(
                lambda sync: compare_metadata(MigrationContext.configure(sync, opts={"compare_type": True}),
                                              definition.metadata))
    finally:
        await asyncio.gather(*(engine.dispose() for engine in engines))
    assert differences == []
