"""Shaping stored customers into what the API returns (personal data opened with the vault)."""
from __future__ import annotations

from decimal import Decimal
from typing import Any

from services.profile.customer_handlers import PERSONAL_FIELDS
from services.profile.models import Customer
from services.profile.privacy import PersonalDataVault
from services.profile.schemas_customers import ConsentRead, CustomerRead, ExternalIdIn, PurchaseSummary


def customer_read(customer: Customer, vault: PersonalDataVault) -> CustomerRead:
    personal = vault.open(customer.customer_id, customer.personal_data)
    return CustomerRead(
        customer_id=customer.customer_id, **{name: personal.get(name) for name in PERSONAL_FIELDS},
        region=customer.region, country=customer.country, timezone=customer.timezone, locale=customer.locale,
        birthday=customer.birthday, gender=customer.gender, tags=sorted(t.tag for t in customer.tags),
        attributes=customer.attributes or {},
        external_ids=[ExternalIdIn(source=e.source, id=e.external_id)
                      for e in sorted(customer.external_ids, key=lambda e: (e.source, e.external_id))],
        consents=[ConsentRead(channel=c.channel, purpose=c.purpose, granted=c.granted, source=c.source,
                              occurred_at=c.occurred_at)
                  for c in sorted(customer.consents, key=lambda c: (c.channel, c.purpose))],
        do_not_contact=customer.do_not_contact, created_at=customer.created_at, updated_at=customer.updated_at,
    )


def purchase_summary(totals: dict[str, Any], categories: list[str], channels: list[str]) -> PurchaseSummary:
    net = totals["gross"] - totals["refunded"]
    orders = totals["orders"]
    return PurchaseSummary(
        orders=orders, net_spend=net, refunded=totals["refunded"],
        average_order_value=(net / orders).quantize(Decimal("0.01")) if orders else None,
        first_purchase_at=totals["first_purchase_at"], last_purchase_at=totals["last_purchase_at"],
        favourite_categories=categories, channels=channels)
