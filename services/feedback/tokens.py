"""Signed, expiring survey links: `<payload>.<signature>`, HMAC-SHA256 with a key from settings.

The token proves which invitation it was issued for and until when; that it is used only once is the
invitation's state, kept in the database.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import UTC, datetime


class TokenRefused(Exception):
    """A token that must not open a survey; `reason` is what the respondent is told."""

    status = 403

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


class TokenExpired(TokenRefused):
    status = 410


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _mac(payload: str, key: str) -> str:
    return _b64(hmac.new(key.encode(), b"survey:" + payload.encode(), hashlib.sha256).digest())


def sign(invitation_id: str, expires_at: datetime, key: str) -> str:
    payload = _b64(f"{invitation_id}|{int(expires_at.timestamp())}".encode())
    return f"{payload}.{_mac(payload, key)}"


def verify(token: str, key: str, now: datetime) -> str:
    """The invitation id the token was issued for; TokenRefused when forged, TokenExpired when late."""
    payload, _, signature = token.partition(".")
    if not payload or not signature or not hmac.compare_digest(_mac(payload, key), signature):
        raise TokenRefused("this survey link is not valid")
    try:
        invitation_id, expiry = _unb64(payload).decode().rsplit("|", 1)
        expires_at = datetime.fromtimestamp(int(expiry), tz=UTC)
    except (ValueError, UnicodeDecodeError):
        raise TokenRefused("this survey link is not valid") from None
    if now >= expires_at:
        raise TokenExpired("this survey link has expired")
    return invitation_id
