"""Fault tests: the services as processes against a broker and databases of their own, with parts of the
system taken away (the network to the broker, a process, the database) while work flows.

They take minutes (a broker outage lasts 60 s), so they run with `make faults` (`pytest tests/faults`);
pyproject's testpaths leave them out of a bare `pytest` (`make test`)."""
from __future__ import annotations

from pathlib import Path
from typing import Iterator

import pytest

from shared.devbroker import start_broker


@pytest.fixture
def own_broker(tmp_path: Path) -> Iterator[str]:
    """A broker of the test's own: its consumer groups and topics see nothing of other tests."""
    running = start_broker(log_path=tmp_path / "broker.log")
    yield running.bootstrap_servers
    running.stop()
