"""`make soak`: mixed traffic against the local stack for a while; throughput, latency, errors and memory.

    python -m bench.soak [--minutes 10] [--output bench/SOAK.md]

Starts the stack as `make run` does (broker, the four services, a demo dataset) in a scratch directory,
then, at fixed rates, reads customer profiles and scores, records purchases over HTTP and straight on
Kafka, answers survey invitations through the public links, and launches small campaigns. Every request's
latency and status is kept per endpoint; each service's resident memory is sampled every few seconds.
The run passes when no request failed, no event was dead-lettered and no service's memory kept growing.
DATABASE_URL (a PostgreSQL server) runs the services on PostgreSQL instead of SQLite files.
"""
from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any, Awaitable, Callable

import httpx
import numpy as np
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from bench.results import collect_machine_info
from shared.events.catalogue import PurchaseRecordedV1
from shared.events.envelope import encode, new_event
from shared.settings import DEV_API_KEY
from tools.stack import BROKER_PORT, SERVICES

ROOT = Path(__file__).resolve().parent.parent
URLS = {name: f"http://127.0.0.1:{port}" for name, port in SERVICES}
BOOTSTRAP = f"127.0.0.1:{BROKER_PORT}"
WARM_UP_SECONDS = 60
MEMORY_EVERY_SECONDS = 5
#: A service's memory counts as flat when its last samples exceed those just after warm-up by at most this.
MEMORY_GROWTH_LIMIT = 0.10


@dataclass(frozen=True)
class Rates:
    """Requests (or events) per second of each kind of traffic."""

    profile_reads: float = 40
    score_reads: float = 10
    http_purchases: float = 10
    kafka_purchases: float = 20
    survey_answers: float = 10
    campaign_every_seconds: float = 30


@dataclass
class Recorder:
    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    failures: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    memory: dict[str, list[tuple[float, float]]] = field(default_factory=lambda: defaultdict(list))

    async def timed(self, endpoint: str, request: Awaitable[httpx.Response], expected: int = 200) -> httpx.Response | None:
        started = time.perf_counter()
        try:
            response = await request
        except httpx.HTTPError as exc:
            self.failures[endpoint].append(f"{type(exc).__name__}: {exc}")
            return None
        self.latencies[endpoint].append(time.perf_counter() - started)
        if response.status_code != expected:
            self.failures[endpoint].append(f"{response.status_code} {response.text[:200]}")
            return None
        return response


# ---------------------------------------------------------------------------------------------- the stack

class StackProcess:
    """`python -m tools.stack` in a scratch directory, ready once it prints its banner."""

    def __init__(self, workdir: Path, demo_customers: int) -> None:
        env = dict(os.environ, PYTHONUNBUFFERED="1", CVP_DEMO="1",
                   PYTHONPATH=os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p))
        self.output: list[str] = []
        self.ready = threading.Event()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tools.stack", "--demo-customers", str(demo_customers)], cwd=workdir, env=env,
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.output.append(line.rstrip())
            print(f"[stack] {line.rstrip()}", flush=True)
            if "Press Ctrl-C to stop." in line:
                self.ready.set()

    def wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while not self.ready.wait(1):
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("the stack did not start:\n" + "\n".join(self.output[-30:]))

    def service_pids(self) -> dict[str, int]:
        """The service processes the stack started (its children running `-m services.<name>`)."""
        pids = {}
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                status = (entry / "status").read_text()
                command = (entry / "cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            parent = re.search(r"^PPid:\s+(\d+)", status, re.M)
            if parent and int(parent.group(1)) == self.process.pid and b"-m" in command:
                module = command[command.index(b"-m") + 1].decode()
                if module.startswith("services."):
                    pids[module.removeprefix("services.")] = int(entry.name)
        return pids

    def stop(self) -> int:
        # SIGTERM rather than SIGINT: a soak started in the background of a shell has SIGINT ignored, and
        # the stack would never hear it.
        if self.process.poll() is None:
            services = list(self.service_pids().values())
            self.process.terminate()
            try:
                self.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.process.kill()
                for pid in services:  # the stack's services would outlive it
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(pid, signal.SIGKILL)
        return self.process.wait()


def resident_mib(pid: int) -> float | None:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    found = re.search(r"^VmRSS:\s+(\d+) kB", status, re.M)
    return int(found.group(1)) / 1024 if found else None


# ------------------------------------------------------------------------------------------------ traffic

async def every(rate: float, until: float, action: Callable[[int], Awaitable[None]]) -> None:
    """Start `action(n)` `rate` times a second until `until` (open loop: a slow answer does not slow the pace)."""
    interval, n, running = 1 / rate, 0, set()
    start = time.monotonic()
    while (now := time.monotonic()) < until:
        task = asyncio.create_task(action(n))
        running.add(task)
        task.add_done_callback(running.discard)
        n += 1
        await asyncio.sleep(max(0.0, start + n * interval - time.monotonic()))
    if running:
        await asyncio.wait(running)


class Traffic:
    def __init__(self, recorder: Recorder, customers: list[str], producer: AIOKafkaProducer) -> None:
        self.recorder = recorder
        self.customers = customers
        self.producer = producer
        self.run_id = uuid.uuid4().hex[:8]
        self.tokens: asyncio.Queue[str] = asyncio.Queue()
        self.survey_id = f"soak-{self.run_id}"
        headers = {"Authorization": f"Bearer {os.environ.get('CVP_API_KEY') or DEV_API_KEY}"}
        limits = httpx.Limits(max_connections=200, max_keepalive_connections=100)
        self.http = {name: httpx.AsyncClient(base_url=url, headers=headers, timeout=30, limits=limits, trust_env=False)
                     for name, url in URLS.items()}
        self.public = httpx.AsyncClient(base_url=URLS["feedback"], timeout=30, limits=limits, trust_env=False)

    async def close(self) -> None:
        for client in [*self.http.values(), self.public]:
            await client.aclose()

    def customer(self, n: int) -> str:
        return self.customers[(n * 7919) % len(self.customers)]

    async def read_profile(self, n: int) -> None:
        await self.recorder.timed("GET profile /customers/{id}", self.http["profile"].get(f"/customers/{self.customer(n)}"))

    async def read_score(self, n: int) -> None:
        await self.recorder.timed("GET scoring /scores/{id}", self.http["scoring"].get(f"/scores/{self.customer(n)}"))

    async def purchase_over_http(self, n: int) -> None:
        order = {"source": "soak-http", "order_id": f"{self.run_id}-{n}", "customer_id": self.customer(n),
                 "occurred_at": datetime.now(UTC).isoformat(), "total_amount": f"{10 + n % 90}.50", "currency": "USD",
                 "items": [{"sku": f"SKU-{n % 40}", "category": ["home", "apparel", "beauty"][n % 3],
                            "quantity": 1, "unit_price": f"{10 + n % 90}.50"}]}
        await self.recorder.timed("POST profile /purchases", self.http["profile"].post("/purchases", json=order), 201)

    async def purchase_on_kafka(self, n: int) -> None:
        order = PurchaseRecordedV1(order_id=f"{self.run_id}-k{n}", customer_id=self.customer(n + 1), currency="USD",
                                   occurred_at=datetime.now(UTC), total_amount=Decimal("24.00"))
        envelope = new_event(order, source="soak-kafka")
        started = time.perf_counter()
        await self.producer.send_and_wait("purchase-recorded", encode(envelope), key=envelope.subject.encode())
        self.recorder.latencies["produce purchase-recorded"].append(time.perf_counter() - started)

    async def create_survey(self) -> None:
        survey = {"survey_id": self.survey_id, "name": "Soak NPS", "definition": {"default_locale": "en", "questions": [
            {"id": "nps", "type": "nps", "text": {"en": "How likely are you to recommend us?"}},
            {"id": "why", "type": "text", "required": False, "text": {"en": "Why?"}}]}}
        if await self.recorder.timed("POST feedback /surveys", self.http["feedback"].post("/surveys", json=survey), 201) is None:
            raise RuntimeError(f"could not create the soak survey: {self.recorder.failures}")

    async def invite(self, n: int) -> None:
        """Ten invitations at a time, whose links `answer` then follows."""
        body = {"survey_id": self.survey_id, "bypass_cooldown": True,
                "customer_ids": [self.customer(n * 10 + k) for k in range(10)]}
        response = await self.recorder.timed("POST feedback /invitations",
                                             self.http["feedback"].post("/invitations", json=body), 201)
        for invited in (response.json()["invited"] if response is not None else []):
            self.tokens.put_nowait(invited["url"].rsplit("/s/", 1)[1])

    async def answer(self, n: int) -> None:
        try:
            token = self.tokens.get_nowait()
        except asyncio.QueueEmpty:
            return
        await self.recorder.timed("GET feedback /s/{token}", self.public.get(f"/s/{token}"))
        answers = {"nps": n % 11, "why": ["Great service", "Too slow", "Fine"][n % 3]}
        await self.recorder.timed("POST feedback /s/{token}", self.public.post(f"/s/{token}", json={"answers": answers}), 201)

    async def campaign(self, n: int) -> None:
        campaign_id = f"soak-{self.run_id}-{n}"
        body = {"campaign_id": campaign_id, "name": f"Soak campaign {n}", "channel": "email", "holdout_percent": 10,
                "audience": {"customer_ids": [self.customer(n * 50 + k) for k in range(50)]},
                "variants": [{"name": "a", "subject": "Hello {{ customer.first_name }}", "body": "A new season."},
                             {"name": "b", "subject": "New in", "body": "Take a look."}]}
        created = await self.recorder.timed("POST engagement /campaigns",
                                            self.http["engagement"].post("/campaigns", json=body), 201)
        if created is not None:
            await asyncio.sleep(5)
            await self.recorder.timed("GET engagement /campaigns/{id}/stats",
                                      self.http["engagement"].get(f"/campaigns/{campaign_id}/stats"))


async def customer_ids(limit: int) -> list[str]:
    headers = {"Authorization": f"Bearer {os.environ.get('CVP_API_KEY') or DEV_API_KEY}"}
    ids: list[str] = []
    async with httpx.AsyncClient(base_url=URLS["profile"], headers=headers, timeout=30, trust_env=False) as http:
        cursor = None
        while len(ids) < limit:
            params: dict[str, Any] = {"limit": 200} | ({"cursor": cursor} if cursor else {})
            page = (await http.get("/customers", params=params)).raise_for_status().json()
            ids += [item["customer_id"] for item in page["items"]]
            cursor = page.get("next_cursor")
            if not cursor:
                break
    return ids[:limit]


async def sample_memory(stack: StackProcess, recorder: Recorder, started: float, until: float) -> None:
    pids = stack.service_pids()
    while time.monotonic() < until:
        for name, pid in pids.items():
            mib = resident_mib(pid)
            if mib is not None:
                recorder.memory[name].append((time.monotonic() - started, mib))
        await asyncio.sleep(MEMORY_EVERY_SECONDS)


async def dead_lettered() -> dict[str, int]:
    """Events on each `.dlq` topic (their end offsets summed)."""
    consumer = AIOKafkaConsumer(bootstrap_servers=BOOTSTRAP)
    await consumer.start()
    try:
        topics = [t for t in await consumer.topics() if t.endswith(".dlq")]
        partitions = [TopicPartition(t, p) for t in topics for p in (consumer.partitions_for_topic(t) or ())]
        ends = await consumer.end_offsets(partitions) if partitions else {}
        counts: dict[str, int] = defaultdict(int)
        for partition, end in ends.items():
            counts[partition.topic] += end
        return {topic: count for topic, count in counts.items() if count}
    finally:
        await consumer.stop()


async def drive(stack: StackProcess, minutes: float, rates: Rates) -> tuple[Recorder, float, dict[str, int]]:
    recorder = Recorder()
    customers = await customer_ids(2000)
    if not customers:
        raise RuntimeError("the demo dataset left no customers to read")
    producer = AIOKafkaProducer(bootstrap_servers=BOOTSTRAP, acks="all", linger_ms=5)
    await producer.start()
    traffic = Traffic(recorder, customers, producer)
    try:
        await traffic.create_survey()
        started = time.monotonic()
        until = started + minutes * 60
        await asyncio.gather(
            sample_memory(stack, recorder, started, until),
            every(rates.profile_reads, until, traffic.read_profile),
            every(rates.score_reads, until, traffic.read_score),
            every(rates.http_purchases, until, traffic.purchase_over_http),
            every(rates.kafka_purchases, until, traffic.purchase_on_kafka),
            every(rates.survey_answers / 10, until, traffic.invite),
            every(rates.survey_answers, until, traffic.answer),
            every(1 / rates.campaign_every_seconds, until, traffic.campaign),
        )
        elapsed = time.monotonic() - started
    finally:
        await traffic.close()
        await producer.stop()
    await asyncio.sleep(5)  # let the consumers finish what is in flight before counting dead letters
    return recorder, elapsed, await dead_lettered()


# ------------------------------------------------------------------------------------------------- report

@dataclass(frozen=True)
class MemoryVerdict:
    service: str
    after_warm_up: float
    at_end: float
    peak: float

    @property
    def growth(self) -> float:
        return self.at_end / self.after_warm_up - 1 if self.after_warm_up else 0.0

    @property
    def flat(self) -> bool:
        return self.growth <= MEMORY_GROWTH_LIMIT


def memory_verdicts(recorder: Recorder) -> list[MemoryVerdict]:
    """Median of the samples in the minute after warm-up against the median of the last minute's."""
    verdicts = []
    for service, samples in sorted(recorder.memory.items()):
        seconds = np.array([s for s, _ in samples])
        mib = np.array([m for _, m in samples])
        early = mib[(seconds >= WARM_UP_SECONDS) & (seconds < 2 * WARM_UP_SECONDS)]
        late = mib[seconds >= seconds.max() - WARM_UP_SECONDS]
        early = early if early.size else mib[: max(1, mib.size // 4)]
        verdicts.append(MemoryVerdict(service, float(np.median(early)), float(np.median(late)), float(mib.max())))
    return verdicts


def write_report(path: Path, recorder: Recorder, elapsed: float, dlq: dict[str, int], database: str) -> bool:
    memory = memory_verdicts(recorder)
    failures = sum(len(f) for f in recorder.failures.values())
    passed = failures == 0 and not dlq and all(m.flat for m in memory) and bool(memory)
    lines = ["# Soak results", "", "Written by `python -m bench.soak` (`make soak`); do not edit by hand.", "",
             f"- verdict: **{'pass' if passed else 'fail'}** (no failed request, no dead-lettered event, "
             f"memory growth after warm-up <= {MEMORY_GROWTH_LIMIT:.0%} per service)",
             f"- duration: {elapsed / 60:.1f} min of mixed traffic against the local stack ({database})",
             f"- failed requests: {failures}; dead-lettered events: {sum(dlq.values())}", "",
             "## Traffic", "", "| endpoint | requests | per second | p50 ms | p99 ms | max ms | failed |",
             "| --- | --- | --- | --- | --- | --- | --- |"]
    for endpoint in sorted(set(recorder.latencies) | set(recorder.failures)):
        seconds = np.array(recorder.latencies.get(endpoint, [0.0])) * 1000
        count = len(recorder.latencies.get(endpoint, []))
        lines.append(f"| {endpoint} | {count:,} | {count / elapsed:.1f} | {np.percentile(seconds, 50):.1f} | "
                     f"{np.percentile(seconds, 99):.1f} | {seconds.max():.1f} | {len(recorder.failures.get(endpoint, []))} |")
    lines += ["", "## Memory (resident, MiB)", "",
              f"| service | minute after warm-up | last minute | peak | growth | flat |", "| --- | --- | --- | --- | --- | --- |"]
    lines += [f"| {m.service} | {m.after_warm_up:.0f} | {m.at_end:.0f} | {m.peak:.0f} | {m.growth:+.1%} | "
              f"{'yes' if m.flat else '**no**'} |" for m in memory]
    lines += ["", "Samples every minute (MiB):", "", "| minute | " + " | ".join(m.service for m in memory) + " |",
              "| --- |" + " --- |" * len(memory)]
    for minute in range(int(elapsed // 60) + 1):
        cells = []
        for m in memory:
            in_minute = [mib for s, mib in recorder.memory[m.service] if minute * 60 <= s < (minute + 1) * 60]
            cells.append(f"{np.median(in_minute):.0f}" if in_minute else "")
        lines.append(f"| {minute} | " + " | ".join(cells) + " |")
    if failures or dlq:
        lines += ["", "## Failures", ""]
        lines += [f"- {endpoint}: {len(found)} failed, e.g. {found[0]}" for endpoint, found in recorder.failures.items() if found]
        lines += [f"- {topic}: {count} dead-lettered" for topic, count in dlq.items()]
    lines += ["", "## Machine", ""] + [f"- {key}: {value}" for key, value in collect_machine_info().items()]
    path.write_text("\n".join(lines) + "\n")
    return passed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.soak", description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--demo-customers", type=int, default=1000)
    parser.add_argument("--output", type=Path, default=Path(__file__).with_name("SOAK.md"))
    args = parser.parse_args(argv)
    database = "PostgreSQL" if os.environ.get("DATABASE_URL") else "SQLite"
    with tempfile.TemporaryDirectory(prefix="cvp-soak-") as workdir:
        stack = StackProcess(Path(workdir), args.demo_customers)
        try:
            stack.wait_ready(timeout=900)
            recorder, elapsed, dlq = asyncio.run(drive(stack, args.minutes, Rates()))
        finally:
            code = stack.stop()
            print(f"[soak] the stack stopped with exit code {code}", flush=True)
    passed = write_report(args.output, recorder, elapsed, dlq, database)
    print(Path(args.output).read_text(), flush=True)
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
