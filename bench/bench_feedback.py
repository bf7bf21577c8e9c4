"""Feedback benchmarks: survey responses accepted per second through the public API, and the NPS trend
by week and tier over many responses (both on a fresh database on BENCH_DATABASE_URL's PostgreSQL server;
without it, responses on SQLite and no trend).

Responses are measured the way the service is deployed: uvicorn in processes of its own (as many workers
as cores, uvloop and httptools when installed), a migrated database, the outbox relay publishing to the
broker, and load from `wrk` in another process, each request answering a different invitation.
"""
from __future__ import annotations

import asyncio
import json
import logging
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from importlib.util import find_spec
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import text

from bench.results import BenchResult
from services.feedback.analytics import Filters, nps_report
from services.feedback.app import create_app
from services.feedback.settings import FeedbackSettings
from shared.db import create_engine
from shared.devbroker import free_port, start_broker
from tools.scratch_databases import fresh_database

log = logging.getLogger(__name__)
API_KEY = "bench-feedback-key"
SURVEY = {"survey_id": "bench-nps", "name": "bench", "definition": {"questions": [
    {"id": "nps", "type": "nps", "text": {"en": "Recommend us?"}},
    {"id": "why", "type": "text", "required": False, "text": {"en": "Why?"}}]}}
TARGET = 2000


def run(quick: bool) -> list[BenchResult]:
    return asyncio.run(_run(quick))


async def _run(quick: bool) -> list[BenchResult]:
    server = os.environ.get("BENCH_DATABASE_URL")
    with tempfile.TemporaryDirectory() as scratch:
        broker = start_broker(log_path=Path(scratch) / "broker.log")
        try:
            async with fresh_database(server, scratch, prefix="bench_feedback") as url:
                results = [await _responses_per_second(url, broker.bootstrap_servers, Path(scratch), quick)]
            async with fresh_database(server, scratch, prefix="bench_feedback_trend") as url:
                settings = FeedbackSettings(environment="test", database_url=url, consumer_enabled=False,
                                            kafka_bootstrap_servers=broker.bootstrap_servers)
                results.append(await _nps_trend(settings, 200_000 if quick else 10_000_000))
            return results
        finally:
            broker.stop()


# -- responses per second -------------------------------------------------------------------------------


async def _responses_per_second(url: str, broker: str, scratch: Path, quick: bool) -> BenchResult:
    name = "feedback: survey responses accepted via POST /s/{token}"
    target = f">= {TARGET} responses/s"
    wrk = _wrk()
    if wrk is None:
        return BenchResult(name=name, figure=float("nan"), unit="responses/s", target=target, passed=False,
                           comparison="not measured: wrk is not installed and could not be installed")
    postgres = url.startswith("postgresql")
    workers = int(os.environ.get("BENCH_FEEDBACK_WORKERS", str(os.cpu_count() or 1))) if postgres else 1
    connections = int(os.environ.get("BENCH_FEEDBACK_CONNECTIONS", "128"))
    seconds = 5 if quick else 20
    warm_up_seconds = 3
    count = (warm_up_seconds + seconds) * TARGET * 2  # enough that no client runs out of invitations
    env = {**os.environ, "DATABASE_URL": url, "KAFKA_BOOTSTRAP_SERVERS": broker, "ENVIRONMENT": "test",
           "API_KEYS": json.dumps({API_KEY: ["*"]}), "SURVEY_COOLDOWN_DAYS": "0", "LOG_LEVEL": os.environ.get("BENCH_LOG_LEVEL", "WARNING"),
           "CONSUMER_GROUP": f"bench-{uuid.uuid4().hex[:6]}", "MIGRATE_ON_START": "false"}
    await asyncio.to_thread(subprocess.run, [sys.executable, "-m", "services.feedback", "migrate"], env=env, check=True)
    port = free_port()
    with _uvicorn(env, port, workers, scratch / "feedback.log") as service:
        base = f"http://127.0.0.1:{port}"
        tokens = await _invite(base, count)
        warm, measured = tokens[:warm_up_seconds * TARGET * 2], tokens[warm_up_seconds * TARGET * 2:]
        warmed = _run_wrk(wrk, base, warm, scratch, "warm", connections, warm_up_seconds)  # pools, caches, models
        cpu_before = _cpu_seconds(service.pid)
        outcome = _run_wrk(wrk, base, measured, scratch, "measured", connections, seconds)
        cpu = _cpu_seconds(service.pid) - cpu_before
    stored = await _stored(url)  # once the service has finished the requests in flight and stopped
    accepted, elapsed = outcome["accepted"], outcome["duration_us"] / 1e6
    cpu_ms = round(1000 * cpu / max(accepted, 1), 2)  # steadier than the rate on a shared machine
    rate = accepted / elapsed
    # Requests still in flight when wrk stops may be stored without being counted, never the reverse.
    consistent = (stored["responses"] == stored["answered_invitations"]
                  and stored["responses"] >= warmed["accepted"] + accepted)
    return BenchResult(
        name=name, figure=round(rate), unit="responses/s", target=target,
        passed=rate >= TARGET and consistent and not outcome["ran_out"],
        comparison=f"{accepted} responses in {elapsed:.1f} s, wrk with {connections} connections against "
                   f"uvicorn ({workers} worker{'s' * (workers > 1)}, {_loop()}) on {url.split(':')[0]}, "
                   f"half of them with a comment analysed; p99 {outcome['p99_ms']:.0f} ms; "
                   f"{cpu_ms} ms of service CPU per response",
        details={"accepted": accepted, "refused": outcome["refused"], "socket_errors": outcome["socket_errors"],
                 "seconds": round(elapsed, 2), "p50_ms": outcome["p50_ms"], "p99_ms": outcome["p99_ms"],
                 "workers": workers, "service_cpu_ms_per_response": cpu_ms,
                 "ran_out_of_invitations": outcome["ran_out"], **stored,
                 "one_response_per_answered_invitation": consistent})


def _wrk() -> str | None:
    """wrk from PATH; on a Debian machine where we are root, installed with apt-get first."""
    found = shutil.which("wrk")
    if found is None and shutil.which("apt-get") and os.geteuid() == 0:
        log.warning("wrk is missing: apt-get install -y wrk")
        print("[bench] wrk is missing: apt-get install -y wrk", flush=True)
        subprocess.run(["apt-get", "install", "-y", "wrk"], check=False, stdout=subprocess.DEVNULL)
        found = shutil.which("wrk")
    return found


def _loop() -> str:
    return "uvloop + httptools" if find_spec("uvloop") and find_spec("httptools") else "asyncio + h11"


@contextmanager
def _uvicorn(env: dict[str, str], port: int, workers: int,
             log_path: Path) -> Iterator[subprocess.Popen[bytes]]:
    command = [sys.executable, "-m", "uvicorn", "services.feedback.app:create_app", "--factory",
               "--host", "127.0.0.1", "--port", str(port), "--workers", str(workers), "--no-access-log",
               "--log-level", "warning", "--timeout-graceful-shutdown", "20",
               # a worker loading its language models on a busy machine may hold the GIL for seconds
               "--timeout-worker-healthcheck", "30"]
    if find_spec("uvloop") and find_spec("httptools"):
        command += ["--loop", "uvloop", "--http", "httptools"]
    with open(log_path, "ab") as output:
        process = subprocess.Popen(command, env={**env, "PORT": str(port)}, stdout=output, stderr=subprocess.STDOUT)
    try:
        _wait_ready(process, f"http://127.0.0.1:{port}", log_path)
        yield process
    finally:
        process.terminate()
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _cpu_seconds(pid: int) -> float:
    """CPU time (user + system) used so far by a process and its live children (the uvicorn workers)."""
    def used(stat: Path) -> tuple[int, float]:
        fields = stat.read_text().rsplit(")", 1)[1].split()
        return int(fields[1]), (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    total = 0.0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            parent, seconds = used(stat)
        except (OSError, IndexError, ValueError):
            continue
        if stat.parent.name == str(pid) or parent == pid:
            total += seconds
    return total


def _wait_ready(process: subprocess.Popen[bytes], base: str, log_path: Path) -> None:
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the feedback service exited: {log_path.read_text()[-3000:]}")
        try:
            if httpx.get(f"{base}/readyz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise RuntimeError(f"the feedback service was not ready in time: {log_path.read_text()[-3000:]}")


async def _invite(base: str, count: int) -> list[str]:
    async with httpx.AsyncClient(base_url=base, headers={"Authorization": f"Bearer {API_KEY}"},
                                 timeout=120) as http:
        (await http.post("/surveys", json=SURVEY)).raise_for_status()

        async def batch(start: int) -> list[str]:
            ids = [f"bench-{n}" for n in range(start, min(start + 1000, count))]
            created = await http.post("/invitations", json={"survey_id": "bench-nps", "customer_ids": ids})
            created.raise_for_status()
            return [item["url"].split("/s/", 1)[1] for item in created.json()["invited"]]

        batches = [await batch(start) for start in range(0, count, 1000)]
    return [token for tokens in batches for token in tokens]


def _run_wrk(wrk: str, base: str, tokens: list[str], scratch: Path, label: str, connections: int,
             seconds: int) -> dict[str, Any]:
    token_file = scratch / f"tokens-{label}.txt"
    token_file.write_text("\n".join(tokens) + "\n")
    script = scratch / "answer.lua"
    script.write_text(_WRK_SCRIPT)
    done = subprocess.run([wrk, "-t", "2", "-c", str(connections), "-d", f"{seconds}s", "--timeout", "10s",
                           "-s", str(script), base, "--", str(token_file), "2"],
                          capture_output=True, text=True, check=True)
    report = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if not report:
        raise RuntimeError(f"wrk printed no report: {done.stdout}\n{done.stderr}")
    return json.loads(report[-1])  # type: ignore[no-any-return]


#: Each wrk thread answers every n-th invitation of the file (NPS 0..10; half with a comment, English or
#: Chinese) and counts 201s; when a thread has used all of its invitations it stops rather than repeat one.
_WRK_SCRIPT = r"""
local threads = {}
local next_id = 0
function setup(thread)
  thread:set("id", next_id)
  next_id = next_id + 1
  table.insert(threads, thread)
end

local comments = {'"Fast delivery, great price"', '"快递太慢了，客服态度也不好"', nil, nil}
function init(args)
  tokens = {}
  for line in io.lines(args[1]) do tokens[#tokens + 1] = line end
  position = id + 1
  step = tonumber(args[2])
  accepted, refused, ran_out = 0, 0, 0
end

function request()
  local n = position
  if n > #tokens then
    ran_out = 1
    n = #tokens
  end
  position = position + step
  local comment = comments[(n % 4) + 1]
  local body = '{"answers":{"nps":' .. (n % 11) .. (comment and (',"why":' .. comment) or '') .. '}}'
  return wrk.format("POST", "/s/" .. tokens[n], {["Content-Type"] = "application/json"}, body)
end

function response(status, headers, body)
  if status == 201 then accepted = accepted + 1 else refused = refused + 1 end
  if ran_out == 1 then wrk.thread:stop() end
end

function done(summary, latency, requests)
  local a, r, o = 0, 0, 0
  for _, thread in ipairs(threads) do
    a = a + thread:get("accepted")
    r = r + thread:get("refused")
    o = o + thread:get("ran_out")
  end
  local errors = summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout
  io.write(string.format('{"accepted": %d, "refused": %d, "socket_errors": %d, "ran_out": %s, '
    .. '"duration_us": %d, "p50_ms": %.1f, "p99_ms": %.1f}\n', a, r, errors, o > 0 and "true" or "false",
    summary.duration, latency:percentile(50) / 1000, latency:percentile(99) / 1000))
end
"""


async def _stored(url: str) -> dict[str, int]:
    """What the database holds afterwards: one response per answered invitation, nothing half-stored."""
    engine = create_engine(url)
    try:
        async with engine.connect() as connection:
            responses, answered = (await connection.execute(text(
                "SELECT (SELECT count(*) FROM responses), "
                "(SELECT count(*) FROM invitations WHERE status = 'responded')"))).one()
    finally:
        await engine.dispose()
    return {"responses": int(responses or 0), "answered_invitations": int(answered or 0)}


# -- NPS trend --------------------------------------------------------------------------------------------


async def _nps_trend(settings: FeedbackSettings, rows: int) -> BenchResult:
    name = f"feedback: NPS trend by week and tier over {rows:,} responses"
    if not settings.database_url.startswith("postgresql"):
        return BenchResult(name=name, figure=float("nan"), unit="s", target="<= 1 s on PostgreSQL", passed=False,
                           comparison="not measured: set BENCH_DATABASE_URL to a PostgreSQL server")
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        await _fill_responses(app.state.engine, rows)
        async with app.state.unit_of_work() as uow:
            started = time.perf_counter()
            series = await nps_report(uow, Filters(), "week", "tier")
            seconds = time.perf_counter() - started
    return BenchResult(name=name, figure=round(seconds, 3), unit="s", target="<= 1 s on PostgreSQL",
                       passed=seconds <= 1.0, comparison=f"{len(series)} (week, tier) rows folded from the daily roll-up (response_daily) plus scores not yet rolled up",
                       details={"rows": rows})


async def _fill_responses(engine: Any, rows: int) -> None:
    """Generate synthetic NPS responses (and their scores) over two years in the database, already rolled
    up into their days (the steady state the roll-up job keeps), then count the days once."""
    async with engine.begin() as connection:
        for offset in range(0, rows, 1_000_000):
            await connection.execute(text(_GENERATE), {"first": offset, "last": min(offset + 1_000_000, rows) - 1})
        await connection.execute(text(_COUNT_DAYS))
        await connection.execute(text("ANALYZE response_scores"))
        await connection.execute(text("ANALYZE response_daily"))


_GENERATE = """
WITH generated AS (
    SELECT 'b-' || n AS response_id, 'c-' || (n % 50000) AS customer_id, (ARRAY['web', 'app', 'store'])[1 + n % 3] AS channel,
           n % 11 AS score, (ARRAY['high-value', 'potential', 'ordinary', 'low-value'])[1 + n % 4] AS tier,
           TIMESTAMPTZ '2025-01-01 00:00:00+00' + (n % 1051200) * INTERVAL '1 minute' AS responded_at
    FROM generate_series(CAST(:first AS bigint), CAST(:last AS bigint)) AS n
), responses_ AS (
    INSERT INTO responses (response_id, customer_id, survey_id, version, channel, kind, score, themes, answers,
                           tier, responded_at)
    SELECT response_id, customer_id, 'bench-trend', 1, channel, 'nps', score, '[]', '{}', tier, responded_at
    FROM generated
)
INSERT INTO response_scores (response_id, question_id, customer_id, kind, score, survey_id, tier, channel,
                             responded_at, rolled_up)
SELECT response_id, 'nps', customer_id, 'nps', score, 'bench-trend', tier, channel, responded_at, true
FROM generated
"""

_COUNT_DAYS = """
INSERT INTO response_daily (day, survey_id, tier, channel, kind, scored, promoters, detractors, satisfied, score_sum)
SELECT CAST(timezone('UTC', responded_at) AS date), coalesce(survey_id, ''), coalesce(tier, ''), channel, kind,
       count(score), sum(CASE WHEN score >= 9 THEN 1 ELSE 0 END), sum(CASE WHEN score <= 6 THEN 1 ELSE 0 END),
       0, coalesce(sum(score), 0)
FROM response_scores WHERE survey_id = 'bench-trend' AND kind = 'nps'
GROUP BY 1, 2, 3, 4, 5
"""
