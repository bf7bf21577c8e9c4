"""Benchmark: planning one campaign run for a large audience (arms, channels, quiet hours, caps, suppressions).

The audience is written straight into a fresh database with set-based SQL: customers spread over time
zones (some in quiet hours now, one unknown zone, some without a zone), value tiers and consents, a few on
do-not-contact, a third with recent marketing contacts. The campaign is a promotion to a segment holding
everyone, on each customer's preferred channel, with two weighted variants, a 10 % holdout and a send
time of 10:00 on each customer's clock.
"""
from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, func, select, text
from sqlalchemy.ext.asyncio import async_sessionmaker

from services.engagement.app import DEFINITION
from services.engagement.campaigns import create_campaign, run_campaign
from services.engagement.models import Campaign, Message
from shared.db import UTCDateTime, create_engine
from shared.migrations import upgrade_to_head
from shared.uow import UnitOfWork, unit_of_work_factory

ZONES = ["Europe/Paris", "Europe/London", "America/New_York", "America/Los_Angeles", "Asia/Tokyo", "Asia/Shanghai",
         "Asia/Kolkata", "Australia/Sydney", "America/Sao_Paulo", "Africa/Lagos", "Mars/Olympus", ""]
TIERS = ["high-value", "potential", "ordinary", "low-value", ""]
GRANTS = ['["email:marketing", "sms:marketing"]', '["sms:marketing"]', '["push:marketing", "email:service"]', '[]']
SEGMENT = "bench-everyone"


def campaign(campaign_id: str) -> dict[str, Any]:
    return {"campaign_id": campaign_id, "name": "Winter sale", "audience": {"segment_id": SEGMENT},
            "channel": "preferred", "priority": "promotion", "holdout_percent": 10,
            "variants": [{"name": "A", "subject": "Sale", "body": "A {{ customer.first_name }}", "weight": 1},
                         {"name": "B", "subject": "Sale", "body": "B {{ customer.first_name }}", "weight": 2}],
            "schedule": {"kind": "local_time", "local_time": "10:00"}, "expires_after_hours": 48}


def _pick(values: list[str], number: str, modulus: int) -> str:
    """SQL choosing values[number % modulus % len(values)]; '' stands for null."""
    cases = " ".join(f"WHEN {k} THEN {'NULL' if v == '' else repr(v)}" for k, v in enumerate(values))
    return f"CASE ({number} % {modulus}) % {len(values)} {cases} END"


_now = bindparam("now", type_=UTCDateTime)


async def populate(uow_factory: Callable[[], UnitOfWork], customers: int, now: datetime) -> None:
    async with uow_factory() as uow:
        session = uow.session
        postgres = session.bind.dialect.name == "postgresql"
        numbers = ("SELECT n FROM generate_series(1, :count) AS n" if postgres else
                   "WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s WHERE n < :count) SELECT n FROM s")
        json = "::json" if postgres else ""
        customer = "'c-' || n"
        await session.execute(text(
            f"INSERT INTO audience (customer_id, timezone, locale, do_not_contact, consents, tier, updated_at) "
            f"SELECT {customer}, {_pick(ZONES, 'n', 13)}, 'en', n % 40 = 0, ({_pick(GRANTS, 'n', 7)}){json}, "
            f"{_pick(TIERS, 'n', 11)}, :now FROM ({numbers}) AS numbers").bindparams(_now), {"count": customers, "now": now})
        await session.execute(text(
            f"INSERT INTO segment_members (segment_id, customer_id, entered_at) SELECT :segment, {customer}, :now "
            f"FROM ({numbers}) AS numbers").bindparams(_now), {"count": customers, "now": now, "segment": SEGMENT})
        await session.execute(text(
            f"INSERT INTO contact_history (message_id, customer_id, channel, priority, contacted_at) "
            f"SELECT 'past-' || n, {customer}, CASE WHEN n % 2 = 0 THEN 'email' ELSE 'sms' END, 'promotion', "
            f":now - {'make_interval(hours => n % 200)' if postgres else 'NULL'} FROM ({numbers}) AS numbers "
            f"WHERE n % 3 = 0").bindparams(_now) if postgres else text(
            f"INSERT INTO contact_history (message_id, customer_id, channel, priority, contacted_at) "
            f"SELECT 'past-' || n, {customer}, CASE WHEN n % 2 = 0 THEN 'email' ELSE 'sms' END, 'promotion', "
            f"datetime(:now, '-' || (n % 200) || ' hours') FROM ({numbers}) AS numbers WHERE n % 3 = 0"),
            {"count": customers, "now": now if postgres else now.replace(tzinfo=None).isoformat(sep=" ")})
        await uow.commit()
        if postgres:
            await session.execute(text("ANALYZE"))


async def plan_once(url: str, customers: int) -> dict[str, Any]:
    """Seconds to plan (and commit) one run for `customers`, with what it decided."""
    engine = create_engine(url)
    try:
        await upgrade_to_head(engine, DEFINITION.migrations)
        factory = unit_of_work_factory(async_sessionmaker(engine, expire_on_commit=False), DEFINITION.tables.outbox,
                                       source="/services/engagement")
        now = datetime.now(UTC)
        await populate(factory, customers, now)
        async with factory() as uow:
            created = await create_campaign(uow, campaign("bench-sale"), now)
            assert created is not None
            await uow.commit()
        started = time.perf_counter()
        async with factory() as uow:
            loaded = await uow.session.get(Campaign, "bench-sale")
            assert loaded is not None
            queued = await run_campaign(uow, loaded, now + timedelta(seconds=1))
            await uow.commit()
        seconds = time.perf_counter() - started
        async with factory() as uow:
            statuses = dict((await uow.session.execute(select(Message.status, func.count()).where(
                Message.campaign_id == "bench-sale").group_by(Message.status))).all())
            members = await uow.session.scalar(text("SELECT count(*) FROM campaign_members"))
        return {"seconds": seconds, "members": members, "queued": queued, "statuses": statuses}
    finally:
        await engine.dispose()
