"""Group commit for intake: messages accepted at the same moment share one transaction.

Each accepted message costs its raw bytes, its outbox records and a look-up for an
earlier copy; written one transaction per message, the round trips to the database
and the commit are most of intake's cost. Here, while one transaction is being
written, the messages that arrive queue up, and the next transaction takes them all:
under load a transaction carries many messages, and a lone message waits for nobody.

Nothing changes for the sender: a message is accepted only once the transaction
holding it has committed. If a shared transaction fails on a constraint (the same
message arriving twice at once, through another process), each of its messages is
written again on its own, so one message's conflict never fails another's.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy.exc import IntegrityError

from hub.ports import BusRecord
from hub.services.unit_of_work import UnitOfWorkFactory
from hub.store.messages import Earlier, NewMessage, ResendKey
from hub.store.unit_of_work import UnitOfWork

MAX_GROUP = 200


@dataclass(eq=False)
class Submission:
    """One message to write, with the outbox records it publishes."""

    message: NewMessage
    records: Sequence[BusRecord]
    done: asyncio.Future[Earlier | None] = field(
        default_factory=lambda: asyncio.get_running_loop().create_future()
    )

    @property
    def resend_key(self) -> ResendKey | None:
        m = self.message
        return None if m.source_id is None else (m.format, m.sender.org, m.source_id)


class IntakeWriter:
    """Writes submissions in shared transactions, each opened by ``units`` (the store's
    unit of work: the inbound messages and the outbox are not on the port)."""

    def __init__(self, units: UnitOfWorkFactory[UnitOfWork], *, max_group: int = MAX_GROUP) -> None:
        self._units = units
        self._max_group = max_group
        self._queue: list[Submission] = []
        self._writing = asyncio.Lock()

    async def write(self, submission: Submission) -> Earlier | None:
        """Write ``submission`` durably; the earlier copy instead when it is a re-send."""
        self._queue.append(submission)
        async with self._writing:
            if submission in self._queue:  # no earlier writer took it along
                group, self._queue = self._queue[: self._max_group], self._queue[self._max_group :]
                # A caller that goes away (a closed connection) must not leave the
                # others of its group without an answer: the write runs to its end.
                await asyncio.shield(self._write_group(group))
        return await asyncio.shield(submission.done)

    async def _write_group(self, group: list[Submission]) -> None:
        try:
            outcomes = await self._write_together(group)
        except IntegrityError:
            for submission in group:
                await self._write_alone(submission)
            return
        except Exception as error:
            for submission in group:
                _settle(submission.done, error=error)
            return
        for submission, earlier in zip(group, outcomes, strict=True):
            _settle(submission.done, earlier)

    async def _write_together(self, group: list[Submission]) -> list[Earlier | None]:
        async with self._units() as uow:
            keys = [key for s in group if (key := s.resend_key) is not None]
            found = await uow.inbound.find_resent_many(keys)
            outcomes: list[Earlier | None] = []
            new: list[Submission] = []
            for submission in group:
                key = submission.resend_key
                earlier = found.get(key) if key is not None else None
                outcomes.append(earlier)
                if earlier is not None:
                    continue
                new.append(submission)
                if key is not None:
                    # The same message twice in one group: the second is a re-send of the first.
                    m = submission.message
                    found[key] = Earlier(m.message_id, key[2], m.fingerprint)
            await uow.inbound.add_many([s.message for s in new])
            await uow.outbox.add_many([r for s in new for r in s.records])
            await uow.commit()
        return outcomes

    async def _write_alone(self, submission: Submission) -> None:
        try:
            (earlier,) = await self._write_together([submission])
        except IntegrityError:
            key = submission.resend_key
            if key is None:
                _settle(submission.done, error=RuntimeError("intake write conflicted"))
                return
            # Another process accepted the same message at the same moment; it won.
            async with self._units() as uow:
                found = await uow.inbound.find_resent_many([key])
            if key in found:
                _settle(submission.done, found[key])
            else:
                _settle(submission.done, error=RuntimeError("intake write conflicted"))
            return
        except Exception as error:
            _settle(submission.done, error=error)
            return
        _settle(submission.done, earlier)


def _settle(
    done: asyncio.Future[Earlier | None],
    earlier: Earlier | None = None,
    *,
    error: BaseException | None = None,
) -> None:
    if done.done():
        return
    if error is not None:
        done.set_exception(error)
    else:
        done.set_result(earlier)
