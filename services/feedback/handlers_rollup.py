"""Keeping response_daily in step with the scores of responses (response_scores, one row per NPS, CSAT or
CES question answered): the roll-up job adds new scores to their day, erasure takes erased ones out, and
reports read both the days and what is not rolled up yet."""
from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import (
    Date,
    case,
    cast,
    func,
    literal,
    select,
    tuple_,
    union_all,
    update,
)

from services.feedback import domain
from services.feedback.models import ResponseDaily, ResponseScore
from services.feedback.rollup import Counts, DayKey, ScoredResponse, daily_counts
from shared.db import dialect_insert
from shared.uow import UnitOfWork

_DAILY = ResponseDaily.__table__
_SCORES = ResponseScore.__table__
_KEYS = ("day", "survey_id", "tier", "channel", "kind")
_MEASURES = ("scored", "promoters", "detractors", "satisfied", "score_sum")
_SCORED_COLUMNS = (_SCORES.c.responded_at, _SCORES.c.survey_id, _SCORES.c.tier, _SCORES.c.channel,
                   _SCORES.c.kind, _SCORES.c.score)


async def roll_up(uow: UnitOfWork, *, limit: int = 20_000) -> int:
    """Count up to `limit` new scores into their days. Flipping `rolled_up` with a guard on its old
    value makes a second runner skip rows the first one took, so nothing is counted twice."""
    pending = select(_SCORES.c.response_id, _SCORES.c.question_id).where(_SCORES.c.rolled_up.is_(False)).limit(limit)
    taken = (await uow.session.execute(
        update(_SCORES).where(tuple_(_SCORES.c.response_id, _SCORES.c.question_id).in_(pending),
                              _SCORES.c.rolled_up.is_(False))
        .values(rolled_up=True).returning(*_SCORED_COLUMNS))).all()
    await add_days(uow, daily_counts(ScoredResponse(*row) for row in taken))
    return len(taken)


async def uncount_customer(uow: UnitOfWork, customer_id: str) -> None:
    """Before a customer's responses are erased, take the rolled-up ones out of their days."""
    rows = (await uow.session.execute(select(*_SCORED_COLUMNS).where(
        _SCORES.c.customer_id == customer_id, _SCORES.c.rolled_up.is_(True)))).all()
    await add_days(uow, daily_counts(ScoredResponse(*row) for row in rows), sign=-1)


async def add_days(uow: UnitOfWork, days: dict[DayKey, Counts], *, sign: int = 1) -> None:
    if not days:
        return
    insert = dialect_insert(uow.session.bind.dialect.name, _DAILY)
    statement = insert.on_conflict_do_update(
        index_elements=list(_KEYS), set_={m: _DAILY.c[m] + insert.excluded[m] for m in _MEASURES})
    rows = [{**dict(zip(_KEYS, key)), **{m: sign * getattr(counts, m) for m in _MEASURES}}
            for key, counts in days.items()]
    await uow.session.execute(statement, rows)


async def day_counts(uow: UnitOfWork, kind: str, *, survey_id: str | None = None, tier: str | None = None,
                     channel: str | None = None, since: datetime | None = None,
                     until: datetime | None = None) -> dict[DayKey, Counts]:
    """Counts per day of `kind`, rolled up or not, read in one statement so the roll-up job running at
    the same time cannot make a response count twice or not at all."""
    daily = select(*(_DAILY.c[k] for k in _KEYS), *(_DAILY.c[m] for m in _MEASURES)).where(_DAILY.c.kind == kind)
    fresh = _pending_days(uow.session.bind.dialect.name, kind)
    for column_name, value in (("survey_id", survey_id), ("tier", tier), ("channel", channel)):
        if value is not None:
            daily = daily.where(_DAILY.c[column_name] == value)
            fresh = fresh.where(_SCORES.c[column_name] == value)
    rows = (await uow.session.execute(union_all(daily, fresh))).all()
    days: dict[DayKey, Counts] = {}
    first, last = _day_range(since, until)
    for row in rows:
        day = row[0] if isinstance(row[0], date) else date.fromisoformat(str(row[0]))
        if (first and day < first) or (last and day >= last):
            continue
        key = (day, *(value or "" for value in row[1:5]))
        days.setdefault(key, Counts()).add(Counts(*(int(value or 0) for value in row[5:])))  # type: ignore[arg-type]
    return days


def _pending_days(dialect: str, kind: str) -> Any:
    day = (cast(func.timezone("UTC", _SCORES.c.responded_at), Date) if dialect == "postgresql"
           else func.date(_SCORES.c.responded_at))
    score = _SCORES.c.score
    keys = (day, _SCORES.c.survey_id, _SCORES.c.tier, _SCORES.c.channel, _SCORES.c.kind)
    return (select(*keys, func.count(score), _count(score >= domain.PROMOTER_MIN, kind == "nps"),
                   _count(score <= domain.DETRACTOR_MAX, kind == "nps"), _count(score >= 4, kind == "csat"),
                   func.coalesce(func.sum(score), 0))
            .where(_SCORES.c.rolled_up.is_(False), _SCORES.c.kind == kind).group_by(*keys))


def _count(condition: Any, applies: bool) -> Any:
    return func.sum(case((condition, 1), else_=0)) if applies else literal(0)


def _day_range(since: datetime | None, until: datetime | None) -> tuple[date | None, date | None]:
    """Reports count whole UTC days: from the day of `since` up to the day `until` ends before."""
    first = since.astimezone(UTC).date() if since else None
    last = None
    if until is not None:
        until = until.astimezone(UTC)
        last = until.date() if until.time() == datetime.min.time() else until.date() + timedelta(days=1)
    return first, last
