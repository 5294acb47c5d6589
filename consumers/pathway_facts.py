"""Keeps the pathway facts (hub.domain.indicators) and applies the cohort rule.

A projection observer: it runs in the projection's transaction for every new stored
version of the resource types that carry facts, so a fact is exactly as durable,
ordered and idempotent as the version it comes from. A new version replaces its
resource's facts; one that no longer counts (cancelled, entered in error) takes them
away. A changed residence (the Patient's municipality) moves all the patient's facts.

When an acute admission completes the cohort rule (hub.domain.cohort), the patient's
cohort Flag and a proposed rundbordsmøde (Task) are written to the outbox in the same
transaction, as an event from the data controller whose admissions met the rule (one
controller's stays only), and reach the store through the bus like any other message.
They are authored by that controller (and one of its organisations) because they say
something about its stays: exactly those who may see the stays may see the flag, and
others only under a basis of the consent table. The fact recorded with them is what
keeps the rule from flagging the patient twice.

The rule reads one data controller's and one sector's records at a time: its acute
stays, and the problem types its own records tell of (``problem-type-*`` facts kept
here, from ``hub.domain.cohort.problem_types``). So psychiatry's stays and diagnoses
never reach a flag a somatic unit of the same region may read, nor a kommune's records
a hospital's flag. A residence or a problem type that arrives after the admissions
applies the rule again, when the rule asks for them.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from consumers import read_ahead
from hub import clock
from hub.config import TOPIC_INBOUND
from hub.domain.cohort import PROBLEM_TYPE_CODES, CohortRule, cohort_resources, evaluate
from hub.domain.cohort import problem_types as problem_types_of
from hub.domain.consent import DEFAULT_POLICY, Policy
from hub.domain.controllers import organisation_controller
from hub.domain.events import InboundEvent
from hub.domain.identifiers import cpr_of, patient_resource_id
from hub.domain.indicators import (
    ADMITTED,
    COHORT_MEMBER,
    HOSPITAL_STAY,
    Fact,
    derive_facts,
)
from hub.domain.person import residence_source
from hub.domain.sectors import Sector
from hub.domain.sensitivity import labelled
from hub.domain.translation import Sender
from hub.store.resource_changes import ResourceChange
from hub.store.unit_of_work import UnitOfWork

COHORT_SENDER_SUB = "brobygger-cohort-rule"
"""The sending system named on the hub's own cohort events."""

PROBLEM_TYPE_KIND = "problem-type-"
"""The fact kinds of the problem types a resource tells of: ``problem-type-<code>``."""

PROBLEM_TYPE_KINDS: dict[str, str] = {
    f"{PROBLEM_TYPE_KIND}{code.code}": code.code for code in PROBLEM_TYPE_CODES
}


class PathwayFactsObserver:
    """Derives facts from stored versions; flags cohort members as they qualify."""

    resource_types = frozenset(
        {
            "Encounter",
            "ServiceRequest",
            "Task",
            "Flag",
            "Appointment",
            "CarePlan",
            "Patient",
            "Condition",
            "Observation",
        }
    )

    def __init__(
        self,
        cohort_rule: CohortRule,
        *,
        policy: Policy = DEFAULT_POLICY,
        on_published: Callable[[], None] = lambda: None,
        topic: str = TOPIC_INBOUND,
    ) -> None:
        self._rule = cohort_rule
        self._policy = policy
        self._on_published = on_published
        self._topic = topic

    async def changed(self, change: ResourceChange, uow: UnitOfWork) -> None:
        current, previous = change.current, change.previous
        patient_key = current.patient_key
        if patient_key is None:
            return
        if current.resource_type == "Patient":
            # Only an authoritative source moves the residence (and the facts with it).
            if self._policy.is_authoritative(current.sector, current.org):
                kommune, sector = await _residence(uow, patient_key, self._policy)
                await uow.facts.set_residence(patient_key, kommune, sector)
                if self._rule.residences:
                    await self._apply_to_every_sector(patient_key, uow, kommune, sector)
            return
        was_planned = False
        if current.resource_type == "Encounter" and previous is not None:
            existing = await uow.facts.for_resource(current.resource_type, current.id)
            was_planned = any(f.kind == HOSPITAL_STAY and f.planned for f in existing)
        facts = derive_facts(current.content, current.sector, was_planned=was_planned)
        problems = problem_types_of(current.content, current.sector)
        facts += [
            Fact(f"{PROBLEM_TYPE_KIND}{code}", _fact_time(facts)) for code in sorted(problems)
        ]
        kommune, kommune_sector = (
            await _residence(uow, patient_key, self._policy) if facts else (None, None)
        )
        if facts or previous is not None:
            await uow.facts.replace(current, facts, kommune=kommune, kommune_sector=kommune_sector)
        acute = any(f.kind == HOSPITAL_STAY and f.acute and f.status in ADMITTED for f in facts)
        if acute or (problems and self._rule.min_problem_types > 0):
            controller = current.controller or organisation_controller(current.org)
            await self._apply_cohort_rule(
                patient_key, controller, current.sector, uow, kommune, kommune_sector
            )

    async def _apply_to_every_sector(
        self, patient_key: str, uow: UnitOfWork, kommune: str | None, kommune_sector: str | None
    ) -> None:
        """Apply the rule to each controller's and sector's acute stays (a residence came)."""
        stays = await uow.facts.for_patient(patient_key, (HOSPITAL_STAY,))
        for controller, sector in sorted({(f.controller, f.sector) for f in stays if f.acute}):
            await self._apply_cohort_rule(
                patient_key, controller, sector, uow, kommune, kommune_sector
            )

    async def _apply_cohort_rule(
        self,
        patient_key: str,
        controller: str,
        stay_sector: str,
        uow: UnitOfWork,
        kommune: str | None,
        kommune_sector: str | None,
    ) -> None:
        cpr = cpr_of(patient_key)
        if cpr is None:
            return  # no CPR number, no age: the rule cannot be applied
        known = await uow.facts.for_patient(
            patient_key, (COHORT_MEMBER, HOSPITAL_STAY, *PROBLEM_TYPE_KINDS)
        )
        # One data controller's and one sector's records only: a region does not learn
        # of another's admissions, nor a somatic unit of psychiatry's.
        own = [f for f in known if f.controller == controller and f.sector == stay_sector]
        if any(f.kind == COHORT_MEMBER for f in own):
            return  # decided once; a replay or a later admission flags no one twice
        acute = [
            f
            for f in own
            if f.kind == HOSPITAL_STAY and f.acute and f.status in ADMITTED and f.at is not None
        ]
        if not acute:
            return
        decision = evaluate(
            cpr,
            [f.at for f in acute if f.at is not None],
            self._rule,
            kommune=kommune,
            problems={PROBLEM_TYPE_KINDS[f.kind] for f in own if f.kind in PROBLEM_TYPE_KINDS},
        )
        if decision is None:
            return
        met_by = [f for f in acute if f.at in decision.admissions]
        orgs = sorted({f.org for f in met_by})
        author = next(f.org for f in met_by if f.at == decision.met_at)
        sector = Sector(stay_sector)
        resources = [
            labelled(resource, sector)
            for resource in cohort_resources(
                patient_id=patient_resource_id(patient_key),
                patient_key=patient_key,
                sector=sector.value,
                decision=decision,
                involved_orgs=orgs,
                kommune=kommune,
            )
        ]
        flag = resources[0]
        await uow.facts.add(
            resource_type="Flag",
            resource_id=str(flag["id"]),
            patient_key=patient_key,
            sector=sector.value,
            org=author,
            fact=Fact(COHORT_MEMBER, decision.met_at, status="active", related=decision.reason),
            kommune=kommune,
            kommune_sector=kommune_sector,
            controller=controller,
        )
        derived = InboundEvent(
            event_id=f"cohort/{flag['id']}",
            message_id=str(flag["id"]),
            format="fhir",
            trigger="cohort-rule",
            received_at=clock.now(),
            sender=Sender(sector, author, COHORT_SENDER_SUB, controller=controller),
            patient_key=patient_key,
            resources=resources,
            occurred_at=decision.met_at,
        )
        await uow.outbox.add(
            topic=self._topic,
            key=patient_key,
            event_id=derived.event_id,
            payload=derived.to_bytes(),
        )
        uow.after_commit(self._on_published)


def _fact_time(facts: list[Fact]) -> datetime | None:
    """When a resource's problem types were known: its first fact's time, if any."""
    return next((f.at for f in facts if f.at is not None), None)


async def _residence(
    uow: UnitOfWork, patient_key: str, policy: Policy
) -> tuple[str | None, str | None]:
    """The patient's residence municipality and the sector of the authoritative record
    that says so."""
    records = await read_ahead.patient_records(uow, patient_key)
    kommune, record = residence_source(records, policy)
    return kommune, (record.sector if record is not None else None)
