"""Personal data at rest: sealed with AES-GCM, searchable through keyed digests (HMAC-SHA256)."""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

_FORMAT_V1 = b"\x01"  # leading version byte, so keys or algorithms can be rotated later
_NONCE_BYTES = 12


def decode_key(text: str, *, name: str) -> bytes:
    """A key as configured: URL-safe base64 of 32 random bytes."""
    try:
        key = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except ValueError:
        raise ValueError(f"{name} must be URL-safe base64") from None
    if len(key) != 32:
        raise ValueError(f"{name} must decode to 32 bytes (got {len(key)})")
    return key


class PersonalDataVault:
    """Seals a customer's personal fields; the customer id is bound in as associated data, so a
    blob copied onto another customer's row does not open."""

    def __init__(self, encryption_key: bytes, hash_key: bytes):
        self._aead = AESGCM(encryption_key)
        self._hash_key = hash_key

    def seal(self, customer_id: str, fields: dict[str, Any]) -> bytes:
        nonce = os.urandom(_NONCE_BYTES)
        plaintext = json.dumps(fields, separators=(",", ":"), sort_keys=True).encode()
        return _FORMAT_V1 + nonce + self._aead.encrypt(nonce, plaintext, customer_id.encode())

    def open(self, customer_id: str, blob: bytes | None) -> dict[str, Any]:
        if not blob:
            return {}
        if blob[:1] != _FORMAT_V1:
            raise ValueError("unknown personal data format")
        nonce, ciphertext = blob[1:1 + _NONCE_BYTES], blob[1 + _NONCE_BYTES:]
        try:
            return json.loads(self._aead.decrypt(nonce, ciphertext, customer_id.encode()))  # type: ignore[no-any-return]
        except InvalidTag:
            raise ValueError(f"personal data of {customer_id} does not open with the configured key") from None

    def digest(self, kind: str, normalised_value: str) -> str:
        """Equal normalised values give equal digests; without the key they reveal nothing."""
        message = f"{kind}\x00{normalised_value}".encode()
        return hmac.new(self._hash_key, message, hashlib.sha256).hexdigest()
