"""Hostile input against the running services: SQL and template injection, and what reaches the logs."""
from __future__ import annotations

import uuid

import httpx
import pytest

from tests.support.apps import ADMIN_KEY, READER_KEY
from tests.support.kafka import eventually
from tests.support.processes import ServiceProcess

pytestmark = pytest.mark.e2e

SQL_INJECTIONS = [
    "' OR '1'='1",
    "x'); DROP TABLE customers; --",
    "1 UNION SELECT key, key FROM idempotency_keys --",
    "\" OR 1=1 --",
    "%' OR customer_id LIKE '%",
]


def new_id(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


async def create_customer(http: httpx.AsyncClient, profile: str, **fields: object) -> str:
    customer_id = new_id("hostile")
    response = await http.post(f"{profile}/customers", json={"customer_id": customer_id, **fields})
    assert response.status_code == 201, response.text
    return customer_id


@pytest.mark.parametrize("payload", SQL_INJECTIONS)
async def test_sql_in_search_parameters_matches_nothing_and_changes_nothing(stack: dict[str, ServiceProcess],
                                                                             http: httpx.AsyncClient, payload: str) -> None:
    profile = stack["profile"].url
    known = await create_customer(http, profile, tags=["hostile-check"], region="north")

    for parameter in ("name", "tag", "region", "source", "external_id"):
        found = await http.get(f"{profile}/customers", params={parameter: payload})
        assert found.status_code in (200, 422), found.text
        if found.status_code == 200:
            assert found.json()["items"] == [], f"{parameter}={payload!r} matched customers"
    for definition in ({"tag": payload}, {"field": "region", "op": "eq", "value": payload},
                       {"attribute": "plan", "op": "in", "value": [payload]}):
        preview = await http.post(f"{profile}/segments/preview", json={"definition": definition})
        assert preview.status_code in (200, 422), preview.text
        if preview.status_code == 200:
            assert preview.json()["count"] == 0, f"{definition} matched customers"

    still_there = await http.get(f"{profile}/customers", params={"tag": "hostile-check"})
    assert known in {item["customer_id"] for item in still_there.json()["items"]}


@pytest.mark.parametrize("payload", SQL_INJECTIONS)
async def test_sql_in_identifiers_and_filters_of_every_service_is_refused_or_not_found(
        stack: dict[str, ServiceProcess], http: httpx.AsyncClient, payload: str) -> None:
    answers = [
        await http.get(f"{stack['profile'].url}/customers/{payload}"),
        await http.get(f"{stack['scoring'].url}/scores/{payload}"),
        await http.get(f"{stack['engagement'].url}/loyalty/{payload}"),
        await http.get(f"{stack['feedback'].url}/complaints", params={"customer_id": payload}),
        await http.get(f"{stack['feedback'].url}/analytics/nps", params={"tier": payload, "survey_id": payload}),
    ]
    for answer in answers:
        assert answer.status_code in (200, 404, 422), f"{answer.request.url}: {answer.status_code} {answer.text}"
        if answer.status_code >= 400:
            assert answer.headers["content-type"] == "application/problem+json"
    nps = answers[-1]
    if nps.status_code == 200:
        assert nps.json().get("responses", 0) == 0


async def test_an_attribute_name_is_an_identifier_not_sql(stack: dict[str, ServiceProcess], http: httpx.AsyncClient) -> None:
    refused = await http.post(f"{stack['profile'].url}/segments/preview", json={"definition": {
        "attribute": "x' = 'x' OR '1'='1", "op": "eq", "value": "x"}})
    assert refused.status_code == 422
    assert refused.json()["errors"][0]["field"].startswith("body.definition")


async def test_a_template_reaching_for_python_internals_is_refused(stack: dict[str, ServiceProcess],
                                                                  http: httpx.AsyncClient) -> None:
    engagement, profile = stack["engagement"].url, stack["profile"].url
    customer_id = await create_customer(http, profile, given_name="Ada")
    template_id = new_id("tpl")
    created = await http.post(f"{engagement}/templates", json={"template_id": template_id, "default_locale": "en",
                                                                "variants": [{"locale": "en", "body": (
                                                                    "{{ ''.__class__.__mro__[1].__subclasses__() }}")}]})
    if created.status_code == 422:  # refused when stored
        assert created.headers["content-type"] == "application/problem+json"
        return
    assert created.status_code == 201, created.text
    rendered = await http.post(f"{engagement}/templates/{template_id}/preview", json={"customer_id": customer_id})
    assert rendered.status_code == 422, rendered.text
    assert "SecurityError" in rendered.json()["detail"]


async def test_template_syntax_in_customer_data_is_shown_not_evaluated(stack: dict[str, ServiceProcess],
                                                                       http: httpx.AsyncClient) -> None:
    engagement, profile = stack["engagement"].url, stack["profile"].url
    customer_id = await create_customer(http, profile, given_name="{{ 7 * 7 }}")
    template_id = new_id("tpl")
    created = await http.post(f"{engagement}/templates", json={"template_id": template_id, "default_locale": "en",
                                                                "variants": [{"locale": "en", "subject": "Hi",
                                                                              "body": "Hello {{ customer.first_name }}!"}]})
    assert created.status_code == 201, created.text

    async def preview() -> str | None:
        answer = await http.post(f"{engagement}/templates/{template_id}/preview", json={"customer_id": customer_id})
        return answer.json()["body"] if answer.status_code == 200 else None
    assert await eventually(preview, timeout=30) == "Hello {{ 7 * 7 }}!"


async def test_logs_hold_no_api_key_and_no_personal_data(stack: dict[str, ServiceProcess], http: httpx.AsyncClient) -> None:
    profile = stack["profile"].url
    email, phone, family_name = "leak.check.7731@example.org", "+33612349876", "Zyxwvutsrq"
    customer_id = await create_customer(http, profile, given_name="Quentin", family_name=family_name, email=email,
                                        phone=phone, address={"line1": "12 Rue Secrète", "city": "Lyon", "country": "FR"})
    assert (await http.get(f"{profile}/customers", params={"email": email})).json()["items"][0]["customer_id"] == customer_id
    invalid = await http.patch(f"{profile}/customers/{customer_id}", json={"email": email, "phone": "not-a-phone"})
    assert invalid.status_code == 422
    assert (await http.get(f"{profile}/customers/{customer_id}/export")).status_code == 200
    refused = await http.get(f"{profile}/customers", headers={"Authorization": "Bearer not-a-key-93e1"})
    assert refused.status_code == 401

    async def engagement_fetched_the_contact() -> bool | None:  # engagement reads addresses from profile
        answer = await http.get(f"{stack['engagement'].url}/audience/{customer_id}")
        return True if answer.status_code == 200 else None
    await eventually(engagement_fetched_the_contact, timeout=30)
    assert (await http.delete(f"{profile}/customers/{customer_id}")).status_code == 204

    for service in stack.values():
        log = service.log_path.read_text(errors="replace")
        assert '"service": "%s"' % service.name in log, f"{service.log_path} is not {service.name}'s JSON log"
        for secret in (ADMIN_KEY, READER_KEY, "not-a-key-93e1", email, phone, family_name, "Rue Secrète"):
            assert secret not in log, f"{service.name}'s log holds {secret!r}"
