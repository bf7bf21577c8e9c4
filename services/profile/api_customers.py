"""Customer routes: register, search, read (360), change, erase, export."""
from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request, Response

from services.profile import customer_handlers, exports, repository, validation
from services.profile.contacts import contacts_of
from services.profile.customer_360 import read_360
from services.profile.customer_handlers import AttributeTypeConflict, ConsentRefused
from services.profile.models import Customer
from services.profile.privacy import PersonalDataVault
from services.profile.schemas_customers import (
    ContactLookup,
    ContactsRead,
    Customer360,
    CustomerCreate,
    CustomerRead,
    CustomerUpdate,
)
from services.profile.views import customer_read
from shared.events.fields import CUSTOMER_ID_PATTERN
from shared.http.auth import require
from shared.http.idempotency import IdempotencyDep
from shared.http.pagination import Page, PageDep, encode_cursor
from shared.http.problems import Problem
from shared.service import UowDep

router = APIRouter(tags=["customers"])
CustomerIdPath = Annotated[str, Path(pattern=CUSTOMER_ID_PATTERN, max_length=64)]
Read = Depends(require("profile:read"))
Write = Depends(require("profile:write"))


async def get_vault(request: Request) -> PersonalDataVault:
    return request.app.state.vault  # type: ignore[no-any-return]


VaultDep = Annotated[PersonalDataVault, Depends(get_vault)]


@router.post("/customers", status_code=201, response_model=CustomerRead, dependencies=[Write],
             responses={409: {"description": "The customer already exists"}})
async def create_customer(body: CustomerCreate, uow: UowDep, vault: VaultDep, idempotency: IdempotencyDep) -> Response:
    """Register a customer with their details, identities and consents."""
    async with uow:
        async def create() -> tuple[int, CustomerRead]:
            if await uow.session.get(Customer, body.customer_id) is not None:
                raise Problem(409, f"customer {body.customer_id} already exists")
            fields = body.model_dump(exclude={"customer_id"}, exclude_unset=True)
            with _field_problems():
                customer = await customer_handlers.register_customer(uow, body.customer_id, vault=vault, fields=fields)
            await uow.session.flush()
            return 201, customer_read(customer, vault)
        return await idempotency.run(uow, create)


@router.get("/customers", response_model=Page[CustomerRead], dependencies=[Read])
async def list_customers(
    uow: UowDep, vault: VaultDep, page: PageDep,
    name: Annotated[str | None, Query(max_length=300, description="Given name, family name or both")] = None,
    email: Annotated[str | None, Query(max_length=320)] = None,
    phone: Annotated[str | None, Query(max_length=40, description="E.164, e.g. +33612345678")] = None,
    tag: Annotated[str | None, Query(max_length=64)] = None,
    region: Annotated[str | None, Query(max_length=64)] = None,
    country: Annotated[str | None, Query(max_length=2)] = None,
    source: Annotated[str | None, Query(max_length=64, description="Source of `external_id`")] = None,
    external_id: Annotated[str | None, Query(max_length=128)] = None,
) -> Page[CustomerRead]:
    """Search customers (every criterion given must match), in id order."""
    digests = _search_digests(vault, name=name, email=email, phone=phone)
    query = repository.customer_search(**digests, tag=tag, region=region, country=country and country.upper(),
                                       source=source, external_id=external_id)
    query = query.options(*repository.READ_PROFILE).order_by(Customer.customer_id).limit(page.limit)
    if page.after:
        query = query.where(Customer.customer_id > str(page.after[0]))
    async with uow:
        customers = (await uow.session.scalars(query)).all()
    next_cursor = encode_cursor([customers[-1].customer_id]) if len(customers) == page.limit else None
    return Page(items=[customer_read(c, vault) for c in customers], next_cursor=next_cursor)


def _search_digests(vault: PersonalDataVault, **given: str | None) -> dict[str, str | None]:
    forms: dict[str, str | None] = {}
    try:
        if given["name"] is not None:
            forms["name"] = validation.normalise_name(given["name"])
        if given["email"] is not None:
            forms["email"] = validation.email_search_form(validation.normalise_email(given["email"]))
        if given["phone"] is not None:
            forms["phone"] = validation.normalise_phone(given["phone"])
    except ValueError as exc:
        field = next(k for k in ("name", "email", "phone") if given[k] is not None and k not in forms)
        raise Problem(422, f"query.{field}: {exc}", title="Validation failed",
                      errors=[{"field": f"query.{field}", "message": str(exc)}])
    return {kind: vault.digest(kind, form) if form is not None else None for kind, form in forms.items()}


@router.post("/customers/contact-lookup", response_model=ContactsRead, dependencies=[Read])
async def look_up_contacts(body: ContactLookup, request: Request, vault: VaultDep) -> ContactsRead:
    """Names, addresses and do-not-contact of up to 1,000 customers in one call, for delivering a batch of
    messages; ids that name no reachable customer (unknown, erased, merged away) are listed as missing."""
    return await contacts_of(request.app.state.read_engine, vault, body.customer_ids)


@router.get("/customers/{customer_id}", response_model=Customer360, dependencies=[Read])
async def get_customer(customer_id: CustomerIdPath, request: Request, vault: VaultDep) -> Response:
    """The customer's profile with a summary of purchases, scores and latest feedback."""
    found = await read_360(request.app.state.read_engine, customer_id)
    if found is None or found.erased:
        raise Problem(404, f"customer {customer_id} not found")
    if found.merged_into is not None:
        raise Problem(404, f"customer {customer_id} was merged into {found.merged_into}",
                      merged_into=found.merged_into)
    # Built and checked once here; answered as it is rather than validated a second time.
    return Response(found.view(vault).model_dump_json(), media_type="application/json")


@router.patch("/customers/{customer_id}", response_model=CustomerRead, dependencies=[Write])
async def update_customer(customer_id: CustomerIdPath, body: CustomerUpdate, uow: UowDep,
                          vault: VaultDep) -> CustomerRead:
    """Change the fields sent; shareable changes (consent, do-not-contact, ...) are published at once."""
    async with uow:
        customer = await existing_customer(uow.session, customer_id)
        with _field_problems():
            await customer_handlers.update_customer(uow, customer, body.model_dump(exclude_unset=True), vault)
        await uow.session.flush()
        view = customer_read(customer, vault)
        await uow.commit()
    return view


@router.delete("/customers/{customer_id}", status_code=204, dependencies=[Write])
async def erase_customer(customer_id: CustomerIdPath, uow: UowDep) -> Response:
    """Erase the customer's personal data and tell every service to purge what it holds."""
    async with uow:
        customer = await existing_customer(uow.session, customer_id)
        await customer_handlers.erase_customer(uow, customer)
        await uow.commit()
    return Response(status_code=204)


@router.get("/customers/{customer_id}/export", dependencies=[Read])
async def export_customer(customer_id: CustomerIdPath, uow: UowDep, vault: VaultDep) -> dict[str, Any]:
    """Everything profile holds on the customer (a data subject access request)."""
    async with uow:
        customer = await existing_customer(uow.session, customer_id, for_update=False)
        return await exports.everything_on(uow.session, customer, customer_read(customer, vault))


async def existing_customer(session, customer_id: str, *, for_update: bool = True) -> Customer:  # type: ignore[no-untyped-def]
    customer = await repository.load_customer(session, customer_id, for_update=for_update)
    if customer is None or customer.erased_at is not None:
        raise Problem(404, f"customer {customer_id} not found")
    if customer.merged_into is not None:
        raise Problem(404, f"customer {customer_id} was merged into {customer.merged_into}",
                      merged_into=customer.merged_into)
    return customer


@contextlib.contextmanager
def _field_problems() -> Iterator[None]:
    """Turns a refused consent answer or attribute into a 422 naming the field."""
    try:
        yield
    except ConsentRefused as exc:
        raise Problem(422, f"body.consents: {exc}", title="Validation failed",
                      errors=[{"field": "body.consents", "message": str(exc)}]) from exc
    except AttributeTypeConflict as exc:
        field = f"body.attributes.{exc.name}"
        raise Problem(422, f"{field}: {exc}", title="Validation failed",
                      errors=[{"field": field, "message": str(exc)}]) from exc
