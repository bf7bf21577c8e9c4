"""Bulk import from CSV: good rows land, bad rows are reported with row, field and reason."""
from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path


from services.profile.app import create_app
from services.profile.importer import import_file
from services.profile.settings import ProfileSettings
from tests.support.apps import running_app, settings_for

ROOT = Path(__file__).resolve().parents[3]


def write(path: Path, *lines: str) -> Path:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


async def test_good_rows_land_and_every_bad_row_is_reported(database_url: str, broker: str, tmp_path: Path) -> None:
    run = uuid.uuid4().hex[:6]
    customers = write(
        tmp_path / "customers.csv",
        "customer_id,given_name,email,phone,birthday,tags,attr:shoe_size,consent:email:marketing,id:pos",
        f"{run}-1,Ada,ada@example.com,+442079460958,1990-12-10,vip|news,38,true,P1",
        f"{run}-2,Bob,not-an-email,+442079460958,1990-12-10,,40,false,P2",
        f"{run}-3,Cy,cy@example.com,12345,2999-01-01,,41,maybe,P3",
        f"{run}-4,Di,di@example.com,,,,big,,P4",
        f"{run}-5,Ed,ed@example.com,,,,,,",
    )
    settings = settings_for(ProfileSettings, database_url=database_url, broker=broker)
    report = await import_file(settings, customers, progress=False)
    assert (report.kind, report.applied) == ("customers", 2)
    assert {(r.row, r.field) for r in report.rejected} == {
        (3, "email"), (4, "consent:email:marketing"), (5, "attr:shoe_size")}
    purchases = write(
        tmp_path / "purchases.csv",
        "source,order_id,customer_id,occurred_at,total_amount,currency,sku,category,quantity,unit_price",
        f"pos,{run}-o1,{run}-1,2026-03-01T10:00:00Z,19.90,EUR,TEA-1,tea,2,9.95",
        f"pos,{run}-o2,{run}-1,2026-03-02T10:00:00Z,19.9O,EUR,TEA-1,tea,1,9.95",
        f"pos,{run}-o3,{run}-9,yesterday,5.00,EUR,,,,",
        f"pos,{run}-o4,{run}-5,2026-03-03T10:00:00Z,5.00,EURO,TEA-1,tea,two,9.95",
        f"pos,{run}-o1,{run}-1,2026-03-01T10:00:00Z,19.90,EUR,TEA-1,tea,2,9.95",
    )
    report = await import_file(settings, purchases, progress=False)
    assert (report.applied, report.duplicates) == (1, 1)
    assert {(r.row, r.field) for r in report.rejected} == {
        (3, "total_amount"), (4, "occurred_at"), (5, "currency"), (5, "quantity")}
    async with running_app(create_app, settings) as (_, http):
        ada = (await http.get(f"/customers/{run}-1")).json()
        assert ada["email"] == "ada@example.com" and ada["tags"] == ["news", "vip"]
        assert ada["attributes"] == {"shoe_size": 38} and ada["consents"][0]["granted"] is True
        assert ada["summary"]["orders"] == 1 and ada["summary"]["favourite_categories"] == ["tea"]
        assert (await http.get(f"/customers/{run}-2")).status_code == 404


async def test_the_cli_imports_with_a_progress_bar_and_writes_a_report(database_url: str, tmp_path: Path) -> None:
    rows = write(tmp_path / "customers.csv", "customer_id,country", "cli-1,FR", "cli-2,XX")
    report = tmp_path / "rejected.csv"
    env = {**os.environ, "DATABASE_URL": database_url, "ENVIRONMENT": "test", "LOG_LEVEL": "WARNING"}
    done = subprocess.run([sys.executable, "-m", "services.profile", "import", str(rows), "--report", str(report)],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 1, done.stderr
    assert "1 applied" in done.stdout and "1 rows rejected" in done.stdout
    assert "row" in done.stderr  # tqdm's bar
    assert report.read_text().splitlines() == ["row,field,reason",
                                               "3,country,\"Value error, country must be an ISO 3166-1 alpha-2 code, e.g. FR\""]
