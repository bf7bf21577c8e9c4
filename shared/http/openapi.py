"""The OpenAPI document states the errors the services answer: RFC 9457 problems, with the statuses the
shared mechanisms produce (validation, authentication, scopes, rate limits, cursors, idempotency, body size,
database outages) beside the ones each route declares."""
from __future__ import annotations

from typing import Any, Callable

from fastapi import FastAPI

PROBLEM_JSON = "application/problem+json"

PROBLEM_SCHEMA: dict[str, Any] = {
    "title": "Problem",
    "type": "object",
    "description": "RFC 9457 problem details; validation failures list the fields in `errors`.",
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "instance": {"type": "string"},
        "errors": {"type": "array", "items": {"$ref": "#/components/schemas/ProblemFieldError"}},
    },
    "required": ["type", "title", "status", "detail"],
    "additionalProperties": True,
}
FIELD_ERROR_SCHEMA: dict[str, Any] = {
    "title": "ProblemFieldError",
    "type": "object",
    "properties": {"field": {"type": "string"}, "message": {"type": "string"}, "type": {"type": "string"}},
    "required": ["field", "message"],
}
_PROBLEM_CONTENT = {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}}
_RETRY_AFTER = {"Retry-After": {"description": "Seconds to wait before trying again", "schema": {"type": "string"}}}

_SECURED = {401: "Missing or unknown API key", 403: "The API key lacks the scope",
            429: "Rate limit of this API key exceeded"}
_WITH_BODY = {400: "The body is not valid JSON", 413: "The body is too large"}
_PAGINATED = {400: "The cursor is not one this API returned"}
_IDEMPOTENT = {409: "A request with this Idempotency-Key is still being processed"}
_EVERY = {422: "Validation failed", 503: "The database is unavailable; try again shortly"}
_NAMED_IN_PATH = {404: "Nothing is known by the identifier in the path"}
PARTIAL_TIME = r"^([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9](\.[0-9]+)?)?$"
_OPERATIONS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")


def document_problems(app: FastAPI) -> None:
    """Make `app.openapi()` describe error answers as problem documents."""
    build: Callable[[], dict[str, Any]] = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None or "Problem" not in app.openapi_schema.get("components", {}).get("schemas", {}):
            app.openapi_schema = with_problems(build())
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def with_problems(document: dict[str, Any]) -> dict[str, Any]:
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    schemas["Problem"] = PROBLEM_SCHEMA
    schemas["ProblemFieldError"] = FIELD_ERROR_SCHEMA
    for path_item in document.get("paths", {}).values():
        for method, operation in path_item.items():
            if method in _OPERATIONS:
                _document_operation(operation)
    _local_times(document)
    for name in ("HTTPValidationError", "ValidationError"):
        schemas.pop(name, None)  # FastAPI's shape of a 422, which the services never answer with
    return document


def _document_operation(operation: dict[str, Any]) -> None:
    responses = operation.setdefault("responses", {})
    parameters = {(p.get("in"), p.get("name", "").lower()) for p in operation.get("parameters", [])}
    expected: dict[int, str] = {}
    if operation.get("security") or parameters or "requestBody" in operation:
        expected |= _EVERY  # not the open operational endpoints (health, metrics), which take no input
    if operation.get("security"):
        expected |= _SECURED
    if "requestBody" in operation:
        expected |= _WITH_BODY
    if any(where == "path" for where, _ in parameters):
        expected |= _NAMED_IN_PATH
    if ("query", "cursor") in parameters:
        expected |= _PAGINATED
    if ("header", "idempotency-key") in parameters:
        expected |= _IDEMPOTENT
    for status, description in expected.items():
        responses.setdefault(str(status), {"description": description})
    for status, response in responses.items():
        if status[:1] in ("4", "5"):
            response["content"] = _PROBLEM_CONTENT
            if status in ("429", "503"):
                response.setdefault("headers", {}).update(_RETRY_AFTER)


def _local_times(node: Any) -> None:
    """A time of day without offset ("21:00:00", as the services read and write local hours) is RFC 3339's
    `partial-time`; JSON Schema's `time` format demands an offset."""
    if isinstance(node, dict):
        if node.get("type") == "string" and node.get("format") == "time":
            node["format"] = "partial-time"
            node["pattern"] = PARTIAL_TIME
        for value in node.values():
            _local_times(value)
    elif isinstance(node, list):
        for value in node:
            _local_times(value)
