"""`python -m services.profile import FILE.csv [--report rejected.csv]`: bulk load customers or purchases.

Good rows land, bad rows are listed (row number, field, reason), and no row is half applied: rows
are applied in batches of one transaction each, and when a batch fails on a row the batch is
retried row by row. Events go through the outbox, so the running service publishes them.
"""
from __future__ import annotations

import argparse
import asyncio
import csv
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from pydantic import BaseModel
from sqlalchemy.ext.asyncio import async_sessionmaker
from tqdm import tqdm

from services.profile import customer_handlers, handlers, repository
from services.profile.customer_handlers import AttributeTypeConflict, ConsentRefused
from services.profile.domain import CustomerErased, OrderKey
from services.profile.import_rows import Rejection, kind_of, parse_row
from services.profile.models import tables
from services.profile.settings import ProfileSettings
from shared.bus.errors import is_transient
from shared.db import create_engine
from shared.events.catalogue import PurchaseRecordedV1
from shared.migrations import upgrade_to_head
from shared.uow import UnitOfWork, unit_of_work_factory

BATCH = 500


@dataclass
class ImportReport:
    kind: str
    applied: int = 0
    duplicates: int = 0
    rejected: list[Rejection] = field(default_factory=list)

    def summary(self) -> str:
        rows = len({r.row for r in self.rejected})
        return f"{self.kind}: {self.applied} applied, {self.duplicates} already known, {rows} rows rejected"


def command(settings: ProfileSettings, argv: list[str]) -> int:
    """The `import` command of the service's CLI."""
    parser = argparse.ArgumentParser(prog="python -m services.profile import")
    parser.add_argument("file", type=Path, help="customers or purchases CSV (the header tells which)")
    parser.add_argument("--report", type=Path, help="also write the rejected rows to this CSV")
    options = parser.parse_args(argv)
    report = asyncio.run(import_file(settings, options.file))
    print(report.summary())
    write_rejections(report.rejected, sys.stdout)
    if options.report:
        with options.report.open("w", newline="") as out:
            write_rejections(report.rejected, out)
    return 1 if report.rejected else 0


def write_rejections(rejected: list[Rejection], out: TextIO) -> None:
    if rejected:
        writer = csv.writer(out)
        writer.writerow(["row", "field", "reason"])
        writer.writerows((r.row, r.field, r.reason) for r in rejected)


async def import_file(settings: ProfileSettings, path: Path, *, progress: bool = True) -> ImportReport:
    engine = create_engine(settings.database_url)
    try:
        await upgrade_to_head(engine, Path(__file__).parent / "migrations")
        unit_of_work = unit_of_work_factory(async_sessionmaker(engine, expire_on_commit=False), tables.outbox,
                                            source="/services/profile")
        with path.open(newline="", encoding="utf-8-sig") as source:
            reader = csv.DictReader(source)
            report = ImportReport(kind_of(list(reader.fieldnames or [])))
            total = _count_rows(path)
            with tqdm(total=total, unit="row", desc=report.kind, disable=not progress, file=sys.stderr) as bar:
                for batch in _batches(reader, report):
                    await _apply_batch(unit_of_work, settings, report, batch.rows)
                    bar.update(len(batch.rows) + batch.skipped)
        return report
    finally:
        await engine.dispose()


def _count_rows(path: Path) -> int:
    with path.open(newline="", encoding="utf-8-sig") as source:
        return max(sum(1 for _ in csv.reader(source)) - 1, 0)


@dataclass
class _Batch:
    rows: list[tuple[int, BaseModel]] = field(default_factory=list)
    """(line number, validated row) pairs to apply."""
    skipped: int = 0
    """Rows of this stretch of the file already rejected by validation."""


def _batches(reader: csv.DictReader, report: ImportReport) -> Iterator[_Batch]:  # type: ignore[type-arg]
    batch = _Batch()
    for row_number, row in enumerate(reader, start=2):
        parsed = (parse_row(report.kind, row_number, row) if None not in row
                  else [Rejection(row_number, "row", "more values than the header has columns")])
        if isinstance(parsed, list):
            report.rejected.extend(parsed)
            batch.skipped += 1
        else:
            batch.rows.append((row_number, parsed))
        if len(batch.rows) + batch.skipped >= BATCH:
            yield batch
            batch = _Batch()
    if batch.rows or batch.skipped:
        yield batch


async def _apply_batch(unit_of_work: Any, settings: ProfileSettings, report: ImportReport,
                       rows: list[tuple[int, BaseModel]]) -> None:
    if not rows:
        return
    try:
        async with unit_of_work() as uow:
            outcome = await _apply(uow, settings, report.kind, [model for _, model in rows])
            await uow.commit()
    except Exception as error:
        if is_transient(error):
            raise  # the database is away: stop rather than reject good rows
        if len(rows) == 1:
            report.rejected.append(Rejection(rows[0][0], *_field_and_reason(error)))
            return
        for row in rows:  # find the failing rows, one transaction each
            await _apply_batch(unit_of_work, settings, report, [row])
        return
    report.applied += sum(1 for status in outcome if status == handlers.RECORDED)
    report.duplicates += sum(1 for status in outcome if status == handlers.DUPLICATE)


async def _apply(uow: UnitOfWork, settings: ProfileSettings, kind: str, models: list[Any]) -> list[str]:
    if kind == "purchases":
        orders = [(OrderKey(p.source, p.order_id), PurchaseRecordedV1(**p.model_dump(exclude={"source"})))
                  for p in models]
        outcome = await handlers.record_purchases(uow, orders, publish=True)
        statuses, seen = [], set()
        for key, _ in orders:  # a second row of the same order in the file is a duplicate too
            statuses.append(handlers.DUPLICATE if key in seen else outcome[key])
            seen.add(key)
        return statuses
    vault = settings.personal_data_vault()
    for model in models:
        fields = model.model_dump(exclude={"customer_id"}, exclude_unset=True)
        existing = await repository.load_customer(uow.session, model.customer_id)
        if existing is None:
            await customer_handlers.register_customer(uow, model.customer_id, vault=vault, fields=fields)
        elif existing.erased_at is not None or existing.merged_into is not None:
            raise CustomerErased({existing.customer_id}) if existing.erased_at else ValueError(
                f"customer {existing.customer_id} was merged into {existing.merged_into}")
        else:
            await customer_handlers.update_customer(uow, existing, fields, vault)
        await uow.session.flush()
    return [handlers.RECORDED] * len(models)


def _field_and_reason(error: BaseException) -> tuple[str, str]:
    if isinstance(error, CustomerErased):
        return "customer_id", "the customer has been erased"
    if isinstance(error, AttributeTypeConflict):
        return f"attr:{error.name}", str(error)
    if isinstance(error, ConsentRefused):
        return "consent", str(error)
    return "row", str(error).splitlines()[0][:300] or type(error).__name__
