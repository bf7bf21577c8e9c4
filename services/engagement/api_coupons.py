"""Coupons over HTTP: issue a batch, look a code up, redeem it once."""
from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Path
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints, model_validator

from services.engagement.coupons import batch_counts, issue_batch, redeem
from services.engagement.models import Coupon
from shared.db import utcnow
from shared.events.fields import CustomerId, ExternalId
from shared.http.auth import require
from shared.http.idempotency import IdempotencyDep
from shared.http.problems import Problem
from shared.service import UowDep

router = APIRouter(tags=["coupons"])
BatchId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9._:-]{1,48}$")]
Code = Annotated[str, Path(max_length=32)]


class BatchCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    batch_id: BatchId
    discount: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    """What the coupon gives, as the shop systems understand it, e.g. `10%` or `5.00 EUR`."""
    count: int | None = Field(default=None, ge=1, le=10_000)
    customer_ids: list[CustomerId] | None = Field(default=None, max_length=10_000)
    """One personal code per customer, instead of `count` open codes."""
    prefix: Annotated[str, StringConstraints(pattern=r"^[A-Z0-9]{0,12}$")] = ""
    expires_at: AwareDatetime | None = None

    @model_validator(mode="after")
    def _count_or_customers(self) -> BatchCreate:
        if (self.count is None) == (self.customer_ids is None):
            raise ValueError("give exactly one of count and customer_ids")
        return self


class BatchRead(BaseModel):
    batch_id: str
    issued: int
    redeemed: int
    codes: list[str] = Field(default_factory=list)


class CouponRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    code: str
    batch_id: str
    customer_id: str | None
    discount: str
    expires_at: datetime | None
    redeemed_at: datetime | None
    redeemed_by: str | None
    order_reference: str | None


class Redemption(BaseModel):
    model_config = ConfigDict(extra="forbid")

    customer_id: CustomerId
    order_reference: ExternalId | None = None


@router.post("/coupons/batches", status_code=201, response_model=BatchRead,
             dependencies=[Depends(require("engagement:write"))])
async def create_batch(body: BatchCreate, uow: UowDep, idempotency: IdempotencyDep):
    """Issue a batch of unique codes (open, or one per customer)."""
    async def operation() -> tuple[int, object]:
        if (await batch_counts(uow, body.batch_id))[0]:
            raise Problem(409, f"batch {body.batch_id!r} already exists")
        codes = await issue_batch(uow, batch_id=body.batch_id, count=body.count or 0, prefix=body.prefix,
                                  discount=body.discount, expires_at=body.expires_at, customer_ids=body.customer_ids,
                                  now=utcnow())
        return 201, BatchRead(batch_id=body.batch_id, issued=len(codes), redeemed=0, codes=codes)

    async with uow:
        return await idempotency.run(uow, operation)


@router.get("/coupons/batches/{batch_id}", response_model=BatchRead, dependencies=[Depends(require("engagement:read"))])
async def get_batch(batch_id: Annotated[str, Path(max_length=48)], uow: UowDep) -> BatchRead:
    """How many codes of the batch were issued and redeemed."""
    async with uow:
        issued, redeemed = await batch_counts(uow, batch_id)
    if not issued:
        raise Problem(404, f"batch {batch_id!r} does not exist")
    return BatchRead(batch_id=batch_id, issued=issued, redeemed=redeemed)


@router.get("/coupons/{code}", response_model=CouponRead, dependencies=[Depends(require("engagement:read"))])
async def get_coupon(code: Code, uow: UowDep) -> CouponRead:
    """A coupon code and whether it was redeemed."""
    async with uow:
        coupon = await uow.session.get(Coupon, code)
    if coupon is None:
        raise Problem(404, f"coupon {code!r} does not exist")
    return CouponRead.model_validate(coupon)


@router.post("/coupons/{code}/redeem", response_model=CouponRead, dependencies=[Depends(require("engagement:write"))])
async def redeem_coupon(code: Code, body: Redemption, uow: UowDep) -> CouponRead:
    """Redeem a code for a customer; a code redeems once (409 after), expired or someone else's is refused."""
    async with uow:
        refusal = await redeem(uow, code, body.customer_id, body.order_reference, utcnow())
        if refusal == "unknown":
            raise Problem(404, f"coupon {code!r} does not exist")
        if refusal is not None:
            raise Problem(409, f"coupon {code!r} cannot be redeemed: {refusal}", reason=refusal)
        await uow.commit()
        coupon = await uow.session.get(Coupon, code)
    return CouponRead.model_validate(coupon)
