"""The records a CPR number's pathway shows from replacement numbers linked to it.

The link itself and who may write one are in ``hub.domain.patient_links``. Here the
replacement numbers linked to a CPR number are found (their Patient records naming the
CPR's person) and each is read through ``consented_view`` under its own key, as the
viewer may see it; a refusal the patient recorded under the CPR number hides a linked
record too. A replacement number of which the viewer is shown nothing is not named:
hidden looks exactly like missing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from hub import clock
from hub.domain.consent import PatientConsent, Policy, Viewer
from hub.domain.identifiers import cpr_patient_key, replacement_of
from hub.domain.patient_links import LinkRecord, links_to, owners, refused
from hub.services.consent.read import Disclosure, consented_view, consents_of, item_of
from hub.services.unit_of_work import LinkedRecordsUnitOfWork
from hub.store.resources import StoredResource

MAX_LINKED = 20
"""Replacement numbers read per CPR number: a person has very few."""


@dataclass(frozen=True)
class LinkedView:
    """What the viewer is shown from the replacement numbers linked to a CPR number."""

    numbers: tuple[tuple[str, str], ...]  # (system, value) of those shown anything
    entries: list[Disclosure]
    disclosed: list[StoredResource]  # everything shown, for the audit
    withheld: int


async def linked_keys(uow: LinkedRecordsUnitOfWork, cpr: str, policy: Policy) -> list[str]:
    """The patient keys of the replacement numbers validly linked to ``cpr``."""
    candidates = await uow.patient_links.replacement_keys(cpr, limit=MAX_LINKED)
    keys: list[str] = []
    for key in candidates:
        if replacement_of(key) is None:
            continue
        stored = await uow.resources.for_patient(key)
        records = [
            LinkRecord(s.sector, s.org, s.content) for s in stored if s.resource_type == "Patient"
        ]
        holders = owners((s.resource_type, s.org) for s in stored)
        if links_to(cpr, records, holders, policy):
            keys.append(key)
    return keys


async def linked_view(
    uow: LinkedRecordsUnitOfWork,
    viewer: Viewer,
    cpr: str,
    *,
    policy: Policy,
    now: datetime | None = None,
) -> LinkedView:
    """The records under replacement numbers linked to ``cpr`` that ``viewer`` may see."""
    now = now or clock.now()
    keys = await linked_keys(uow, cpr, policy)
    if not keys:
        return LinkedView((), [], [], 0)
    cpr_consents = consents_of(
        await uow.resources.for_patient(cpr_patient_key(cpr), resource_types=("Consent",))
    )
    numbers: list[tuple[str, str]] = []
    entries: list[Disclosure] = []
    disclosed: list[StoredResource] = []
    withheld = 0
    for key in keys:
        view = await consented_view(uow, viewer, key, policy=policy, now=now)
        shown = [e for e in view.entries if not _refused(cpr_consents, viewer, e.stored, now)]
        withheld += view.withheld + len(view.entries) - len(shown)
        if not shown:
            continue  # the person alone says nothing the CPR's own pathway does not
        number = replacement_of(key)
        assert number is not None
        numbers.append(number)
        entries.extend(shown)
        disclosed.extend(e.stored for e in shown)
    return LinkedView(tuple(numbers), entries, disclosed, withheld)


def _refused(
    consents: list[PatientConsent], viewer: Viewer, stored: StoredResource, now: datetime
) -> bool:
    if stored.org == viewer.org or viewer.override_reason:
        return False  # as under the consent rules: own writing, and an emergency override
    return refused(consents, viewer, item_of(stored), now)
