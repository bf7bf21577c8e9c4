"""Survey definitions and the rules answers must follow: pure values, no I/O.

A definition is a list of questions; each question has a type with its own scale or options, may be
optional, may be shown only when an earlier answer meets a condition (skip logic), and carries its text
per locale. Answers are validated against the version of the definition they answer.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

QuestionType = Literal["nps", "csat", "ces", "single_choice", "multiple_choice", "rating", "text"]
ConditionOp = Literal["eq", "ne", "lt", "lte", "gt", "gte", "in", "answered"]
QuestionId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{1,40}$")]
LocaleCode = Annotated[str, StringConstraints(pattern=r"^[A-Za-z]{2,3}([-_][A-Za-z0-9]{2,8}){0,3}$")]
Texts = Annotated[dict[LocaleCode, Annotated[str, StringConstraints(min_length=1, max_length=1000)]],
                  Field(min_length=1, max_length=30)]

#: Fixed scales of the standard questions: NPS 0-10, CSAT 1-5, CES 1-7.
SCALES: dict[str, tuple[int, int]] = {"nps": (0, 10), "csat": (1, 5), "ces": (1, 7)}
SCORED_TYPES = ("nps", "csat", "ces")
CHOICE_TYPES = ("single_choice", "multiple_choice")
#: The longest comment a response carries (and its event allows); the answers keep every word.
COMMENT_LIMIT = 5000


class Option(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: QuestionId
    text: Texts


class Condition(BaseModel):
    """Show the question only when the answer to an earlier question meets this."""

    model_config = ConfigDict(extra="forbid")

    question: QuestionId
    op: ConditionOp
    value: int | str | list[int | str] | None = None


class Question(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: QuestionId
    type: QuestionType
    text: Texts
    required: bool = True
    options: list[Option] = Field(default_factory=list, max_length=50)
    #: Highest point of a `rating` question (1..scale).
    scale: int | None = Field(default=None, ge=2, le=10)
    #: Longest answer a `text` question accepts.
    max_length: int | None = Field(default=None, ge=1, le=5000)
    min_choices: int | None = Field(default=None, ge=0)
    max_choices: int | None = Field(default=None, ge=1)
    show_if: Condition | None = None

    @model_validator(mode="after")
    def _shape_fits_the_type(self) -> Question:
        if self.type in CHOICE_TYPES:
            if len(self.options) < 2:
                raise ValueError(f"question {self.id}: a {self.type} question needs at least 2 options")
            if len({option.id for option in self.options}) != len(self.options):
                raise ValueError(f"question {self.id}: option ids must be unique")
        elif self.options:
            raise ValueError(f"question {self.id}: only choice questions have options")
        if self.type == "rating" and self.scale is None:
            self.scale = 5
        return self

    def bounds(self) -> tuple[int, int] | None:
        if self.type in SCALES:
            return SCALES[self.type]
        if self.type == "rating":
            return 1, self.scale or 5
        return None


class SurveyDefinition(BaseModel):
    """What a survey asks; each change is a new version."""

    model_config = ConfigDict(extra="forbid")

    default_locale: LocaleCode = "en"
    questions: list[Question] = Field(min_length=1, max_length=50)

    @model_validator(mode="after")
    def _questions_are_consistent(self) -> SurveyDefinition:
        seen: dict[str, Question] = {}
        for question in self.questions:
            if question.id in seen:
                raise ValueError(f"question ids must be unique; {question.id} repeats")
            if self.default_locale not in question.text:
                raise ValueError(f"question {question.id}: no text in the default locale {self.default_locale}")
            condition = question.show_if
            if condition is not None and condition.question not in seen:
                raise ValueError(f"question {question.id}: show_if must refer to an earlier question")
            seen[question.id] = question
        return self

    @property
    def kind(self) -> str:
        """nps, csat or ces after the first standard question; `other` when there is none."""
        return next((q.type for q in self.questions if q.type in SCORED_TYPES), "other")


@dataclass(frozen=True)
class AnswerError:
    field: str
    message: str


@dataclass(frozen=True)
class Scored:
    kind: str
    score: int | None
    comment: str | None


def validate_answers(definition: SurveyDefinition, answers: dict[str, Any], *,
                     max_comment_chars: int) -> list[AnswerError]:
    """Every reason to refuse these answers, each naming its field; empty when they are acceptable."""
    known = {q.id for q in definition.questions}
    errors = [AnswerError(f"answers.{qid}", f"unknown question {qid}") for qid in answers if qid not in known]
    for question in definition.questions:
        field = f"answers.{question.id}"
        given = answers.get(question.id)
        if not is_shown(question, answers):
            if given is not None:
                errors.append(AnswerError(field, f"question {question.id} is skipped for these answers"))
            continue
        if given is None:
            if question.required:
                errors.append(AnswerError(field, f"question {question.id} is required"))
            continue
        message = answer_problem(question, given, max_comment_chars=max_comment_chars)
        if message:
            errors.append(AnswerError(field, message))
    return errors


def answer_problem(question: Question, value: Any, *, max_comment_chars: int) -> str | None:
    """Why `value` cannot answer `question`, or None."""
    bounds = question.bounds()
    if bounds is not None:
        if not isinstance(value, int) or isinstance(value, bool):
            return f"must be a whole number between {bounds[0]} and {bounds[1]}"
        if not bounds[0] <= value <= bounds[1]:
            return f"must be between {bounds[0]} and {bounds[1]}"
        return None
    option_ids = {option.id for option in question.options}
    if question.type == "single_choice":
        if not isinstance(value, str) or value not in option_ids:
            return f"must be one of {sorted(option_ids)}"
        return None
    if question.type == "multiple_choice":
        return _choices_problem(question, value, option_ids)
    if not isinstance(value, str):
        return "must be text"
    limit = min(question.max_length or max_comment_chars, max_comment_chars)
    if len(value) > limit:
        return f"must be at most {limit} characters (got {len(value)})"
    return None


def _choices_problem(question: Question, value: Any, option_ids: set[str]) -> str | None:
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        return "must be a list of option ids"
    unknown = [item for item in value if item not in option_ids]
    if unknown:
        return f"unknown options {unknown}; choose from {sorted(option_ids)}"
    if len(set(value)) != len(value):
        return "options must not repeat"
    low = question.min_choices if question.min_choices is not None else (1 if question.required else 0)
    high = question.max_choices or len(option_ids)
    if not low <= len(value) <= high:
        return f"choose between {low} and {high} options"
    return None


def is_shown(question: Question, answers: dict[str, Any]) -> bool:
    condition = question.show_if
    if condition is None:
        return True
    given = answers.get(condition.question)
    if condition.op == "answered":
        return given is not None
    if given is None:
        return False
    return _holds(condition.op, given, condition.value)


def _holds(op: str, given: Any, expected: Any) -> bool:
    if op == "in":
        return isinstance(expected, list) and given in expected
    if op in ("eq", "ne"):
        return (given == expected) == (op == "eq")
    try:
        return {"lt": given < expected, "lte": given <= expected,
                "gt": given > expected, "gte": given >= expected}[op]
    except TypeError:
        return False


def scored(definition: SurveyDefinition, answers: dict[str, Any]) -> Scored:
    """The headline score (the first standard question answered) and the free-text comment."""
    kind = definition.kind
    score = next((answers[q.id] for q in definition.questions if q.type == kind and q.id in answers), None)
    texts = [answers[q.id].strip() for q in definition.questions
             if q.type == "text" and isinstance(answers.get(q.id), str) and answers[q.id].strip()]
    return Scored(kind=kind, score=score, comment="\n".join(texts)[:COMMENT_LIMIT] or None)


@dataclass(frozen=True)
class QuestionScore:
    question_id: str
    kind: str
    score: int


def question_scores(definition: SurveyDefinition, answers: dict[str, Any]) -> list[QuestionScore]:
    """Every NPS, CSAT and CES question answered, whatever the survey's headline kind: an NPS survey's
    CSAT question counts towards CSAT as fully as a CSAT survey's."""
    return [QuestionScore(q.id, q.type, answers[q.id]) for q in definition.questions
            if q.type in SCORED_TYPES and isinstance(answers.get(q.id), int)]


def pick_locale(available: set[str] | dict[str, str], wanted: str | None, default: str) -> str:
    """The locale to show: the one asked for, else its language, else the survey's default."""
    if wanted:
        normalised = wanted.replace("_", "-")
        for candidate in (wanted, normalised):
            if candidate in available:
                return candidate
        language = normalised.split("-")[0].lower()
        for locale in available:
            if locale.replace("_", "-").split("-")[0].lower() == language:
                return locale
    return default


def localised(definition: SurveyDefinition, locale: str | None) -> dict[str, Any]:
    """The definition with one text per question and option, in the best locale for `locale`."""
    def text(texts: dict[str, str]) -> str:
        return texts[pick_locale(texts, locale, definition.default_locale)] if texts else ""

    questions = []
    for question in definition.questions:
        shown = question.model_dump(exclude={"text", "options"}, exclude_none=True)
        shown["text"] = text(question.text)
        if question.options:
            shown["options"] = [{"id": o.id, "text": text(o.text)} for o in question.options]
        if question.bounds():
            shown["min"], shown["max"] = question.bounds()  # type: ignore[misc]
        questions.append(shown)
    return {"questions": questions}
