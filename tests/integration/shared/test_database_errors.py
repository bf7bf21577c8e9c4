"""Database errors end up in logs, so they must not carry the values a statement was given."""
from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from shared.db import create_engine


async def test_a_failed_statement_names_the_error_but_not_the_values(database_url: str) -> None:
    engine = create_engine(database_url)
    try:
        async with engine.begin() as connection:
            await connection.execute(text("CREATE TABLE people (email VARCHAR(100) PRIMARY KEY)"))
            await connection.execute(text("INSERT INTO people VALUES (:email)"), {"email": "ann.secret@example.org"})
        with pytest.raises(DBAPIError) as raised:
            async with engine.begin() as connection:
                await connection.execute(text("INSERT INTO people VALUES (:email)"), {"email": "ann.secret@example.org"})
    finally:
        await engine.dispose()
    assert "people" in str(raised.value)
    assert "ann.secret@example.org" not in str(raised.value)
