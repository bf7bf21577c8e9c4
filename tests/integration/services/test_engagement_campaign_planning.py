"""Set-based campaign planning decides in the database what the pure rules decide one customer at a time:
the A/B arm and holdout, the channel, quiet-hour deferral in each customer's zone, and suppression with
its reason (do-not-contact, missing consent, caps already reached)."""
from __future__ import annotations

import os
from collections import Counter
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, time, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import async_sessionmaker

from services.engagement import contacts, projection
from services.engagement.app import DEFINITION
from services.engagement.campaign_planning import Run, plan_run, preview
from services.engagement.campaign_rules import HOLDOUT, Arm, assign, zone_timing
from services.engagement.messages import outcome_event
from services.engagement.models import CampaignMember, Message, MessageLog, tables
from services.engagement.policy import ContactPolicy, decide
from services.engagement.projection import Snapshot
from shared.db import create_engine
from shared.events.catalogue import OutreachSuppressedV1
from shared.events.envelope import decode_envelope
from shared.migrations import upgrade_to_head
from shared.uow import UnitOfWork, unit_of_work_factory
from tools.scratch_databases import fresh_database

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
ZONES = ["Europe/Paris", "Asia/Tokyo", "America/New_York", "Mars/Olympus", None]  # Tokyo 21:00, New York 07:00: quiet
TIERS = ["high-value", "potential", "ordinary", "low-value", None]
GRANTS = [("email:marketing", "sms:marketing"), ("sms:marketing",), ("email:service",), (), ("push:marketing",)]
SEGMENT = "seg-planning"
CUSTOMERS = [f"c-{n:04d}" for n in range(400)]


@pytest.fixture(scope="module")
async def unit_of_work(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Callable[[], UnitOfWork]]:
    """An engagement database holding an audience of 400 in several zones, tiers and consents, with the
    recent marketing contacts of some."""
    async with fresh_database(os.environ.get("TEST_DATABASE_URL"), tmp_path_factory.mktemp("planning")) as url:
        engine = create_engine(url)
        await upgrade_to_head(engine, DEFINITION.migrations)
        factory = unit_of_work_factory(async_sessionmaker(engine, expire_on_commit=False), DEFINITION.tables.outbox,
                                       source="/services/engagement")
        async with factory() as uow:
            for n, customer in enumerate(CUSTOMERS):
                await projection.apply_snapshot(uow, Snapshot(customer, ZONES[n % 5], "en", None, n % 23 == 0,
                                                              list(GRANTS[n % 7 % 5])))
                if TIERS[n % 4] is not None:
                    await projection.apply_standing(uow, customer, tier=TIERS[n % 4])
                await projection.apply_membership(uow, SEGMENT, customer, "entered", NOW)
                await contacts.reserve_all(uow, [  # none, one or two contacts this week
                    {"message_id": f"past-{customer}-{k}", "customer_id": customer, "channel": "email" if k else "sms",
                     "priority": "promotion", "contacted_at": NOW - timedelta(hours=5 + 30 * k)} for k in range(n % 3)])
            await uow.commit()
        yield factory
        await engine.dispose()


def definition(campaign_id: str, **changes: Any) -> dict[str, Any]:
    return {"campaign_id": campaign_id, "name": "Winter sale", "audience": {"segment_id": SEGMENT},
            "channel": "preferred", "priority": "promotion", "holdout_percent": 20,
            "variants": [{"name": "A", "body": "A", "weight": 1}, {"name": "B", "body": "B", "weight": 3}],
            "schedule": {"kind": "now"}, **changes}


async def expected(uow: UnitOfWork, run: Run, policy: ContactPolicy) -> dict[str, dict[str, Any]]:
    """The pure rules' decision for every customer, one at a time."""
    arms = [Arm(v["name"], v["weight"]) for v in run.definition["variants"]]
    local = run.definition["schedule"].get("local_time")
    decisions = {}
    for customer in CUSTOMERS:
        arm = assign(run.campaign_id, customer, arms, run.definition["holdout_percent"])
        if arm == HOLDOUT:
            decisions[customer] = {"arm": HOLDOUT, "outcome": "holdout"}
            continue
        recipient = await projection.recipient(uow, customer)
        timing = zone_timing(run.run_at, time.fromisoformat(local) if local else None, None, recipient.timezone,
                             policy, NOW)
        history = await contacts.recent_contacts_of(uow, [customer], timing.decided_at)
        decision = decide(run.definition["channel"], run.definition["priority"], recipient, history[customer], policy,
                          timing.decided_at)
        reason = f"quiet_hours until {decision.until.isoformat()}" if decision.until else decision.reason
        decisions[customer] = {"arm": arm, "outcome": decision.outcome, "channel": decision.channel, "reason": reason,
                               "due_at": None if decision.outcome == "suppress" else decision.until or timing.decided_at}
    return decisions


def planned(rows: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """The plan's decisions, in the shape of `expected` (a suppressed message has no time to be due)."""
    return {row["customer_id"]: {"arm": HOLDOUT, "outcome": "holdout"} if row["arm"] == HOLDOUT else
            {**{k: row[k] for k in ("arm", "outcome", "channel", "reason")},
             "due_at": None if row["outcome"] == "suppress" else row["due_at"]} for row in rows}


async def test_the_plan_makes_the_decisions_of_the_rules_for_every_customer(unit_of_work) -> None:  # type: ignore[no-untyped-def]
    run, policy = Run("cmp-now", 1, definition("cmp-now"), NOW), ContactPolicy()
    async with unit_of_work() as uow:
        plan = planned(await preview(uow, run, policy, NOW))
        assert plan == await expected(uow, run, policy)
    outcomes = Counter(p["outcome"] for p in plan.values())
    assert outcomes["holdout"] and outcomes["send"] and outcomes["defer"] and outcomes["suppress"]
    assert {p["reason"].split(":")[0] for p in plan.values() if p["outcome"] == "suppress"} == {
        "do_not_contact", "no_consent", "frequency_cap"}


async def test_a_local_time_plan_sends_at_each_customers_hour_and_respects_caps_and_quiet_hours(unit_of_work) -> None:  # type: ignore[no-untyped-def]
    policy = ContactPolicy(quiet_hours={"start": "09:00", "end": "11:00"})  # 10:00 local falls in them
    run = Run("cmp-local", 1, definition("cmp-local", channel="sms", priority="win_back",
                                         schedule={"kind": "local_time", "local_time": "10:00"}), NOW)
    async with unit_of_work() as uow:
        plan = planned(await preview(uow, run, policy, NOW))
        assert plan == await expected(uow, run, policy)
    assert all(p["due_at"].time() in (time(11, 0), time(10, 0), time(16, 0), time(2, 0))  # 11:00 in UTC, Paris, NY, Tokyo
               for p in plan.values() if p["outcome"] == "defer")


async def test_the_holdout_takes_its_share_and_the_variants_split_by_weight(unit_of_work) -> None:  # type: ignore[no-untyped-def]
    run = Run("cmp-share", 1, definition("cmp-share", audience={"customer_ids": CUSTOMERS}), NOW)
    async with unit_of_work() as uow:
        arms = Counter(row["arm"] for row in await preview(uow, run, ContactPolicy(), NOW))
    assert abs(arms[HOLDOUT] / 400 - 0.20) < 0.06
    assert abs(arms["B"] / (arms["A"] + arms["B"]) - 0.75) < 0.08


async def test_a_planned_run_records_members_messages_their_steps_and_suppression_events(unit_of_work) -> None:  # type: ignore[no-untyped-def]
    run, policy = Run("cmp-run", 1, definition("cmp-run"), NOW), ContactPolicy()
    async with unit_of_work() as uow:
        decisions = await expected(uow, run, policy)
        outcome = await plan_run(uow, run, policy, NOW)
        await uow.commit()
    async with unit_of_work() as uow:
        members = dict((await uow.session.execute(select(CampaignMember.customer_id, CampaignMember.arm).where(
            CampaignMember.campaign_id == "cmp-run"))).all())
        messages = {m.customer_id: m for m in (await uow.session.scalars(
            select(Message).where(Message.campaign_id == "cmp-run"))).all()}
        logged = Counter((await uow.session.scalars(select(MessageLog.kind).where(
            MessageLog.message_id.like("cmp-cmp-run-1-%")))).all())
        events = [decode_envelope(payload) for payload in (await uow.session.scalars(select(tables.outbox.c.payload)
                  .where(tables.outbox.c.topic == "outreach-suppressed"))).all()]
        pending = await uow.session.scalar(select(func.count()).select_from(Message).where(
            Message.campaign_id == "cmp-run", Message.status == "queued"))
    assert members == {c: d["arm"] for c, d in decisions.items()}
    suppressed = {c: d["reason"] for c, d in decisions.items() if d["outcome"] == "suppress"}
    assert {c: m.reason for c, m in messages.items() if m.status == "suppressed"} == suppressed
    assert {c: m.due_at for c, m in messages.items() if m.status == "queued"} == {
        c: d["due_at"] for c, d in decisions.items() if d["outcome"] in ("send", "defer")}
    assert (outcome.members, outcome.queued, outcome.suppressed) == (400, pending, len(suppressed))
    assert logged == {"queued": len(messages), "suppressed": len(suppressed),
                      "deferred": sum(1 for d in decisions.values() if d["outcome"] == "defer")}
    assert {(e.subject, e.source) for e in events} == {(c, "/services/engagement") for c in suppressed}
    assert sorted((OutreachSuppressedV1.model_validate(e.data) for e in events), key=lambda d: d.message_id) == [
        outcome_event(messages[c], "suppressed", reason) for c, reason in sorted(suppressed.items())]


async def test_a_run_planned_but_not_committed_leaves_nothing_behind(unit_of_work) -> None:  # type: ignore[no-untyped-def]
    run = Run("cmp-undone", 1, definition("cmp-undone"), NOW)
    async with unit_of_work() as uow:
        outcome = await plan_run(uow, run, ContactPolicy(), NOW)
        async with unit_of_work() as onlooker:  # another connection sees nothing before the commit
            seen = await onlooker.session.scalar(select(func.count()).select_from(Message).where(
                Message.campaign_id == "cmp-undone"))
        await uow.rollback()
    async with unit_of_work() as uow:
        members = await uow.session.scalar(select(func.count()).select_from(CampaignMember).where(
            CampaignMember.campaign_id == "cmp-undone"))
        messages = await uow.session.scalar(select(func.count()).select_from(Message).where(
            Message.campaign_id == "cmp-undone"))
    assert outcome.members == 400 and (seen, members, messages) == (0, 0, 0)
