"""Use cases on identity: find a customer's likely duplicates, merge one profile into another."""
from __future__ import annotations

from sqlalchemy import delete, select, tuple_, update
from sqlalchemy.ext.asyncio import AsyncSession

from services.profile.consent import ConsentAnswer
from services.profile.customer_handlers import PERSONAL_FIELDS, PLAIN_FIELDS, apply_changes, snapshot
from services.profile.identity import MATCHING_KEYS, ProfileFacts, merged_profile
from services.profile.membership import close_memberships, mark_dirty
from services.profile.models import (
    Consent,
    ConsentHistory,
    Customer,
    CustomerFeedback,
    CustomerScore,
    ExternalIdentity,
    Interaction,
    Purchase,
    Refund,
    SearchKey,
)
from services.profile.privacy import PersonalDataVault
from shared.db import utcnow
from shared.events.catalogue import CustomerMergedV1, CustomerUpdatedV1
from shared.uow import UnitOfWork

MOVED_HISTORY = (Purchase, Refund, Interaction, ConsentHistory)


async def duplicates_of(session: AsyncSession, customer: Customer) -> dict[str, list[str]]:
    """Other live customers sharing an e-mail, a phone or an external id, with what matched."""
    matches: dict[str, list[str]] = {}
    keys = [(k.kind, k.digest) for k in customer.search_keys if k.kind in MATCHING_KEYS]
    ids = [(e.source, e.external_id) for e in customer.external_ids]
    found = []
    if keys:
        found += (await session.execute(select(SearchKey.customer_id, SearchKey.kind).where(
            tuple_(SearchKey.kind, SearchKey.digest).in_(keys)))).all()
    if ids:
        found += (await session.execute(select(ExternalIdentity.customer_id, ExternalIdentity.source).where(
            tuple_(ExternalIdentity.source, ExternalIdentity.external_id).in_(ids)))).all()
    for other_id, what in found:
        if other_id != customer.customer_id:
            matches.setdefault(other_id, [])
            if what not in matches[other_id]:
                matches[other_id].append(what if what in MATCHING_KEYS else f"external_id:{what}")
    return matches


def facts(customer: Customer, vault: PersonalDataVault) -> ProfileFacts:
    personal = vault.open(customer.customer_id, customer.personal_data)
    fields = {name: getattr(customer, name) for name in PLAIN_FIELDS if name != "do_not_contact"}
    fields.update({name: personal.get(name) for name in PERSONAL_FIELDS})
    return ProfileFacts(
        customer_id=customer.customer_id, fields=fields, tags={t.tag for t in customer.tags},
        attributes=dict(customer.attributes or {}), external_ids={(e.source, e.external_id) for e in customer.external_ids},
        consents=[ConsentAnswer(c.channel, c.purpose, c.granted, c.source, c.occurred_at) for c in customer.consents],
        do_not_contact=customer.do_not_contact, erased=customer.erased_at is not None,
        merged_into=customer.merged_into)


async def merge_customers(uow: UnitOfWork, survivor: Customer, merged: Customer, vault: PersonalDataVault) -> None:
    """Fold `merged` into `survivor`: history moves, blanks fill, the merged id points at the survivor."""
    result = merged_profile(facts(survivor, vault), facts(merged, vault))  # raises MergeRefused
    consents = result.pop("consents")
    _clear_identity(merged)
    await uow.session.flush()  # the merged profile's ids and keys go before the survivor takes them
    now = utcnow()
    apply_changes(survivor, result, vault, now=now)
    survivor.consents = [Consent(channel=c["channel"], purpose=c["purpose"], granted=c["granted"], source=c["source"],
                                 occurred_at=c["occurred_at"]) for c in consents]
    survivor.updated_at = now
    await _move_history(uow.session, merged.customer_id, survivor.customer_id)
    merged.merged_into, merged.updated_at = survivor.customer_id, now
    await close_memberships(uow.session, merged.customer_id)
    await mark_dirty(uow.session, [survivor.customer_id])
    uow.record(CustomerMergedV1(surviving_customer_id=survivor.customer_id, merged_customer_id=merged.customer_id))
    uow.record(CustomerUpdatedV1(**snapshot(survivor), changed_fields=["merged"]))


def _clear_identity(customer: Customer) -> None:
    for name in (*PLAIN_FIELDS, "personal_data"):
        if name != "do_not_contact":
            setattr(customer, name, None)
    customer.attributes = {}
    customer.tags, customer.external_ids, customer.search_keys, customer.consents = [], [], [], []


async def _move_history(session: AsyncSession, from_id: str, to_id: str) -> None:
    for table in MOVED_HISTORY:
        await session.execute(update(table).where(table.customer_id == from_id).values(customer_id=to_id))
    # Profiles merged into the merged one earlier now point at the survivor too.
    await session.execute(update(Customer).where(Customer.merged_into == from_id).values(merged_into=to_id))
    await _move_projections(session, from_id, to_id)


async def _move_projections(session: AsyncSession, from_id: str, to_id: str) -> None:
    """Scores and feedback: the survivor's own stay; the merged profile's fill in where it has none."""
    survivor_scored = select(CustomerScore.customer_id).where(CustomerScore.customer_id == to_id).exists()
    await session.execute(delete(CustomerScore).where(CustomerScore.customer_id == from_id, survivor_scored))
    await session.execute(update(CustomerScore).where(CustomerScore.customer_id == from_id).values(customer_id=to_id))
    survivor_kinds = select(CustomerFeedback.kind).where(CustomerFeedback.customer_id == to_id)
    await session.execute(delete(CustomerFeedback).where(CustomerFeedback.customer_id == from_id,
                                                         CustomerFeedback.kind.in_(survivor_kinds)))
    await session.execute(update(CustomerFeedback).where(CustomerFeedback.customer_id == from_id)
                          .values(customer_id=to_id))
