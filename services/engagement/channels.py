"""Channel adapters: e-mail over SMTP, signed webhooks (SMS, push, WeChat, in-app), and dry run.

Every adapter passes the message id along (Message-ID header, Idempotency-Key header), so a provider
can drop the repeat of a delivery that was made just before a crash.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Protocol

import aiohttp
import aiosmtplib

from services.engagement.settings import EngagementSettings, WebhookTarget

log = logging.getLogger(__name__)
SIGNATURE_HEADER = "X-CVP-Signature"
TIMESTAMP_HEADER = "X-CVP-Timestamp"


@dataclass(frozen=True)
class Outgoing:
    message_id: str
    customer_id: str
    channel: str
    address: str
    subject: str | None
    body: str


@dataclass(frozen=True)
class Outcome:
    delivered: bool
    reason: str | None = None
    retryable: bool = False


class ChannelAdapter(Protocol):
    async def deliver(self, message: Outgoing) -> Outcome: ...


class DryRunChannel:
    """Logs what would be sent; the message counts as sent."""

    async def deliver(self, message: Outgoing) -> Outcome:
        log.info("dry-run delivery", extra={"message_id": message.message_id, "channel": message.channel})
        return Outcome(True, "dry_run")


class SmtpChannel:
    def __init__(self, settings: EngagementSettings):
        self._settings = settings

    async def deliver(self, message: Outgoing) -> Outcome:
        settings = self._settings
        email = EmailMessage()
        email["From"] = settings.smtp_sender
        email["To"] = message.address
        email["Subject"] = message.subject or ""
        email["Message-ID"] = f"<{message.message_id}@{settings.smtp_sender.rsplit('@', 1)[-1]}>"
        email.set_content(message.body)
        try:
            await aiosmtplib.send(email, hostname=settings.smtp_host, port=settings.smtp_port,
                                  username=settings.smtp_username or None, password=settings.smtp_password or None,
                                  start_tls=settings.smtp_start_tls, timeout=settings.delivery_timeout_seconds)
        except aiosmtplib.SMTPRecipientsRefused:
            return Outcome(False, "invalid_address")
        except aiosmtplib.SMTPResponseException as exc:
            return Outcome(False, f"smtp_{exc.code}", retryable=exc.code < 500)
        except (aiosmtplib.SMTPException, OSError) as exc:
            return Outcome(False, f"provider_unreachable:{type(exc).__name__}", retryable=True)
        return Outcome(True)


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """HMAC-SHA256 over `<timestamp>.<body>`, hex, prefixed `sha256=`."""
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


class WebhookChannel:
    """Posts each message to the provider over one pool of kept-alive connections (aiohttp's client, which
    sends several times more requests per second per core than httpx's: the dispatcher's ceiling)."""

    def __init__(self, target: WebhookTarget, timeout: float, *, connections: int = 16):
        self._target = target
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._connections = connections
        self._http: aiohttp.ClientSession | None = None  # made on first use, inside the running loop

    async def aclose(self) -> None:
        if self._http is not None:
            await self._http.close()
            self._http = None

    async def deliver(self, message: Outgoing) -> Outcome:
        if self._http is None:
            self._http = aiohttp.ClientSession(timeout=self._timeout,
                                               connector=aiohttp.TCPConnector(limit=self._connections))
        body = json.dumps({"message_id": message.message_id, "customer_id": message.customer_id,
                           "channel": message.channel, "to": message.address, "subject": message.subject,
                           "body": message.body}).encode()
        timestamp = str(int(time.time()))
        headers = {"Content-Type": "application/json", "Idempotency-Key": message.message_id,
                   TIMESTAMP_HEADER: timestamp, SIGNATURE_HEADER: sign(self._target.secret, timestamp, body)}
        try:
            async with self._http.post(self._target.url, data=body, headers=headers) as response:
                await response.read()
                status = response.status
        except (aiohttp.ClientError, TimeoutError) as exc:
            return Outcome(False, f"provider_unreachable:{type(exc).__name__}", retryable=True)
        if 200 <= status < 300:
            return Outcome(True)
        retryable = status >= 500 or status in (408, 429)
        return Outcome(False, f"provider_status_{status}", retryable=retryable)


def build_channels(settings: EngagementSettings) -> dict[str, ChannelAdapter]:
    """One adapter per channel named in CHANNEL_DELIVERY; callers fall back to dry run for the rest."""
    adapters: dict[str, ChannelAdapter] = {}
    for channel, mode in settings.channel_delivery.items():
        if mode == "smtp":
            adapters[channel] = SmtpChannel(settings)
        elif mode == "webhook":
            target = settings.channel_webhooks.get(channel)
            if target is None:
                raise ValueError(f"channel {channel} is delivered by webhook but CHANNEL_WEBHOOKS has no entry for it")
            adapters[channel] = WebhookChannel(target, settings.delivery_timeout_seconds,
                                               connections=settings.dispatch_concurrency)
    return adapters


async def close_channels(adapters: dict[str, ChannelAdapter]) -> None:
    """Close the connection pools the adapters hold."""
    for adapter in adapters.values():
        if isinstance(adapter, WebhookChannel):
            await adapter.aclose()
