"""Complaint cases over HTTP and Kafka: states, tier-aware deadlines, SLA sweep, closing the loop,
triggered invitations, and erasure."""
from __future__ import annotations

import json
import os
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text

from services.feedback.app import create_app
from services.feedback.settings import FeedbackSettings
from shared.events.catalogue import CustomerErasedV1, PurchaseRecordedV1, TierChangedV1
from shared.events.catalogue_scoring import RfmV1
from tests.support.apps import running_app, settings_for
from tools.scratch_databases import fresh_database
from tests.support.kafka import eventually, publish_events, read_until

FIRST_PURCHASE_SURVEY, SATISFACTION_SURVEY = "first-purchase-nps", "case-satisfaction"
SETTINGS = dict(sla_hours={"critical": 0, "high": 24, "medium": 72, "low": 168}, scheduler_interval_seconds=0.3,
                first_purchase_survey_id=FIRST_PURCHASE_SURVEY, first_purchase_delay_hours=0,
                case_resolved_survey_id=SATISFACTION_SURVEY, case_resolved_delay_hours=0, follow_up_visit_hours=72)


@pytest.fixture(scope="module")
async def feedback(broker: str, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    async with fresh_database(os.environ.get("TEST_DATABASE_URL"), tmp_path_factory.mktemp("feedback")) as url:
        settings = settings_for(FeedbackSettings, database_url=url, broker=broker, **SETTINGS)
        async with running_app(create_app, settings) as (app, http):
            for survey_id, kind in ((FIRST_PURCHASE_SURVEY, "nps"), (SATISFACTION_SURVEY, "csat")):
                definition = {"questions": [{"id": "score", "type": kind, "text": {"en": "How did we do?"}}]}
                created = await http.post("/surveys", json={"survey_id": survey_id, "name": survey_id, "definition": definition})
                assert created.status_code == 201, created.text
            yield app, http


def new_id(prefix: str = "c") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


async def open_case(http: httpx.AsyncClient, customer_id: str, severity: str = "high", **extra: Any) -> dict[str, Any]:
    body = {"customer_id": customer_id, "severity": severity, "category": "delivery", "description": "parcel lost"}
    response = await http.post("/complaints", json=body | extra)
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


async def move(http: httpx.AsyncClient, case_id: str, status: str, **extra: Any) -> httpx.Response:
    return await http.post(f"/complaints/{case_id}/status", json={"status": status, **extra})


def hours_allowed(case: dict[str, Any]) -> float:
    opened, due = (datetime.fromisoformat(case[k].replace("Z", "+00:00")) for k in ("opened_at", "sla_due_at"))
    return (due - opened).total_seconds() / 3600


async def make_high_value(http: httpx.AsyncClient, broker: str, customer_id: str) -> None:
    await publish_events(broker, [TierChangedV1(customer_id=customer_id, tier="high-value", rfm=RfmV1(r=5, f=5, m=5))],
                         source="/services/scoring")

    async def tiered() -> bool:
        standing = await http.get(f"/customers/{customer_id}/standing")
        return standing.status_code == 200 and standing.json()["tier"] == "high-value"
    await eventually(tiered)


async def test_a_case_moves_through_its_states_and_refuses_invalid_moves(feedback) -> None:  # type: ignore[no-untyped-def]
    _, http = feedback
    case = await open_case(http, new_id(), assignee="agent-7")
    assert (case["status"], case["assignee"]) == ("open", "agent-7")
    closing_early = await move(http, case["case_id"], "closed")
    assert closing_early.status_code == 409
    assert "a open case cannot become closed" in closing_early.json()["detail"]
    assert (await move(http, case["case_id"], "in_progress")).json()["status"] == "in_progress"
    no_resolution = await move(http, case["case_id"], "resolved")
    assert no_resolution.status_code == 422
    assert no_resolution.json()["errors"][0]["field"] == "body.resolution"
    resolved = await move(http, case["case_id"], "resolved", resolution="replacement sent")
    assert (resolved.json()["status"], resolved.json()["resolution"]) == ("resolved", "replacement sent")
    assert (await move(http, case["case_id"], "closed")).json()["closed_at"] is not None
    reopened = (await move(http, case["case_id"], "open")).json()
    assert (reopened["status"], reopened["reopened_count"], reopened["closed_at"]) == ("open", 1, None)


async def test_notes_and_reassignment_are_kept_on_the_case(feedback) -> None:  # type: ignore[no-untyped-def]
    _, http = feedback
    case = await open_case(http, new_id())
    assert (await http.post(f"/complaints/{case['case_id']}/notes", json={"text": "called the courier", "author": "agent-1"})).status_code == 201
    amended = await http.patch(f"/complaints/{case['case_id']}", json={"assignee": "agent-2", "category": "courier"})
    assert (amended.json()["assignee"], amended.json()["category"]) == ("agent-2", "courier")
    notes = (await http.get(f"/complaints/{case['case_id']}/notes")).json()
    assert [(n["author"], n["text"]) for n in notes] == [("agent-1", "called the courier")]
    assert (await http.get("/complaints/case-missing/notes")).status_code == 404


async def test_a_resolved_case_publishes_its_resolution_and_schedules_a_visit_and_a_satisfaction_check(feedback, broker: str) -> None:  # type: ignore[no-untyped-def]
    _, http = feedback
    customer_id = new_id()
    case = await open_case(http, customer_id)
    await move(http, case["case_id"], "resolved", resolution="refund issued")
    resolved = await read_until(broker, "complaint-resolved", lambda rs: len(rs) >= 1, key=customer_id)
    data = json.loads(resolved[0].value)["data"]
    assert (data["case_id"], data["resolution"], data["within_sla"]) == (case["case_id"], "refund issued", True)
    visits = (await http.get("/follow-ups", params={"case_id": case["case_id"]})).json()
    assert [(v["kind"], v["status"]) for v in visits] == [("visit", "open")]
    assert (await http.post(f"/follow-ups/{visits[0]['task_id']}/done")).json()["status"] == "done"
    invited = await read_until(broker, "survey-invited", lambda rs: len(rs) >= 1, key=customer_id)
    assert json.loads(invited[0].value)["data"]["survey_id"] == SATISFACTION_SURVEY


async def test_high_value_customers_get_an_earlier_deadline(feedback, broker: str) -> None:  # type: ignore[no-untyped-def]
    _, http = feedback
    valued, ordinary = new_id(), new_id()
    await make_high_value(http, broker, valued)
    assert hours_allowed(await open_case(http, valued)) == 12
    assert hours_allowed(await open_case(http, ordinary)) == 24


async def test_the_sweep_flags_cases_past_their_deadline(feedback) -> None:  # type: ignore[no-untyped-def]
    _, http = feedback
    customer_id = new_id()
    late, on_time = await open_case(http, customer_id, "critical"), await open_case(http, customer_id, "low")

    async def flagged() -> list[str]:
        listed = await http.get("/complaints", params={"customer_id": customer_id, "breached": "true"})
        return [c["case_id"] for c in listed.json()["items"]]
    assert await eventually(flagged) == [late["case_id"]]
    assert (await http.get(f"/complaints/{on_time['case_id']}")).json()["sla_breached_at"] is None


async def test_a_detractor_who_is_high_value_gets_a_follow_up_case(feedback, broker: str) -> None:  # type: ignore[no-untyped-def]
    _, http = feedback
    valued, ordinary = new_id(), new_id()
    await make_high_value(http, broker, valued)
    for customer_id in (valued, ordinary):
        body = {"customer_id": customer_id, "survey_id": FIRST_PURCHASE_SURVEY, "channel": "phone", "answers": {"score": 2}}
        assert (await http.post("/responses", json=body)).status_code == 201
    cases = (await http.get("/complaints", params={"customer_id": valued})).json()["items"]
    assert [(c["category"], c["severity"], c["tier"]) for c in cases] == [("detractor-follow-up", "high", "high-value")]
    assert cases[0]["response_id"] is not None
    opened = await read_until(broker, "complaint-opened", lambda rs: len(rs) >= 1, key=valued)
    assert json.loads(opened[0].value)["data"]["response_id"] == cases[0]["response_id"]
    assert (await http.get("/complaints", params={"customer_id": ordinary})).json()["items"] == []
    by_tier = (await http.get("/analytics/nps", params={"group_by": "tier", "tier": "high-value"})).json()
    assert by_tier["series"][0]["tier"] == "high-value" and by_tier["series"][0]["detractors"] >= 1


async def test_a_first_purchase_invites_the_customer_to_the_first_purchase_survey(feedback, broker: str) -> None:  # type: ignore[no-untyped-def]
    _, http = feedback
    customer_id = new_id()
    purchases = [PurchaseRecordedV1(order_id=f"{customer_id}-{n}", customer_id=customer_id, total_amount=Decimal("9.90"),
                                    currency="USD", occurred_at=datetime(2026, 1, n, tzinfo=UTC)) for n in (1, 2)]
    await publish_events(broker, purchases, source="shop")
    invited = await read_until(broker, "survey-invited", lambda rs: len(rs) >= 1, key=customer_id)
    data = json.loads(invited[0].value)["data"]
    assert data["survey_id"] == FIRST_PURCHASE_SURVEY
    standing = (await http.get(f"/customers/{customer_id}/standing")).json()
    assert standing["first_purchase_at"] == "2026-01-01T00:00:00Z"
    invitation = (await http.get(f"/invitations/{data['invitation_id']}")).json()
    assert invitation["trigger"] == "first-purchase"


async def test_an_erased_customer_leaves_nothing_behind(feedback, broker: str) -> None:  # type: ignore[no-untyped-def]
    _, http = feedback
    customer_id = new_id()
    await make_high_value(http, broker, customer_id)
    body = {"customer_id": customer_id, "survey_id": FIRST_PURCHASE_SURVEY, "channel": "phone",
            "answers": {"score": 1}}
    assert (await http.post("/responses", json=body)).status_code == 201
    case = (await http.get("/complaints", params={"customer_id": customer_id})).json()["items"][0]
    await http.post(f"/complaints/{case['case_id']}/notes", json={"text": "called"})
    await move(http, case["case_id"], "resolved", resolution="apology and voucher")
    await http.post("/invitations", json={"survey_id": FIRST_PURCHASE_SURVEY, "customer_ids": [customer_id]})
    await publish_events(broker, [CustomerErasedV1(customer_id=customer_id)], source="/services/profile")

    async def forgotten() -> bool:
        responses = (await http.get("/responses", params={"customer_id": customer_id})).json()["items"]
        cases = (await http.get("/complaints", params={"customer_id": customer_id})).json()["items"]
        visits = (await http.get("/follow-ups", params={"customer_id": customer_id})).json()
        standing = await http.get(f"/customers/{customer_id}/standing")
        return not responses and not cases and not visits and standing.status_code == 404
    await eventually(forgotten)
    assert (await http.get(f"/complaints/{case['case_id']}/notes")).status_code == 404


async def test_case_effectiveness_reports_count_resolutions_repeats_and_nps_after_resolution(feedback) -> None:  # type: ignore[no-untyped-def]
    _, http = feedback
    customer_id = new_id()
    before = {"customer_id": customer_id, "survey_id": FIRST_PURCHASE_SURVEY, "channel": "phone",
              "answers": {"score": 4}, "responded_at": "2026-01-05T10:00:00Z"}
    assert (await http.post("/responses", json=before)).status_code == 201
    first, second = await open_case(http, customer_id, category="billing"), await open_case(http, customer_id)
    for case in (first, second):
        assert (await move(http, case["case_id"], "resolved", resolution="credited")).status_code == 200
    after = before | {"answers": {"score": 10}, "responded_at": None}
    assert (await http.post("/responses", json=after)).status_code == 201
    report = (await http.get("/analytics/cases")).json()
    billing = [row for row in report["resolution"] if row["category"] == "billing"]
    assert billing[0]["resolved"] >= 1 and billing[0]["within_sla_percent"] == 100.0
    assert report["repeat_complaints"]["repeat_customers"] >= 1
    assert report["nps_around_resolution"]["before"]["responses"] >= 1
    assert report["nps_around_resolution"]["after"]["responses"] >= 1
    assert report["detractor_follow_up"]["cases"] >= 1


async def test_rolled_up_scores_report_the_same_and_leave_with_an_erased_customer(feedback, broker: str) -> None:  # type: ignore[no-untyped-def]
    app, http = feedback
    survey_id = new_id("srv")
    definition = {"questions": [{"id": "score", "type": "nps", "text": {"en": "Recommend us?"}}]}
    assert (await http.post("/surveys", json={"survey_id": survey_id, "name": "rollup", "definition": definition})).status_code == 201
    customers = [new_id() for _ in range(3)]
    for customer_id, score in zip(customers, (10, 9, 2)):
        body = {"customer_id": customer_id, "survey_id": survey_id, "channel": "app", "answers": {"score": score},
                "responded_at": "2026-10-07T09:00:00Z"}
        assert (await http.post("/responses", json=body)).status_code == 201

    async def rolled_up() -> bool:
        async with app.state.engine.connect() as connection:
            pending = await connection.execute(text("SELECT count(*) FROM response_scores WHERE survey_id = :s AND NOT rolled_up"),
                                               {"s": survey_id})
            return pending.scalar() == 0
    await eventually(rolled_up)
    report = (await http.get("/analytics/nps", params={"survey_id": survey_id, "granularity": "month"})).json()
    assert [(r["period"], r["nps"], r["responses"]) for r in report["series"]] == [("2026-10-01", 33.33, 3)]

    await publish_events(broker, [CustomerErasedV1(customer_id=customers[2])], source="/services/profile")

    async def without_the_detractor() -> bool:
        overall = (await http.get("/analytics/nps", params={"survey_id": survey_id})).json()["overall"]
        return overall["responses"] == 2 and overall["nps"] == 100.0
    await eventually(without_the_detractor)
