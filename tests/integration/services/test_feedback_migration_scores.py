"""Migration 0004 gives responses stored before it a score row per NPS, CSAT and CES question they answered;
the headline score that was already rolled up stays counted, the others wait for the roll-up."""
from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from alembic import command
from sqlalchemy import MetaData, Table, insert, select

from services.feedback.app import DEFINITION
from services.feedback.models import ResponseScore
from shared.db import create_engine
from shared.migrations import alembic_config, upgrade_to_head

DEFINITION_WITH_THREE_SCORES = {"questions": [
    {"id": "first", "type": "nps", "text": {"en": "Recommend us?"}},
    {"id": "sat", "type": "csat", "text": {"en": "Satisfied?"}},
    {"id": "second", "type": "nps", "text": {"en": "Recommend the shop?"}}]}
AT = datetime(2026, 11, 2, 10, tzinfo=UTC)


def response(response_id: str, answers: dict[str, Any], score: int, *, rolled_up: bool) -> dict[str, Any]:
    return {"response_id": response_id, "customer_id": f"c-{response_id}", "survey_id": "s-1", "version": 1,
            "invitation_id": None, "channel": "web", "kind": "nps", "score": score, "comment": None,
            "sentiment": None, "themes": [], "answers": answers, "tier": "ordinary", "responded_at": AT,
            "rolled_up": rolled_up}


async def test_existing_responses_get_a_score_per_question_and_only_their_headline_stays_counted(database_url: str) -> None:
    engine = create_engine(database_url)
    try:
        async with engine.begin() as connection:
            await connection.run_sync(lambda sync: command.upgrade(alembic_config(DEFINITION.migrations, sync), "0003"))

            def fill(sync: Any) -> None:
                tables = MetaData()
                versions, responses = (Table(name, tables, autoload_with=sync) for name in ("survey_versions", "responses"))
                sync.execute(insert(versions).values(survey_id="s-1", version=1, kind="nps",
                                                     definition=DEFINITION_WITH_THREE_SCORES, created_at=AT))
                sync.execute(insert(responses), [
                    response("r1", {"first": 9, "sat": 4, "second": 3}, 9, rolled_up=True),
                    response("r2", {"first": 5}, 5, rolled_up=False),
                    response("r3", {"sat": 2, "second": 10}, 10, rolled_up=True)])
            await connection.run_sync(fill)
        await upgrade_to_head(engine, DEFINITION.migrations)
        async with engine.connect() as connection:
            scores = (await connection.execute(select(ResponseScore.response_id, ResponseScore.question_id,
                                                      ResponseScore.kind, ResponseScore.score,
                                                      ResponseScore.rolled_up))).all()
    finally:
        await engine.dispose()
    assert sorted((r, q, k, s, bool(up)) for r, q, k, s, up in scores) == [
        ("r1", "first", "nps", 9, True), ("r1", "sat", "csat", 4, False), ("r1", "second", "nps", 3, False),
        ("r2", "first", "nps", 5, False),
        ("r3", "sat", "csat", 2, False), ("r3", "second", "nps", 10, True)]
