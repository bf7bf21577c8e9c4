"""How consumers tell a bad event from a passing outage."""
from __future__ import annotations

import asyncio

from sqlalchemy.exc import DBAPIError, DisconnectionError, InterfaceError, OperationalError


class RejectEvent(Exception):
    """Raised by a handler for an event that can never be applied (e.g. a purchase for an erased
    customer). The runner dead-letters that event with the reason and applies the rest."""

    def __init__(self, event_id: str, reason: str):
        super().__init__(reason)
        self.event_id = event_id
        self.reason = reason


def is_transient(exc: BaseException) -> bool:
    """Failures of the infrastructure rather than the event: retried without limit, never dead-lettered."""
    if isinstance(exc, (OperationalError, InterfaceError, DisconnectionError, ConnectionError, OSError,
                        asyncio.TimeoutError)):
        return True
    return isinstance(exc, DBAPIError) and exc.connection_invalidated
