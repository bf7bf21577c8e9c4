"""HTTP models of segments."""
from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from services.profile.segment_rules import Condition
from shared.events.fields import CustomerId

MAX_STATIC_MEMBERS = 100_000


class SegmentPreview(BaseModel):
    model_config = ConfigDict(extra="forbid")

    definition: Condition


class SegmentCreate(BaseModel):
    """A dynamic segment (`definition`, kept up to date) or a static one (`customer_ids`, as uploaded)."""

    model_config = ConfigDict(extra="forbid")

    name: Annotated[str, StringConstraints(min_length=1, max_length=200, strip_whitespace=True)]
    description: Annotated[str, StringConstraints(max_length=2000)] | None = None
    definition: Condition | None = None
    customer_ids: Annotated[list[CustomerId], Field(min_length=1, max_length=MAX_STATIC_MEMBERS)] | None = None

    @model_validator(mode="after")
    def _one_kind(self) -> SegmentCreate:
        if (self.definition is None) == (self.customer_ids is None):
            raise ValueError("give either `definition` (a dynamic segment) or `customer_ids` (a static one)")
        return self


class PreviewRead(BaseModel):
    count: int
    sample: list[str]


class SegmentRead(BaseModel):
    segment_id: str
    name: str
    description: str | None
    kind: Literal["dynamic", "static"]
    definition: dict[str, Any] | None
    members: int
    created_at: datetime
    computed_at: datetime | None


class SegmentCreated(SegmentRead):
    skipped_customer_ids: list[str] = Field(default_factory=list)
    """Listed ids that name no live customer (static segments)."""


class MemberRead(BaseModel):
    customer_id: str
    entered_at: datetime
