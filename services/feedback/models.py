"""Feedback's tables: surveys and their versions, invitations, responses, cases, follow-ups and the
few customer attributes feedback keeps (tier, churn risk, stage) from scoring's events."""
from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Date, Index, Integer, MetaData, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from shared.db import BigIntPK, UTCDateTime
from shared.tables import platform_tables


class Base(DeclarativeBase):
    metadata = MetaData()


class Survey(Base):
    __tablename__ = "surveys"

    survey_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(300))
    status: Mapped[str] = mapped_column(String(16))  # active | archived
    current_version: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class SurveyVersion(Base):
    """An immutable definition; responses point at the version they answered."""

    __tablename__ = "survey_versions"

    survey_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    version: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    definition: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Invitation(Base):
    __tablename__ = "invitations"
    __table_args__ = (Index("ix_invitations_customer_created", "customer_id", "created_at"),
                      Index("ix_invitations_survey_created", "survey_id", "created_at"))

    invitation_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    customer_id: Mapped[str] = mapped_column(String(64))
    survey_id: Mapped[str] = mapped_column(String(64))
    version: Mapped[int] = mapped_column(Integer)
    locale: Mapped[str | None] = mapped_column(String(35))
    channel: Mapped[str | None] = mapped_column(String(16))
    trigger: Mapped[str] = mapped_column(String(32))  # manual | first-purchase | case-resolved
    status: Mapped[str] = mapped_column(String(16))  # sent | responded
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    responded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Response(Base):
    __tablename__ = "responses"
    __table_args__ = (Index("ix_responses_kind_time", "kind", "responded_at"),
                      Index("ix_responses_survey_time", "survey_id", "responded_at"))

    response_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    customer_id: Mapped[str] = mapped_column(String(64), index=True)
    survey_id: Mapped[str | None] = mapped_column(String(64))
    version: Mapped[int | None] = mapped_column(Integer)
    invitation_id: Mapped[str | None] = mapped_column(String(64), unique=True)
    channel: Mapped[str] = mapped_column(String(16))
    kind: Mapped[str] = mapped_column(String(16))
    score: Mapped[int | None] = mapped_column(Integer)
    comment: Mapped[str | None] = mapped_column(Text)
    sentiment: Mapped[str | None] = mapped_column(String(16))
    themes: Mapped[list[str]] = mapped_column(JSON)
    answers: Mapped[dict[str, Any]] = mapped_column(JSON)
    #: The customer's tier when they answered, so analytics by tier need no join.
    tier: Mapped[str | None] = mapped_column(String(16))
    responded_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ResponseScore(Base):
    """One row per NPS, CSAT or CES question a response answers (an NPS survey may ask CSAT and CES too),
    with what reports group by, so NPS/CSAT/CES count every scored question, not only the headline."""

    __tablename__ = "response_scores"

    response_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    question_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    customer_id: Mapped[str] = mapped_column(String(64), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    score: Mapped[int] = mapped_column(Integer)
    survey_id: Mapped[str | None] = mapped_column(String(64))
    tier: Mapped[str | None] = mapped_column(String(16))
    channel: Mapped[str] = mapped_column(String(16))
    responded_at: Mapped[datetime] = mapped_column(UTCDateTime)
    #: Counted into response_daily yet? The roll-up job flips it in the same transaction it adds the counts.
    rolled_up: Mapped[bool] = mapped_column(default=False, index=True)


class ResponseDaily(Base):
    """Scores (response_scores) counted per UTC day, survey, tier, channel and kind: what NPS/CSAT/CES reports read, so a
    trend over millions of responses reads thousands of rows. Unknown survey or tier is ''."""

    __tablename__ = "response_daily"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    survey_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    tier: Mapped[str] = mapped_column(String(16), primary_key=True)
    channel: Mapped[str] = mapped_column(String(64), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16), primary_key=True)
    scored: Mapped[int] = mapped_column(BigInteger)
    promoters: Mapped[int] = mapped_column(BigInteger)
    detractors: Mapped[int] = mapped_column(BigInteger)
    satisfied: Mapped[int] = mapped_column(BigInteger)
    score_sum: Mapped[int] = mapped_column(BigInteger)


class ResponseTheme(Base):
    """One row per theme found in a comment, so themes can be counted per period."""

    __tablename__ = "response_themes"

    response_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    theme: Mapped[str] = mapped_column(String(64), primary_key=True)
    customer_id: Mapped[str] = mapped_column(String(64), index=True)
    responded_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


class Complaint(Base):
    __tablename__ = "complaints"
    __table_args__ = (Index("ix_complaints_status_due", "status", "sla_due_at"),)

    case_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    customer_id: Mapped[str] = mapped_column(String(64), index=True)
    severity: Mapped[str] = mapped_column(String(16))
    category: Mapped[str] = mapped_column(String(64))
    description: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16))
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime)
    sla_due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    tier: Mapped[str | None] = mapped_column(String(16))
    assignee: Mapped[str | None] = mapped_column(String(128))
    response_id: Mapped[str | None] = mapped_column(String(64))
    resolution: Mapped[str | None] = mapped_column(String(500))
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    sla_breached_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reopened_count: Mapped[int] = mapped_column(Integer, default=0)


class CaseNote(Base):
    __tablename__ = "case_notes"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    case_id: Mapped[str] = mapped_column(String(64), index=True)
    customer_id: Mapped[str] = mapped_column(String(64), index=True)
    author: Mapped[str | None] = mapped_column(String(128))
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class FollowUp(Base):
    """A task for a person: the follow-up visit (回访) after a case is resolved."""

    __tablename__ = "follow_ups"

    task_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    case_id: Mapped[str] = mapped_column(String(64), index=True)
    customer_id: Mapped[str] = mapped_column(String(64), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16))  # open | done
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class ScheduledInvitation(Base):
    """An invitation a trigger wants sent later; the scheduler sends it when due."""

    __tablename__ = "scheduled_invitations"
    __table_args__ = (Index("ix_scheduled_invitations_due", "status", "due_at"),)

    customer_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    #: One per trigger occurrence: `first-purchase`, `case-resolved:<case_id>`.
    trigger_key: Mapped[str] = mapped_column(String(128), primary_key=True)
    trigger: Mapped[str] = mapped_column(String(32))
    survey_id: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16))  # pending | sent | skipped
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    bypass_cooldown: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class CustomerStanding(Base):
    """What scoring says about a customer, as far as feedback needs it."""

    __tablename__ = "customer_standing"

    customer_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    tier: Mapped[str | None] = mapped_column(String(16))
    churn_risk: Mapped[str | None] = mapped_column(String(16))
    stage: Mapped[str | None] = mapped_column(String(16))
    first_purchase_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


CUSTOMER_TABLES = (Invitation, Response, ResponseTheme, ResponseScore, Complaint, CaseNote, FollowUp, ScheduledInvitation,
                   CustomerStanding)

tables = platform_tables(Base.metadata)
metadata = Base.metadata
