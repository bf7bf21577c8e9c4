"""Identity routes: likely duplicates of a customer, and merging one profile into another."""
from __future__ import annotations

from fastapi import APIRouter

from services.profile import identity_handlers, repository
from services.profile.api_customers import CustomerIdPath, Read, VaultDep, Write, existing_customer
from services.profile.identity import MergeRefused
from services.profile.schemas_customers import CustomerRead, DuplicateRead, MergeRequest
from services.profile.views import customer_read
from shared.http.problems import Problem
from shared.service import UowDep

router = APIRouter(tags=["identity"])


@router.get("/customers/{customer_id}/duplicates", response_model=list[DuplicateRead], dependencies=[Read])
async def list_duplicates(customer_id: CustomerIdPath, uow: UowDep) -> list[DuplicateRead]:
    """Other profiles sharing this customer's e-mail, phone or an external id."""
    async with uow:
        customer = await existing_customer(uow.session, customer_id)
        matches = await identity_handlers.duplicates_of(uow.session, customer)
        live = await repository.customers_by_id(uow.session, matches)
    return [DuplicateRead(customer_id=other_id, matched_on=sorted(matched_on))
            for other_id, matched_on in sorted(matches.items())
            if live[other_id].erased_at is None and live[other_id].merged_into is None]


@router.post("/customers/{customer_id}/merge", response_model=CustomerRead, dependencies=[Write],
             responses={404: {"description": "Either customer is unknown"}, 409: {"description": "Merge refused"}})
async def merge_customer(customer_id: CustomerIdPath, body: MergeRequest, uow: UowDep, vault: VaultDep) -> CustomerRead:
    """Fold another profile into this one: its history moves here and its id now means this customer."""
    if body.merged_customer_id == customer_id:
        raise Problem(422, "body.merged_customer_id: a customer cannot be merged into itself",
                      errors=[{"field": "body.merged_customer_id", "message": "must differ from the path's id"}])
    async with uow:
        survivor = await existing_customer(uow.session, customer_id)
        merged = await existing_customer(uow.session, body.merged_customer_id)
        try:
            await identity_handlers.merge_customers(uow, survivor, merged, vault)
        except MergeRefused as exc:
            raise Problem(409, str(exc), title="Merge refused")
        await uow.session.flush()
        view = customer_read(survivor, vault)
        await uow.commit()
    return view
