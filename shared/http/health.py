"""Open operational endpoints: liveness, readiness and Prometheus metrics."""
from __future__ import annotations

import asyncio

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from shared.db import ping
from shared.http.problems import problem_response

router = APIRouter(tags=["operations"])


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    """Liveness: the process is up and serving."""
    return {"status": "ok"}


@router.get("/readyz", responses={503: {"description": "Database or broker unreachable"}})
async def readyz(request: Request) -> Response:
    """Readiness: the database and the broker are reachable."""
    state = request.app.state
    database, broker = await asyncio.gather(_database_ok(state.engine), state.publisher.reachable())
    checks = {"database": "ok" if database else "unreachable", "broker": "ok" if broker else "unreachable"}
    if database and broker:
        return JSONResponse({"status": "ready", "checks": checks})
    failing = ", ".join(name for name, value in checks.items() if value != "ok")
    return problem_response(503, f"not ready: {failing} unreachable", checks=checks)


@router.get("/metrics", response_class=Response,
            responses={200: {"description": "Prometheus text exposition", "content": {CONTENT_TYPE_LATEST: {}}}})
async def metrics(request: Request) -> Response:
    """Prometheus metrics."""
    state = request.app.state
    try:
        state.metrics.outbox_pending.set(await asyncio.wait_for(state.relay.pending(), 2.0))
    except Exception:
        pass  # metrics stay available while the database is away
    return Response(generate_latest(state.metrics.registry), media_type=CONTENT_TYPE_LATEST)


async def _database_ok(engine: object) -> bool:
    try:
        await asyncio.wait_for(ping(engine), 2.0)  # type: ignore[arg-type]
        return True
    except Exception:
        return False
