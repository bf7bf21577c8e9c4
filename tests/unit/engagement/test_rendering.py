"""Templates render in a sandbox, per locale, with the customer's personalisation; failures say why."""
from __future__ import annotations

import pytest

from services.engagement.profile_client import contact_from
from services.engagement.rendering import RenderError, check_syntax, personalisation, pick_locale, render


def context(**variables):  # type: ignore[no-untyped-def]
    return personalisation(customer_id="c-1", contact={"name": "Ada Lovelace", "first_name": "Ada"},
                           tier="high-value", points=1250, variables=variables)


def test_a_template_is_personalised_with_name_tier_points_coupon_and_products() -> None:
    content = render("Hi {{ customer.first_name }}",
                     "{{ customer.tier }}: {{ customer.points_balance }} pts, code {{ coupon_code }}; "
                     "{% for p in recommended_products %}{{ p.name }}{% if not loop.last %}, {% endif %}{% endfor %}",
                     context(coupon_code="SAVE-10", recommended_products=[{"name": "Tea"}, {"name": "Cups"}]))
    assert content.subject == "Hi Ada"
    assert content.body == "high-value: 1250 pts, code SAVE-10; Tea, Cups"


def test_an_undefined_variable_is_an_error_not_a_blank() -> None:
    with pytest.raises(RenderError, match="body: UndefinedError: 'shoe_size' is undefined"):
        render(None, "Your size: {{ shoe_size }}", context())


def test_the_sandbox_refuses_access_to_python_internals() -> None:
    with pytest.raises(RenderError, match="SecurityError"):
        render(None, "{{ ''.__class__.__mro__[1].__subclasses__() }}", context())


def test_a_syntax_error_names_the_field_and_line() -> None:
    with pytest.raises(RenderError, match=r"subject: TemplateSyntaxError: .* \(line 2\)"):
        check_syntax("Hello\n{% if %}", "subject")


def test_the_locale_variant_falls_back_to_the_language_then_the_default() -> None:
    available = ["en", "fr", "zh-CN"]
    assert pick_locale(available, "zh-CN", "en") == "zh-CN"
    assert pick_locale(available, "fr-CA", "en") == "fr"
    assert pick_locale(available, "de-DE", "en") == "en"
    assert pick_locale(available, None, "en") == "en"
    assert pick_locale(available, "zh_cn", "en") == "zh-CN"


def test_profile_documents_give_addresses_at_the_top_level_or_under_contact() -> None:
    flat = contact_from({"customer_id": "c-1", "email": "a@example.com", "phone": "+4915112345678", "name": "Ada"})
    nested = contact_from({"customer_id": "c-1", "contact": {"email": "b@example.com"}, "first_name": "Bo"})
    assert (flat.address_for("email"), flat.address_for("sms"), flat.first_name) == ("a@example.com", "+4915112345678", "Ada")
    assert (nested.address_for("email"), nested.address_for("sms"), nested.name) == ("b@example.com", None, "Bo")


def test_profiles_given_and_family_names_and_do_not_contact_are_read() -> None:
    contact = contact_from({"customer_id": "c-1", "given_name": "Ada", "family_name": "Lovelace", "do_not_contact": True})
    assert (contact.name, contact.first_name, contact.do_not_contact) == ("Ada Lovelace", "Ada", True)
