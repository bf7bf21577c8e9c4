"""Helpers for the engagement integration tests (no tests here): real local stand-ins for the outside
world — profile's customer endpoint and channel providers over HTTP, an SMTP server — and the app."""
from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import json
import os
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from email import message_from_bytes, policy as email_policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any, AsyncIterator

import httpx
import uvicorn
from aiosmtpd.controller import Controller
from fastapi import FastAPI, Request, Response

from aiokafka import AIOKafkaProducer

from services.engagement.app import create_app
from services.engagement.settings import EngagementSettings
from shared.devbroker import free_port
from shared.events.catalogue import ConsentV1, CustomerRegisteredV1, TierChangedV1
from shared.events.envelope import EventData, encode, new_event
from tests.support.apps import running_app, settings_for
from tools.scratch_databases import fresh_database
from tests.support.kafka import eventually

WEBHOOK_SECRET = "webhook-test-secret-0123456789"
PROFILE_KEY = "profile-reader-key"


@dataclass
class Providers:
    """Profile's customer documents and what the webhook receiver got, keyed by message id."""

    customers: dict[str, dict[str, Any]] = field(default_factory=dict)
    received: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    answers: dict[str, list[int]] = field(default_factory=dict)  # message id -> statuses to answer in turn
    attempts: dict[str, int] = field(default_factory=dict)  # message id -> successful hand-overs, repeats included
    bad_signatures: int = 0
    profile_outages: int = 0  # contact lookups still to answer 503

    def app(self) -> FastAPI:
        app = FastAPI()

        @app.get("/customers/{customer_id}")
        async def customer(customer_id: str, request: Request) -> Response:
            if request.headers.get("authorization") != f"Bearer {PROFILE_KEY}":
                return Response(status_code=401)
            document = self.customers.get(customer_id)
            if document is None:
                return Response(status_code=404)
            return Response(content=_json(document), media_type="application/json")

        @app.post("/customers/contact-lookup")
        async def contacts(request: Request) -> Response:
            if request.headers.get("authorization") != f"Bearer {PROFILE_KEY}":
                return Response(status_code=401)
            if self.profile_outages:
                self.profile_outages -= 1
                return Response(status_code=503)
            wanted = (await request.json())["customer_ids"]
            found = [self.customers[c] for c in wanted if c in self.customers]
            return Response(content=_json({"contacts": found, "missing": [c for c in wanted if c not in self.customers]}),
                            media_type="application/json")

        @app.post("/hooks/{channel}")
        async def hook(channel: str, request: Request) -> Response:
            body = await request.body()
            timestamp = request.headers["x-cvp-timestamp"]
            expected = "sha256=" + hmac.new(WEBHOOK_SECRET.encode(), timestamp.encode() + b"." + body,
                                            hashlib.sha256).hexdigest()
            if not hmac.compare_digest(expected, request.headers["x-cvp-signature"]):
                self.bad_signatures += 1
                return Response(status_code=401)
            payload = json.loads(body)
            key = request.headers["idempotency-key"]
            queued = self.answers.get(key) or []
            status = queued.pop(0) if queued else 200
            if status == 200 and key not in self.received:  # a provider honouring Idempotency-Key
                self.received.setdefault(key, []).append(payload | {"channel": channel})
            if status == 200:
                self.attempts[key] = self.attempts.get(key, 0) + 1
            return Response(status_code=status)

        return app


def _json(document: dict[str, Any]) -> bytes:
    return json.dumps(document).encode()


class Mailbox:
    """An aiosmtpd handler keeping every message it accepts."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 (aiosmtpd's name)
        self.messages.append(message_from_bytes(envelope.content, policy=email_policy.default))  # type: ignore[arg-type]
        return "250 OK"

    def to(self, address: str) -> list[EmailMessage]:
        return [m for m in self.messages if m["To"] == address]


@dataclass
class Stack:
    app: FastAPI
    http: httpx.AsyncClient
    providers: Providers
    mailbox: Mailbox
    settings: EngagementSettings


@contextlib.asynccontextmanager
async def http_server(app: FastAPI) -> AsyncIterator[str]:
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off"))
    task = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


@contextlib.asynccontextmanager
async def engagement_stack(broker: str, scratch: Path, **overrides: Any) -> AsyncIterator[Stack]:
    """Engagement with its outside world: fake profile, webhook providers for sms/push, SMTP for e-mail."""
    providers, mailbox = Providers(), Mailbox()
    smtp = Controller(mailbox, hostname="127.0.0.1", port=free_port())
    smtp.start()
    try:
        async with http_server(providers.app()) as base, \
                fresh_database(os.environ.get("TEST_DATABASE_URL"), scratch) as url:
            hooks = {c: {"url": f"{base}/hooks/{c}", "secret": WEBHOOK_SECRET} for c in ("sms", "push")}
            settings = settings_for(
                EngagementSettings, database_url=url, broker=broker, profile_url=base, profile_api_key=PROFILE_KEY,
                channel_delivery={"email": "smtp", "sms": "webhook", "push": "webhook"}, channel_webhooks=hooks,
                smtp_host="127.0.0.1", smtp_port=smtp.port, dispatch_interval_ms=100, delivery_retry_seconds=0.1, campaign_interval_seconds=0.2,
                **overrides)
            async with running_app(create_app, settings) as (app, http):
                yield Stack(app, http, providers, mailbox, settings)
    finally:
        smtp.stop()


def new_customer() -> str:
    return f"c-{uuid.uuid4().hex[:10]}"


def zone_at_local_hour(hour: int) -> str:
    """An `Etc/GMT±n` zone in which it is now `hour` o'clock (give or take the current minute)."""
    offset = ((hour - datetime.now(timezone.utc).hour + 12) % 24) - 12
    if offset == 0:
        return "Etc/GMT"
    return f"Etc/GMT{'-' if offset > 0 else '+'}{abs(offset)}"  # POSIX signs: Etc/GMT-9 is UTC+9


DAYTIME = zone_at_local_hour(12)


async def settled(http: httpx.AsyncClient, message_id: str, *, timeout: float = 20.0) -> dict[str, Any]:
    """Poll the message until it leaves the queue (sent, suppressed or failed)."""
    async def done() -> dict[str, Any] | None:
        body = (await http.get(f"/messages/{message_id}")).json()
        return body if body.get("status") in ("sent", "suppressed", "failed") else None
    return await eventually(done, timeout=timeout)  # type: ignore[return-value]


async def publish(broker: str, events: list[EventData]) -> None:
    """Publish in order through one producer."""
    producer = AIOKafkaProducer(bootstrap_servers=broker, acks="all", linger_ms=5)
    await producer.start()
    try:
        for data in events:
            envelope = new_event(data, source="/services/test")
            await producer.send_and_wait(envelope.type, value=encode(envelope), key=envelope.subject.encode())
    finally:
        await producer.stop()


def consents(*pairs: str) -> list[ConsentV1]:
    """`consents("email:marketing", "sms:service")`."""
    return [ConsentV1(channel=p.split(":")[0], purpose=p.split(":")[1], granted=True) for p in pairs]  # type: ignore[arg-type]


async def register(stack: Stack, broker: str, customer_id: str, *, granted: tuple[str, ...] = ("email:marketing", "email:service", "sms:marketing", "sms:service"),
                   timezone_name: str = DAYTIME, email: str | None = None, phone: str | None = "+4915112345678",
                   tier: str | None = None, **snapshot: Any) -> None:
    """Make the customer known to profile (addresses) and to engagement's projection (events)."""
    stack.providers.customers[customer_id] = {"customer_id": customer_id, "name": "Ada Lovelace", "first_name": "Ada",
                                              "email": email or f"{customer_id}@example.com", "phone": phone}
    events: list[EventData] = [CustomerRegisteredV1(customer_id=customer_id, timezone=timezone_name,
                                                    consents=consents(*granted), **snapshot)]
    if tier is not None:
        events.append(TierChangedV1(customer_id=customer_id, tier=tier, rfm={"r": 3, "f": 3, "m": 3}))  # type: ignore[arg-type]
    await publish(broker, events)

    async def projected() -> bool:
        response = await stack.http.get(f"/audience/{customer_id}")
        return response.status_code == 200 and (tier is None or response.json()["tier"] == tier)
    await eventually(projected, timeout=30)
