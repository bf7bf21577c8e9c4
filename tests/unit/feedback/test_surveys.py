"""Survey definitions and the answers they accept."""
from __future__ import annotations

import pytest
from pydantic import ValidationError

from services.feedback.surveys import (
    QuestionScore,
    SurveyDefinition,
    localised,
    pick_locale,
    question_scores,
    scored,
    validate_answers,
)

DEFINITION = SurveyDefinition.model_validate({
    "default_locale": "en",
    "questions": [
        {"id": "nps", "type": "nps", "text": {"en": "Would you recommend us?", "zh-CN": "您会推荐我们吗？"}},
        {"id": "why", "type": "text", "required": False, "max_length": 50,
         "text": {"en": "What should we improve?", "zh-CN": "我们应该改进什么？"},
         "show_if": {"question": "nps", "op": "lte", "value": 6}},
        {"id": "topics", "type": "multiple_choice", "required": False, "text": {"en": "Topics"},
         "options": [{"id": "price", "text": {"en": "Price"}}, {"id": "delivery", "text": {"en": "Delivery"}}]},
        {"id": "store", "type": "single_choice", "required": False, "text": {"en": "Store"},
         "options": [{"id": "a", "text": {"en": "A"}}, {"id": "b", "text": {"en": "B"}}]},
        {"id": "csat", "type": "csat", "required": False, "text": {"en": "Satisfied?"}},
        {"id": "effort", "type": "ces", "required": False, "text": {"en": "Easy?"}},
        {"id": "stars", "type": "rating", "scale": 10, "required": False, "text": {"en": "Stars"}},
    ],
})


def fields(answers: dict) -> dict[str, str]:  # type: ignore[type-arg]
    return {e.field: e.message for e in validate_answers(DEFINITION, answers, max_comment_chars=2000)}


def test_valid_answers_raise_no_error() -> None:
    assert fields({"nps": 3, "why": "slow", "topics": ["price"], "store": "a", "csat": 5, "effort": 7,
                   "stars": 10}) == {}


@pytest.mark.parametrize(("question", "value"), [("nps", 11), ("nps", -1), ("csat", 0), ("csat", 6), ("effort", 8),
                                                 ("stars", 11), ("nps", "9"), ("nps", 9.5), ("nps", True)])
def test_scores_outside_their_scale_or_of_the_wrong_type_are_refused(question: str, value: object) -> None:
    assert f"answers.{question}" in fields({"nps": 5, question: value} if question != "nps" else {"nps": value})


def test_a_missing_required_answer_is_refused() -> None:
    assert fields({}) == {"answers.nps": "question nps is required"}


def test_unknown_question_ids_are_refused() -> None:
    assert fields({"nps": 9, "bogus": 1}) == {"answers.bogus": "unknown question bogus"}


def test_unknown_or_repeated_choices_are_refused() -> None:
    assert "answers.topics" in fields({"nps": 9, "topics": ["price", "weather"]})
    assert "answers.topics" in fields({"nps": 9, "topics": ["price", "price"]})
    assert "answers.store" in fields({"nps": 9, "store": "c"})
    assert "answers.topics" in fields({"nps": 9, "topics": "price"})


def test_a_comment_longer_than_its_question_allows_is_refused() -> None:
    assert fields({"nps": 2, "why": "x" * 51}) == {"answers.why": "must be at most 50 characters (got 51)"}


def test_a_question_skipped_by_its_condition_takes_no_answer() -> None:
    assert fields({"nps": 9, "why": "nothing"}) == {"answers.why": "question why is skipped for these answers"}
    assert fields({"nps": 6, "why": "slow"}) == {}


def test_the_headline_score_and_comment_come_from_the_answers() -> None:
    result = scored(DEFINITION, {"nps": 4, "why": "  slow delivery "})
    assert (result.kind, result.score, result.comment) == ("nps", 4, "slow delivery")


def test_every_nps_csat_and_ces_answer_is_a_score_of_its_own_kind() -> None:
    answers = {"nps": 3, "why": "slow", "topics": ["price"], "csat": 2, "effort": 6, "stars": 9}
    assert question_scores(DEFINITION, answers) == [
        QuestionScore("nps", "nps", 3), QuestionScore("csat", "csat", 2), QuestionScore("effort", "ces", 6)]
    assert question_scores(DEFINITION, {"nps": 10}) == [QuestionScore("nps", "nps", 10)]


def test_a_survey_without_a_standard_question_is_of_kind_other() -> None:
    definition = SurveyDefinition.model_validate(
        {"questions": [{"id": "q", "type": "text", "text": {"en": "Anything?"}}]})
    assert definition.kind == "other"


@pytest.mark.parametrize("broken", [
    {"questions": []},
    {"questions": [{"id": "a", "type": "nps", "text": {"en": "x"}}, {"id": "a", "type": "csat", "text": {"en": "y"}}]},
    {"questions": [{"id": "a", "type": "single_choice", "text": {"en": "x"}, "options": [{"id": "o", "text": {"en": "o"}}]}]},
    {"questions": [{"id": "a", "type": "nps", "text": {"fr": "x"}}]},
    {"questions": [{"id": "a", "type": "nps", "text": {"en": "x"}, "show_if": {"question": "b", "op": "eq", "value": 1}}]},
    {"questions": [{"id": "a", "type": "wheel", "text": {"en": "x"}}]},
])
def test_inconsistent_definitions_are_refused(broken: dict) -> None:  # type: ignore[type-arg]
    with pytest.raises(ValidationError):
        SurveyDefinition.model_validate(broken)


def test_texts_are_shown_in_the_invitations_locale_or_its_language_or_the_default() -> None:
    assert localised(DEFINITION, "zh-CN")["questions"][0]["text"] == "您会推荐我们吗？"
    assert localised(DEFINITION, "zh_TW")["questions"][0]["text"] == "您会推荐我们吗？"
    assert localised(DEFINITION, "fr")["questions"][0]["text"] == "Would you recommend us?"
    assert pick_locale({"en", "zh-CN"}, None, "en") == "en"


def test_localised_questions_carry_their_scale_and_options() -> None:
    questions = {q["id"]: q for q in localised(DEFINITION, "en")["questions"]}
    assert (questions["nps"]["min"], questions["nps"]["max"]) == (0, 10)
    assert questions["topics"]["options"] == [{"id": "price", "text": "Price"}, {"id": "delivery", "text": "Delivery"}]
