"""Campaign use cases: create, run when due (planned in bulk by `campaign_planning`), dry-run, and count the outcome."""
from __future__ import annotations

from collections import Counter, defaultdict
from datetime import datetime
from typing import Any

from sqlalchemy import func, select

from services.engagement import contacts
from services.engagement.campaign_planning import (
    DEFER,
    SEND,
    SUPPRESS,
    Run,
    plan_run,
    preview,
)
from services.engagement.campaign_rules import HOLDOUT, next_cron_run
from services.engagement.messages import check_content
from services.engagement.models import Campaign, CampaignMember, Message
from shared.uow import UnitOfWork

SCHEDULED, DONE, CANCELLED = "scheduled", "done", "cancelled"


def first_run(schedule: dict[str, Any], now: datetime) -> datetime:
    if schedule["kind"] == "at":
        return datetime.fromisoformat(schedule["at"])
    if schedule["kind"] == "cron":
        return next_cron_run(schedule["cron"], now)
    return now


async def create_campaign(uow: UnitOfWork, definition: dict[str, Any], now: datetime) -> Campaign | None:
    """Store a campaign; None when its id is taken."""
    if await uow.session.get(Campaign, definition["campaign_id"]) is not None:
        return None
    campaign = Campaign(campaign_id=definition["campaign_id"], name=definition["name"], definition=definition,
                        status=SCHEDULED, next_run_at=first_run(definition["schedule"], now), runs=0, created_at=now)
    uow.session.add(campaign)
    return campaign


async def run_campaign(uow: UnitOfWork, campaign: Campaign, now: datetime) -> int:
    """Plan the next run in bulk: arms for the audience, a message per non-holdout member (or its suppression
    with the reason); returns how many messages were queued."""
    definition = campaign.definition
    for variant in definition["variants"]:
        await check_content(uow, variant.get("template_id"), variant.get("subject"), variant.get("body"))
    run = Run(campaign.campaign_id, campaign.runs + 1, definition, campaign.next_run_at or now)
    planned = await plan_run(uow, run, await contacts.load_policy(uow), now)
    campaign.runs = run.number
    schedule = definition["schedule"]
    campaign.next_run_at = next_cron_run(schedule["cron"], now) if schedule["kind"] == "cron" else None
    campaign.status = SCHEDULED if campaign.next_run_at else DONE
    return planned.queued


async def run_due_campaigns(uow: UnitOfWork, now: datetime) -> int:
    due = (await uow.session.scalars(select(Campaign).where(
        Campaign.status == SCHEDULED, Campaign.next_run_at <= now).order_by(Campaign.next_run_at)
        .limit(20).with_for_update(skip_locked=True))).all()
    for campaign in due:
        await run_campaign(uow, campaign, now)
    return len(due)


_DRY_RUN_LISTS = {SEND: "would_contact", DEFER: "would_defer", SUPPRESS: "suppressed", HOLDOUT: "holdout"}


async def dry_run(uow: UnitOfWork, campaign: Campaign, now: datetime) -> dict[str, list[dict[str, Any]]]:
    """Who would be contacted, deferred, suppressed (and why) or held out, were the campaign run now."""
    run = Run(campaign.campaign_id, campaign.runs + 1, campaign.definition, campaign.next_run_at or now)
    result: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for member in await preview(uow, run, await contacts.load_policy(uow), now):
        outcome = member["outcome"]
        if outcome == HOLDOUT:
            result["holdout"].append({"customer_id": member["customer_id"], "arm": HOLDOUT})
            continue
        reason = "quiet_hours" if outcome == DEFER else member["reason"]
        result[_DRY_RUN_LISTS[outcome]].append({"customer_id": member["customer_id"], "arm": member["arm"],
                                                "channel": member["channel"], "reason": reason})
    return result


async def campaign_stats(uow: UnitOfWork, campaign: Campaign) -> dict[str, Any]:
    members = (await uow.session.execute(select(CampaignMember.arm, func.count()).where(
        CampaignMember.campaign_id == campaign.campaign_id).group_by(CampaignMember.arm))).all()
    arms: dict[str, Counter[str]] = {v["name"]: Counter() for v in campaign.definition["variants"]}
    holdout = 0
    for arm, count in members:
        if arm == HOLDOUT:
            holdout = count
        else:
            arms.setdefault(arm, Counter())["assigned"] += count
    rows = (await uow.session.execute(
        select(CampaignMember.arm, Message.status, Message.delivery_status, Message.reason)
        .join(Message, Message.message_id == CampaignMember.message_id)
        .where(CampaignMember.campaign_id == campaign.campaign_id))).all()
    reasons: Counter[str] = Counter()
    for arm, status, delivery, reason in rows:
        arms[arm][status] += 1
        if delivery:
            arms[arm][delivery] += 1
        if status == "suppressed" and reason:
            reasons[reason] += 1
    return {"campaign_id": campaign.campaign_id, "runs": campaign.runs, "holdout": holdout,
            "audience": holdout + sum(c["assigned"] for c in arms.values()),
            "arms": {name: dict(counts) for name, counts in arms.items()}, "suppression_reasons": dict(reasons)}
