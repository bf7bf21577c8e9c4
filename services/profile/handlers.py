"""Profile's use cases: each takes a unit of work, changes state and records the events it causes."""
from __future__ import annotations

from sqlalchemy import insert

from services.profile import repository
from services.profile.domain import CustomerErased, OrderKey, unique_orders
from services.profile.models import Customer, Purchase, PurchaseItem
from shared.db import utcnow
from shared.events.catalogue import CustomerErasedV1, CustomerRegisteredV1, PurchaseRecordedV1
from shared.uow import UnitOfWork

RECORDED, DUPLICATE = "recorded", "duplicate"


async def register_customer(uow: UnitOfWork, customer_id: str, *, region: str | None = None,
                            timezone: str | None = None, locale: str | None = None) -> Customer:
    now = utcnow()
    customer = Customer(customer_id=customer_id, region=region, timezone=timezone, locale=locale,
                        created_at=now, updated_at=now)
    uow.session.add(customer)
    uow.record(CustomerRegisteredV1(customer_id=customer_id, region=region, timezone=timezone, locale=locale))
    return customer


async def record_purchases(uow: UnitOfWork, purchases: list[tuple[OrderKey, PurchaseRecordedV1]], *,
                           publish: bool) -> dict[OrderKey, str]:
    """Store new orders (creating prospects for unknown customers); known orders are duplicates.

    `publish` is set when profile is the gateway that received the order (HTTP); orders read from
    Kafka were already published by the system that sent them.
    """
    orders = unique_orders(purchases)
    customers = await repository.customers_by_id(uow.session, (p.customer_id for _, p in orders))
    erased = {c.customer_id for c in customers.values() if c.erased_at is not None}
    if erased & {p.customer_id for _, p in orders}:
        raise CustomerErased(erased)
    for customer_id in dict.fromkeys(p.customer_id for _, p in orders if p.customer_id not in customers):
        customers[customer_id] = await register_customer(uow, customer_id)
    await uow.session.flush()
    known = await repository.known_orders(uow.session, (key for key, _ in orders))
    new_orders = [(key, purchase) for key, purchase in orders if key not in known]
    if new_orders:
        await _insert_orders(uow, new_orders)
        if publish:
            for key, purchase in new_orders:
                uow.record(purchase.model_copy(update={"source_system": key.source}))
    return {key: (DUPLICATE if key in known else RECORDED) for key, _ in orders}


async def _insert_orders(uow: UnitOfWork, orders: list[tuple[OrderKey, PurchaseRecordedV1]]) -> None:
    now = utcnow()
    ids = (await uow.session.scalars(insert(Purchase).returning(Purchase.id, sort_by_parameter_order=True), [
        {"source": key.source, "order_id": p.order_id, "customer_id": p.customer_id, "occurred_at": p.occurred_at,
         "total_amount": p.total_amount, "currency": p.currency, "channel": p.channel, "store_id": p.store_id,
         "recorded_at": now}
        for key, p in orders
    ])).all()
    items = [
        {"purchase_id": purchase_id, "line_no": line_no, "sku": item.sku, "name": item.name,
         "category": item.category, "quantity": item.quantity, "unit_price": item.unit_price}
        for purchase_id, (_, purchase) in zip(ids, orders)
        for line_no, item in enumerate(purchase.items, start=1)
    ]
    if items:
        await uow.session.execute(insert(PurchaseItem), items)


async def erase_customer(uow: UnitOfWork, customer: Customer) -> None:
    """Forget who the customer is; anonymous purchase aggregates stay for the business's totals."""
    customer.region = customer.timezone = customer.locale = None
    customer.erased_at = customer.updated_at = utcnow()
    uow.record(CustomerErasedV1(customer_id=customer.customer_id))
