"""Set-based campaign planning: a run's arms, channels, send times and suppressions, decided in the database.

Every member of the audience gets an arm (a hash of campaign and customer id, cut at the bounds
`campaign_rules.arm_bounds` gives) and, unless held out, a message: queued for its send time, or recorded
as suppressed with the reason `policy.decide` would give (do-not-contact, missing consent, caps already
reached). What depends only on a time zone (the send time on the customer's clock, quiet hours, expiry)
is worked out once per zone in the audience by the pure rules and joined in. PostgreSQL writes the
members, messages, their log and the outreach-suppressed events in one statement; SQLite in a few. The
dispatcher still decides again under the customer's ledger lock when a message is due, so caps hold at
send time.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Integer,
    String,
    Text,
    and_,
    case,
    cast,
    exists,
    func,
    insert,
    literal,
    not_,
    or_,
    select,
    text,
    true,
    union_all,
)
from sqlalchemy.dialects.postgresql import BIT, JSONB
from sqlalchemy.sql import ColumnElement, Select
from sqlalchemy.sql.selectable import CTE, Subquery

from services.engagement.campaign_rules import (
    BUCKETS,
    HOLDOUT,
    Arm,
    ZoneTiming,
    arm_bounds,
    bucket,
    zone_timing,
)
from services.engagement.messages import QUEUED, SUPPRESSED, outcome_event
from services.engagement.models import (
    Audience,
    CampaignMember,
    ContactRecord,
    Message,
    MessageLog,
    SegmentMember,
    tables,
)
from services.engagement.policy import (
    DEFAULT_TIER,
    MARKETING,
    PERIODS,
    ContactPolicy,
    purpose_of,
)
from shared.db import UTCDateTime
from shared.events.catalogue import OutreachSuppressedV1
from shared.events.envelope import DATA_CONTENT_TYPE
from shared.logging import current_correlation_id
from shared.uow import UnitOfWork

_SIGN = BUCKETS // 2  # buckets are compared shifted into the signed 64-bit range both databases hold
SEND, DEFER, SUPPRESS = "send", "defer", "suppress"
_WORK_MEMORY = "256MB"


@dataclass(frozen=True)
class Run:
    """One run of a campaign as the planner needs it."""

    campaign_id: str
    number: int
    definition: dict[str, Any]
    run_at: datetime

    @property
    def message_prefix(self) -> str:
        return f"cmp-{self.campaign_id}-{self.number}-"


@dataclass(frozen=True)
class PlannedRun:
    members: int
    queued: int
    suppressed: int


async def plan_run(uow: UnitOfWork, run: Run, policy: ContactPolicy, now: datetime) -> PlannedRun:
    """Record the run's members and arms, queue their messages or record their suppression, in bulk."""
    session = uow.session
    plan = await _plan(uow, run, policy, now)
    if session.bind.dialect.name == "postgresql":
        return await _write_at_once(uow, run, plan, now)
    planned = plan.subquery("plan")
    await session.execute(_members(run, planned))
    await session.execute(_queue(run, planned, now))
    mine = _run_messages(run)
    await session.execute(insert(MessageLog).from_select(_LOG_COLUMNS, _log_rows(mine, now)))
    suppressed = (await session.execute(select(*(mine.c[c.name] for c in _event_columns())).where(
        mine.c.status == SUPPRESSED))).all()
    for row in suppressed:
        uow.record(outcome_event(row, SUPPRESSED, row.reason))
    members, reached = (await session.execute(
        select(func.count(), func.sum(case((CampaignMember.arm == HOLDOUT, 0), else_=1))).where(
            CampaignMember.campaign_id == run.campaign_id, CampaignMember.run == run.number))).one()
    return PlannedRun(members=members, queued=int(reached or 0) - len(suppressed), suppressed=len(suppressed))


async def _write_at_once(uow: UnitOfWork, run: Run, plan: Select[Any], now: datetime) -> PlannedRun:
    """PostgreSQL: work the plan out once, in customer order (so every index grows at its end), and write
    the members, the messages, their log and the outreach-suppressed events in one statement."""
    # The plan is held for the statement (about 250 bytes a member): let it and its sort stay in memory.
    await uow.session.execute(text(f"SET LOCAL work_mem = '{_WORK_MEMORY}'"))
    planned = plan.order_by(plan.selected_columns.customer_id).cte("plan")
    queued = _queue(run, planned, now).returning(Message.status, *_event_columns()).cte("queued")
    suppressed = select(queued).where(queued.c.status == SUPPRESSED).subquery("suppressed")
    counts = select(
        select(func.count()).select_from(planned).scalar_subquery(),
        select(func.count()).select_from(queued).where(queued.c.status == QUEUED).scalar_subquery(),
        select(func.count()).select_from(suppressed).scalar_subquery(),
    ).add_cte(
        _members(run, planned).cte("members"),
        insert(MessageLog).from_select(_LOG_COLUMNS, _log_rows(queued, now)).cte("logged"),
        insert(tables.outbox).from_select(["event_id", "topic", "key", "payload", "created_at"],
                                          _suppression_events(uow, suppressed, now)).cte("published"),
    )
    members, queued_count, suppressed_count = (await uow.session.execute(counts)).one()
    return PlannedRun(members=members, queued=queued_count, suppressed=suppressed_count)


def _suppression_events(uow: UnitOfWork, suppressed: Subquery, now: datetime) -> Select[Any]:
    """Outbox rows of outreach-suppressed for the suppressed messages, built by PostgreSQL: the CloudEvents
    structured JSON `shared.events.envelope.encode` writes, with the payload of `messages.outcome_event`."""
    ids = select(suppressed, cast(func.gen_random_uuid(), String).label("event_id")).subquery("identified")
    data = func.json_build_object(*(part for c in _event_columns() for part in (c.name, ids.c[c.name])))
    envelope: list[tuple[str, Any]] = [
        ("specversion", "1.0"), ("id", ids.c.event_id), ("source", uow.source),
        ("type", OutreachSuppressedV1.event_type), ("time", now.isoformat()), ("subject", ids.c.customer_id),
        ("datacontenttype", DATA_CONTENT_TYPE), ("dataversion", OutreachSuppressedV1.dataversion)]
    correlation_id = current_correlation_id()
    if correlation_id is not None:
        envelope.append(("correlationid", correlation_id))
    document = func.json_build_object(*(part for name, value in envelope for part in (name, value)), "data", data)
    return select(ids.c.event_id, literal(OutreachSuppressedV1.event_type, String), ids.c.customer_id,
                  func.convert_to(cast(document, Text), "UTF8"), literal(now, UTCDateTime))


def _members(run: Run, planned: Any) -> Any:
    return insert(CampaignMember).from_select(
        ["campaign_id", "run", "customer_id", "arm", "message_id"],
        select(literal(run.campaign_id, String), literal(run.number, Integer), planned.c.customer_id, planned.c.arm,
               case((planned.c.arm == HOLDOUT, None), else_=_message_id(run, planned.c.customer_id))))


def _queue(run: Run, planned: Any, now: datetime) -> Any:
    """INSERT a message per non-holdout member: queued (due at its zone's time) or suppressed with the reason."""
    variants = _variants(run.definition)
    expiry = run.definition.get("expires_after_hours")
    return insert(Message).from_select(
        ["message_id", "customer_id", "requested_channel", "channel", "priority", "template_id", "subject", "body",
         "variables", "campaign_id", "status", "reason", "due_at", "expires_at", "attempts", "created_at"],
        select(_message_id(run, planned.c.customer_id), planned.c.customer_id,
               literal(run.definition["channel"], String), planned.c.channel,
               literal(run.definition["priority"], String), variants.c.template_id, variants.c.subject,
               variants.c.body, literal({}, JSON), literal(run.campaign_id, String),
               case((planned.c.outcome == SUPPRESS, SUPPRESSED), else_=QUEUED), planned.c.reason,
               planned.c.due_at, planned.c.expires_at if expiry else literal(None, UTCDateTime),
               literal(0, Integer), literal(now, UTCDateTime))
        .join(variants, variants.c.name == planned.c.arm).where(planned.c.arm != HOLDOUT))


async def preview(uow: UnitOfWork, run: Run, policy: ContactPolicy, now: datetime) -> list[dict[str, Any]]:
    """What a run would decide for each member (arm, outcome, channel, reason), in customer id order,
    without recording anything."""
    plan = (await _plan(uow, run, policy, now)).subquery("plan")
    rows = await uow.session.execute(select(plan.c.customer_id, plan.c.arm, plan.c.outcome, plan.c.channel,
                                            plan.c.reason, plan.c.due_at).order_by(plan.c.customer_id))
    return [dict(row._mapping) for row in rows]


def _message_id(run: Run, customer_id: ColumnElement[Any]) -> ColumnElement[str]:
    return literal(run.message_prefix, String).concat(customer_id)


def _variants(definition: dict[str, Any]) -> CTE:
    return union_all(*(select(literal(v["name"], String).label("name"),
                              literal(v.get("template_id"), String).label("template_id"),
                              literal(v.get("subject"), Text).label("subject"),
                              literal(v.get("body"), Text).label("body")) for v in definition["variants"])).cte("variants")


def _run_messages(run: Run) -> CTE:
    return select(Message.status, *_event_columns()).join(
        CampaignMember, CampaignMember.message_id == Message.message_id).where(
        CampaignMember.campaign_id == run.campaign_id, CampaignMember.run == run.number).cte("run_messages")


_LOG_COLUMNS = ["message_id", "at", "kind", "reason"]


def _event_columns() -> list[Any]:
    """What an outcome event needs of a message."""
    table = Message.__table__.c
    return [table[name] for name in ("message_id", "customer_id", "campaign_id", "journey_id", "invitation_id",
                                     "template_id", "channel", "reason")]


def _log_rows(mine: Any, now: datetime) -> Any:
    """`queued` for each message, then `suppressed` or `deferred` with the reason."""
    at = literal(now, UTCDateTime)
    return union_all(
        select(mine.c.message_id, at, literal("queued", String), literal(None, String)),
        select(mine.c.message_id, at, literal(SUPPRESSED, String), mine.c.reason).where(mine.c.status == SUPPRESSED),
        select(mine.c.message_id, at, literal("deferred", String), mine.c.reason).where(
            mine.c.status == QUEUED, mine.c.reason.is_not(None)))


async def _plan(uow: UnitOfWork, run: Run, policy: ContactPolicy, now: datetime) -> Select[Any]:
    """The plan: customer_id, arm, channel, outcome (holdout, send, defer, suppress), reason (of a suppression
    or deferral), due_at, expires_at per member."""
    session = uow.session
    dialect = session.bind.dialect.name
    if dialect == "sqlite":
        await _register_sqlite_bucket(uow)
    definition = run.definition
    audience = _audience(definition["audience"], dialect)
    # Every zone the projection knows (a cheaper scan than the audience's own, and a superset of it).
    zone_names = sorted({n for n in (await session.scalars(select(Audience.timezone).distinct())).all() if n})
    zones = _zones(run, policy, now, zone_names)
    purpose = purpose_of(definition["priority"])
    # OFFSET 0 keeps the database from inlining expressions into every later use of them: each member's
    # hash and consents are worked out once, then their arm, channel and consent once.
    members = select(audience, _bucket(dialect, run.campaign_id, audience.c.customer_id).label("bucket")).offset(
        0).subquery("members")
    arm = _arm(run, members.c.bucket)
    zone = case((members.c.timezone.in_(zone_names), members.c.timezone), else_="") if zone_names else literal("")
    assigned = select(
        members.c.customer_id, members.c.tier, members.c.do_not_contact, arm.label("arm"),
        _channel(dialect, definition["channel"], purpose, policy, members.c.consents).label("channel"),
        _consented(dialect, definition["channel"], purpose, policy, members.c.consents).label("consented"),
        zones.c.due_at, zones.c.expires_at, zones.c.quiet, zones.c.note, zones.c.suppression,
        *(zones.c[f"{period}_from"] for period in PERIODS),
    ).select_from(members).join(zones, zones.c.zone == zone).offset(0).subquery("assigned")
    counted = _with_history(assigned, dialect)
    caps = _caps(policy, definition["priority"])
    tier = case((counted.c.tier.in_(list(policy.caps)), counted.c.tier), else_=DEFAULT_TIER)
    reason = _suppression(counted, caps, definition["priority"], purpose)
    return select(
        counted.c.customer_id, counted.c.arm, counted.c.channel, counted.c.due_at, counted.c.expires_at,
        case((counted.c.arm == HOLDOUT, HOLDOUT), (reason.is_not(None), SUPPRESS), (counted.c.quiet, DEFER),
             else_=SEND).label("outcome"),
        func.coalesce(reason, case((counted.c.quiet, counted.c.note), else_=None)).label("reason"),
    ).select_from(counted).join(caps, caps.c.tier == tier)


def _audience(criteria: dict[str, Any], dialect: str) -> Subquery:
    """customer_id, timezone, tier, do_not_contact, consents of everyone the criteria select. Customers named
    by id whom the projection does not know yet are in it too, without consents."""
    columns = (Audience.timezone, Audience.tier, func.coalesce(Audience.do_not_contact, False).label("do_not_contact"),
               (cast(Audience.consents, JSONB) if dialect == "postgresql" else Audience.consents).label("consents"))
    if criteria.get("customer_ids") and not any(criteria.get(k) for k in ("segment_id", "tier", "lifecycle_stage")):
        named = union_all(*(select(literal(c, String).label("customer_id")) for c in sorted(set(criteria["customer_ids"]))))
        ids = named.subquery("named")
        return select(ids.c.customer_id, *columns).outerjoin(Audience, Audience.customer_id == ids.c.customer_id
                                                             ).subquery("audience_members")
    query = select(Audience.customer_id, *columns)
    if criteria.get("segment_id"):
        query = query.join(SegmentMember, SegmentMember.customer_id == Audience.customer_id).where(
            SegmentMember.segment_id == criteria["segment_id"])
    if criteria.get("tier"):
        query = query.where(Audience.tier == criteria["tier"])
    if criteria.get("lifecycle_stage"):
        query = query.where(Audience.lifecycle_stage == criteria["lifecycle_stage"])
    if criteria.get("customer_ids"):
        query = query.where(Audience.customer_id.in_(criteria["customer_ids"]))
    return query.subquery("audience_members")


def _bucket(dialect: str, campaign_id: str, customer_id: ColumnElement[Any]) -> ColumnElement[int]:
    """`campaign_rules.bucket` minus 2**63, in SQL."""
    if dialect != "postgresql":
        return func.campaign_bucket(campaign_id, customer_id)
    digest = func.sha256(func.convert_to(literal(f"{campaign_id}:", String).concat(customer_id), "UTF8"))
    bits = cast(literal("x", String).concat(func.encode(func.substr(digest, 1, 8), "hex")), BIT(64))
    return cast(bits, BigInteger).op("#")(literal(-_SIGN, BigInteger))  # flipping the sign bit: u - 2**63


async def _register_sqlite_bucket(uow: UnitOfWork) -> None:
    connection = await uow.session.connection()
    await connection.run_sync(lambda sync: sync.connection.dbapi_connection.create_function(
        "campaign_bucket", 2, lambda campaign_id, customer_id: bucket(campaign_id, customer_id) - _SIGN,
        deterministic=True))


def _arm(run: Run, point: ColumnElement[int]) -> ColumnElement[str]:
    bounds = arm_bounds([Arm(v["name"], v["weight"]) for v in run.definition["variants"]],
                        run.definition["holdout_percent"])
    *cut, (last, _) = bounds
    if not cut:
        return literal(last, String)
    return case(*((point < upper - _SIGN, name) for name, upper in cut), else_=last)


def _has_consent(dialect: str, consents: ColumnElement[Any], grant: str) -> ColumnElement[bool]:
    if dialect == "postgresql":
        return consents.bool_op("?")(grant)  # consents are read as jsonb
    entries = func.json_each(consents).table_valued("value")
    return exists().select_from(entries).where(entries.c.value == grant)


def _channel(dialect: str, requested: str, purpose: str | None, policy: ContactPolicy,
             consents: ColumnElement[Any]) -> ColumnElement[str]:
    """`policy.choose_channel`: `preferred` is the first channel in the policy's order the customer consented to."""
    if requested != "preferred" or purpose is None:
        return literal(requested if requested != "preferred" else policy.channel_preference[0], String)
    return case(*((_has_consent(dialect, consents, f"{c}:{purpose}"), c) for c in policy.channel_preference),
                else_=policy.channel_preference[0])


def _consented(dialect: str, requested: str, purpose: str | None, policy: ContactPolicy,
               consents: ColumnElement[Any]) -> ColumnElement[bool]:
    if purpose is None:
        return literal(True)
    channels = policy.channel_preference if requested == "preferred" else [requested]
    return func.coalesce(or_(*(_has_consent(dialect, consents, f"{c}:{purpose}") for c in channels)), False)


def _zones(run: Run, policy: ContactPolicy, now: datetime, names: list[str]) -> CTE:
    """One row per time zone of the audience ('' for none): the timing `zone_timing` gives it."""
    schedule = run.definition["schedule"]
    local = time.fromisoformat(schedule["local_time"]) if schedule["kind"] == "local_time" else None
    hours = run.definition.get("expires_after_hours")
    rows = []
    for name in ["", *names]:
        timing = zone_timing(run.run_at, local, timedelta(hours=hours) if hours else None, name or None, policy, now)
        rows.append(_zone_row(name, timing))
    return union_all(*rows).cte("zones")


def _zone_row(name: str, timing: ZoneTiming) -> Select[Any]:
    note = f"quiet_hours until {timing.due_at.isoformat()}" if timing.quiet else None
    return select(literal(name, String).label("zone"), literal(timing.due_at, UTCDateTime).label("due_at"),
                  literal(timing.expires_at, UTCDateTime).label("expires_at"),
                  literal(timing.quiet).label("quiet"), literal(note, String).label("note"),
                  literal(timing.suppression, String).label("suppression"),
                  *(literal(timing.window_start(length), UTCDateTime).label(f"{period}_from")
                    for period, length in PERIODS.items()))


def _with_history(assigned: Subquery, dialect: str) -> Subquery:
    """Each member with their marketing contacts inside each cap window: on the message's channel and on all
    channels. The database probes the contact index once per member (a lateral join on PostgreSQL, an outer
    join grouped per member elsewhere)."""
    counts = []
    for period in PERIODS:
        inside = ContactRecord.contacted_at > assigned.c[f"{period}_from"]
        counts.append(func.sum(case((and_(inside, ContactRecord.channel == assigned.c.channel), 1), else_=0))
                      .label(f"channel_{period}"))
        counts.append(func.sum(case((inside, 1), else_=0)).label(f"all_{period}"))
    recent = and_(ContactRecord.customer_id == assigned.c.customer_id, ContactRecord.priority.in_(sorted(MARKETING)),
                  ContactRecord.contacted_at > assigned.c.month_from)
    if dialect == "postgresql":
        history = select(*counts).where(recent).lateral("history")
        return select(*assigned.c, *history.c).select_from(assigned).join(history, true()).subquery("counted")
    return select(*assigned.c, *counts).select_from(assigned).outerjoin(ContactRecord, recent).group_by(
        *assigned.c).subquery("counted")


def _caps(policy: ContactPolicy, priority: str) -> CTE:
    """One row per tier: its per-channel and across-channel limits per period (a promotion's less the
    win-back reserve); null is no cap."""
    rows = []
    for tier, caps in policy.caps.items():
        limits = []
        for period in PERIODS:
            total = caps.across_channels.limit(period)  # type: ignore[arg-type]
            if total is not None and priority == "promotion":
                total = max(0, total - (policy.win_back_reserve.limit(period) or 0))  # type: ignore[arg-type]
            limits += [literal(caps.per_channel.limit(period), Integer).label(f"channel_{period}"),  # type: ignore[arg-type]
                       literal(total, Integer).label(f"all_{period}")]
        rows.append(select(literal(tier, String).label("tier"), *limits))
    return union_all(*rows).cte("caps")


def _suppression(assigned: Subquery, caps: CTE, priority: str, purpose: str | None) -> ColumnElement[str | None]:
    """`policy.decide`'s suppression reason, in its order; null when the member is sent or deferred."""
    whens: list[tuple[ColumnElement[bool], Any]] = [
        (assigned.c.arm == HOLDOUT, None),
        (assigned.c.suppression == "expired", "expired"),
        (assigned.c.do_not_contact, "do_not_contact"),
    ]
    if purpose is not None:
        whens.append((not_(assigned.c.consented),
                      literal("no_consent:", String).concat(assigned.c.channel).concat(f":{purpose}")))
    whens += [(assigned.c.suppression.is_not(None), assigned.c.suppression), (assigned.c.quiet, None)]
    if priority in MARKETING:
        for period in PERIODS:
            for scope, label in (("channel", "channel"), ("all", "all_channels")):
                used = func.coalesce(assigned.c[f"{scope}_{period}"], 0)
                whens.append((used >= caps.c[f"{scope}_{period}"], f"frequency_cap:{label}:{period}"))
    return case(*whens, else_=None)
