"""Group commit for answers through survey links.

Answers that arrive while a transaction is under way wait for the next one and share it, so a burst
costs a few transactions instead of one each (and, on SQLite, no fight over the write lock). Each
answer still succeeds or fails on its own: answers are checked before anything is written, claimed
together with one guarded UPDATE (an invitation is claimed once, however many requests race for it),
then stored. A caller hears back only after the commit that holds its answer.
"""
from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select

from services.feedback.errors import FeedbackError
from services.feedback.handlers_responses import (
    CheckedAnswer,
    already_answered,
    check_answer,
    claim_invitations,
    store_answer,
)
from services.feedback.handlers_surveys import Definitions
from services.feedback.models import CustomerStanding, Invitation, Response
from services.feedback.settings import FeedbackSettings
from shared.logging import (
    current_correlation_id,
    reset_correlation_id,
    set_correlation_id,
)
from shared.uow import UnitOfWork

log = logging.getLogger(__name__)
Outcome = Response | FeedbackError


@dataclass
class _Answer:
    invitation_id: str
    answers: dict[str, Any]
    at: datetime
    correlation_id: str | None
    outcome: asyncio.Future[Response]


class AnswerBatcher:
    def __init__(self, unit_of_work: Callable[[], UnitOfWork], settings: FeedbackSettings,
                 definitions: Definitions, *, max_batch: int = 200):
        self._unit_of_work = unit_of_work
        self._settings = settings
        self._definitions = definitions
        self._max_batch = max_batch
        self._waiting: list[_Answer] = []
        self._worker: asyncio.Task[None] | None = None

    async def submit(self, invitation_id: str, answers: dict[str, Any], *, at: datetime) -> Response:
        answer = _Answer(invitation_id, answers, at, current_correlation_id(),
                         asyncio.get_running_loop().create_future())
        self._waiting.append(answer)
        if self._worker is None or self._worker.done():
            self._worker = asyncio.create_task(self._drain(), name="feedback-answer-batcher")
        return await answer.outcome

    async def _drain(self) -> None:
        while self._waiting:
            batch, self._waiting = self._waiting[:self._max_batch], self._waiting[self._max_batch:]
            try:
                await self._apply(batch)
            except Exception:
                # Something other than a refused answer broke the shared transaction (which rolled
                # back): give each answer a transaction of its own, so one cannot fail the others.
                log.warning("answer batch failed; applying its answers one by one", exc_info=True)
                for answer in batch:
                    try:
                        await self._apply([answer])
                    except Exception as exc:  # noqa: BLE001 - the caller gets whatever went wrong
                        _settle(answer, exc)

    async def _apply(self, batch: list[_Answer]) -> None:
        async with self._unit_of_work() as uow:
            standings = await _preload(uow, [answer.invitation_id for answer in batch])
            outcomes: list[Outcome | None] = [None] * len(batch)
            checked: dict[int, CheckedAnswer] = {}
            for index, answer in enumerate(batch):
                try:
                    checked[index] = await check_answer(uow, self._settings, self._definitions,
                                                        answer.invitation_id, answer.answers)
                except FeedbackError as refused:
                    outcomes[index] = refused
            claimed = await claim_invitations(uow, [c.invitation.invitation_id for c in checked.values()],
                                              now=max(answer.at for answer in batch))
            for index, answer_checked in checked.items():
                outcomes[index] = await self._store(uow, batch[index], answer_checked, claimed, standings)
            await uow.commit()
        for answer, outcome in zip(batch, outcomes):
            _settle(answer, outcome)  # type: ignore[arg-type]

    async def _store(self, uow: UnitOfWork, answer: _Answer, checked: CheckedAnswer, claimed: set[str],
                     standings: dict[str, CustomerStanding]) -> Outcome:
        invitation_id = checked.invitation.invitation_id
        if invitation_id not in claimed:  # answered before, or by a twin earlier in this batch
            return already_answered()
        claimed.discard(invitation_id)
        # The events an answer causes carry the correlation id of the request that brought it.
        token = set_correlation_id(answer.correlation_id)
        try:
            return await store_answer(uow, self._settings, checked, at=answer.at,
                                      standing=standings.get(checked.invitation.customer_id))
        finally:
            reset_correlation_id(token)


async def _preload(uow: UnitOfWork, invitation_ids: list[str]) -> dict[str, CustomerStanding]:
    """Read the batch's invitations and their customers' standing in two queries; the session's
    identity map then answers the per-answer lookups."""
    invitations = (await uow.session.scalars(
        select(Invitation).where(Invitation.invitation_id.in_(set(invitation_ids))))).all()
    customer_ids = {invitation.customer_id for invitation in invitations}
    if not customer_ids:
        return {}
    standings = await uow.session.scalars(
        select(CustomerStanding).where(CustomerStanding.customer_id.in_(customer_ids)))
    return {standing.customer_id: standing for standing in standings}


def _settle(answer: _Answer, outcome: Outcome | BaseException) -> None:
    if answer.outcome.done():  # the caller went away
        return
    if isinstance(outcome, BaseException):
        answer.outcome.set_exception(outcome)
    else:
        answer.outcome.set_result(outcome)
