"""Group commit for answers through survey links.

Answers that arrive while a transaction is under way wait for the next one and share it, so a burst
costs a few transactions instead of one each (and, on SQLite, no fight over the write lock). Each
answer still succeeds or fails on its own: the batch's invitations are read in one query, each answer
is checked against its (cached, immutable) survey version before anything is written, the valid ones
claim their invitations with one guarded UPDATE (an invitation is claimed once, however many requests
race for it), and their responses, themes, scores and events are inserted a statement per table.
A caller hears back only after the commit that holds its answer.
"""
from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from services.feedback.errors import FeedbackError
from services.feedback.handlers_responses import (
    OpenedInvitation,
    already_answered,
    announce,
    answer_invitation,
    claim_invitations,
    invitations_to_answer,
    store_responses,
)
from services.feedback.handlers_surveys import Definitions
from services.feedback.new_responses import NewResponse
from services.feedback.settings import FeedbackSettings
from shared.logging import (
    current_correlation_id,
    reset_correlation_id,
    set_correlation_id,
)
from shared.uow import UnitOfWork

log = logging.getLogger(__name__)
Outcome = str | FeedbackError  # the response id, or why the answer was refused


@dataclass
class _Answer:
    invitation_id: str
    answers: dict[str, Any]
    at: datetime
    correlation_id: str | None
    outcome: asyncio.Future[str]


class AnswerBatcher:
    def __init__(self, unit_of_work: Callable[[], UnitOfWork], settings: FeedbackSettings,
                 definitions: Definitions, *, max_batch: int = 200, in_flight: int = 1):
        self._unit_of_work = unit_of_work
        self.settings = settings
        self._definitions = definitions
        self._max_batch = max_batch
        #: Transactions under way at once: while one waits for the database, the next batch is checked.
        self._in_flight = in_flight
        self._waiting: list[_Answer] = []
        self._workers: set[asyncio.Task[None]] = set()

    async def submit(self, invitation_id: str, answers: dict[str, Any], *, at: datetime) -> str:
        """The id of the response the answers were stored as, once committed; FeedbackError when refused."""
        answer = _Answer(invitation_id, answers, at, current_correlation_id(),
                         asyncio.get_running_loop().create_future())
        self._waiting.append(answer)
        # A worker that has just finished may still be in the set (its done callback runs later): count
        # only those still running, or this answer could wait for a worker that never comes.
        self._workers = {worker for worker in self._workers if not worker.done()}
        if len(self._workers) < self._in_flight:
            self._workers.add(asyncio.create_task(self._drain(), name="feedback-answer-batcher"))
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
            invitations = await invitations_to_answer(uow, [answer.invitation_id for answer in batch])
            outcomes: list[Outcome] = []
            built: dict[int, NewResponse] = {}
            for index, answer in enumerate(batch):
                invitation = invitations.get(answer.invitation_id)
                try:
                    definition = (await self._definitions.get(uow, invitation.survey_id, invitation.version)
                                  if invitation is not None else None)
                    built[index] = answer_invitation(self.settings, definition, invitation,  # type: ignore[arg-type]
                                                     answer.answers, at=answer.at)
                    outcomes.append(built[index].response_id)
                except FeedbackError as refused:
                    outcomes.append(refused)
            claimed = await claim_invitations(uow, [batch[index].invitation_id for index in built],
                                              now=max(answer.at for answer in batch))
            stored: dict[int, NewResponse] = {}
            for index, response in built.items():
                invitation_id = batch[index].invitation_id
                if invitation_id in claimed:  # not answered before, nor by a twin earlier in this batch
                    claimed.discard(invitation_id)
                    stored[index] = response
                else:
                    outcomes[index] = already_answered()
            await store_responses(uow, list(stored.values()))
            for index, response in stored.items():
                await self._announce(uow, batch[index], response, invitations[batch[index].invitation_id])
            await uow.commit()
        for answer, outcome in zip(batch, outcomes):
            _settle(answer, outcome)

    async def _announce(self, uow: UnitOfWork, answer: _Answer, response: NewResponse,
                        invitation: OpenedInvitation) -> None:
        # The events an answer causes carry the correlation id of the request that brought it.
        token = set_correlation_id(answer.correlation_id)
        try:
            await announce(uow, self.settings, response, tier=invitation.tier, churn_risk=invitation.churn_risk,
                           stage=invitation.stage)
        finally:
            reset_correlation_id(token)


def _settle(answer: _Answer, outcome: Outcome | BaseException) -> None:
    if answer.outcome.done():  # the caller went away
        return
    if isinstance(outcome, BaseException):
        answer.outcome.set_exception(outcome)
    else:
        answer.outcome.set_result(outcome)
