"""`python -m services.<name> [serve|migrate]`: the entry point shared by the four services."""
from __future__ import annotations

import argparse
import asyncio
from typing import Callable

import uvicorn
from fastapi import FastAPI

from shared.db import create_engine
from shared.logging import configure_logging
from shared.migrations import upgrade_to_head
from shared.service import ServiceDefinition
from shared.settings import ServiceSettings


def main(definition: ServiceDefinition, load_settings: Callable[[], ServiceSettings],
         create_app: Callable[[ServiceSettings], FastAPI], argv: list[str] | None = None,
         extra_commands: dict[str, Callable[[ServiceSettings, list[str]], int]] | None = None) -> int:
    extra_commands = extra_commands or {}
    parser = argparse.ArgumentParser(prog=f"python -m services.{definition.name}", description=definition.title)
    parser.add_argument("command", nargs="?", default="serve", choices=["serve", "migrate", *extra_commands])
    parser.add_argument("args", nargs=argparse.REMAINDER)
    options = parser.parse_args(argv)
    settings = load_settings()
    configure_logging(definition.name, settings.log_level)
    if options.command == "serve":
        return _serve(settings, create_app)
    if options.command == "migrate":
        return _migrate(settings, definition)
    return extra_commands[options.command](settings, options.args)


def _serve(settings: ServiceSettings, create_app: Callable[[ServiceSettings], FastAPI]) -> int:
    app = create_app(settings)
    # uvicorn turns SIGTERM into a lifespan shutdown: the consumer finishes its batch and commits.
    uvicorn.run(app, host=settings.host, port=settings.port, log_config=None, access_log=False,
                timeout_graceful_shutdown=20, timeout_keep_alive=settings.http_keep_alive_seconds)
    return 0


def _migrate(settings: ServiceSettings, definition: ServiceDefinition) -> int:
    async def run() -> None:
        engine = create_engine(settings.database_url)
        try:
            await upgrade_to_head(engine, definition.migrations)
        finally:
            await engine.dispose()

    asyncio.run(run())
    return 0
