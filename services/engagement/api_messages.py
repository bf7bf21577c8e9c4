"""Outreach messages over HTTP: queue one, read its state and log, take providers' delivery reports."""
from __future__ import annotations

import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Path, Query, Request
from sqlalchemy import select

from services.engagement.messages import InvalidMessage, QueueMessage, message_log, queue_message, record_delivery_report
from services.engagement.models import Message
from services.engagement.schemas import DeliveryReport, MessageCreate, MessageLogRead, MessageRead
from shared.db import utcnow
from shared.http.auth import require
from shared.http.idempotency import IdempotencyDep
from shared.http.pagination import Page, PageDep, encode_cursor
from shared.http.problems import Problem
from shared.service import UowDep

router = APIRouter(tags=["messages"])
MessageId = Annotated[str, Path(max_length=128)]


@router.post("/messages", status_code=201, response_model=MessageRead,
             dependencies=[Depends(require("engagement:write"))])
async def create_message(body: MessageCreate, request: Request, uow: UowDep, idempotency: IdempotencyDep):
    """Queue a message for delivery under the contact policy, now or at `send_at`."""
    command = QueueMessage(message_id=body.message_id or f"msg-{uuid.uuid4().hex}", customer_id=body.customer_id,
                           channel=body.channel, priority=body.priority, template_id=body.template_id,
                           subject=body.subject, body=body.body, variables=body.variables, send_at=body.send_at,
                           expires_at=body.expires_at, campaign_id=body.campaign_id, journey_id=body.journey_id)

    async def operation() -> tuple[int, object]:
        try:
            message, created = await queue_message(uow, command, utcnow())
        except InvalidMessage as exc:
            raise Problem(422, exc.detail, errors=[{"field": exc.field, "message": exc.detail}]) from None
        return (201 if created else 200), await _read(uow, message)

    async with uow:
        response = await idempotency.run(uow, operation)
    request.app.state.dispatch_wake.set()
    return response


@router.get("/messages", response_model=Page[MessageRead], dependencies=[Depends(require("engagement:read"))])
async def list_messages(page: PageDep, uow: UowDep,
                        customer_id: Annotated[str | None, Query(max_length=64)] = None,
                        campaign_id: Annotated[str | None, Query(max_length=128)] = None,
                        status: Annotated[Literal["queued", "sending", "sent", "suppressed", "failed"] | None, Query()] = None,
                        ) -> Page[MessageRead]:
    """Messages in id order, filtered by customer, campaign or status (without their logs)."""
    query = select(Message).order_by(Message.message_id).limit(page.limit + 1)
    for column, value in ((Message.customer_id, customer_id), (Message.campaign_id, campaign_id), (Message.status, status)):
        if value is not None:
            query = query.where(column == value)
    if page.after:
        query = query.where(Message.message_id > str(page.after[0]))
    async with uow:
        rows = list((await uow.session.scalars(query)).all())
    more, rows = len(rows) > page.limit, rows[:page.limit]
    return Page(items=[MessageRead.model_validate(m) for m in rows],
                next_cursor=encode_cursor([rows[-1].message_id]) if more else None)


@router.get("/messages/{message_id}", response_model=MessageRead, dependencies=[Depends(require("engagement:read"))])
async def get_message(message_id: MessageId, uow: UowDep) -> MessageRead:
    """A message's state, channel, attempts and every decision taken about it, with reasons."""
    async with uow:
        message = await uow.session.get(Message, message_id)
        if message is None:
            raise Problem(404, f"message {message_id!r} does not exist")
        return await _read(uow, message)


@router.post("/delivery-reports", status_code=202, dependencies=[Depends(require("engagement:delivery-reports"))],
             responses={404: {"description": "No such message"}})
async def report_delivery(report: DeliveryReport, uow: UowDep) -> dict[str, str]:
    """A channel provider reports a message delivered, bounced, opened or clicked."""
    async with uow:
        message = await record_delivery_report(uow, report.message_id, report.status, report.detail,
                                               report.occurred_at or utcnow())
        if message is None:
            raise Problem(404, f"message {report.message_id!r} does not exist")
        await uow.commit()
    return {"message_id": report.message_id, "delivery_status": message.delivery_status or report.status}


async def _read(uow, message: Message) -> MessageRead:  # type: ignore[no-untyped-def]
    read = MessageRead.model_validate(message)
    read.log = [MessageLogRead.model_validate(entry) for entry in await message_log(uow, message.message_id)]
    return read
