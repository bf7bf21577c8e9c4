"""API-key authentication with scopes: `Authorization: Bearer <key>`."""
from __future__ import annotations

import hashlib
import math
import hmac
from dataclasses import dataclass
from typing import Annotated, Awaitable, Callable

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from shared.http.problems import Problem
from shared.settings import ALL_SCOPES

_bearer = HTTPBearer(auto_error=False, description="API key with scopes, e.g. `profile:read`")


@dataclass(frozen=True)
class Principal:
    key_id: str  # a digest of the key, safe to log and to store with idempotency records
    scopes: frozenset[str]

    def allows(self, scope: str) -> bool:
        service = scope.split(":", 1)[0]
        return bool({ALL_SCOPES, scope, f"{service}:*"} & self.scopes)


class ApiKeys:
    def __init__(self, keys: dict[str, frozenset[str]]):
        self._by_digest = {self.digest(key): scopes for key, scopes in keys.items()}

    @staticmethod
    def digest(key: str) -> str:
        return hashlib.sha256(key.encode()).hexdigest()[:16]

    def authenticate(self, key: str) -> Principal | None:
        presented = self.digest(key)
        for digest, scopes in self._by_digest.items():
            if hmac.compare_digest(digest, presented):
                return Principal(digest, scopes)
        return None


def _unauthorized(detail: str) -> Problem:
    return Problem(401, detail, headers={"WWW-Authenticate": "Bearer"})


def require(scope: str) -> Callable[..., Awaitable[Principal]]:
    """Dependency: the caller must present a key that carries `scope`."""

    async def check(request: Request,
                    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]) -> Principal:
        if credentials is None:
            raise _unauthorized("missing API key: send `Authorization: Bearer <key>`")
        principal = request.app.state.api_keys.authenticate(credentials.credentials)
        if principal is None:
            raise _unauthorized("unknown API key")
        wait = request.app.state.rate_limiter.retry_after(principal.key_id)
        if wait:
            raise Problem(429, "rate limit exceeded for this API key", headers={"Retry-After": str(math.ceil(wait))})
        if not principal.allows(scope):
            raise Problem(403, f"this API key lacks the scope `{scope}`", required_scope=scope)
        return principal

    return check
