"""Pure pieces of the HTTP conventions: scopes, cursors, transient errors."""
from __future__ import annotations

import asyncio

import asyncpg
import pytest
from sqlalchemy.exc import IntegrityError, OperationalError

from shared.bus.errors import is_transient
from shared.http.auth import ApiKeys, Principal
from shared.http.pagination import decode_cursor, encode_cursor
from shared.http.problems import Problem
from shared.http.ratelimit import RateLimiter


def test_a_scope_is_granted_exactly_by_itself_by_its_service_wildcard_or_by_star() -> None:
    assert Principal("k", frozenset({"profile:read"})).allows("profile:read")
    assert not Principal("k", frozenset({"profile:read"})).allows("profile:write")
    assert Principal("k", frozenset({"profile:*"})).allows("profile:write")
    assert not Principal("k", frozenset({"profile:*"})).allows("scoring:read")
    assert Principal("k", frozenset({"*"})).allows("feedback:write")


def test_api_keys_authenticate_known_keys_only_and_never_expose_them() -> None:
    keys = ApiKeys({"secret-key": frozenset({"*"})})
    principal = keys.authenticate("secret-key")
    assert principal is not None and "secret" not in principal.key_id
    assert keys.authenticate("secret-kez") is None


def test_a_cursor_round_trips_its_values() -> None:
    assert decode_cursor(encode_cursor(["2026-01-01T00:00:00+00:00", 42])) == ["2026-01-01T00:00:00+00:00", 42]


@pytest.mark.parametrize("garbage", ["%%%", "bm90IGpzb24", encode_cursor({"a": 1})])  # type: ignore[arg-type]
def test_a_cursor_the_api_did_not_make_is_a_problem(garbage: str) -> None:
    with pytest.raises(Problem) as problem:
        decode_cursor(garbage)
    assert problem.value.status == 400


def test_outages_are_transient_and_bad_data_is_not() -> None:
    assert is_transient(OperationalError("SELECT 1", {}, ConnectionError("gone")))
    assert is_transient(ConnectionRefusedError())
    assert is_transient(asyncio.TimeoutError())
    assert not is_transient(IntegrityError("INSERT", {}, ValueError("duplicate")))
    assert not is_transient(ValueError("negative amount"))


def test_the_drivers_own_connection_failures_are_transient_and_its_statement_errors_are_not() -> None:
    assert is_transient(asyncpg.exceptions.ConnectionDoesNotExistError("connection was closed"))
    assert is_transient(asyncpg.exceptions.AdminShutdownError("terminating connection"))
    assert is_transient(asyncpg.exceptions.InternalClientError("cannot switch to state 12"))
    assert not is_transient(asyncpg.exceptions.UniqueViolationError("duplicate key"))
    assert not is_transient(asyncpg.exceptions.DataError("invalid input"))


def test_a_key_may_burst_then_is_held_to_its_rate() -> None:
    limiter = RateLimiter(rate=2.0, burst=3)
    assert [limiter.retry_after("k", now=0.0) for _ in range(3)] == [0.0, 0.0, 0.0]
    assert limiter.retry_after("k", now=0.0) == 0.5
    assert limiter.retry_after("other-key", now=0.0) == 0.0
    assert limiter.retry_after("k", now=0.5) == 0.0
