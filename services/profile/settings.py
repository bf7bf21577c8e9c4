from __future__ import annotations

from shared.settings import ServiceSettings


class ProfileSettings(ServiceSettings):
    service_name: str = "profile"
    port: int = 8001
