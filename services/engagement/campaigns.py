"""Campaign use cases: create, resolve the audience, run when due, dry-run, and count the outcome."""
from __future__ import annotations

from collections import Counter, defaultdict
from datetime import datetime, time, timedelta
from typing import Any

from sqlalchemy import func, select

from services.engagement import contacts, projection
from services.engagement.campaign_rules import HOLDOUT, Arm, assign, local_send_time, next_cron_run
from services.engagement.messages import QueueMessage, queue_message
from services.engagement.models import Audience, Campaign, CampaignMember, Message, SegmentMember
from services.engagement.policy import decide
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


async def audience_of(uow: UnitOfWork, audience: dict[str, Any]) -> list[tuple[str, str | None]]:
    """(customer_id, timezone) of everyone the criteria select, in id order."""
    if audience.get("customer_ids") and not any(audience.get(k) for k in ("segment_id", "tier", "lifecycle_stage")):
        known = dict((await uow.session.execute(select(Audience.customer_id, Audience.timezone).where(
            Audience.customer_id.in_(audience["customer_ids"])))).all())
        return [(c, known.get(c)) for c in sorted(set(audience["customer_ids"]))]
    query = select(Audience.customer_id, Audience.timezone)
    if audience.get("segment_id"):
        query = query.join(SegmentMember, SegmentMember.customer_id == Audience.customer_id).where(
            SegmentMember.segment_id == audience["segment_id"])
    if audience.get("tier"):
        query = query.where(Audience.tier == audience["tier"])
    if audience.get("lifecycle_stage"):
        query = query.where(Audience.lifecycle_stage == audience["lifecycle_stage"])
    if audience.get("customer_ids"):
        query = query.where(Audience.customer_id.in_(audience["customer_ids"]))
    return list((await uow.session.execute(query.order_by(Audience.customer_id))).all())


def _arms(definition: dict[str, Any]) -> list[Arm]:
    return [Arm(v["name"], v["weight"]) for v in definition["variants"]]


def _send_time(definition: dict[str, Any], run_at: datetime, zone: str | None, fallback_zone: str) -> datetime:
    local = definition["schedule"].get("local_time")
    if definition["schedule"]["kind"] != "local_time" or local is None:
        return run_at
    return local_send_time(run_at, time.fromisoformat(local), zone, fallback_zone)


async def run_campaign(uow: UnitOfWork, campaign: Campaign, now: datetime) -> int:
    """Assign arms and queue one message per non-holdout member; returns how many were queued."""
    definition, run = campaign.definition, campaign.runs + 1
    variants = {v["name"]: v for v in definition["variants"]}
    fallback_zone = (await contacts.load_policy(uow)).default_timezone
    expiry = definition.get("expires_after_hours")
    queued = 0
    for customer_id, zone in await audience_of(uow, definition["audience"]):
        arm = assign(campaign.campaign_id, customer_id, _arms(definition), definition["holdout_percent"])
        message_id = None
        if arm != HOLDOUT:
            variant = variants[arm]
            send_at = _send_time(definition, campaign.next_run_at or now, zone, fallback_zone)
            message_id = f"cmp-{campaign.campaign_id}-{run}-{customer_id}"
            await queue_message(uow, QueueMessage(
                message_id=message_id, customer_id=customer_id, channel=definition["channel"],
                priority=definition["priority"], template_id=variant.get("template_id"), subject=variant.get("subject"),
                body=variant.get("body"), send_at=send_at, campaign_id=campaign.campaign_id,
                expires_at=send_at + timedelta(hours=expiry) if expiry else None), now)
            queued += 1
        uow.session.add(CampaignMember(campaign_id=campaign.campaign_id, run=run, customer_id=customer_id, arm=arm,
                                       message_id=message_id))
    campaign.runs = run
    schedule = definition["schedule"]
    campaign.next_run_at = next_cron_run(schedule["cron"], now) if schedule["kind"] == "cron" else None
    campaign.status = SCHEDULED if campaign.next_run_at else DONE
    return queued


async def run_due_campaigns(uow: UnitOfWork, now: datetime) -> int:
    due = (await uow.session.scalars(select(Campaign).where(
        Campaign.status == SCHEDULED, Campaign.next_run_at <= now).order_by(Campaign.next_run_at)
        .limit(20).with_for_update(skip_locked=True))).all()
    for campaign in due:
        await run_campaign(uow, campaign, now)
    return len(due)


async def dry_run(uow: UnitOfWork, campaign: Campaign, now: datetime) -> dict[str, list[dict[str, Any]]]:
    """Who would be contacted, deferred, suppressed (and why) or held out, were the campaign run now."""
    definition = campaign.definition
    policy = await contacts.load_policy(uow)
    result: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for customer_id, zone in await audience_of(uow, definition["audience"]):
        arm = assign(campaign.campaign_id, customer_id, _arms(definition), definition["holdout_percent"])
        if arm == HOLDOUT:
            result["holdout"].append({"customer_id": customer_id, "arm": arm})
            continue
        at = max(now, _send_time(definition, campaign.next_run_at or now, zone, policy.default_timezone))
        decision = decide(definition["channel"], definition["priority"], await projection.recipient(uow, customer_id),
                          await contacts.recent_contacts(uow, customer_id, at), policy, at)
        key = {"send": "would_contact", "defer": "would_defer", "suppress": "suppressed"}[decision.outcome]
        result[key].append({"customer_id": customer_id, "arm": arm, "channel": decision.channel,
                            "reason": decision.reason})
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
