"""Fault tests: the services as processes against a broker and databases of their own, with parts of the
system taken away (the network to the broker, a process, the database) while work flows.

They take minutes (a broker outage lasts 60 s), so they run with `make faults` (`pytest tests/faults`);
a run over the whole of tests/ skips them."""
from __future__ import annotations

from pathlib import Path
from typing import Iterator

import pytest

from shared.devbroker import start_broker

FAULTS_DIR = Path(__file__).parent


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    asked_for = any(FAULTS_DIR == Path(arg.split("::")[0]).resolve() or FAULTS_DIR in Path(arg.split("::")[0]).resolve().parents
                    for arg in config.args)
    if asked_for:
        return
    skip = pytest.mark.skip(reason="fault tests run with `make faults`")
    for item in items:
        if FAULTS_DIR in Path(str(item.path)).parents:
            item.add_marker(skip)


@pytest.fixture
def own_broker(tmp_path: Path) -> Iterator[str]:
    """A broker of the test's own: its consumer groups and topics see nothing of other tests."""
    running = start_broker(log_path=tmp_path / "broker.log")
    yield running.bootstrap_servers
    running.stop()
