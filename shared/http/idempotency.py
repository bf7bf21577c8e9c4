"""`Idempotency-Key` on creating POSTs: a retried request gets the first answer, not a second effect."""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated, Any, Awaitable, Callable

from fastapi import Depends, Header, Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse
from sqlalchemy import Column, Integer, LargeBinary, MetaData, String, Table, delete, insert, select
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.exc import IntegrityError

from shared.db import UTCDateTime, utcnow
from shared.http.auth import ApiKeys
from shared.http.problems import Problem
from shared.uow import UnitOfWork

REPLAYED_HEADER = "Idempotent-Replayed"


def idempotency_table(metadata: MetaData) -> Table:
    return Table(
        "idempotency_keys",
        metadata,
        Column("principal", String(64), primary_key=True),
        Column("key", String(255), primary_key=True),
        Column("method", String(10), nullable=False),
        Column("path", String(500), nullable=False),
        Column("fingerprint", String(64), nullable=False),
        Column("status", Integer, nullable=False),
        Column("body", LargeBinary, nullable=False),
        Column("created_at", UTCDateTime, nullable=False),
    )


async def forget_old_answers(engine: AsyncEngine, table: Table, older_than: timedelta) -> int:
    """Drop stored answers past the time a client may retry: they can hold personal data. Returns how many."""
    async with engine.begin() as connection:
        result = await connection.execute(delete(table).where(table.c.created_at < utcnow() - older_than))
    return result.rowcount


@dataclass
class IdempotentRequest:
    table: Table
    key: str | None
    principal: str
    method: str
    path: str
    fingerprint: str

    async def run(self, uow: UnitOfWork, operation: Callable[[], Awaitable[tuple[int, Any]]]) -> JSONResponse:
        """Run `operation` (returning status and body) inside `uow` and commit, or replay the stored answer."""
        if self.key is None:
            status, body = await operation()
            await uow.commit()
            return JSONResponse(jsonable_encoder(body), status_code=status)
        stored = (await uow.session.execute(
            select(self.table).where(self.table.c.principal == self.principal, self.table.c.key == self.key)
        )).first()
        if stored is not None:
            return self._replay(stored)
        row = {"principal": self.principal, "key": self.key, "method": self.method, "path": self.path,
               "fingerprint": self.fingerprint, "status": 0, "body": b"", "created_at": utcnow()}
        try:
            # Claim the key before doing the work: a concurrent twin blocks here, then fails.
            await uow.session.execute(insert(self.table), row)
        except IntegrityError:
            raise Problem(409, "a request with this Idempotency-Key is already being processed; retry later")
        status, body = await operation()
        encoded = jsonable_encoder(body)
        await uow.session.execute(
            self.table.update()
            .where(self.table.c.principal == self.principal, self.table.c.key == self.key)
            .values(status=status, body=json.dumps(encoded).encode())
        )
        await uow.commit()
        return JSONResponse(encoded, status_code=status)

    def _replay(self, stored: Any) -> JSONResponse:
        if (stored.method, stored.path, stored.fingerprint) != (self.method, self.path, self.fingerprint):
            raise Problem(422, "this Idempotency-Key was already used with a different request",
                          title="Idempotency-Key reused")
        return JSONResponse(json.loads(stored.body), status_code=stored.status, headers={REPLAYED_HEADER: "true"})


async def idempotent_request(
    request: Request,
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key", min_length=1, max_length=255)] = None,
) -> IdempotentRequest:
    body = await request.body()
    # Keys are scoped per API key; auth itself is enforced by the route's own dependency.
    token = request.headers.get("authorization", "").removeprefix("Bearer ").strip()
    principal = ApiKeys.digest(token)
    return IdempotentRequest(
        table=request.app.state.tables.idempotency,
        key=idempotency_key,
        principal=principal,
        method=request.method,
        path=request.url.path,
        fingerprint=hashlib.sha256(body).hexdigest(),
    )


IdempotencyDep = Annotated[IdempotentRequest, Depends(idempotent_request)]
