"""Watching a service's database from beside it while faults are injected: counts that tell progress."""
from __future__ import annotations

from sqlalchemy import func, select

from services.scoring.models import CountedOrder
from shared.db import create_engine


class ScoringProgress:
    """How many distinct orders scoring has counted so far (committed state only)."""

    def __init__(self, database_url: str):
        self._engine = create_engine(database_url)

    async def counted(self) -> int:
        try:
            async with self._engine.connect() as connection:
                return int(await connection.scalar(select(func.count()).select_from(CountedOrder)) or 0)
        except Exception:  # the table is not migrated yet, or the file is being written: nothing counted
            return 0

    async def close(self) -> None:
        await self._engine.dispose()


def consumed(metrics_text: str) -> float:
    """Events a service process consumed so far, from its Prometheus text."""
    return sum(float(line.rsplit(" ", 1)[1]) for line in metrics_text.splitlines()
               if line.startswith("cvp_events_consumed_total{"))
