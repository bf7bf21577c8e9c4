"""How consumers tell a bad event from a passing outage."""
from __future__ import annotations

import asyncio

import asyncpg
from sqlalchemy.exc import DBAPIError, DisconnectionError, InterfaceError, OperationalError


class RejectEvent(Exception):
    """Raised by a handler for an event that can never be applied (e.g. a purchase for an erased
    customer). The runner dead-letters that event with the reason and applies the rest."""

    def __init__(self, event_id: str, reason: str):
        super().__init__(reason)
        self.event_id = event_id
        self.reason = reason


#: What asyncpg itself raises, on the paths that use the driver directly, when the connection rather than the
#: statement failed: the connection closed or lost, the server shutting down, a protocol left mid-operation.
_DRIVER_OUTAGES = (asyncpg.exceptions.PostgresConnectionError, asyncpg.exceptions.AdminShutdownError,
                   asyncpg.exceptions.CrashShutdownError, asyncpg.exceptions.CannotConnectNowError,
                   asyncpg.exceptions.InterfaceError, asyncpg.exceptions.InternalClientError)


def is_transient(exc: BaseException) -> bool:
    """Failures of the infrastructure rather than the event: retried without limit, never dead-lettered."""
    if isinstance(exc, (OperationalError, InterfaceError, DisconnectionError, ConnectionError, OSError,
                        asyncio.TimeoutError, *_DRIVER_OUTAGES)):
        return True
    return isinstance(exc, DBAPIError) and exc.connection_invalidated
