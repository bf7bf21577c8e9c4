"""The unit of work: one transaction holding a state change and the events it causes."""
from __future__ import annotations

from typing import Any, Callable

from sqlalchemy import Table
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared.events.envelope import CloudEvent, EventData, new_event
from shared.logging import current_correlation_id
from shared.outbox import write_events


class UnitOfWork:
    """`async with uow: ...; await uow.commit()`. Leaving the block without a commit rolls back.

    `record()` queues an outgoing event; `commit()` writes the queued events into the outbox in the
    same transaction as the state change, so neither can happen without the other.
    """

    def __init__(self, sessions: async_sessionmaker[AsyncSession], outbox: Table, *, source: str,
                 on_commit: Callable[[], Any] | None = None):
        self._sessions = sessions
        self._outbox = outbox
        self._on_commit = on_commit
        self.source = source
        self._events: list[CloudEvent] = []
        self.session: AsyncSession

    async def __aenter__(self) -> "UnitOfWork":
        self.session = self._sessions()
        self._events = []
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        try:
            # Detach what was read so the caller can still use it; rollback would expire it.
            self.session.expunge_all()
            await self.session.rollback()
        finally:
            await self.session.close()
            self._events = []

    def record(self, data: EventData, *, caused_by: Any = None) -> CloudEvent:
        """Queue an outgoing event. Pass `caused_by` (a received event) when a consumer reacts to an
        event, so the new one carries its correlation id; over HTTP the request's id is used."""
        correlation_id = caused_by.envelope.correlationid if caused_by is not None else current_correlation_id()
        event = new_event(data, source=self.source, correlation_id=correlation_id)
        self._events.append(event)
        return event

    @property
    def recorded(self) -> list[CloudEvent]:
        return list(self._events)

    async def commit(self) -> None:
        if self._events:
            await write_events(self.session, self._outbox, self._events)
        await self.session.commit()
        published = bool(self._events)
        self._events = []
        if published and self._on_commit is not None:
            self._on_commit()

    async def rollback(self) -> None:
        self._events = []
        await self.session.rollback()


def unit_of_work_factory(sessions: async_sessionmaker[AsyncSession], outbox: Table, *, source: str,
                         on_commit: Callable[[], Any] | None = None) -> Callable[[], UnitOfWork]:
    return lambda: UnitOfWork(sessions, outbox, source=source, on_commit=on_commit)
