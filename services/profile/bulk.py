"""Statements over many rows at once, for ingestion's batches.

On PostgreSQL the rows travel as one array per column, unnested by the server: one short, prepared
statement whatever the batch size, and no per-row work in SQLAlchemy. On SQLite they are a
multi-row INSERT (executemany), which the database handles just as well in process.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Table, bindparam, func, select
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.ext.asyncio import AsyncSession

from shared.db import dialect_insert


async def insert_rows(session: AsyncSession, table: Table, rows: list[dict[str, Any]], *,
                      same: dict[str, Any] | None = None, conflict: Sequence[str] | None = None,
                      update: Sequence[str] = (), returning: Sequence[str] = ()) -> list[Any]:
    """INSERT `rows` (dicts with the same keys), each with the columns in `same` added, into `table`.
    With `conflict` (the columns of a unique key), rows already there are skipped, or have their
    `update` columns overwritten. Returns the `returning` columns of the rows inserted (or updated)."""
    if not rows:
        return []
    names, same = list(rows[0]), same or {}
    if session.bind.dialect.name == "postgresql":  # the `same` values are bound once, not once per row
        arrays = [bindparam(f"rows_{name}", [row[name] for row in rows], type_=ARRAY(table.c[name].type))
                  for name in names]
        unnested = func.unnest(*arrays).table_valued(*names).render_derived(with_types=False)
        columns = [*(unnested.c[name] for name in names),
                   *(bindparam(f"same_{name}", value, type_=table.c[name].type) for name, value in same.items())]
        statement = postgresql_insert(table).from_select([*names, *same], select(*columns))
        parameters: list[dict[str, Any]] | None = None
    else:
        statement = dialect_insert(session.bind.dialect.name, table)
        parameters = [{**row, **same} for row in rows] if same else rows
    if conflict is not None:
        statement = (statement.on_conflict_do_update(index_elements=list(conflict),
                                                     set_={name: statement.excluded[name] for name in update})
                     if update else statement.on_conflict_do_nothing(index_elements=list(conflict)))
    if returning:
        statement = statement.returning(*[table.c[name] for name in returning])
    result = await (session.execute(statement) if parameters is None else session.execute(statement, parameters))
    return list(result.all()) if returning else []

