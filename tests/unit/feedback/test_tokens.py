"""Signed survey links."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from services.feedback import tokens
from services.feedback.settings import DEV_TOKEN_KEY, FeedbackSettings

KEY = "k" * 40
NOW = datetime(2026, 11, 24, 12, tzinfo=UTC)


def test_a_token_names_the_invitation_it_was_signed_for() -> None:
    token = tokens.sign("inv-1", NOW + timedelta(days=1), KEY)
    assert tokens.verify(token, KEY, NOW) == "inv-1"


def test_an_expired_token_is_refused_as_expired() -> None:
    token = tokens.sign("inv-1", NOW, KEY)
    with pytest.raises(tokens.TokenExpired):
        tokens.verify(token, KEY, NOW)


@pytest.mark.parametrize("tamper", [
    lambda t: t[:-2] + ("AA" if not t.endswith("AA") else "BB"),
    lambda t: tokens.sign("inv-2", NOW + timedelta(days=9), KEY).split(".")[0] + "." + t.split(".")[1],
    lambda t: "garbage",
    lambda t: t.split(".")[0],
])
def test_a_tampered_token_is_refused(tamper) -> None:  # type: ignore[no-untyped-def]
    token = tokens.sign("inv-1", NOW + timedelta(days=1), KEY)
    with pytest.raises(tokens.TokenRefused) as refused:
        tokens.verify(tamper(token), KEY, NOW)
    assert not isinstance(refused.value, tokens.TokenExpired)


def test_a_token_signed_with_another_key_is_refused() -> None:
    token = tokens.sign("inv-1", NOW + timedelta(days=1), "other" * 10)
    with pytest.raises(tokens.TokenRefused):
        tokens.verify(token, KEY, NOW)


PRODUCTION = dict(environment="production", api_keys={"secret-key": ["*"]},
                  database_url="postgresql+asyncpg://u@db/cvp_feedback")


@pytest.mark.parametrize("key", ["", DEV_TOKEN_KEY, "short"])
def test_production_refuses_a_missing_default_or_short_token_key(key: str) -> None:
    with pytest.raises(ValueError, match="SURVEY_TOKEN_KEY"):
        FeedbackSettings(**PRODUCTION, survey_token_key=key)


def test_production_accepts_a_long_secret_token_key() -> None:
    assert FeedbackSettings(**PRODUCTION, survey_token_key=KEY).survey_token_key == KEY


def test_development_falls_back_to_the_development_key() -> None:
    assert FeedbackSettings(environment="development").survey_token_key == DEV_TOKEN_KEY
