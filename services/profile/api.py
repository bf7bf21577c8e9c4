"""Profile's HTTP routes: parse the request, call a handler, shape the response."""
from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Depends, Path, Response
from sqlalchemy import select, tuple_

from services.profile import handlers, repository
from services.profile.domain import CustomerErased, OrderKey
from services.profile.models import Customer, Purchase
from services.profile.schemas import (
    Customer360, CustomerCreate, CustomerRead, PurchaseBatchResult, PurchaseCreate, PurchaseRead, PurchaseResult,
    PurchaseSummary,
)
from shared.events.catalogue import PurchaseRecordedV1
from shared.events.fields import CUSTOMER_ID_PATTERN
from shared.http.auth import require
from shared.http.idempotency import IdempotencyDep
from shared.http.pagination import Page, PageDep, encode_cursor
from shared.http.problems import Problem
from shared.service import UowDep

router = APIRouter()
CustomerIdPath = Annotated[str, Path(pattern=CUSTOMER_ID_PATTERN, max_length=64)]
Read = Depends(require("profile:read"))
Write = Depends(require("profile:write"))


@router.post("/customers", status_code=201, response_model=CustomerRead, dependencies=[Write], tags=["customers"],
             responses={409: {"description": "The customer already exists"}})
async def create_customer(body: CustomerCreate, uow: UowDep, idempotency: IdempotencyDep) -> Response:
    """Register a customer."""
    async with uow:
        async def create() -> tuple[int, CustomerRead]:
            if await uow.session.get(Customer, body.customer_id) is not None:
                raise Problem(409, f"customer {body.customer_id} already exists")
            customer = await handlers.register_customer(uow, body.customer_id, region=body.region,
                                                        timezone=body.timezone, locale=body.locale)
            await uow.session.flush()
            return 201, CustomerRead.model_validate(customer)
        return await idempotency.run(uow, create)


@router.get("/customers", response_model=Page[CustomerRead], dependencies=[Read], tags=["customers"])
async def list_customers(uow: UowDep, page: PageDep) -> Page[CustomerRead]:
    """List customers in id order."""
    async with uow:
        query = select(Customer).where(Customer.erased_at.is_(None)).order_by(Customer.customer_id).limit(page.limit)
        if page.after:
            query = query.where(Customer.customer_id > str(page.after[0]))
        customers = (await uow.session.scalars(query)).all()
    next_cursor = encode_cursor([customers[-1].customer_id]) if len(customers) == page.limit else None
    return Page(items=[CustomerRead.model_validate(c) for c in customers], next_cursor=next_cursor)


@router.get("/customers/{customer_id}", response_model=Customer360, dependencies=[Read], tags=["customers"])
async def get_customer(customer_id: CustomerIdPath, uow: UowDep) -> Customer360:
    """The customer's profile with a summary of their purchases."""
    async with uow:
        customer = await _existing_customer(uow.session, customer_id)
        orders, net_spend, first, last = await repository.purchase_summary(uow.session, customer_id)
    summary = PurchaseSummary(orders=orders, net_spend=net_spend, first_purchase_at=first, last_purchase_at=last)
    return Customer360(**CustomerRead.model_validate(customer).model_dump(), summary=summary)


@router.delete("/customers/{customer_id}", status_code=204, dependencies=[Write], tags=["customers"])
async def erase_customer(customer_id: CustomerIdPath, uow: UowDep) -> Response:
    """Erase the customer's personal data and tell every service to purge what it holds."""
    async with uow:
        customer = await _existing_customer(uow.session, customer_id)
        await handlers.erase_customer(uow, customer)
        await uow.commit()
    return Response(status_code=204)


@router.get("/customers/{customer_id}/purchases", response_model=Page[PurchaseRead], dependencies=[Read],
            tags=["purchases"])
async def list_purchases(customer_id: CustomerIdPath, uow: UowDep, page: PageDep) -> Page[PurchaseRead]:
    """The customer's orders, newest first."""
    async with uow:
        await _existing_customer(uow.session, customer_id)
        query = (select(Purchase).where(Purchase.customer_id == customer_id)
                 .order_by(Purchase.occurred_at.desc(), Purchase.id.desc()).limit(page.limit))
        if page.after:
            query = query.where(tuple_(Purchase.occurred_at, Purchase.id) < _purchase_cursor(page.after))
        purchases = (await uow.session.scalars(query)).all()
    last = purchases[-1] if len(purchases) == page.limit else None
    return Page(items=[PurchaseRead.model_validate(p) for p in purchases],
                next_cursor=encode_cursor([last.occurred_at.isoformat(), last.id]) if last else None)


@router.post("/purchases", status_code=201, dependencies=[Write], tags=["purchases"],
             response_model=PurchaseResult | PurchaseBatchResult,
             responses={409: {"description": "A purchase names an erased customer"}})
async def record_purchases(
    uow: UowDep, idempotency: IdempotencyDep,
    body: Annotated[PurchaseCreate | Annotated[list[PurchaseCreate], Body(min_length=1, max_length=1000)], Body()],
) -> Response:
    """Record one order, or a batch of up to 1,000; each is published as `purchase-recorded`."""
    batch = body if isinstance(body, list) else [body]
    purchases = [(OrderKey(p.source, p.order_id), PurchaseRecordedV1(**p.model_dump(exclude={"source"})))
                 for p in batch]
    async with uow:
        async def record() -> tuple[int, PurchaseResult | PurchaseBatchResult]:
            try:
                outcome = await handlers.record_purchases(uow, purchases, publish=True)
            except CustomerErased as exc:
                raise Problem(409, str(exc), title="Customer erased")
            results = [PurchaseResult(source=k.source, order_id=k.order_id, customer_id=p.customer_id,
                                      status=outcome[k]) for k, p in purchases]
            if not isinstance(body, list):
                return 201, results[0]
            recorded = sum(1 for r in results if r.status == handlers.RECORDED)
            return 201, PurchaseBatchResult(recorded=recorded, duplicates=len(results) - recorded, results=results)
        return await idempotency.run(uow, record)


async def _existing_customer(session, customer_id: str) -> Customer:  # type: ignore[no-untyped-def]
    customer = await session.get(Customer, customer_id)
    if customer is None or customer.erased_at is not None:
        raise Problem(404, f"customer {customer_id} not found")
    return customer


def _purchase_cursor(after: list) -> tuple:  # type: ignore[type-arg]
    from datetime import datetime
    try:
        return datetime.fromisoformat(after[0]), int(after[1])
    except (IndexError, TypeError, ValueError):
        raise Problem(400, "cursor: not a cursor this API returned")
