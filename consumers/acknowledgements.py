"""Acknowledgements: each is recorded against the message it answers."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from hub.config import TOPIC_INBOUND
from hub.domain.events import InboundEvent
from hub.store.unit_of_work import UnitOfWork

_OUTCOMES = frozenset({"ok", "transient-error", "fatal-error"})


class AcknowledgementRecorder:
    """Records a MessageHeader carrying ``response`` (a MedCom Acknowledgement).

    ``response.identifier`` names the acknowledged message (its MessageHeader.id);
    ``response.code`` is ok, transient-error or fatal-error; the issues come from
    the OperationOutcome that ``response.details`` points at, when there is one.
    """

    name = "acknowledgements"
    topics: tuple[str, ...] = (TOPIC_INBOUND,)

    async def prepare(self, events: Sequence[InboundEvent], uow: UnitOfWork) -> None:
        """Nothing to read ahead: each acknowledgement is one insert."""

    async def finish(self, uow: UnitOfWork) -> None:
        """Nothing kept back."""

    async def handle(self, event: InboundEvent, uow: UnitOfWork) -> None:
        by_reference = {
            f"{resource['resourceType']}/{resource.get('id')}": resource
            for resource in event.resources
        }
        for resource in event.resources:
            response = (
                resource.get("response") if resource["resourceType"] == "MessageHeader" else None
            )
            if not response:
                continue
            code = str(response.get("code"))
            if code not in _OUTCOMES:
                raise ValueError(f"acknowledgement code {code!r} is not one of {sorted(_OUTCOMES)}")
            details = (response.get("details") or {}).get("reference")
            outcome = by_reference.get(details) if details else None
            await uow.acknowledgements.record(
                event_id=event.event_id,
                acknowledged_source_id=str(response["identifier"]),
                source_id=event.source_id,
                code=code,
                issues=_issues(outcome),
                sender_sector=event.sender.sector.value,
                sender_org=event.sender.org,
                received_at=event.received_at,
            )


def _issues(outcome: dict[str, Any] | None) -> list[dict[str, Any]]:
    if outcome is None:
        return []
    issues = []
    for issue in outcome.get("issue") or []:
        details = issue.get("details") or {}
        text = details.get("text") or ", ".join(
            coding.get("display") or coding.get("code", "")
            for coding in details.get("coding") or []
        )
        issues.append(
            {
                "severity": issue.get("severity"),
                "code": issue.get("code"),
                "text": text or issue.get("diagnostics"),
            }
        )
    return issues
