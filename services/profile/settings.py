"""Profile's settings: the platform's, plus the keys that protect personal data."""
from __future__ import annotations

from pydantic import model_validator

from services.profile.privacy import PersonalDataVault, decode_key
from shared.settings import ServiceSettings

# Fixed so that a development database stays readable across restarts; refused in production.
DEV_PII_ENCRYPTION_KEY = "ZGV2LW9ubHktcGlpLWVuY3J5cHRpb24ta2V5LTMyYiE"
DEV_PII_HASH_KEY = "ZGV2LW9ubHktcGlpLXNlYXJjaC1oYXNoLWtleS0zMmI"


class ProfileSettings(ServiceSettings):
    service_name: str = "profile"
    port: int = 8001
    pii_encryption_key: str = ""
    """URL-safe base64 of 32 random bytes: the AES-256-GCM key sealing names, e-mails, phones, addresses."""
    pii_hash_key: str = ""
    """URL-safe base64 of 32 random bytes: the HMAC key of the search digests."""

    @model_validator(mode="after")
    def _personal_data_keys(self) -> ProfileSettings:
        for field, dev_key in (("pii_encryption_key", DEV_PII_ENCRYPTION_KEY), ("pii_hash_key", DEV_PII_HASH_KEY)):
            value = getattr(self, field)
            if self.environment == "production" and value in ("", dev_key):
                raise ValueError(f"{field.upper()} must be set to a key of its own in production")
            if not value:
                object.__setattr__(self, field, dev_key)
            decode_key(getattr(self, field), name=field.upper())
        if self.environment == "production" and self.pii_encryption_key == self.pii_hash_key:
            raise ValueError("PII_ENCRYPTION_KEY and PII_HASH_KEY must differ")
        return self

    def personal_data_vault(self) -> PersonalDataVault:
        return PersonalDataVault(decode_key(self.pii_encryption_key, name="PII_ENCRYPTION_KEY"),
                                 decode_key(self.pii_hash_key, name="PII_HASH_KEY"))
