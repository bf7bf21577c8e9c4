"""Message templates: sandboxed Jinja2, picked by locale, rendered with the customer's context."""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Mapping

from jinja2 import StrictUndefined, Template, TemplateError
from jinja2.sandbox import SandboxedEnvironment

_ENVIRONMENT = SandboxedEnvironment(undefined=StrictUndefined, autoescape=False, trim_blocks=True)


class RenderError(Exception):
    """A template that cannot be compiled or rendered; the message says where and why."""


@dataclass(frozen=True)
class Content:
    subject: str | None
    body: str


def check_syntax(source: str, field: str) -> None:
    """Raise RenderError when `source` is not a valid template."""
    try:
        _ENVIRONMENT.parse(source)
    except TemplateError as exc:
        raise RenderError(f"{field}: {_describe(exc)}") from None


def render(subject: str | None, body: str, context: Mapping[str, Any]) -> Content:
    """Render subject and body; undefined variables and unsafe operations are errors, not blanks."""
    return Content(subject=_render_one(subject, context, "subject") if subject is not None else None,
                   body=_render_one(body, context, "body"))


def _render_one(source: str, context: Mapping[str, Any], field: str) -> str:
    try:
        return _compiled(source).render(**context)
    except TemplateError as exc:
        raise RenderError(f"{field}: {_describe(exc)}") from None
    except (TypeError, ValueError, ArithmeticError, LookupError) as exc:
        raise RenderError(f"{field}: {type(exc).__name__}: {exc}") from None


@lru_cache(maxsize=1024)
def _compiled(source: str) -> Template:
    """A campaign sends one text to many customers: compile it once (`from_string` does not cache)."""
    return _ENVIRONMENT.from_string(source)


def _describe(exc: TemplateError) -> str:
    line = getattr(exc, "lineno", None)
    where = f" (line {line})" if line else ""
    return f"{type(exc).__name__}: {exc.message or exc}{where}"


def pick_locale(available: list[str], wanted: str | None, default: str | None) -> str | None:
    """The variant for `wanted` (`fr-CA`), else its language (`fr`), else the default, else any."""
    if not available:
        return None
    by_lower = {locale.lower().replace("_", "-"): locale for locale in available}
    if wanted:
        wanted_norm = wanted.lower().replace("_", "-")
        if wanted_norm in by_lower:
            return by_lower[wanted_norm]
        language = wanted_norm.split("-")[0]
        for norm, locale in by_lower.items():
            if norm.split("-")[0] == language:
                return locale
    if default in available:
        return default
    return sorted(available)[0]


def personalisation(*, customer_id: str, contact: Mapping[str, Any], tier: str | None, points: int,
                    variables: Mapping[str, Any]) -> dict[str, Any]:
    """The names a template can use: customer fields, then the message's own variables."""
    return {
        "customer": {"id": customer_id, "name": contact.get("name"), "first_name": contact.get("first_name"),
                     "tier": tier, "points_balance": points},
        "coupon_code": variables.get("coupon_code"),
        "recommended_products": variables.get("recommended_products", []),
        **variables,
    }
