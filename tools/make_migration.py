"""`python -m tools.make_migration <service> "message"`: autogenerate the next Alembic revision of a service
from its models, against a scratch SQLite database brought to the current head first."""
from __future__ import annotations

import asyncio
import importlib
import sys
import tempfile
from pathlib import Path

from alembic import command

from shared.db import create_engine
from shared.migrations import alembic_config, upgrade_to_head


async def autogenerate(service: str, message: str) -> None:
    definition = importlib.import_module(f"services.{service}.app").DEFINITION
    with tempfile.TemporaryDirectory() as scratch:
        engine = create_engine(f"sqlite+aiosqlite:///{scratch}/scratch.db")
        await upgrade_to_head(engine, definition.migrations)
        versions = Path(definition.migrations) / "versions"
        rev_id = f"{len(list(versions.glob('*.py'))) + 1:04d}"  # sequential ids read better than hashes
        async with engine.begin() as connection:
            await connection.run_sync(lambda sync: command.revision(
                alembic_config(Path(definition.migrations), sync), message=message, autogenerate=True,
                rev_id=rev_id))
        await engine.dispose()


if __name__ == "__main__":
    asyncio.run(autogenerate(sys.argv[1], sys.argv[2]))
