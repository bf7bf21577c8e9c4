"""Cursor pagination: an opaque cursor holding the sort key of the last item returned."""
from __future__ import annotations

import base64
import binascii
import json
from typing import Annotated, Any, Generic, TypeVar

from fastapi import Depends, Query
from pydantic import BaseModel

from shared.http.problems import Problem

T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None = None


def encode_cursor(values: list[Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(values, default=str).encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> list[Any]:
    try:
        values = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (binascii.Error, ValueError):
        raise Problem(400, "cursor: not a cursor this API returned", errors=[{"field": "query.cursor",
                                                                                "message": "malformed cursor"}])
    if not isinstance(values, list):
        raise Problem(400, "cursor: not a cursor this API returned")
    return values


class PageRequest(BaseModel):
    limit: int
    after: list[Any] | None


def page_request(
    limit: Annotated[int, Query(ge=1, le=1000, description="Items per page")] = 100,
    cursor: Annotated[str | None, Query(max_length=1000, description="`next_cursor` of the previous page")] = None,
) -> PageRequest:
    return PageRequest(limit=limit, after=decode_cursor(cursor) if cursor else None)


PageDep = Annotated[PageRequest, Depends(page_request)]
