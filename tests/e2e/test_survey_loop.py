"""End to end: a survey answer closes the loop across the four services, joined only by Kafka."""
from __future__ import annotations

import uuid

import httpx
import pytest

from tests.e2e.test_purchase_journey import json_when, order

pytestmark = pytest.mark.e2e

NPS_SURVEY = {"name": "After your order", "definition": {"default_locale": "en", "questions": [
    {"id": "nps", "type": "nps", "text": {"en": "How likely are you to recommend us?"}},
    {"id": "why", "type": "text", "required": False, "text": {"en": "Why?"}}]}}


async def test_a_survey_answer_travels_from_invitation_through_engagement_to_analytics_scoring_and_profile(stack, http: httpx.AsyncClient) -> None:  # type: ignore[no-untyped-def]
    http.timeout = httpx.Timeout(30)  # four services, a broker and the database share two cores
    customer_id, survey_id = f"e2e-{uuid.uuid4().hex[:10]}", f"srv-{uuid.uuid4().hex[:8]}"
    profile, scoring, engagement, feedback = (stack[name].url for name in ("profile", "scoring", "engagement", "feedback"))
    assert (await http.post(f"{profile}/purchases", json=[order(customer_id, "1", "80.00")])).status_code == 201
    await json_when(http, f"{scoring}/scores/{customer_id}", lambda s: s["purchase_count"] == 1)

    assert (await http.post(f"{feedback}/surveys", json={"survey_id": survey_id, **NPS_SURVEY})).status_code == 201
    invited = await http.post(f"{feedback}/invitations", json={"survey_id": survey_id, "customer_ids": [customer_id]})
    assert invited.status_code == 201, invited.text
    [invitation] = invited.json()["invited"]
    delivery = await json_when(http, f"{engagement}/messages/survey-{invitation['invitation_id']}",
                               lambda m: m["status"] not in ("queued", "scheduled"))
    assert (delivery["customer_id"], delivery["priority"]) == (customer_id, "service")

    token = invitation["url"].rsplit("/s/", 1)[1]
    async with httpx.AsyncClient(timeout=30) as public:  # the customer's browser: no API key
        assert (await public.get(f"{feedback}/s/{token}")).status_code == 200
        answered = await public.post(f"{feedback}/s/{token}",
                                     json={"answers": {"nps": 2, "why": "The parcel arrived broken and late"}})
    assert answered.status_code == 201, answered.text

    report = (await http.get(f"{feedback}/analytics/nps", params={"survey_id": survey_id})).json()["overall"]
    assert (report["responses"], report["detractors"], report["nps"]) == (1, 1, -100)
    score = await json_when(http, f"{scoring}/scores/{customer_id}", lambda s: s["last_nps"] == 2)
    assert score["churn_risk"] is not None
    view = await json_when(http, f"{profile}/customers/{customer_id}", lambda c: c["scores"]["nps"] == 2)
    assert view["customer_id"] == customer_id
