"""Generated requests, valid and invalid, against every operation of every service, with a key that may do
everything: no server error, and every answer has a documented status, content type, headers and body."""
from __future__ import annotations

from typing import Any, Callable

import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.config import SchemathesisConfig
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.fuzz.services import openapi_document
from tests.support.apps import ADMIN_KEY

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_headers_conformance,
          response_schema_conformance]
EXAMPLES_PER_OPERATION = 20
#: A fixed seed; generated examples (valid and invalid) only: the boundary-value "coverage" phase has no bound.
CONFIG = {"seed": 20261124, "phases": {"coverage": {"enabled": False}, "stateful": {"enabled": False}},
          "generation": {"max-examples": EXAMPLES_PER_OPERATION}}


def fuzz(service: str) -> Callable[..., None]:
    schema = schemathesis.openapi.from_dict(openapi_document(service), config=SchemathesisConfig.from_dict(CONFIG))

    @schema.parametrize()
    @settings(max_examples=EXAMPLES_PER_OPERATION, derandomize=True, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    def test(case: schemathesis.Case, live_apps: dict[str, Any]) -> None:
        case.call_and_validate(app=live_apps[service], headers={"Authorization": f"Bearer {ADMIN_KEY}"},
                               checks=CHECKS)
    return test


test_profile_answers_as_documented = fuzz("profile")
test_scoring_answers_as_documented = fuzz("scoring")
test_engagement_answers_as_documented = fuzz("engagement")
test_feedback_answers_as_documented = fuzz("feedback")
