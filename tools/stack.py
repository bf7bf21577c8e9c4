"""`make run`: the platform on one machine — a broker, the four services, a demo dataset.

    python -m tools.stack [--demo-customers N]

A Tansu broker on 127.0.0.1:9092 (or the Kafka at KAFKA_BOOTSTRAP_SERVERS), each service as its own
process with its own database (SQLite files under ./var, or one PostgreSQL database per service on the
server DATABASE_URL names), logs in ./var/log. Data in ./var is kept between runs; Tansu keeps events
in memory only, so a restart starts with an empty broker and finished work in the databases.
CVP_DEMO=0 starts without the demo dataset. Ctrl-C or SIGTERM stops everything.
"""
from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import shlex
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType

import httpx
from sqlalchemy.engine import URL, make_url

from shared.devbroker import DevBroker, start_broker
from shared.settings import DEV_API_KEY

ROOT = Path(__file__).resolve().parent.parent
VAR = Path("var")
LOGS = VAR / "log"
BROKER_PORT = 9092
SERVICES = (("profile", 8001), ("scoring", 8002), ("engagement", 8003), ("feedback", 8004))


class StackError(RuntimeError):
    pass


@dataclass
class Service:
    name: str
    port: int
    database_url: str
    process: subprocess.Popen[bytes] | None = None

    @property
    def log_path(self) -> Path:
        return LOGS / f"{self.name}.log"

    @property
    def url(self) -> str:
        return f"http://{_display_host()}:{self.port}"


@dataclass
class Stack:
    """What is running, so that whatever started is stopped, wherever start-up was interrupted."""

    bootstrap: str = ""
    broker: DevBroker | None = None
    services: list[Service] = field(default_factory=list)


def main(argv: list[str] | None = None) -> int:
    options = _parse_args(argv)
    signal.signal(signal.SIGTERM, _interrupt)
    stack = Stack()
    try:
        LOGS.mkdir(parents=True, exist_ok=True)
        _check_ports_free([port for _, port in SERVICES])
        _start_broker(stack)
        stack.services = [Service(name, port, url) for (name, port), url in
                          zip(SERVICES, _database_urls([name for name, _ in SERVICES]))]
        _start_services(stack, options.ready_timeout)
        example = _load_demo(stack.services, options.demo_customers)
        _print_banner(stack, example)
        _supervise(stack)
    except KeyboardInterrupt:
        print("\nStopping...", flush=True)
    except StackError as exc:
        print(f"\nstack: {exc}", file=sys.stderr, flush=True)
        return 1
    finally:
        _stop_services(stack.services, options.stop_timeout)
        if stack.broker is not None:
            stack.broker.stop()
            print("Stopped the broker.")
    return 0


def _parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m tools.stack", description=__doc__.splitlines()[0])
    parser.add_argument("--demo-customers", type=int, default=3000, help="customers in the demo dataset")
    parser.add_argument("--ready-timeout", type=float, default=90.0, help="seconds to wait for /readyz")
    parser.add_argument("--stop-timeout", type=float, default=30.0, help="seconds before a service is killed")
    return parser.parse_args(argv)


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt  # SIGTERM stops the stack the way Ctrl-C does


def _start_broker(stack: Stack) -> None:
    configured = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
    if configured:
        print(f"Using the Kafka broker at {configured} (KAFKA_BOOTSTRAP_SERVERS).")
        stack.bootstrap = configured
        return
    _check_ports_free([BROKER_PORT])
    log_path = _fresh_log(LOGS / "broker.log")
    try:
        stack.broker = start_broker(BROKER_PORT, log_path)
    except ImportError as exc:
        raise StackError(f"the local broker needs the dev extras (pip install -e '.[dev]'): {exc}") from exc
    except RuntimeError as exc:
        raise StackError(f"the broker did not start: {exc}; see {log_path}") from exc
    stack.bootstrap = stack.broker.bootstrap_servers
    print(f"Started a Tansu broker on {stack.bootstrap} (events in memory only).")


def _database_urls(names: list[str]) -> list[str]:
    """SQLite files under ./var, or one PostgreSQL database per service on DATABASE_URL's server."""
    server_url = os.environ.get("DATABASE_URL")
    if not server_url:
        return [f"sqlite+aiosqlite:///./var/{name}.db" for name in names]
    try:
        server = make_url(server_url)
    except Exception as exc:
        raise StackError(f"DATABASE_URL is not a database URL: {exc}") from exc
    if server.get_backend_name() != "postgresql":
        raise StackError("DATABASE_URL must name a PostgreSQL server (e.g. postgresql://postgres@127.0.0.1:5432); "
                         "unset it to use SQLite files under ./var")
    server = server.set(drivername="postgresql+asyncpg")
    prefix = server.database or "cvp"
    databases = [f"{prefix}_{name}" for name in names]
    asyncio.run(_create_missing_databases(server, databases))
    return [server.set(database=database).render_as_string(hide_password=False) for database in databases]


async def _create_missing_databases(server: URL, databases: list[str]) -> None:
    import asyncpg

    dsn = server.set(drivername="postgresql", database="postgres").render_as_string(hide_password=False)
    try:
        connection = await asyncpg.connect(dsn, timeout=10)
    except (OSError, asyncio.TimeoutError, asyncpg.PostgresError) as exc:
        raise StackError(f"cannot reach PostgreSQL at {server.host}:{server.port or 5432}: {exc}") from exc
    try:
        rows = await connection.fetch("SELECT datname FROM pg_database WHERE datname = any($1::text[])", databases)
        for database in sorted(set(databases) - {row["datname"] for row in rows}):
            with contextlib.suppress(asyncpg.DuplicateDatabaseError):  # created meanwhile by someone else
                await connection.execute(f'CREATE DATABASE "{database.replace(chr(34), chr(34) * 2)}"')
                print(f"Created PostgreSQL database {database}.")
    finally:
        await connection.close()


def _start_services(stack: Stack, ready_timeout: float) -> None:
    started = time.monotonic()
    services = stack.services
    for service in services:
        with open(_fresh_log(service.log_path), "wb") as log:
            # A session of its own: Ctrl-C reaches only this process, which stops the services in order.
            service.process = subprocess.Popen(
                [sys.executable, "-m", f"services.{service.name}"], env=_service_env(service, stack.bootstrap),
                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    print(f"Starting {', '.join(s.name for s in services)} (logs in {LOGS}/)...", flush=True)
    _wait_until_ready(services, ready_timeout)
    print(f"All services ready in {time.monotonic() - started:.1f} s.")


def _service_env(service: Service, bootstrap: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(PORT=str(service.port), DATABASE_URL=service.database_url, KAFKA_BOOTSTRAP_SERVERS=bootstrap,
               PYTHONUNBUFFERED="1", PYTHONPATH=os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH")) if p))
    env.setdefault("HOST", "127.0.0.1")
    return env


def _wait_until_ready(services: list[Service], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    waiting = list(services)
    last_answer = {s.name: "no answer yet" for s in services}
    with httpx.Client(timeout=2.0, trust_env=False) as client:
        while waiting:
            for service in list(waiting):
                assert service.process is not None
                if service.process.poll() is not None:
                    raise StackError(f"{service.name} exited with code {service.process.returncode} while starting; "
                                     f"see {service.log_path}:\n{_tail(service.log_path)}")
                try:
                    response = client.get(f"{service.url}/readyz")
                    if response.status_code == 200:
                        waiting.remove(service)
                    last_answer[service.name] = f"{response.status_code} {response.text[:200]}"
                except httpx.HTTPError as exc:
                    last_answer[service.name] = f"{type(exc).__name__}"
            if waiting and time.monotonic() > deadline:
                late = waiting[0]
                raise StackError(f"{late.name} was not ready after {timeout:g} s (last /readyz answer: "
                                 f"{last_answer[late.name]}); see {late.log_path}:\n{_tail(late.log_path)}")
            time.sleep(0.25)


def _load_demo(services: list[Service], customers: int) -> str | None:
    """Load the demo dataset unless CVP_DEMO=0 or profile already has customers; returns a customer to show."""
    urls = {s.name: s.url for s in services}
    api_key = _api_key()
    existing = _first_customer(urls["profile"], api_key)
    if os.environ.get("CVP_DEMO", "1") == "0":
        print("CVP_DEMO=0: not loading the demo dataset.")
        return existing
    if existing is not None:
        print(f"Profile already has customers (data kept in {VAR}/ from an earlier run): not loading the demo "
              f"dataset again. Delete {VAR}/ to start afresh.")
        return existing
    from tools import demo_data

    dataset = demo_data.generate(customers)
    print(f"Loading the demo dataset: {len(dataset.customers):,} customers, {len(dataset.orders):,} orders "
          f"from {dataset.start:%Y-%m-%d} to {dataset.end:%Y-%m-%d}...", flush=True)
    endpoints = demo_data.Endpoints(urls["profile"], urls["scoring"], urls["feedback"], api_key,
                                    engagement=urls["engagement"])
    try:
        report = asyncio.run(demo_data.load(dataset, endpoints))
    except demo_data.LoadError as exc:
        print(f"The demo dataset could not be loaded: {exc}", file=sys.stderr)
        return None
    print(report.summary())
    counts = dataset.orders_per_customer()
    return max(counts, key=counts.__getitem__) if counts else None


def _first_customer(profile_url: str, api_key: str) -> str | None:
    try:
        response = httpx.get(f"{profile_url}/customers", params={"limit": 1}, timeout=10.0, trust_env=False,
                             headers={"Authorization": f"Bearer {api_key}"})
    except httpx.HTTPError as exc:
        raise StackError(f"GET {profile_url}/customers failed: {exc!r}") from exc
    if response.status_code != 200:
        raise StackError(f"GET {profile_url}/customers answered {response.status_code}: {response.text[:300]}")
    items = response.json()["items"]
    return items[0]["customer_id"] if items else None


def _print_banner(stack: Stack, example: str | None) -> None:
    api_key = _api_key()
    services = stack.services
    auth = shlex.quote(f"Authorization: Bearer {api_key}")
    profile, scoring = services[0].url, services[1].url
    lines = ["", "Customer value platform is running:"]
    lines += [f"  {s.name:<11} {s.url:<24} docs {s.url}/docs   log {s.log_path}" for s in services]
    lines.append(f"  {'broker':<11} {stack.bootstrap}"
                 + (f"   log {LOGS / 'broker.log'}" if stack.broker else " (external)"))
    lines += [f"  {'data':<11} {_describe_databases(services)}", "", f"API key: {api_key}"]
    if os.environ.get("API_KEYS") and not os.environ.get("CVP_API_KEY"):
        lines.append("  (API_KEYS is set: the services accept only its keys, not the dev key)")
    lines += ["", "Try:"]
    if example:
        lines += [f"  curl -H {auth} {profile}/customers/{example}",
                  f"  curl -H {auth} {scoring}/scores/{example}"]
    order = ('{"order_id": "o-1001", "customer_id": "c-42", "occurred_at": "2025-06-01T10:00:00Z", '
             '"total_amount": "19.90", "currency": "USD"}')
    lines += [f"  curl -X POST -H {auth} -H 'Content-Type: application/json' {profile}/purchases -d {shlex.quote(order)}",
              "", "Press Ctrl-C to stop."]
    print("\n".join(lines), flush=True)


def _describe_databases(services: list[Service]) -> str:
    urls = [make_url(s.database_url) for s in services]
    if urls[0].get_backend_name() == "sqlite":
        return f"SQLite files in {VAR}/ (kept between runs)"
    return f"PostgreSQL at {urls[0].host}:{urls[0].port or 5432}: {', '.join(str(u.database) for u in urls)}"


def _supervise(stack: Stack) -> None:
    """Wait for Ctrl-C or SIGTERM; a process that dies meanwhile stops the stack."""
    while True:
        for service in stack.services:
            assert service.process is not None
            if service.process.poll() is not None:
                raise StackError(f"{service.name} stopped unexpectedly (exit code {service.process.returncode}); "
                                 f"see {service.log_path}:\n{_tail(service.log_path)}")
        if stack.broker is not None and (stack.broker.process is None or stack.broker.process.poll() is not None):
            raise StackError(f"the broker stopped unexpectedly; see {LOGS / 'broker.log'}")
        time.sleep(0.5)


def _stop_services(services: list[Service], timeout: float) -> None:
    """SIGTERM: each service finishes its consumer batch, commits and leaves; kill what outstays `timeout`."""
    hurry = _StopRequests()
    signal.signal(signal.SIGINT, hurry)
    signal.signal(signal.SIGTERM, hurry)
    running = [s for s in services if s.process is not None and s.process.poll() is None]
    for service in running:
        service.process.terminate()  # type: ignore[union-attr]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and not hurry.again and any(s.process.poll() is None  # type: ignore[union-attr]
                                                                  for s in running):
        time.sleep(0.1)
    why = "interrupted again" if hurry.again else f"still running after {timeout:g} s"
    for service in running:
        if service.process.poll() is None:  # type: ignore[union-attr]
            print(f"Killing {service.name}: {why}.", file=sys.stderr)
            service.process.kill()  # type: ignore[union-attr]
            service.process.wait()  # type: ignore[union-attr]
    # uvicorn re-raises the SIGTERM it handled, so a clean stop reads as -SIGTERM.
    unclean = [f"{s.name} (exit {s.process.returncode})" for s in running  # type: ignore[union-attr]
               if s.process.returncode not in (0, -signal.SIGTERM)]  # type: ignore[union-attr]
    if running:
        print(f"Stopped {', '.join(s.name for s in running)}."
              + (f" Not cleanly: {', '.join(unclean)}; see {LOGS}/." if unclean else ""))


class _StopRequests:
    """Signal handler while stopping: a further Ctrl-C or SIGTERM means "kill them now".

    One that follows the first within a second is the same request delivered twice (a terminal's Ctrl-C
    also reaches `make`, `timeout` forwards what it receives), not the user losing patience.
    """

    def __init__(self) -> None:
        self.since = time.monotonic()
        self.again = False

    def __call__(self, signum: int, frame: FrameType | None) -> None:
        if time.monotonic() - self.since > 1.0:
            self.again = True


def _check_ports_free(ports: list[int]) -> None:
    for port in ports:
        with socket.socket() as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                raise StackError(f"port {port} is already in use: is another stack running? "
                                 f"(ps aux | grep -E 'services\\.|tansu')") from None


def _fresh_log(path: Path) -> Path:
    """Keep the previous run's log as <name>.log.1, so an error in it can still be read."""
    if path.exists() and path.stat().st_size:
        path.replace(path.with_name(path.name + ".1"))
    return path


def _tail(path: Path, lines: int = 15) -> str:
    try:
        tail = path.read_text(errors="replace").splitlines()[-lines:]
    except OSError:
        tail = []
    return "\n".join("    " + line for line in tail) or "    (the log is empty)"


def _api_key() -> str:
    return os.environ.get("CVP_API_KEY") or DEV_API_KEY


def _display_host() -> str:
    host = os.environ.get("HOST", "127.0.0.1")
    return "127.0.0.1" if host in ("0.0.0.0", "::", "") else host


if __name__ == "__main__":
    sys.exit(main())
