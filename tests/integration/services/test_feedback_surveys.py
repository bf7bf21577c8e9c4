"""Surveys over HTTP, invitations with signed links, public answers, responses from other channels, analytics."""
from __future__ import annotations

import asyncio
import json
import os
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from services.feedback import tokens
from services.feedback.app import create_app
from services.feedback.settings import FeedbackSettings
from tests.support.apps import running_app, settings_for
from tools.scratch_databases import fresh_database
from tests.support.kafka import read_until

SETTINGS = dict(survey_cooldown_days=30, public_survey_base_url="https://survey.example.com",
                survey_token_key="integration-test-key-" + "x" * 20, max_comment_chars=200)


@pytest.fixture(scope="module")
async def feedback(broker: str, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    async with fresh_database(os.environ.get("TEST_DATABASE_URL"), tmp_path_factory.mktemp("feedback")) as url:
        settings = settings_for(FeedbackSettings, database_url=url, broker=broker, **SETTINGS)
        async with running_app(create_app, settings) as running:
            yield running


def new_id(prefix: str = "c") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def nps_survey(survey_id: str) -> dict[str, Any]:
    return {"survey_id": survey_id, "name": "Post-purchase NPS", "definition": {
        "default_locale": "en",
        "questions": [
            {"id": "nps", "type": "nps", "text": {"en": "How likely are you to recommend us?", "zh-CN": "您向朋友推荐我们的可能性有多大？"}},
            {"id": "why", "type": "text", "required": False, "text": {"en": "Why?", "zh-CN": "原因？"}},
            {"id": "channel", "type": "single_choice", "required": False, "text": {"en": "Where did you buy?"},
             "options": [{"id": "web", "text": {"en": "Online", "zh-CN": "网上"}}, {"id": "store", "text": {"en": "Store"}}]},
        ]}}


async def create_survey(http: httpx.AsyncClient) -> str:
    survey_id = new_id("srv")
    response = await http.post("/surveys", json=nps_survey(survey_id))
    assert response.status_code == 201, response.text
    return survey_id


async def invite(http: httpx.AsyncClient, survey_id: str, *customer_ids: str, **extra: Any) -> dict[str, Any]:
    response = await http.post("/invitations", json={"survey_id": survey_id, "customer_ids": list(customer_ids), **extra})
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


def token_of(url: str) -> str:
    return url.rsplit("/s/", 1)[1]


PUBLIC = {"Authorization": ""}  # the public pages need no API key


async def test_a_survey_is_created_revised_into_a_new_version_and_archived(feedback) -> None:  # type: ignore[no-untyped-def]
    _, http = feedback
    survey_id = await create_survey(http)
    created = (await http.get(f"/surveys/{survey_id}")).json()
    assert (created["kind"], created["version"], created["status"]) == ("nps", 1, "active")
    revised_definition = nps_survey(survey_id)["definition"] | {"default_locale": "en"}
    revised_definition["questions"] = revised_definition["questions"][:1]
    revised = await http.put(f"/surveys/{survey_id}", json={"definition": revised_definition, "name": "NPS v2"})
    assert (revised.json()["version"], revised.json()["name"]) == (2, "NPS v2")
    first = (await http.get(f"/surveys/{survey_id}/versions/1")).json()
    assert len(first["definition"]["questions"]) == 3
    archived = await http.delete(f"/surveys/{survey_id}")
    assert archived.json()["status"] == "archived"
    refused = await http.post("/invitations", json={"survey_id": survey_id, "customer_ids": [new_id()]})
    assert refused.status_code == 409
    listed = (await http.get("/surveys", params={"status": "archived", "limit": 1000})).json()
    assert survey_id in {s["survey_id"] for s in listed["items"]}


async def test_an_inconsistent_definition_is_refused_naming_the_field(feedback) -> None:  # type: ignore[no-untyped-def]
    _, http = feedback
    body = nps_survey(new_id("srv"))
    body["definition"]["questions"].append({"id": "why", "type": "csat", "text": {"en": "again"}})
    response = await http.post("/surveys", json=body)
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    assert "question ids must be unique; why repeats" in response.json()["detail"]
    assert response.json()["errors"][0]["field"].startswith("body.definition")


async def test_an_invited_customer_answers_once_through_the_link_and_feedback_is_published(feedback, broker: str) -> None:  # type: ignore[no-untyped-def]
    _, http = feedback
    survey_id, customer_id = await create_survey(http), new_id()
    invited = (await invite(http, survey_id, customer_id, locale="zh-CN", channel="wechat"))["invited"][0]
    assert invited["url"].startswith("https://survey.example.com/s/")
    sent = await read_until(broker, "survey-invited", lambda rs: len(rs) >= 1, key=customer_id)
    assert json.loads(sent[0].value)["data"]["url"] == invited["url"]

    page = await http.get(f"/s/{token_of(invited['url'])}", headers=PUBLIC)
    assert page.status_code == 200, page.text
    assert page.json()["locale"] == "zh-CN"
    assert page.json()["questions"][0]["text"] == "您向朋友推荐我们的可能性有多大？"
    assert page.json()["questions"][2]["options"][0]["text"] == "网上"

    answered = await http.post(f"/s/{token_of(invited['url'])}", headers=PUBLIC,
                               json={"answers": {"nps": 3, "why": "快递太慢了，客服态度很差"}})
    assert answered.status_code == 201, answered.text
    again = await http.post(f"/s/{token_of(invited['url'])}", headers=PUBLIC, json={"answers": {"nps": 10}})
    assert again.status_code == 409
    assert again.json()["errors"][0]["field"] == "path.token"

    received = await read_until(broker, "feedback-received", lambda rs: len(rs) >= 1, key=customer_id)
    data = json.loads(received[0].value)["data"]
    assert (data["kind"], data["score"], data["sentiment"]) == ("nps", 3, "negative")
    assert {"delivery", "service"} <= set(data["themes"])
    assert data["invitation_id"] == invited["invitation_id"]
    stored = (await http.get(f"/responses/{answered.json()['response_id']}")).json()
    assert (stored["version"], stored["channel"]) == (1, "wechat")


@pytest.mark.parametrize(("answers", "field", "message"), [
    ({"nps": 11}, "body.answers.nps", "must be between 0 and 10"),
    ({"nps": "ten"}, "body.answers.nps", "must be a whole number between 0 and 10"),
    ({"nps": 9, "colour": "red"}, "body.answers.colour", "unknown question colour"),
    ({"why": "no score"}, "body.answers.nps", "question nps is required"),
    ({"nps": 9, "why": "x" * 201}, "body.answers.why", "must be at most 200 characters (got 201)"),
    ({"nps": 9, "channel": "phone"}, "body.answers.channel", "must be one of ['store', 'web']"),
])
async def test_invalid_answers_are_refused_naming_the_field_and_nothing_is_stored(
        feedback, answers: dict[str, Any], field: str, message: str) -> None:  # type: ignore[no-untyped-def]
    _, http = feedback
    survey_id, customer_id = await create_survey(http), new_id()
    token = token_of((await invite(http, survey_id, customer_id))["invited"][0]["url"])
    refused = await http.post(f"/s/{token}", headers=PUBLIC, json={"answers": answers})
    assert refused.status_code == 422
    assert refused.headers["content-type"] == "application/problem+json"
    assert {"field": field, "message": message} in refused.json()["errors"]
    assert (await http.get("/responses", params={"customer_id": customer_id})).json()["items"] == []
    assert (await http.post(f"/s/{token}", headers=PUBLIC, json={"answers": {"nps": 8}})).status_code == 201


async def test_tampered_and_expired_links_are_refused(feedback) -> None:  # type: ignore[no-untyped-def]
    app, http = feedback
    survey_id, customer_id = await create_survey(http), new_id()
    invited = (await invite(http, survey_id, customer_id))["invited"][0]
    payload, signature = token_of(invited["url"]).split(".")
    forged = tokens.sign(invited["invitation_id"], datetime.now(UTC) + timedelta(days=400), "not-the-key")
    for bad in (f"{payload}.{signature[::-1]}", forged, "nonsense"):
        refused = await http.get(f"/s/{bad}", headers=PUBLIC)
        assert refused.status_code == 403, bad
        assert refused.json()["errors"] == [{"field": "path.token", "message": "this survey link is not valid"}]
    key = app.state.settings.survey_token_key
    expired = tokens.sign(invited["invitation_id"], datetime.now(UTC) - timedelta(seconds=1), key)
    gone = await http.post(f"/s/{expired}", headers=PUBLIC, json={"answers": {"nps": 9}})
    assert gone.status_code == 410
    assert gone.json()["detail"] == "this survey link has expired"


async def test_customers_invited_within_the_cooldown_are_skipped(feedback) -> None:  # type: ignore[no-untyped-def]
    _, http = feedback
    survey_id, recent, fresh = await create_survey(http), new_id(), new_id()
    await invite(http, survey_id, recent)
    outcome = await invite(http, survey_id, recent, fresh, fresh)
    assert [i["customer_id"] for i in outcome["invited"]] == [fresh]
    assert outcome["skipped"] == [{"customer_id": recent, "reason": "cooldown"}]
    forced = await invite(http, survey_id, recent, bypass_cooldown=True)
    assert [i["customer_id"] for i in forced["invited"]] == [recent]


async def test_responses_from_other_channels_are_validated_and_tied_to_their_version(feedback) -> None:  # type: ignore[no-untyped-def]
    _, http = feedback
    survey_id, customer_id = await create_survey(http), new_id()
    body = {"customer_id": customer_id, "survey_id": survey_id, "channel": "phone", "answers": {"nps": 10}}
    recorded = await http.post("/responses", json=body)
    assert recorded.status_code == 201, recorded.text
    assert (recorded.json()["version"], recorded.json()["score"]) == (1, 10)
    refused = await http.post("/responses", json=body | {"answers": {"nps": 12}})
    assert refused.status_code == 422
    assert refused.json()["errors"][0]["field"] == "body.answers.nps"
    unauthorised = await http.post("/responses", json=body, headers=PUBLIC)
    assert unauthorised.status_code == 401


async def test_nps_trend_and_breakdowns_come_from_the_stored_responses(feedback) -> None:  # type: ignore[no-untyped-def]
    _, http = feedback
    survey_id = await create_survey(http)
    week_one, week_two = "2026-11-02T10:00:00Z", "2026-11-11T10:00:00Z"  # Monday 2 Nov; Wednesday 11 Nov
    answers = [(10, "phone", week_one, "Great service, friendly staff"), (9, "phone", week_one, None),
               (3, "store", week_one, "The price is too expensive, really disappointing"), (8, "store", week_two, None),
               (0, "store", week_two, "质量太差了，做工很差")]
    for score, channel, at, comment in answers:
        body = {"customer_id": new_id(), "survey_id": survey_id, "channel": channel, "responded_at": at,
                "answers": {"nps": score, **({"why": comment} if comment else {})}}
        assert (await http.post("/responses", json=body)).status_code == 201
    report = (await http.get("/analytics/nps", params={"survey_id": survey_id, "granularity": "week"})).json()
    assert report["overall"]["nps"] == 0.0  # 2 promoters, 2 detractors of 5
    assert report["overall"]["ci_low"] < 0 < report["overall"]["ci_high"]
    assert [(row["period"], row["nps"], row["responses"]) for row in report["series"]] == [
        ("2026-11-02", 33.33, 3), ("2026-11-09", -50.0, 2)]
    by_channel = (await http.get("/analytics/nps", params={"survey_id": survey_id, "group_by": "channel"})).json()
    assert {row["channel"]: row["nps"] for row in by_channel["series"]} == {"phone": 100.0, "store": -66.67}
    themes = (await http.get("/analytics/themes", params={"since": "2026-11-01T00:00:00Z", "until": "2026-11-30T00:00:00Z",
                                                          "granularity": "month"})).json()["items"]
    counted = {(row["period"], row["theme"]): row["count"] for row in themes}
    assert counted[("2026-11-01", "quality")] >= 1 and counted[("2026-11-01", "price")] >= 1
    sentiment = (await http.get("/analytics/sentiment", params={"survey_id": survey_id})).json()["items"]
    assert {row["sentiment"]: row["count"] for row in sentiment} == {"positive": 1, "negative": 2}


async def test_csat_ces_and_response_rate_are_reported_per_survey(feedback) -> None:  # type: ignore[no-untyped-def]
    _, http = feedback
    survey_id = new_id("srv")
    definition = {"questions": [{"id": "sat", "type": "csat", "text": {"en": "Satisfied?"}},
                                {"id": "effort", "type": "ces", "required": False, "text": {"en": "Easy?"}}]}
    assert (await http.post("/surveys", json={"survey_id": survey_id, "name": "CSAT", "definition": definition})).status_code == 201
    customers = [new_id() for _ in range(4)]
    invited = (await invite(http, survey_id, *customers))["invited"]
    for invitation, score, effort in zip(invited[:3], (5, 4, 2), (2, 3, 7)):
        answers = {"sat": score, "effort": effort}
        posted = await http.post(f"/s/{token_of(invitation['url'])}", headers=PUBLIC, json={"answers": answers})
        assert posted.status_code == 201, posted.text
    csat = (await http.get("/analytics/csat", params={"survey_id": survey_id})).json()["overall"]
    assert (csat["csat"], csat["responses"]) == (66.67, 3)
    ces = (await http.get("/analytics/ces", params={"survey_id": survey_id})).json()["overall"]
    assert (ces["ces"], ces["responses"]) == (4.0, 3)  # the CES question of a CSAT survey counts too
    rate = (await http.get("/analytics/response-rate", params={"survey_id": survey_id})).json()["items"]
    assert rate == [{"survey_id": survey_id, "invited": 4, "responded": 3, "response_rate": 75.0}]
    by_trigger = (await http.get("/analytics/response-rate", params={"survey_id": survey_id, "group_by": "trigger"})).json()
    assert by_trigger["items"] == [{"trigger": "manual", "invited": 4, "responded": 3, "response_rate": 75.0}]


async def test_ces_is_the_mean_effort_of_a_ces_survey(feedback) -> None:  # type: ignore[no-untyped-def]
    _, http = feedback
    survey_id = new_id("srv")
    definition = {"questions": [{"id": "effort", "type": "ces", "text": {"en": "How easy was it?"}}]}
    assert (await http.post("/surveys", json={"survey_id": survey_id, "name": "CES", "definition": definition})).status_code == 201
    for effort in (2, 3, 7):
        body = {"customer_id": new_id(), "survey_id": survey_id, "channel": "in_app", "answers": {"effort": effort}}
        assert (await http.post("/responses", json=body)).status_code == 201
    ces = (await http.get("/analytics/ces", params={"survey_id": survey_id, "group_by": "channel"})).json()
    assert (ces["overall"]["ces"], ces["overall"]["responses"]) == (4.0, 3)
    assert ces["series"] == [{"channel": "in_app", "ces": 4.0, "responses": 3}]


async def test_answers_arriving_together_each_succeed_or_fail_on_their_own(feedback) -> None:  # type: ignore[no-untyped-def]
    _, http = feedback
    survey_id = await create_survey(http)
    customers = [new_id() for _ in range(12)]
    tokens_ = [token_of(i["url"]) for i in (await invite(http, survey_id, *customers))["invited"]]
    bodies = [(token, {"answers": {"nps": n % 11}}) for n, token in enumerate(tokens_)]
    bodies += [(tokens_[0], {"answers": {"nps": 10}}), (tokens_[1], {"answers": {"nps": 99}})]  # a twin, an invalid one
    answered = await asyncio.gather(*(http.post(f"/s/{token}", headers=PUBLIC, json=body) for token, body in bodies))
    statuses = [r.status_code for r in answered]
    assert statuses[2:12] == [201] * 10
    assert sorted(statuses[0::12][:2]) == [201, 409]  # the first answer and its twin: one wins
    assert statuses[1] == 201 and statuses[13] in (409, 422)
    stored = [(await http.get("/responses", params={"customer_id": c})).json()["items"] for c in customers]
    assert [len(items) for items in stored] == [1] * 12


async def test_an_nps_survey_counts_its_csat_and_ces_questions_every_one(feedback) -> None:  # type: ignore[no-untyped-def]
    _, http = feedback
    survey_id = new_id("srv")
    definition = {"questions": [{"id": "nps", "type": "nps", "text": {"en": "Recommend us?"}},
                                {"id": "delivery", "type": "csat", "text": {"en": "Delivery?"}},
                                {"id": "support", "type": "csat", "required": False, "text": {"en": "Support?"}},
                                {"id": "effort", "type": "ces", "required": False, "text": {"en": "Easy?"}}]}
    assert (await http.post("/surveys", json={"survey_id": survey_id, "name": "NPS+", "definition": definition})).status_code == 201
    invited = (await invite(http, survey_id, *(new_id() for _ in range(3))))["invited"]
    for invitation, answers in zip(invited, ({"nps": 10, "delivery": 5, "support": 2, "effort": 2},
                                             {"nps": 4, "delivery": 4, "effort": 6},
                                             {"nps": 8, "delivery": 1})):
        posted = await http.post(f"/s/{token_of(invitation['url'])}", headers=PUBLIC, json={"answers": answers})
        assert posted.status_code == 201, posted.text
    nps = (await http.get("/analytics/nps", params={"survey_id": survey_id})).json()["overall"]
    assert (nps["nps"], nps["responses"]) == (0.0, 3)
    csat = (await http.get("/analytics/csat", params={"survey_id": survey_id})).json()["overall"]
    assert (csat["csat"], csat["satisfied"], csat["responses"]) == (50.0, 2, 4)  # 5 and 4 satisfied among 5, 2, 4 and 1
    ces = (await http.get("/analytics/ces", params={"survey_id": survey_id})).json()["overall"]
    assert (ces["ces"], ces["responses"]) == (4.0, 2)
