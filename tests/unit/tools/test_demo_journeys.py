"""The demo's default journeys are valid definitions and cover the journeys users expect."""
import pytest

from services.engagement.journey_rules import definition_problems
from services.engagement.schemas_journeys import JourneyWrite
from tools.demo_journeys import DEFAULT_JOURNEYS


@pytest.mark.parametrize("journey_id", sorted(DEFAULT_JOURNEYS))
def test_each_default_journey_is_a_valid_definition(journey_id: str) -> None:
    definition = JourneyWrite.model_validate(DEFAULT_JOURNEYS[journey_id]).model_dump(mode="json", by_alias=True)
    assert definition_problems(definition) == []


def test_the_defaults_answer_every_kind_of_trigger() -> None:
    triggers = {(d["trigger"]["event"], d["trigger"].get("to") or d["trigger"].get("direction"))
                for d in DEFAULT_JOURNEYS.values()}
    assert triggers >= {("tier-changed", "high-value"), ("tier-changed", "down"), ("purchase-recorded", None),
                        ("lifecycle-stage-changed", "at-risk"), ("lifecycle-stage-changed", "churned"),
                        ("feedback-received", None), ("complaint-opened", None), ("birthday", None), ("holiday", None)}
