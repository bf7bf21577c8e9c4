"""Consent rules: the latest answer per channel and purpose counts; every answer is kept."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

CLOCK_SKEW = timedelta(minutes=5)


@dataclass(frozen=True)
class ConsentAnswer:
    """The customer said yes or no to being contacted on `channel` for `purpose`."""

    channel: str
    purpose: str
    granted: bool
    source: str
    occurred_at: datetime

    @property
    def key(self) -> tuple[str, str]:
        return self.channel, self.purpose


class ConsentInFuture(ValueError):
    pass


def check_answer(answer: ConsentAnswer, now: datetime) -> None:
    """An answer cannot be dated in the future: it would shadow every real answer until then."""
    if answer.occurred_at > now + CLOCK_SKEW:
        raise ConsentInFuture(f"consent for {answer.channel}/{answer.purpose} is dated in the future")


def supersedes(answer: ConsentAnswer, current: ConsentAnswer | None) -> bool:
    """Whether `answer` becomes the current one. An answer reported late (older than the current
    one) goes into the history only; on a tie, the answer received last wins."""
    return current is None or answer.occurred_at >= current.occurred_at


def current_answers(answers: list[ConsentAnswer]) -> dict[tuple[str, str], ConsentAnswer]:
    """Fold a history (in the order received) into the current answer per channel and purpose."""
    current: dict[tuple[str, str], ConsentAnswer] = {}
    for answer in answers:
        if supersedes(answer, current.get(answer.key)):
            current[answer.key] = answer
    return current


def may_contact(current: dict[tuple[str, str], ConsentAnswer], channel: str, purpose: str, *,
                do_not_contact: bool) -> bool:
    """Contact needs a granted answer; do-not-contact overrides every grant."""
    answer = current.get((channel, purpose))
    return not do_not_contact and answer is not None and answer.granted
