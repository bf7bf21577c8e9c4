"""The mechanism tables every service database holds beside its own."""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import MetaData, Table

from shared.http.idempotency import idempotency_table
from shared.inbox import inbox_table
from shared.outbox import outbox_table
from shared.scheduler import job_leases_table


@dataclass(frozen=True)
class PlatformTables:
    outbox: Table
    inbox: Table
    idempotency: Table
    job_leases: Table


def platform_tables(metadata: MetaData) -> PlatformTables:
    return PlatformTables(outbox_table(metadata), inbox_table(metadata), idempotency_table(metadata),
                          job_leases_table(metadata))
