"""Routes for what customers did: orders, refunds, interactions. Parse, call a handler, shape the answer."""
from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Body, Response
from sqlalchemy import select, tuple_

from services.profile import handlers
from services.profile.api_customers import CustomerIdPath, Read, Write, existing_customer
from services.profile.domain import CustomerErased, OrderKey, RefundRefused, UnknownOrder
from services.profile.models import Purchase
from services.profile.schemas import (
    InteractionCreate,
    InteractionResult,
    PurchaseBatchResult,
    PurchaseCreate,
    PurchaseRead,
    PurchaseResult,
    RefundCreate,
    RefundResult,
)
from shared.events.catalogue import InteractionRecordedV1, PurchaseRecordedV1, PurchaseRefundedV1
from shared.http.idempotency import IdempotencyDep
from shared.http.pagination import Page, PageDep, encode_cursor
from shared.http.problems import Problem
from shared.service import UowDep

router = APIRouter()
ERASED = {409: {"description": "The customer has been erased"}}


@router.get("/customers/{customer_id}/purchases", response_model=Page[PurchaseRead], dependencies=[Read],
            tags=["purchases"])
async def list_purchases(customer_id: CustomerIdPath, uow: UowDep, page: PageDep) -> Page[PurchaseRead]:
    """The customer's orders, newest first."""
    async with uow:
        await existing_customer(uow.session, customer_id, for_update=False)
        query = (select(Purchase).where(Purchase.customer_id == customer_id)
                 .order_by(Purchase.occurred_at.desc(), Purchase.id.desc()).limit(page.limit))
        if page.after:
            query = query.where(tuple_(Purchase.occurred_at, Purchase.id) < _purchase_cursor(page.after))
        purchases = (await uow.session.scalars(query)).all()
    last = purchases[-1] if len(purchases) == page.limit else None
    return Page(items=[PurchaseRead.model_validate(p) for p in purchases],
                next_cursor=encode_cursor([last.occurred_at.isoformat(), last.id]) if last else None)


@router.post("/purchases", status_code=201, dependencies=[Write], tags=["purchases"],
             response_model=PurchaseResult | PurchaseBatchResult, responses=ERASED)
async def record_purchases(
    uow: UowDep, idempotency: IdempotencyDep,
    body: Annotated[PurchaseCreate | Annotated[list[PurchaseCreate], Body(min_length=1, max_length=1000)], Body()],
) -> Response:
    """Record one order, or a batch of up to 1,000; each is published as `purchase-recorded`."""
    is_batch = isinstance(body, list)
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
                                      status=outcome[k]) for k, p in purchases]  # type: ignore[arg-type]
            if not is_batch:
                return 201, results[0]
            recorded = sum(1 for r in results if r.status == handlers.RECORDED)
            return 201, PurchaseBatchResult(recorded=recorded, duplicates=len(results) - recorded, results=results)
        return await idempotency.run(uow, record)


@router.post("/refunds", status_code=201, response_model=RefundResult, dependencies=[Write], tags=["purchases"],
             responses={404: {"description": "The order is not known"}, **ERASED})
async def record_refund(body: RefundCreate, uow: UowDep, idempotency: IdempotencyDep) -> Response:
    """Record money returned on an order; published as `purchase-refunded`. It reduces net spend."""
    key = OrderKey(body.source, body.order_id)
    refund = PurchaseRefundedV1(**body.model_dump(exclude={"source"}))
    async with uow:
        async def record() -> tuple[int, RefundResult]:
            try:
                [status] = await handlers.record_refunds(uow, [(key, refund)], publish=True)
            except UnknownOrder as exc:
                raise Problem(404, str(exc), title="Unknown order", errors=[{"field": "body.order_id",
                                                                             "message": str(exc)}])
            except RefundRefused as exc:
                raise Problem(422, f"body.{exc.field}: {exc.reason}", title="Refund refused",
                              errors=[{"field": f"body.{exc.field}", "message": exc.reason}])
            except CustomerErased as exc:
                raise Problem(409, str(exc), title="Customer erased")
            return 201, RefundResult(source=key.source, order_id=key.order_id, status=status)  # type: ignore[arg-type]
        return await idempotency.run(uow, record)


@router.post("/interactions", status_code=201, dependencies=[Write], tags=["interactions"],
             response_model=InteractionResult | list[InteractionResult], responses=ERASED)
async def record_interactions(
    uow: UowDep, idempotency: IdempotencyDep,
    body: Annotated[InteractionCreate | Annotated[list[InteractionCreate], Body(min_length=1, max_length=1000)],
                    Body()],
) -> Response:
    """Record one interaction (a view, cart add, open, click, contact...) or a batch of up to 1,000;
    each new one is published as `interaction-recorded`."""
    is_batch = isinstance(body, list)
    batch = body if isinstance(body, list) else [body]
    events = [InteractionRecordedV1(**{**i.model_dump(), "interaction_id": i.interaction_id
                                       or handlers.new_interaction_id()}) for i in batch]
    async with uow:
        async def record() -> tuple[int, Any]:
            try:
                statuses = await handlers.record_interactions(uow, events)
            except CustomerErased as exc:
                raise Problem(409, str(exc), title="Customer erased")
            results = [InteractionResult(interaction_id=e.interaction_id, customer_id=e.customer_id,
                                         status=s) for e, s in zip(events, statuses)]  # type: ignore[arg-type]
            return 201, results if is_batch else results[0]
        return await idempotency.run(uow, record)


def _purchase_cursor(after: list) -> tuple:  # type: ignore[type-arg]
    try:
        return datetime.fromisoformat(after[0]), int(after[1])
    except (IndexError, TypeError, ValueError):
        raise Problem(400, "cursor: not a cursor this API returned")
