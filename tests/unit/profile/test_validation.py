"""What profile accepts as a customer's details, and the normal forms it searches by."""
from __future__ import annotations

from datetime import date

import pytest

from services.profile import validation


def test_email_is_normalised_and_its_search_form_ignores_case() -> None:
    assert validation.normalise_email("Ada.Lovelace@Example.COM") == "Ada.Lovelace@example.com"
    assert validation.email_search_form("Ada.Lovelace@example.com") == "ada.lovelace@example.com"


@pytest.mark.parametrize("email", ["ada", "ada@", "@example.com", "ada@@example.com", "ada@example..com"])
def test_malformed_email_is_refused(email: str) -> None:
    with pytest.raises(ValueError, match="e-mail"):
        validation.normalise_email(email)


def test_phone_is_stored_in_e164() -> None:
    assert validation.normalise_phone("+44 20 7946 0958") == "+442079460958"
    assert validation.normalise_phone("+1 (202) 555-0143") == "+12025550143"


@pytest.mark.parametrize("phone, reason", [("020 7946 0958", "E.164"), ("+44 1", "phone number"), ("+44 20 7946 095", "valid"), ("+999 1234567", "")])
def test_phone_without_country_code_or_impossible_is_refused(phone: str, reason: str) -> None:
    with pytest.raises(ValueError, match=reason or None):
        validation.normalise_phone(phone)


def test_country_is_an_iso_code_in_upper_case() -> None:
    assert validation.normalise_country("fr") == "FR"
    for bad in ("XX", "FRA", "France", "1"):
        with pytest.raises(ValueError):
            validation.normalise_country(bad)


def test_timezone_must_be_a_known_iana_zone() -> None:
    assert validation.check_timezone("Asia/Shanghai") == "Asia/Shanghai"
    with pytest.raises(ValueError, match="IANA"):
        validation.check_timezone("Europe/Atlantis")


def test_birthday_cannot_be_in_the_future_or_implausibly_old() -> None:
    today = date(2026, 11, 24)
    assert validation.check_birthday(date(2026, 11, 24), today)
    with pytest.raises(ValueError, match="future"):
        validation.check_birthday(date(2026, 11, 25), today)
    with pytest.raises(ValueError, match="before"):
        validation.check_birthday(date(1850, 1, 1), today)


def test_names_are_found_by_each_part_and_the_whole_regardless_of_case_and_spacing() -> None:
    assert validation.name_search_forms("  Ada ", "LOVELACE  King") == {"ada", "lovelace", "king",
                                                                       "ada lovelace king"}
    assert validation.name_search_forms(None, None) == set()
    assert validation.normalise_name("Ｓtraße") == validation.normalise_name("STRASSE")


def test_attributes_are_typed_scalars_with_snake_case_names() -> None:
    assert validation.check_attributes({"size": 38, "vip_since": "2020", "paper": False, "gone": None})
    for bad in ({"Size": 1}, {"nested": {"a": 1}}, {"list": [1]}, {"nan": float("nan")}, {"x": "a" * 1001}):
        with pytest.raises(ValueError):
            validation.check_attributes(bad)
    assert [validation.attribute_type(v) for v in (True, 2, 2.5, "a")] == ["boolean", "number", "number", "text"]
