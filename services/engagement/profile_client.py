"""Contact addresses from profile, fetched over HTTP at send time (engagement keeps no personal data).

Profile's customer document is still growing, so this client reads it leniently: addresses either at
the top level or under `contact`, names under `name`, `display_name`, `first_name` or `given_name` (+ `family_name`).
"""
from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import httpx


LOOKUP_LIMIT = 1000  # ids per contact lookup, as profile accepts


class ProfileUnavailable(Exception):
    """Profile could not answer now; the delivery is retried later."""


@dataclass(frozen=True)
class Contact:
    """What a channel needs to reach the customer, and the name templates may use."""

    found: bool
    addresses: dict[str, str] = field(default_factory=dict)  # channel -> address
    name: str | None = None
    first_name: str | None = None
    do_not_contact: bool = False  # profile's word at send time, fresher than the projection

    def address_for(self, channel: str) -> str | None:
        return self.addresses.get(channel)

    def for_templates(self) -> dict[str, Any]:
        return {"name": self.name, "first_name": self.first_name}


_ADDRESS_FIELDS = {"email": ("email",), "sms": ("phone", "mobile"), "phone": ("phone", "mobile"),
                   "push": ("push_token",), "wechat": ("wechat_openid", "wechat_id"), "in_app": ("customer_id",),
                   "webhook": ("customer_id",)}


def contact_from(document: dict[str, Any]) -> Contact:
    sources = [document, document.get("contact") or {}, document.get("contacts") or {}]
    addresses: dict[str, str] = {}
    for channel, names in _ADDRESS_FIELDS.items():
        for source in sources:
            value = next((source.get(name) for name in names if isinstance(source, dict) and source.get(name)), None)
            if value:
                addresses[channel] = str(value)
                break
    first = document.get("first_name") or document.get("given_name")
    full = " ".join(part for part in (first, document.get("family_name")) if part) or None
    name = document.get("name") or document.get("display_name") or full
    return Contact(found=True, addresses=addresses, name=name, first_name=first or name,
                   do_not_contact=bool(document.get("do_not_contact")))


class ProfileClient:
    def __init__(self, base_url: str, api_key: str, *, timeout: float = 5.0,
                 transport: httpx.AsyncBaseTransport | None = None):
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._http = httpx.AsyncClient(base_url=base_url.rstrip("/"), headers=headers, timeout=timeout,
                                       transport=transport)

    async def contact(self, customer_id: str) -> Contact:
        try:
            response = await self._http.get(f"/customers/{quote(customer_id, safe='')}")
        except httpx.HTTPError as exc:
            raise ProfileUnavailable(f"profile unreachable: {type(exc).__name__}") from exc
        if response.status_code in (404, 410):
            return Contact(found=False)
        if response.status_code != 200:
            raise ProfileUnavailable(f"profile answered {response.status_code}")
        return contact_from(response.json())

    async def contacts(self, customer_ids: Collection[str]) -> dict[str, Contact]:
        """The contacts of several customers, looked up up to LOOKUP_LIMIT at a time; every id asked about
        has an entry, `found=False` for those profile cannot reach (unknown, erased, merged away)."""
        wanted = sorted(set(customer_ids))
        contacts = dict.fromkeys(wanted, Contact(found=False))
        for start in range(0, len(wanted), LOOKUP_LIMIT):
            try:
                response = await self._http.post("/customers/contact-lookup",
                                                 json={"customer_ids": wanted[start:start + LOOKUP_LIMIT]})
            except httpx.HTTPError as exc:
                raise ProfileUnavailable(f"profile unreachable: {type(exc).__name__}") from exc
            if response.status_code != 200:
                raise ProfileUnavailable(f"profile answered {response.status_code}")
            for document in response.json()["contacts"]:
                contacts[document["customer_id"]] = contact_from(document)
        return contacts

    async def close(self) -> None:
        await self._http.aclose()
