"""Why an incoming record was rejected; consumers put `reason` and the class name in DLQ headers."""
from __future__ import annotations

from pydantic import ValidationError


class EventRejected(Exception):
    """A record that no retry can make acceptable: it belongs in the dead-letter topic."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class UndecodableEvent(EventRejected):
    """The bytes are not UTF-8, not JSON, or not a valid CloudEvents envelope."""


class UnknownEventType(EventRejected):
    """No model is registered for the envelope's (type, dataversion)."""


class InvalidEventData(EventRejected):
    """The payload does not satisfy the model registered for its (type, dataversion)."""


class SubjectMismatch(InvalidEventData):
    """The envelope subject names a different customer than the payload."""


def describe_validation_error(error: ValidationError, prefix: str = "") -> str:
    """One `path: message` per failing field, e.g. `data.items.0.quantity: Input should be ...`."""
    problems = []
    for detail in error.errors(include_url=False):
        path = ".".join(str(part) for part in (prefix, *detail["loc"]) if part != "")
        problems.append(f"{path or '(root)'}: {detail['msg']}")
    return "; ".join(problems)
