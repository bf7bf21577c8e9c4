"""Helpers for the profile integration tests (the `profile` app fixture is in their conftest.py)."""
from __future__ import annotations

import uuid


def new_id() -> str:
    return f"c-{uuid.uuid4().hex[:10]}"
