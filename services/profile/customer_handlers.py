"""Use cases on customers: register, change, erase. Each records the events it causes."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.profile import validation
from services.profile.consent import ConsentAnswer, check_answer, supersedes
from services.profile.membership import close_memberships, mark_dirty
from services.profile.models import (
    AttributeDefinition,
    Consent,
    ConsentHistory,
    Customer,
    CustomerFeedback,
    CustomerScore,
    CustomerTag,
    ExternalIdentity,
    Interaction,
    SearchKey,
)
from services.profile.privacy import PersonalDataVault
from services.profile.validation import attribute_type
from shared.db import dialect_insert, utcnow
from shared.events.catalogue import ConsentV1, CustomerErasedV1, CustomerRegisteredV1, CustomerUpdatedV1
from shared.uow import UnitOfWork

PERSONAL_FIELDS = ("given_name", "family_name", "email", "phone", "address")
PLAIN_FIELDS = ("region", "country", "timezone", "locale", "birthday", "gender", "do_not_contact")
# What other services hold (DESIGN.md): a change to one of these is published as customer-updated.
SHARED_FIELDS = {"region", "country", "timezone", "locale", "birthday", "gender", "tags", "consents",
                 "do_not_contact"}


class ConsentRefused(ValueError):
    pass


class AttributeTypeConflict(ValueError):
    def __init__(self, name: str, expected: str, given: str):
        super().__init__(f"attribute {name} holds a {expected}, not a {given}")
        self.name = name


async def check_attribute_types(session: AsyncSession, attributes: dict[str, Any] | None) -> None:
    """A custom attribute keeps the type it was first given (text, number or boolean)."""
    given = {name: attribute_type(value) for name, value in (attributes or {}).items() if value is not None}
    if not given:
        return
    known = {d.name: d.type for d in await session.scalars(
        select(AttributeDefinition).where(AttributeDefinition.name.in_(given)))}
    for name, kind in given.items():
        if name in known and known[name] != kind:
            raise AttributeTypeConflict(name, known[name], kind)
        if name not in known:
            session.add(AttributeDefinition(name=name, type=kind, created_at=utcnow()))
    await session.flush()


def new_customer(customer_id: str, now: datetime) -> Customer:
    return Customer(customer_id=customer_id, attributes={}, do_not_contact=False, created_at=now, updated_at=now,
                    tags=[], external_ids=[], search_keys=[], consents=[])


async def register_customer(uow: UnitOfWork, customer_id: str, *, vault: PersonalDataVault | None = None,
                            fields: dict[str, Any] | None = None) -> Customer:
    """A new profile: from registration (with fields), or a prospect named by a first event."""
    customer = new_customer(customer_id, utcnow())
    if fields:
        assert vault is not None, "personal fields need the vault"
        await check_attribute_types(uow.session, fields.get("attributes"))
        apply_changes(customer, fields, vault, now=customer.created_at)
    uow.session.add(customer)
    await mark_dirty(uow.session, [customer_id])
    uow.record(CustomerRegisteredV1(**snapshot(customer)))
    return customer


async def register_prospects(uow: UnitOfWork, customer_ids: list[str]) -> list[str]:
    """Profiles for customers first named by an order or interaction, in one INSERT; ids another
    transaction registered meanwhile are skipped. Returns the ids registered here."""
    if not customer_ids:
        return []
    now = utcnow()
    table = Customer.__table__
    statement = dialect_insert(uow.session.bind.dialect.name, table).on_conflict_do_nothing()
    created = list((await uow.session.execute(statement.returning(table.c.customer_id), [
        {"customer_id": customer_id, "attributes": {}, "do_not_contact": False, "created_at": now, "updated_at": now}
        for customer_id in customer_ids])).scalars())
    await mark_dirty(uow.session, created)
    for customer_id in created:
        uow.record(CustomerRegisteredV1(customer_id=customer_id, do_not_contact=False, consents=[], tags=[]))
    return created


async def update_customer(uow: UnitOfWork, customer: Customer, fields: dict[str, Any],
                          vault: PersonalDataVault) -> list[str]:
    """Apply a PATCH; publish customer-updated when something other services hold changed."""
    now = utcnow()
    await check_attribute_types(uow.session, fields.get("attributes"))
    changed = apply_changes(customer, fields, vault, now=now)
    if changed:
        customer.updated_at = now
        await mark_dirty(uow.session, [customer.customer_id])
    shared = sorted(SHARED_FIELDS & set(changed))
    if shared:
        uow.record(CustomerUpdatedV1(**snapshot(customer), changed_fields=shared))
    return changed


def apply_changes(customer: Customer, fields: dict[str, Any], vault: PersonalDataVault, *, now: datetime) -> list[str]:
    """Set the given fields on a fully loaded customer; returns the names of those that changed."""
    changed = [name for name in PLAIN_FIELDS if name in fields and _set(customer, name, fields[name])]
    personal = {name: fields[name] for name in PERSONAL_FIELDS if name in fields}
    if personal:
        changed += _set_personal(customer, personal, vault)
    if "tags" in fields and _set_tags(customer, fields["tags"] or []):
        changed.append("tags")
    if fields.get("attributes") and _merge_attributes(customer, fields["attributes"]):
        changed.append("attributes")
    if "external_ids" in fields and _set_external_ids(customer, fields["external_ids"] or []):
        changed.append("external_ids")
    if fields.get("consents") and _record_consents(customer, fields["consents"], now):
        changed.append("consents")
    return changed


def _set(customer: Customer, name: str, value: Any) -> bool:
    if name == "do_not_contact":
        value = bool(value)
    if getattr(customer, name) == value:
        return False
    setattr(customer, name, value)
    return True


def _set_personal(customer: Customer, changes: dict[str, Any], vault: PersonalDataVault) -> list[str]:
    current = vault.open(customer.customer_id, customer.personal_data)
    changed = [name for name, value in changes.items() if current.get(name) != value]
    if not changed:
        return []
    updated = {k: v for k, v in {**current, **changes}.items() if v is not None}
    customer.personal_data = vault.seal(customer.customer_id, updated) if updated else None
    customer.search_keys = [SearchKey(kind=kind, digest=digest) for kind, digest in sorted(search_keys(updated, vault))]
    return changed


def search_keys(personal: dict[str, Any], vault: PersonalDataVault) -> set[tuple[str, str]]:
    keys = {("name", vault.digest("name", form))
            for form in validation.name_search_forms(personal.get("given_name"), personal.get("family_name"))}
    if personal.get("email"):
        keys.add(("email", vault.digest("email", validation.email_search_form(personal["email"]))))
    if personal.get("phone"):
        keys.add(("phone", vault.digest("phone", personal["phone"])))
    return keys


def _set_tags(customer: Customer, tags: list[str]) -> bool:
    if sorted(t.tag for t in customer.tags) == sorted(tags):
        return False
    kept = {t.tag: t for t in customer.tags}
    customer.tags = [kept.get(tag) or CustomerTag(tag=tag) for tag in tags]
    return True


def _merge_attributes(customer: Customer, changes: dict[str, Any]) -> bool:
    merged = {k: v for k, v in {**customer.attributes, **changes}.items() if v is not None}
    if merged == customer.attributes:
        return False
    customer.attributes = merged
    return True


def _set_external_ids(customer: Customer, ids: list[dict[str, str]]) -> bool:
    wanted = list(dict.fromkeys((i["source"], i["id"]) for i in ids))
    if sorted((e.source, e.external_id) for e in customer.external_ids) == sorted(wanted):
        return False
    kept = {(e.source, e.external_id): e for e in customer.external_ids}
    customer.external_ids = [kept.get(key) or ExternalIdentity(source=key[0], external_id=key[1]) for key in wanted]
    return True


def _record_consents(customer: Customer, answers: list[dict[str, Any]], now: datetime) -> bool:
    current = {(c.channel, c.purpose): c for c in customer.consents}
    changed = False
    for given in answers:
        answer = ConsentAnswer(given["channel"], given["purpose"], given["granted"], given.get("source") or "api",
                               given.get("occurred_at") or now)
        try:
            check_answer(answer, now)
        except ValueError as exc:
            raise ConsentRefused(str(exc)) from None
        customer.consent_history.add(ConsentHistory(
            channel=answer.channel, purpose=answer.purpose, granted=answer.granted,
            source=answer.source, occurred_at=answer.occurred_at, recorded_at=now))
        row = current.get(answer.key)
        if not supersedes(answer, _as_answer(row) if row else None):
            continue
        changed = changed or row is None or row.granted != answer.granted
        if row is None:
            row = current[answer.key] = Consent(channel=answer.channel, purpose=answer.purpose)
            customer.consents.append(row)
        row.granted, row.source, row.occurred_at = answer.granted, answer.source, answer.occurred_at
    return changed


def _as_answer(row: Consent) -> ConsentAnswer:
    return ConsentAnswer(row.channel, row.purpose, row.granted, row.source, row.occurred_at)


def snapshot(customer: Customer) -> dict[str, Any]:
    """The attributes other services may keep: no names, addresses, e-mails or phones."""
    return {
        "customer_id": customer.customer_id, "region": customer.region, "country": customer.country,
        "timezone": customer.timezone, "locale": customer.locale,
        "birthday": customer.birthday.strftime("%m-%d") if customer.birthday else None,
        "gender": customer.gender, "do_not_contact": customer.do_not_contact,
        "consents": [ConsentV1(channel=c.channel, purpose=c.purpose, granted=c.granted)  # type: ignore[arg-type]
                     for c in sorted(customer.consents, key=lambda c: (c.channel, c.purpose))],
        "tags": sorted(t.tag for t in customer.tags),
    }


async def erase_customer(uow: UnitOfWork, customer: Customer) -> None:
    """Forget who the customer is; anonymous purchase aggregates stay for the business's totals."""
    for table in (ConsentHistory, Interaction, CustomerScore, CustomerFeedback):
        await uow.session.execute(delete(table).where(table.customer_id == customer.customer_id))
    await close_memberships(uow.session, customer.customer_id)
    for name in ("region", "country", "timezone", "locale", "birthday", "gender", "personal_data"):
        setattr(customer, name, None)
    customer.attributes = {}
    customer.tags, customer.external_ids, customer.search_keys, customer.consents = [], [], [], []
    customer.erased_at = customer.updated_at = utcnow()
    uow.record(CustomerErasedV1(customer_id=customer.customer_id))
