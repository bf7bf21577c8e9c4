"""Template use cases: store per-locale variants, read them back, preview one for a customer."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, func, select

from services.engagement.models import Audience, PointsEntry, Template
from services.engagement.profile_client import Contact
from services.engagement.rendering import Content, check_syntax, personalisation, pick_locale, render
from shared.db import utcnow
from shared.uow import UnitOfWork


@dataclass(frozen=True)
class Variant:
    locale: str
    subject: str | None
    body: str


def check_variants(variants: list[Variant]) -> None:
    """Raise RenderError, naming the locale, for a variant that does not compile."""
    for variant in variants:
        for name in ("subject", "body"):
            source = getattr(variant, name)
            if source is not None:
                check_syntax(source, f"{variant.locale}.{name}")


async def save_template(uow: UnitOfWork, template_id: str, default_locale: str, variants: list[Variant]) -> None:
    """Replace the template's variants with these."""
    check_variants(variants)
    await uow.session.execute(delete(Template).where(Template.template_id == template_id))
    now = utcnow()
    uow.session.add_all([Template(template_id=template_id, locale=v.locale, subject=v.subject, body=v.body,
                                  is_default=v.locale == default_locale, updated_at=now) for v in variants])


async def template_variants(uow: UnitOfWork, template_id: str) -> list[Template]:
    return list((await uow.session.scalars(select(Template).where(Template.template_id == template_id)
                                           .order_by(Template.locale))).all())


async def preview(uow: UnitOfWork, variants: list[Template], customer_id: str, contact: Contact,
                  locale: str | None, variables: dict[str, Any]) -> tuple[str, Content]:
    """Render the variant the customer would get; raises RenderError with the cause."""
    audience = await uow.session.get(Audience, customer_id)
    wanted = locale or (audience.locale if audience else None)
    default = next((t.locale for t in variants if t.is_default), None)
    chosen = pick_locale([t.locale for t in variants], wanted, default)
    variant = next(t for t in variants if t.locale == chosen)
    points = await uow.session.scalar(select(func.coalesce(func.sum(PointsEntry.points), 0))
                                      .where(PointsEntry.customer_id == customer_id))
    context = personalisation(customer_id=customer_id, contact=contact.for_templates(),
                              tier=audience.tier if audience else None, points=int(points or 0),
                              variables=variables)
    return variant.locale, render(variant.subject, variant.body, context)
