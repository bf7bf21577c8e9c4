"""RFC 9457 problem details for every error a service returns."""
from __future__ import annotations

import logging
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

from shared.http.openapi import PROBLEM_JSON, document_problems

log = logging.getLogger(__name__)


class Problem(Exception):
    """Raise from a handler or route to answer with a problem document."""

    def __init__(self, status: int, detail: str, *, title: str | None = None, type_: str = "about:blank",
                 headers: dict[str, str] | None = None, **extensions: Any):
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.title = title or HTTPStatus(status).phrase
        self.type = type_
        self.headers = headers
        self.extensions = extensions


def problem_response(status: int, detail: str, *, title: str | None = None, type_: str = "about:blank",
                     instance: str | None = None, headers: dict[str, str] | None = None,
                     **extensions: Any) -> JSONResponse:
    body: dict[str, Any] = {"type": type_, "title": title or HTTPStatus(status).phrase, "status": status,
                            "detail": detail}
    if instance:
        body["instance"] = instance
    body.update(extensions)
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def _field_errors(exc: RequestValidationError) -> list[dict[str, Any]]:
    return [
        {"field": ".".join(str(part) for part in error["loc"]), "message": error["msg"], "type": error["type"]}
        for error in exc.errors()
    ]


async def _on_validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
    errors = _field_errors(exc)
    if any(error["type"] == "json_invalid" for error in errors):
        return problem_response(400, "the request body is not valid JSON", instance=request.url.path, errors=errors)
    detail = "; ".join(f"{e['field']}: {e['message']}" for e in errors[:10])
    return problem_response(422, f"invalid request: {detail}", title="Validation failed",
                            instance=request.url.path, errors=errors)


async def _on_http_exception(request: Request, exc: StarletteHTTPException) -> JSONResponse:
    detail = exc.detail if isinstance(exc.detail, str) else HTTPStatus(exc.status_code).phrase
    return problem_response(exc.status_code, detail, instance=request.url.path, headers=getattr(exc, "headers", None))


async def _on_problem(request: Request, exc: Problem) -> JSONResponse:
    return problem_response(exc.status, exc.detail, title=exc.title, type_=exc.type, instance=request.url.path,
                            headers=exc.headers, **exc.extensions)


async def _on_database_unavailable(request: Request, exc: DBAPIError) -> JSONResponse:
    log.warning("database unavailable", extra={"error": repr(exc)})
    return problem_response(503, "the database is unavailable; try again shortly", instance=request.url.path,
                            headers={"Retry-After": "5"})


#: SQLSTATEs of text the database cannot store (PostgreSQL refuses NUL characters, for one): bad input, not a fault.
UNSTORABLE_TEXT = {"22021", "22P05"}


async def _on_database_error(request: Request, exc: DBAPIError) -> JSONResponse:
    if _sqlstate(exc) in UNSTORABLE_TEXT:
        return problem_response(422, "the request holds text the database cannot store (e.g. a NUL character)",
                                title="Validation failed", instance=request.url.path)
    return await _on_unexpected(request, exc)


def _sqlstate(exc: DBAPIError) -> str | None:
    for error in (exc.orig, getattr(exc.orig, "__cause__", None)):
        state = getattr(error, "sqlstate", None) or getattr(error, "pgcode", None)
        if state:
            return str(state)
    return None


async def _on_unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.exception("unhandled error", extra={"path": request.url.path})
    return problem_response(500, "an unexpected error occurred", instance=request.url.path)


def install_problem_handlers(app: FastAPI) -> None:
    """Answer every error as a problem document, and say so in the app's OpenAPI document."""
    document_problems(app)
    app.add_exception_handler(RequestValidationError, _on_validation_error)  # type: ignore[arg-type]
    app.add_exception_handler(StarletteHTTPException, _on_http_exception)  # type: ignore[arg-type]
    app.add_exception_handler(Problem, _on_problem)  # type: ignore[arg-type]
    app.add_exception_handler(OperationalError, _on_database_unavailable)  # type: ignore[arg-type]
    app.add_exception_handler(InterfaceError, _on_database_unavailable)  # type: ignore[arg-type]
    app.add_exception_handler(ConnectionError, _on_database_unavailable)  # type: ignore[arg-type]
    app.add_exception_handler(DBAPIError, _on_database_error)  # type: ignore[arg-type]
    app.add_exception_handler(Exception, _on_unexpected)
