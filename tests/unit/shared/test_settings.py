"""Settings are validated when a service starts; unsafe production settings are refused."""
from __future__ import annotations

import pytest
from pydantic import ValidationError

from shared.settings import DEV_API_KEY, ServiceSettings

PG = "postgresql+asyncpg://cvp@db/cvp_profile"


def test_development_gets_a_sqlite_file_per_service_and_the_dev_key() -> None:
    settings = ServiceSettings(service_name="profile")
    assert settings.database_url == "sqlite+aiosqlite:///./var/profile.db"
    assert settings.consumer_group == "profile"
    assert settings.effective_api_keys() == {DEV_API_KEY: frozenset({"*"})}


def test_api_keys_are_read_from_json(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("API_KEYS", '{"k1": ["profile:read"], "k2": ["*"]}')
    assert ServiceSettings().effective_api_keys() == {"k1": frozenset({"profile:read"}), "k2": frozenset({"*"})}


def test_cvp_api_key_adds_a_key_with_every_scope() -> None:
    settings = ServiceSettings(cvp_api_key="my-key", api_keys={"other": ["scoring:read"]})
    assert settings.effective_api_keys()["my-key"] == frozenset({"*"})


@pytest.mark.parametrize("unsafe, message", [
    (dict(database_url=PG), "API_KEYS must be set"),
    (dict(database_url=PG, api_keys={DEV_API_KEY: ["*"]}), "development API key"),
    (dict(api_keys={"k": ["*"]}), "PostgreSQL"),
])
def test_production_refuses_unsafe_settings(unsafe: dict, message: str) -> None:  # type: ignore[type-arg]
    with pytest.raises(ValidationError, match=message):
        ServiceSettings(environment="production", **unsafe)


def test_production_accepts_postgresql_and_real_keys() -> None:
    settings = ServiceSettings(environment="production", database_url=PG, api_keys={"k": ["*"]})
    assert DEV_API_KEY not in settings.effective_api_keys()
