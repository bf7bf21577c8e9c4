"""The four services as separate processes, the way they run in production."""
from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

import httpx

from shared.devbroker import free_port

SERVICES = ("profile", "scoring", "engagement", "feedback")


@dataclass
class ServiceProcess:
    name: str
    port: int
    log_path: Path
    process: subprocess.Popen[bytes] = field(repr=False)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self, timeout: float = 30.0) -> int:
        """SIGTERM, as an orchestrator sends it; returns the exit code."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.process.returncode

    def kill(self) -> None:
        """SIGKILL: the process dies wherever it is, as on a node failure or an OOM kill."""
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()


def start_service(name: str, *, database_url: str, broker: str, api_keys: dict[str, list[str]], workdir: Path,
                  extra_env: dict[str, str] | None = None) -> ServiceProcess:
    port = free_port()
    log_path = workdir / f"{name}.log"
    env = {**os.environ, "PORT": str(port), "DATABASE_URL": database_url, "KAFKA_BOOTSTRAP_SERVERS": broker,
           "API_KEYS": json.dumps(api_keys), "ENVIRONMENT": "test", "CONSUMER_SESSION_TIMEOUT_MS": "6000",
           "OUTBOX_POLL_INTERVAL_MS": "50", **(extra_env or {})}
    with open(log_path, "ab") as log:
        process = subprocess.Popen([sys.executable, "-m", f"services.{name}"], env=env, cwd=workdir,
                                   stdout=log, stderr=subprocess.STDOUT)
    return ServiceProcess(name, port, log_path, process)


def wait_until_ready(service: ServiceProcess, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if service.process.poll() is not None:
            raise RuntimeError(f"{service.name} exited: {service.log_path.read_text()[-3000:]}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"{service.url}/readyz", timeout=1).status_code == 200:
                return
        time.sleep(0.2)
    raise RuntimeError(f"{service.name} not ready within {timeout}s: {service.log_path.read_text()[-3000:]}")


@contextlib.contextmanager
def stopped_on_exit(services: list[ServiceProcess]) -> Iterator[list[ServiceProcess]]:
    try:
        yield services
    finally:
        for service in services:
            service.stop()


async def until_ready(service: ServiceProcess, timeout: float = 60.0) -> None:
    """wait_until_ready without blocking the event loop (for tests whose loop also runs a proxy)."""
    deadline = time.monotonic() + timeout
    async with httpx.AsyncClient(timeout=1) as http:
        while time.monotonic() < deadline:
            if service.process.poll() is not None:
                raise RuntimeError(f"{service.name} exited: {service.log_path.read_text()[-3000:]}")
            with contextlib.suppress(httpx.HTTPError):
                if (await http.get(f"{service.url}/readyz")).status_code == 200:
                    return
            await asyncio.sleep(0.2)
    raise RuntimeError(f"{service.name} not ready within {timeout}s: {service.log_path.read_text()[-3000:]}")
