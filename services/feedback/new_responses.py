"""A response built from answers already found valid: the rows to insert and the event to publish.
Pure apart from reading the comment (text.py); the handlers decide when and with what they are stored."""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from services.feedback import text
from services.feedback.surveys import SurveyDefinition, question_scores, scored
from shared.events.catalogue import FeedbackReceivedV1


@dataclass(frozen=True)
class NewResponse:
    """`response` is a row of `responses`, `themes` rows of `response_themes`, `scores` rows of
    `response_scores` (one per NPS, CSAT or CES question answered)."""

    response: dict[str, Any]
    themes: list[dict[str, Any]]
    scores: list[dict[str, Any]]
    event: FeedbackReceivedV1

    @property
    def response_id(self) -> str:
        return self.response["response_id"]  # type: ignore[no-any-return]

    @property
    def customer_id(self) -> str:
        return self.response["customer_id"]  # type: ignore[no-any-return]


def new_response(definition: SurveyDefinition, answers: dict[str, Any], *, survey_id: str, version: int,
                 customer_id: str, invitation_id: str | None, channel: str, responded_at: datetime,
                 tier: str | None) -> NewResponse:
    headline = scored(definition, answers)
    insight = text.analyse(headline.comment) if headline.comment else None
    sentiment = insight.sentiment if insight else None
    themes = list(insight.themes) if insight else []
    response_id = f"rsp-{uuid.uuid4().hex[:16]}"
    response = {"response_id": response_id, "customer_id": customer_id, "survey_id": survey_id, "version": version,
                "invitation_id": invitation_id, "channel": channel, "kind": headline.kind, "score": headline.score,
                "comment": headline.comment, "sentiment": sentiment, "themes": themes, "answers": answers,
                "tier": tier, "responded_at": responded_at}
    theme_rows = [{"response_id": response_id, "theme": theme, "customer_id": customer_id,
                   "responded_at": responded_at} for theme in themes]
    score_rows = [{"response_id": response_id, "question_id": s.question_id, "customer_id": customer_id,
                   "kind": s.kind, "score": s.score, "survey_id": survey_id, "tier": tier, "channel": channel,
                   "responded_at": responded_at, "rolled_up": False}
                  for s in question_scores(definition, answers)]
    event = FeedbackReceivedV1(
        response_id=response_id, customer_id=customer_id, survey_id=survey_id,  # type: ignore[arg-type]
        invitation_id=invitation_id, kind=headline.kind, score=headline.score, comment=headline.comment,
        sentiment=sentiment, themes=themes, responded_at=responded_at)
    return NewResponse(response, theme_rows, score_rows, event)
