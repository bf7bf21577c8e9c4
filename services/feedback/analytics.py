"""Reports behind /analytics. NPS, CSAT and CES read the daily roll-up (plus what is not rolled up yet);
themes, sentiment and response rates are counted from their tables; scores.py does the arithmetic."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import ColumnElement, case, func, literal, select

from services.feedback import scores
from services.feedback.handlers_rollup import day_counts
from services.feedback.models import Invitation, Response, ResponseTheme
from services.feedback.rollup import Bucket, buckets
from shared.uow import UnitOfWork

Granularity = Literal["day", "week", "month"]
GroupBy = Literal["survey", "tier", "channel"]


@dataclass(frozen=True)
class Filters:
    survey_id: str | None = None
    tier: str | None = None
    channel: str | None = None
    since: datetime | None = None
    until: datetime | None = None


def period_of(column: Any, granularity: Granularity, dialect: str) -> ColumnElement[str]:
    """The first day of the day, ISO week (Monday) or month the timestamp falls in, as YYYY-MM-DD (UTC)."""
    if dialect == "postgresql":
        return func.to_char(func.date_trunc(granularity, func.timezone("UTC", column)), "YYYY-MM-DD")
    if granularity == "day":
        return func.strftime("%Y-%m-%d", column)
    if granularity == "week":
        return func.date(column, "-6 days", "weekday 1")
    return func.strftime("%Y-%m-01", column)


def _filtered(query: Any, filters: Filters, time_column: Any = Response.responded_at) -> Any:
    for column, value in ((Response.survey_id, filters.survey_id), (Response.tier, filters.tier),
                          (Response.channel, filters.channel)):
        if value is not None:
            query = query.where(column == value)
    if filters.since is not None:
        query = query.where(time_column >= filters.since)
    if filters.until is not None:
        query = query.where(time_column < filters.until)
    return query


GROUP_INDEX = {"survey": 1, "tier": 2, "channel": 3}


async def _buckets(uow: UnitOfWork, kind: str, filters: Filters, granularity: Granularity | None,
                   group_by: GroupBy | None) -> list[Bucket]:
    days = await day_counts(uow, kind, survey_id=filters.survey_id, tier=filters.tier, channel=filters.channel,
                            since=filters.since, until=filters.until)
    return [b for b in buckets(days, granularity, GROUP_INDEX[group_by] if group_by else None) if b.counts.scored]


def _key(bucket: Bucket, granularity: Granularity | None, group_by: GroupBy | None) -> dict[str, Any]:
    key: dict[str, Any] = {}
    if granularity:
        key["period"] = bucket.period
    if group_by:
        key[group_by] = bucket.group
    return key


async def nps_report(uow: UnitOfWork, filters: Filters, granularity: Granularity | None,
                     group_by: GroupBy | None) -> list[dict[str, Any]]:
    report = []
    for bucket in await _buckets(uow, "nps", filters, granularity, group_by):
        c = bucket.counts
        result = scores.nps(scores.NpsCounts(c.promoters, c.scored - c.promoters - c.detractors, c.detractors))
        report.append({**_key(bucket, granularity, group_by), "nps": result.nps, "ci_low": result.ci_low,
                       "ci_high": result.ci_high, "promoters": c.promoters, "passives": result.counts.passives,
                       "detractors": c.detractors, "responses": c.scored})
    return report


async def csat_report(uow: UnitOfWork, filters: Filters, granularity: Granularity | None,
                      group_by: GroupBy | None) -> list[dict[str, Any]]:
    return [{**_key(b, granularity, group_by), "csat": scores.csat_percent(b.counts.satisfied, b.counts.scored),
             "satisfied": b.counts.satisfied, "responses": b.counts.scored}
            for b in await _buckets(uow, "csat", filters, granularity, group_by)]


async def ces_report(uow: UnitOfWork, filters: Filters, granularity: Granularity | None,
                     group_by: GroupBy | None) -> list[dict[str, Any]]:
    return [{**_key(b, granularity, group_by), "ces": scores.ces_mean(b.counts.score_sum, b.counts.scored),
             "responses": b.counts.scored} for b in await _buckets(uow, "ces", filters, granularity, group_by)]


async def theme_counts(uow: UnitOfWork, filters: Filters, granularity: Granularity | None) -> list[dict[str, Any]]:
    dialect = uow.session.bind.dialect.name
    period = (period_of(ResponseTheme.responded_at, granularity, dialect) if granularity else literal(None)).label("period")
    query = select(period, ResponseTheme.theme, func.count().label("count")).group_by(period, ResponseTheme.theme)
    if filters.since is not None:
        query = query.where(ResponseTheme.responded_at >= filters.since)
    if filters.until is not None:
        query = query.where(ResponseTheme.responded_at < filters.until)
    rows = (await uow.session.execute(query)).all()
    ordered = sorted(rows, key=lambda r: (str(r.period), -r.count, r.theme))
    return [{**({"period": r.period} if granularity else {}), "theme": r.theme, "count": r.count} for r in ordered]


async def sentiment_counts(uow: UnitOfWork, filters: Filters, granularity: Granularity | None) -> list[dict[str, Any]]:
    dialect = uow.session.bind.dialect.name
    period = (period_of(Response.responded_at, granularity, dialect) if granularity else literal(None)).label("period")
    query = _filtered(select(period, Response.sentiment, func.count().label("count"))
                      .where(Response.sentiment.is_not(None)).group_by(period, Response.sentiment), filters)
    rows = sorted((await uow.session.execute(query)).all(), key=lambda r: (str(r.period), r.sentiment))
    return [{**({"period": r.period} if granularity else {}), "sentiment": r.sentiment, "count": r.count}
            for r in rows]


async def response_rates(uow: UnitOfWork, survey_id: str | None,
                         group_by: Literal["survey", "channel", "trigger"] = "survey") -> list[dict[str, Any]]:
    """Invitations sent and answered, per survey, delivery channel or trigger."""
    column = {"survey": Invitation.survey_id, "channel": Invitation.channel, "trigger": Invitation.trigger}[group_by]
    query = select(column.label("key"), func.count().label("invited"),
                   func.sum(case((Invitation.status == "responded", 1), else_=0)).label("responded")
                   ).group_by(column)
    if survey_id is not None:
        query = query.where(Invitation.survey_id == survey_id)
    rows = sorted((await uow.session.execute(query)).all(), key=lambda r: str(r.key))
    key_name = "survey_id" if group_by == "survey" else group_by
    return [{key_name: r.key, "invited": r.invited, "responded": int(r.responded),
             "response_rate": scores.response_rate(int(r.responded), r.invited)} for r in rows]
