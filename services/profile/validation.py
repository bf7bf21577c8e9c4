"""What a CRM user expects checked on a customer's details, and the normal forms used for search.

Plain functions raising ValueError with a message for the field; the HTTP schemas and the bulk
importer both call them, so a value is judged the same way wherever it enters.
"""
from __future__ import annotations

import re
import unicodedata
import zoneinfo
from datetime import date
from typing import Any

import phonenumbers
import pycountry
from email_validator import EmailNotValidError, validate_email

ATTRIBUTE_NAME = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
MAX_ATTRIBUTES = 100
MAX_ATTRIBUTE_TEXT = 1000
OLDEST_BIRTHDAY = date(1900, 1, 1)


def normalise_email(value: str) -> str:
    """RFC 5322 syntax, internationalised domains in their normal form; no DNS lookups."""
    try:
        return validate_email(value, check_deliverability=False).normalized
    except EmailNotValidError as exc:
        raise ValueError(f"not a valid e-mail address: {exc}") from None


def email_search_form(email: str) -> str:
    # Mailboxes are case-insensitive in practice; customers type them every which way.
    return email.casefold()


def normalise_phone(value: str) -> str:
    """An E.164 number (`+` and country code); spaces, dots and dashes are tolerated and dropped."""
    if not value.strip().startswith("+"):
        raise ValueError("phone must be in E.164 form with a country code, e.g. +33612345678")
    try:
        number = phonenumbers.parse(value, None)
    except phonenumbers.NumberParseException as exc:
        raise ValueError(f"not a phone number: {exc}") from None
    if not phonenumbers.is_valid_number(number):
        raise ValueError("not a valid phone number for its country code")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def normalise_country(value: str) -> str:
    """ISO 3166-1 alpha-2 code, e.g. `FR`."""
    if not re.fullmatch(r"[A-Za-z]{2}", value) or pycountry.countries.get(alpha_2=value.upper()) is None:
        raise ValueError("country must be an ISO 3166-1 alpha-2 code, e.g. FR")
    return value.upper()


def check_timezone(value: str) -> str:
    """An IANA time zone the system knows, e.g. `Europe/Paris`."""
    try:
        zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"{value!r} is not an IANA time zone, e.g. Europe/Paris") from None
    return value


def check_birthday(value: date, today: date | None = None) -> date:
    if value > (today or date.today()):
        raise ValueError("birthday cannot be in the future")
    if value < OLDEST_BIRTHDAY:
        raise ValueError(f"birthday cannot be before {OLDEST_BIRTHDAY.isoformat()}")
    return value


def normalise_name(value: str) -> str:
    """Search form of a name: compatibility-normalised, case-folded, single spaces."""
    return " ".join(unicodedata.normalize("NFKC", value).casefold().split())


def name_search_forms(*names: str | None) -> set[str]:
    """Each part of the name and the whole: "Ada Lovelace" is found by `ada`, `lovelace` or both."""
    parts = [normalise_name(n) for n in names if n and normalise_name(n)]
    forms = {token for part in parts for token in part.split()}
    if parts:
        forms.add(" ".join(parts))
    return forms


def check_attributes(values: dict[str, Any]) -> dict[str, Any]:
    """Custom attributes: snake_case names, scalar values (text, number, boolean; null removes)."""
    if len(values) > MAX_ATTRIBUTES:
        raise ValueError(f"at most {MAX_ATTRIBUTES} attributes")
    for name, value in values.items():
        if not ATTRIBUTE_NAME.match(name):
            raise ValueError(f"attribute name {name!r} must be snake_case, 1-64 characters")
        if isinstance(value, float) and value != value:
            raise ValueError(f"attribute {name}: NaN is not a value")
        if not isinstance(value, (str, int, float, bool)) and value is not None:
            raise ValueError(f"attribute {name} must be text, a number or a boolean, not {type(value).__name__}")
        if isinstance(value, str) and len(value) > MAX_ATTRIBUTE_TEXT:
            raise ValueError(f"attribute {name} is longer than {MAX_ATTRIBUTE_TEXT} characters")
    return values


def attribute_type(value: Any) -> str:
    """The type a segment comparison treats the attribute as."""
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    return "text"
