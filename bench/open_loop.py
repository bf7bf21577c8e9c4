"""An open-loop HTTP load generator, run in a process of its own: requests are sent on a fixed
schedule (one every 1/rate seconds) whatever the earlier ones are doing, and each latency counts from
the moment its request was due, so a stalled server shows in the figures instead of slowing the load.

HTTP/1.1 keep-alive connections, parsed with h11; a request takes an idle connection or opens one, and goes
again once on a new one if the server had closed the idle one (as HTTP clients do for a GET).
"""
from __future__ import annotations

import asyncio
import collections
import concurrent.futures
import gc
import multiprocessing
import time
from dataclasses import dataclass, field

import h11
import numpy as np


@dataclass(frozen=True)
class LoadResult:
    latencies_ms: list[float]
    failed: int
    seconds: float
    connections: int
    #: why requests failed: the status code answered, or the error that ended the connection; and how many
    failures: dict[str, int] = field(default_factory=dict)

    @property
    def sent(self) -> int:
        return len(self.latencies_ms)

    def percentile(self, q: float) -> float:
        return float(np.percentile(self.latencies_ms, q)) if self.latencies_ms else float("nan")


class _Connection:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter):
        self._reader, self._writer = reader, writer
        self._http = h11.Connection(h11.CLIENT)

    @classmethod
    async def open(cls, host: str, port: int) -> _Connection:
        return cls(*await asyncio.open_connection(host, port))

    async def get(self, target: str, headers: list[tuple[str, str]]) -> int:
        self._writer.write(self._http.send(h11.Request(method="GET", target=target, headers=headers)))
        self._writer.write(self._http.send(h11.EndOfMessage()))
        status = 0
        while True:
            event = self._http.next_event()
            if event is h11.NEED_DATA:
                data = await self._reader.read(65536)
                self._http.receive_data(data)
                if not data and self._http.their_state is h11.CLOSED:
                    raise ConnectionError("the server closed the connection")
            elif isinstance(event, h11.Response):
                status = event.status_code
            elif isinstance(event, h11.EndOfMessage):
                self._http.start_next_cycle()
                return status
            elif isinstance(event, h11.ConnectionClosed):
                raise ConnectionError("the server closed the connection")

    def close(self) -> None:
        self._writer.close()


async def _run(host: str, port: int, targets: list[str], rate: float, headers: list[tuple[str, str]],
               max_connections: int) -> LoadResult:
    # Times come from perf_counter: uvloop's loop.time() counts whole milliseconds.
    idle: list[_Connection] = []
    opened = 0
    latencies: list[float] = []
    failures: collections.Counter[str] = collections.Counter()
    slots = asyncio.Semaphore(max_connections)

    async def one(target: str, due: float) -> None:
        nonlocal opened
        async with slots:
            for attempt in range(2):
                reused = attempt == 0 and bool(idle)
                connection = idle.pop() if reused else None
                try:
                    if connection is None:
                        connection = await _Connection.open(host, port)
                        opened += 1
                    status = await connection.get(target, headers)
                    idle.append(connection)
                    if status != 200:
                        failures[str(status)] += 1
                    break
                except (OSError, h11.ProtocolError) as exc:
                    if connection is not None:
                        connection.close()
                    if not reused:  # as HTTP clients do, a GET that met a kept-alive connection the
                        failures[type(exc).__name__] += 1  # server had closed goes again on a new one
                        break
        latencies.append((time.perf_counter() - due) * 1000)

    tasks = []
    started = time.perf_counter() + 0.05
    for n, target in enumerate(targets):
        due = started + n / rate
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(target, due)))
    await asyncio.gather(*tasks)
    seconds = time.perf_counter() - started
    for connection in idle:
        connection.close()
    return LoadResult(latencies, sum(failures.values()), seconds, opened, dict(failures))


def _in_process(host: str, port: int, targets: list[str], rate: float, headers: list[tuple[str, str]],
                max_connections: int) -> LoadResult:
    try:
        import uvloop
        runner = uvloop.run
    except ImportError:
        runner = asyncio.run
    # The generator must not pause: a full collection over its thousands of finished requests stalled
    # it for a fifth of a second, and every request due meanwhile counted the stall as the server's.
    gc.collect()
    gc.disable()
    try:
        return runner(_run(host, port, targets, rate, headers, max_connections))  # type: ignore[no-any-return]
    finally:
        gc.enable()


async def open_loop(host: str, port: int, targets: list[str], *, rate: float, headers: dict[str, str],
                    max_connections: int = 256) -> LoadResult:
    """GET each of `targets` in turn at `rate` per second, from a separate process."""
    context = multiprocessing.get_context("spawn")
    with concurrent.futures.ProcessPoolExecutor(1, mp_context=context) as pool:
        return await asyncio.get_running_loop().run_in_executor(
            pool, _in_process, host, port, targets, rate, list(headers.items()), max_connections)
