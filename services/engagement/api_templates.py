"""Templates over HTTP: per-locale variants and a preview rendered for a customer."""
from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request

from services.engagement.profile_client import Contact, ProfileUnavailable
from services.engagement.rendering import RenderError
from services.engagement.schemas import PreviewRead, PreviewRequest, TemplateCreate, TemplateRead, TemplateVariant, TemplateWrite
from services.engagement.templates import Variant, preview, save_template, template_variants
from shared.http.auth import require
from shared.http.idempotency import IdempotencyDep
from shared.http.problems import Problem
from shared.service import UowDep

router = APIRouter(tags=["templates"])
TemplateId = Annotated[str, Path(max_length=128)]


def _template_problem(exc: RenderError) -> Problem:
    return Problem(422, f"template does not compile: {exc}", title="Invalid template",
                   errors=[{"field": "body.variants", "message": str(exc)}])


async def _store(uow, template_id: str, body: TemplateWrite) -> TemplateRead:  # type: ignore[no-untyped-def]
    variants = [Variant(v.locale, v.subject, v.body) for v in body.variants]
    try:
        await save_template(uow, template_id, body.default_locale, variants)
    except RenderError as exc:
        raise _template_problem(exc) from None
    return TemplateRead(template_id=template_id, default_locale=body.default_locale, variants=body.variants)


@router.post("/templates", status_code=201, response_model=TemplateRead,
             dependencies=[Depends(require("engagement:write"))])
async def create_template(body: TemplateCreate, uow: UowDep, idempotency: IdempotencyDep):
    """Create a template with its locale variants (sandboxed Jinja2)."""
    async def operation() -> tuple[int, object]:
        if await template_variants(uow, body.template_id):
            raise Problem(409, f"template {body.template_id!r} already exists; PUT replaces it")
        return 201, await _store(uow, body.template_id, body)

    async with uow:
        return await idempotency.run(uow, operation)


@router.put("/templates/{template_id}", response_model=TemplateRead, dependencies=[Depends(require("engagement:write"))])
async def replace_template(template_id: TemplateId, body: TemplateWrite, uow: UowDep) -> TemplateRead:
    """Create or replace a template's variants."""
    async with uow:
        stored = await _store(uow, template_id, body)
        await uow.commit()
    return stored


@router.get("/templates/{template_id}", response_model=TemplateRead, dependencies=[Depends(require("engagement:read"))])
async def get_template(template_id: TemplateId, uow: UowDep) -> TemplateRead:
    """A template and its locale variants."""
    async with uow:
        variants = await template_variants(uow, template_id)
    if not variants:
        raise Problem(404, f"template {template_id!r} does not exist")
    default = next((v.locale for v in variants if v.is_default), variants[0].locale)
    return TemplateRead(template_id=template_id, default_locale=default,
                        variants=[TemplateVariant.model_validate(v) for v in variants])


@router.post("/templates/{template_id}/preview", response_model=PreviewRead,
             dependencies=[Depends(require("engagement:read"))])
async def preview_template(template_id: TemplateId, body: PreviewRequest, request: Request, uow: UowDep) -> PreviewRead:
    """Render the template as the given customer would receive it (nothing is sent)."""
    try:
        contact = await request.app.state.profile.contact(body.customer_id)
    except ProfileUnavailable as exc:
        raise Problem(503, f"cannot preview now: {exc}") from None
    async with uow:
        variants = await template_variants(uow, template_id)
        if not variants:
            raise Problem(404, f"template {template_id!r} does not exist")
        try:
            locale, content = await preview(uow, variants, body.customer_id, contact if contact.found else Contact(False),
                                            body.locale, body.variables)
        except RenderError as exc:
            raise Problem(422, f"template {template_id!r} failed to render: {exc}", title="Template render error") from None
    return PreviewRead(template_id=template_id, locale=locale, subject=content.subject, body=content.body)
