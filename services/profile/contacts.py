"""Contact details of many customers in one read: what engagement needs to deliver a batch of messages."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from services.profile.customer_360 import read_rows
from services.profile.models import Customer
from services.profile.privacy import PersonalDataVault
from services.profile.schemas_customers import ContactRead, ContactsRead
from shared.db import one_of

_CONTACT_FIELDS = ("given_name", "family_name", "email", "phone")


async def contacts_of(engine: AsyncEngine, vault: PersonalDataVault, customer_ids: list[str]) -> ContactsRead:
    """The contacts of the reachable customers among `customer_ids`; erased and merged-away ones count as missing."""
    wanted = sorted(set(customer_ids))
    query = (select(Customer.customer_id, Customer.personal_data, Customer.do_not_contact)
             .where(one_of(engine.dialect.name, Customer.customer_id, wanted), Customer.erased_at.is_(None),
                    Customer.merged_into.is_(None))
             .order_by(Customer.customer_id))
    contacts = []
    for row in await read_rows(engine, query):
        personal = vault.open(row.customer_id, row.personal_data)
        contacts.append(ContactRead(customer_id=row.customer_id, do_not_contact=row.do_not_contact,
                                    **{name: personal.get(name) for name in _CONTACT_FIELDS}))
    found = {contact.customer_id for contact in contacts}
    return ContactsRead(contacts=contacts, missing=[c for c in wanted if c not in found])
