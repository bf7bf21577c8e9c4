"""Recommendation use cases: fold new orders into co-purchase and popularity counts, rank for a customer."""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from sqlalchemy import func, select

from services.engagement.models import CustomerItem, Item, ItemPair
from services.engagement.recommendation_rules import Candidate, basket_pairs, rank, shares
from shared.db import dialect_insert
from shared.uow import UnitOfWork


@dataclass(frozen=True)
class Line:
    sku: str
    name: str | None
    category: str | None
    quantity: int


@dataclass(frozen=True)
class Basket:
    customer_id: str
    lines: list[Line]


async def record_baskets(uow: UnitOfWork, baskets: list[Basket]) -> None:
    """Count each (new) order once: item popularity, pairs bought together, the customer's items."""
    insert = dialect_insert(uow.session.bind.dialect.name, Item.__table__)
    for basket in baskets:
        lines = {line.sku: line for line in basket.lines}
        if not lines:
            continue
        for line in lines.values():
            await uow.session.execute(insert.values(sku=line.sku, name=line.name, category=line.category, orders=1)
                                      .on_conflict_do_update(index_elements=["sku"],
                                                             set_={"orders": Item.orders + 1}))
        await _count_pairs(uow, basket_pairs(list(lines)))
        await _note_items(uow, basket.customer_id, list(lines.values()))


async def _count_pairs(uow: UnitOfWork, pairs: list[tuple[str, str]]) -> None:
    if not pairs:
        return
    insert = dialect_insert(uow.session.bind.dialect.name, ItemPair.__table__)
    statement = insert.on_conflict_do_update(index_elements=["sku", "other_sku"],
                                             set_={"orders": ItemPair.orders + 1})
    await uow.session.execute(statement, [{"sku": a, "other_sku": b, "orders": 1} for a, b in pairs])


async def _note_items(uow: UnitOfWork, customer_id: str, lines: list[Line]) -> None:
    insert = dialect_insert(uow.session.bind.dialect.name, CustomerItem.__table__)
    statement = insert.on_conflict_do_update(index_elements=["customer_id", "sku"],
                                             set_={"quantity": CustomerItem.quantity + insert.excluded.quantity})
    await uow.session.execute(statement, [{"customer_id": customer_id, "sku": line.sku, "category": line.category,
                                           "quantity": line.quantity} for line in lines])


async def recommend(uow: UnitOfWork, customer_id: str, limit: int) -> list[tuple[Candidate, Item | None]]:
    owned_rows = (await uow.session.execute(select(CustomerItem.sku, CustomerItem.category, CustomerItem.quantity)
                                            .where(CustomerItem.customer_id == customer_id))).all()
    owned = {row.sku for row in owned_rows}
    categories: Counter[str] = Counter()
    for row in owned_rows:
        if row.category:
            categories[row.category] += row.quantity
    co = dict((await uow.session.execute(select(ItemPair.other_sku, func.sum(ItemPair.orders))
                                         .where(ItemPair.sku.in_(owned)).group_by(ItemPair.other_sku))).all()) if owned else {}
    popular = {item.sku: (item.category or "", item.orders) for item in (await uow.session.scalars(
        select(Item).where(Item.category.in_(list(categories))).order_by(Item.orders.desc()).limit(200))).all()}
    ranked = rank({k: int(v) for k, v in co.items()}, shares(categories), popular, owned, limit)
    items = {item.sku: item for item in (await uow.session.scalars(
        select(Item).where(Item.sku.in_([c.sku for c in ranked])))).all()}
    return [(candidate, items.get(candidate.sku)) for candidate in ranked]
