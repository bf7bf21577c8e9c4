"""The database unreachable (every connection to PostgreSQL cut, new ones refused): scoring says it is not
ready, answers requests with 503 problem documents, holds on to the events that arrive meanwhile, and comes
back by itself when the database does, with nothing lost."""
from __future__ import annotations

import os
from pathlib import Path

import httpx
import pytest
from sqlalchemy.engine import make_url

from shared.devbroker import free_port
from tests.support.apps import ADMIN_KEY, TEST_API_KEYS
from tests.support.kafka import eventually, produce
from tests.support.processes import start_service, until_ready
from tests.support.proxy import CuttableProxy
from tests.support.purchases import as_record, expected_totals, orders, scoring_totals
from tools.scratch_databases import fresh_database

SERVER = os.environ.get("TEST_DATABASE_URL")


@pytest.mark.skipif(not SERVER, reason="a database outage needs a database server: set TEST_DATABASE_URL "
                                       "(a SQLite file a process holds open cannot be taken away from it)")
async def test_scoring_answers_503_while_its_database_is_away_and_recovers_by_itself(
        own_broker: str, tmp_path: Path) -> None:
    async with fresh_database(SERVER, tmp_path) as direct:
        url = make_url(direct)
        network = CuttableProxy(free_port(), url.port or 5432)
        await network.start()
        behind_proxy = url.set(port=network.listen_port).render_as_string(hide_password=False)
        scoring = start_service("scoring", database_url=behind_proxy, broker=own_broker, api_keys=TEST_API_KEYS,
                                workdir=tmp_path)
        stream = orders(40, customers=4, seed=9, prefix="db-outage")
        try:
            await until_ready(scoring)
            async with httpx.AsyncClient(base_url=scoring.url, headers={"Authorization": f"Bearer {ADMIN_KEY}"},
                                         timeout=10) as http:
                await produce(own_broker, "purchase-recorded", [as_record(o) for o in stream[:20]])
                customer = stream[0].customer_id
                await eventually(lambda: _status(http, f"/scores/{customer}", 200), timeout=60)

                await network.cut()
                await eventually(lambda: _status(http, "/readyz", 503), timeout=30)
                await produce(own_broker, "purchase-recorded", [as_record(o) for o in stream[20:]])
                refused = await http.get(f"/scores/{customer}")
                ready = await http.get("/readyz")
                assert refused.status_code == 503, refused.text
                assert refused.headers["content-type"] == "application/problem+json"
                assert refused.headers["retry-after"]
                assert ready.json()["checks"] == {"database": "unreachable", "broker": "ok"}

                await network.start()
                await eventually(lambda: _status(http, "/readyz", 200), timeout=60)
                assert (await http.get(f"/scores/{customer}")).status_code == 200
            expected = expected_totals(stream)

            async def all_counted() -> bool:
                return await scoring_totals(direct) == expected
            await eventually(all_counted, timeout=60, interval=0.5)
        finally:
            scoring.stop()
            await network.cut()


async def _status(http: httpx.AsyncClient, path: str, status: int) -> bool:
    return (await http.get(path)).status_code == status
