"""What feedback's use cases refuse; app.py turns each into a problem+json answer."""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class FeedbackError(Exception):
    status: int
    detail: str
    errors: list[dict[str, str]] = field(default_factory=list)

    def __post_init__(self) -> None:
        super().__init__(self.detail)


def not_found(what: str) -> FeedbackError:
    return FeedbackError(404, f"{what} not found")


def conflict(detail: str, field_name: str | None = None) -> FeedbackError:
    errors = [{"field": field_name, "message": detail}] if field_name else []
    return FeedbackError(409, detail, errors)


def invalid(detail: str, errors: list[dict[str, str]]) -> FeedbackError:
    return FeedbackError(422, detail, errors)
