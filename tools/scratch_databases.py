"""Fresh, throw-away databases on SQLite or on a PostgreSQL server, for tests and benchmarks."""
from __future__ import annotations

import contextlib
import uuid
from pathlib import Path
from typing import AsyncIterator

import asyncpg
from sqlalchemy.engine import make_url


@contextlib.asynccontextmanager
async def fresh_database(server_url: str | None, scratch: Path | str, *, prefix: str = "cvp_test") -> AsyncIterator[str]:
    """A new database named `<prefix>_<random>` on `server_url` (PostgreSQL), dropped afterwards;
    without a server, a new SQLite file in `scratch`."""
    if not server_url:
        yield f"sqlite+aiosqlite:///{scratch}/{prefix}.db"
        return
    url = make_url(server_url)
    if url.get_backend_name() != "postgresql":
        raise ValueError(f"the database server must be PostgreSQL, not {url.get_backend_name()}")
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(host=url.host, port=url.port or 5432, user=url.username,
                                  password=url.password, database=url.database or "postgres")
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        yield url.set(drivername="postgresql+asyncpg", database=name).render_as_string(hide_password=False)
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()
