from __future__ import annotations

from pydantic import Field

from shared.settings import ServiceSettings


class FeedbackSettings(ServiceSettings):
    service_name: str = "feedback"
    port: int = 8004
    #: Hours to answer a complaint, by severity.
    sla_hours: dict[str, int] = Field(default_factory=lambda: {"critical": 4, "high": 24, "medium": 72, "low": 168})
