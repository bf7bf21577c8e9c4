"""Every route of every service, read from its OpenAPI document, refuses callers without a key (401)
and keys without the route's scope (403) — except the documented open routes."""
from __future__ import annotations

import importlib
import re

import pytest

from tests.support.apps import running_app, settings_for

SERVICES = ["profile", "scoring", "engagement", "feedback"]
OPEN_PATHS = {"/healthz", "/readyz", "/metrics", "/docs", "/docs/oauth2-redirect", "/redoc", "/openapi.json"}
OPEN_PREFIXES = ("/s/",)  # public survey pages, authorised by their signed token
NO_SCOPES_KEY = "key-with-no-useful-scope"


def service_app(name: str):  # type: ignore[no-untyped-def]
    app_module = importlib.import_module(f"services.{name}.app")
    settings_module = importlib.import_module(f"services.{name}.settings")
    settings_cls = next(v for k, v in vars(settings_module).items() if k.endswith("Settings") and k != "ServiceSettings")
    return app_module.create_app, settings_cls


def concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "probe-1", path)


@pytest.mark.parametrize("service", SERVICES)
async def test_every_route_but_the_open_ones_needs_a_key_with_its_scope(service: str, database_url: str,
                                                                        broker: str) -> None:
    create_app, settings_cls = service_app(service)
    settings = settings_for(settings_cls, database_url=database_url, broker=broker, consumer_enabled=False,
                            api_keys={NO_SCOPES_KEY: ["unrelated:read"]})
    checked = []
    async with running_app(create_app, settings, api_key=NO_SCOPES_KEY) as (app, http):
        spec = (await http.get("/openapi.json")).json()
        for path, operations in spec["paths"].items():
            if path in OPEN_PATHS or path.startswith(OPEN_PREFIXES):
                continue
            for method in operations:
                url = concrete(path)
                anonymous = await http.request(method, url, headers={"Authorization": ""}, json={})
                unscoped = await http.request(method, url, json={})
                assert anonymous.status_code == 401, f"{method.upper()} {path} without a key: {anonymous.status_code}"
                assert unscoped.status_code == 403, f"{method.upper()} {path} without its scope: {unscoped.status_code}"
                checked.append(f"{method} {path}")
    assert checked, f"{service} has no protected routes"
