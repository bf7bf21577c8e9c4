"""The contact ledger: decisions for one customer are serialised by a row lock, so caps hold across replicas.

`lock_ledgers` upserts each customer's ledger row, bumping its version. The update takes the
row's write lock (PostgreSQL) or the database's write lock (SQLite's single writer) until the unit of
work ends, so a second replica deciding for the same customer waits, then reads the contact the first
one recorded.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import delete, insert, select

from services.engagement.models import ContactLedger, ContactRecord, PolicyDocument
from services.engagement.policy import PERIODS, ContactPolicy, PastContact
from shared.db import dialect_insert, one_of, utcnow
from shared.uow import UnitOfWork

_POLICY_ROW = 1
_LONGEST_PERIOD = max(PERIODS.values())


async def load_policy(uow: UnitOfWork) -> ContactPolicy:
    row = await uow.session.get(PolicyDocument, _POLICY_ROW, populate_existing=True)
    return ContactPolicy() if row is None else ContactPolicy.model_validate(row.document)


async def save_policy(uow: UnitOfWork, policy: ContactPolicy) -> None:
    document = policy.model_dump(mode="json")
    statement = dialect_insert(uow.session.bind.dialect.name, PolicyDocument.__table__).values(
        id=_POLICY_ROW, document=document, updated_at=utcnow())
    await uow.session.execute(statement.on_conflict_do_update(
        index_elements=["id"], set_={"document": document, "updated_at": utcnow()}))


async def lock_ledgers(uow: UnitOfWork, customer_ids: list[str]) -> None:
    """Lock the customers' ledgers in one upsert, in id order (so two replicas locking overlapping
    customers wait for each other instead of deadlocking)."""
    session, ordered = uow.session, sorted(set(customer_ids))
    if not ordered:
        return
    ledgers = ContactLedger.__table__
    statement = dialect_insert(session.bind.dialect.name, ledgers).on_conflict_do_update(
        index_elements=["customer_id"], set_={"version": ledgers.c.version + 1})
    await session.execute(statement, [{"customer_id": c, "version": 0} for c in ordered])  # in order, as given


async def recent_contacts_of(uow: UnitOfWork, customer_ids: list[str], now: datetime) -> dict[str, list[PastContact]]:
    """Each customer's contacts within the longest cap period, in one query; everyone asked about has an entry."""
    history: dict[str, list[PastContact]] = {c: [] for c in customer_ids}
    rows = await uow.session.execute(
        select(ContactRecord.customer_id, ContactRecord.channel, ContactRecord.priority, ContactRecord.contacted_at)
        .where(one_of(uow.session.bind.dialect.name, ContactRecord.customer_id, customer_ids),
               ContactRecord.contacted_at > now - _LONGEST_PERIOD))
    for row in rows:
        history[row.customer_id].append(PastContact(row.channel, row.priority, row.contacted_at))
    return history


async def reserved_among(uow: UnitOfWork, message_ids: list[str]) -> set[str]:
    """Which of these messages already hold a reserved contact."""
    return set((await uow.session.scalars(
        select(ContactRecord.message_id).where(
            one_of(uow.session.bind.dialect.name, ContactRecord.message_id, message_ids)))).all())


async def release_all(uow: UnitOfWork, message_ids: list[str]) -> None:
    if message_ids:
        await uow.session.execute(delete(ContactRecord).where(
            one_of(uow.session.bind.dialect.name, ContactRecord.message_id, message_ids)))


async def reserve_all(uow: UnitOfWork, reservations: list[dict[str, Any]]) -> None:
    """Count the contacts now, before delivery, so a concurrent decision sees them; one statement, each
    entry with message_id, customer_id, channel, priority and contacted_at."""
    if reservations:
        await uow.session.execute(insert(ContactRecord.__table__), reservations)


async def contact_history(uow: UnitOfWork, customer_id: str, limit: int = 50) -> list[ContactRecord]:
    return list((await uow.session.scalars(
        select(ContactRecord).where(ContactRecord.customer_id == customer_id)
        .order_by(ContactRecord.contacted_at.desc(), ContactRecord.id.desc()).limit(limit))).all())
