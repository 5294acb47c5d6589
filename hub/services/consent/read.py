"""The one place that decides what a viewer is shown about a patient.

Every read path (GraphQL resolvers; subscriptions, webhooks and exports as they come)
reads a patient's data through ``consented_view`` and shows only what it returns.
The rules themselves are in ``hub.domain.consent``; this module gathers what
they need — the patient's Consents, the residence municipality, the stored
resources — and applies them.

The patient's stored resources are narrowed in SQL to the patient; consent is then
evaluated per resource, because the Consent provisions (nested, per actor, purpose,
data class and period) decide per resource. A patient's record is tens to hundreds
of resources, so this costs little, and nothing is shown before it is decided.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from hub import clock
from hub.config import ConfigError
from hub.domain.consent import (
    DEFAULT_PURPOSE,
    Item,
    PatientConsent,
    Policy,
    Viewer,
    Visibility,
    decide,
    read_consent,
    shown,
)
from hub.domain.identifiers import patient_resource_id
from hub.domain.person import in_precedence, person_view, residence
from hub.domain.sectors import Sector
from hub.domain.timeline import timeline_fields
from hub.domain.translation import FhirJson
from hub.services.audit import DENIED, record_access
from hub.services.auth import Principal
from hub.services.unit_of_work import AuditedUnitOfWork, ResourcesUnitOfWork
from hub.store.resources import StoredResource


class PolicyFileError(ConfigError):
    """A consent policy file the hub cannot use."""


@dataclass(frozen=True)
class Disclosure:
    """A stored resource and what the viewer is shown of it."""

    stored: StoredResource
    content: FhirJson
    visibility: Visibility


@dataclass(frozen=True)
class PatientView:
    patient: Disclosure | None  # the person, assembled from the records below
    entries: list[Disclosure]  # newest first, the Patient excluded
    withheld: int  # resources of the patient the viewer was not shown
    patient_records: tuple[Disclosure, ...] = ()  # the organisations' own records shown

    @property
    def person_sources(self) -> list[StoredResource]:
        """The Patient records the person shown was assembled from (for the audit)."""
        return [d.stored for d in self.patient_records] if self.patient else []


CLINICAL_SECTORS = frozenset({Sector.HOSPITAL, Sector.PSYCHIATRY, Sector.GP})
CLINICIAN_ROLE = "clinician"
"""The role claim of a clinician: only a clinician may assert an emergency override."""


class OverrideRefused(ValueError):
    """An emergency override asserted by someone who may not assert one."""


def may_override(principal: Principal) -> bool:
    """Whether ``principal`` may assert an emergency override (værdispring, Sundhedsloven
    § 42a): a clinician of a clinical sector, by its token's role claim."""
    return principal.sector in CLINICAL_SECTORS and CLINICIAN_ROLE in principal.roles


async def refuse_unless_clinician(
    uow: AuditedUnitOfWork,
    principal: Principal,
    override_reason: str | None,
    *,
    action: str,
    patient_key: str | None,
) -> None:
    """Raise OverrideRefused, audited as refused, when ``principal`` asserts an emergency
    override it may not assert; nothing is read."""
    if not (override_reason or "").strip() or may_override(principal):
        return
    await record_access(
        uow,
        principal,
        action=action,
        patient_key=patient_key,
        disclosed=[],
        override_reason=override_reason,
        outcome=DENIED,
    )
    await uow.commit()
    raise OverrideRefused(
        "emergencyOverrideReason is for clinicians only: a token of the hospital, psychiatry "
        f"or GP sector with the role {CLINICIAN_ROLE!r}"
    )


def viewer_of(
    principal: Principal, *, purpose: str = DEFAULT_PURPOSE, override_reason: str | None = None
) -> Viewer:
    return Viewer(
        sector=principal.sector,
        org=principal.org,
        kommune=principal.kommune,
        controller=principal.controller,
        aliases=frozenset(
            a for a in principal.aliases | principal.located_at if a.startswith("gln:")
        ),
        purpose=purpose,
        # A blank reason is no reason: no override, and nothing unaudited.
        override_reason=(override_reason or "").strip() or None,
    )


def item_of(stored: StoredResource) -> Item:
    fields = timeline_fields(stored.content)
    return Item(
        resource_type=stored.resource_type,
        id=stored.id,
        sector=stored.sector,
        org=stored.org,
        content=stored.content,
        start=fields.start_instant,
        end=fields.end_instant or fields.start_instant,
        controller=stored.controller,
    )


def consents_of(stored: Iterable[StoredResource]) -> list[PatientConsent]:
    """The patient's Consents among ``stored``, each with its custodian: the controller
    that recorded it (from its token), or the patient who recorded it themself."""
    return [
        read_consent(s.content, custodian=s.controller, recorder_sector=s.sector)
        for s in stored
        if s.resource_type == "Consent"
    ]


async def consented_view(
    uow: ResourcesUnitOfWork,
    viewer: Viewer,
    patient_key: str,
    *,
    policy: Policy,
    now: datetime | None = None,
    invitations: bool = False,
) -> PatientView:
    """Everything about the patient that ``viewer`` may see, as they may see it.

    Invitations (rundbordsmøder the viewer is invited to but not covered for) are
    left out unless ``invitations`` is asked for: an invitation names no patient, and
    finding one under a CPR number the caller typed in would tell whose meeting it is.
    Only the listing of the caller's own meetings, which shows no CPR, asks for them.
    """
    now = now or clock.now()
    stored = await uow.resources.for_patient(patient_key)
    consents = consents_of(stored)
    patients = [s for s in stored if s.resource_type == "Patient"]
    kommune = residence(patients, policy)
    decided: list[tuple[StoredResource, Visibility, FhirJson]] = []
    hidden: set[str] = set()
    for resource in stored:
        item = item_of(resource)
        visibility = decide(viewer, item, consents, patient_kommune=kommune, now=now, policy=policy)
        content = shown(viewer, item, visibility, consents, now)
        if visibility is Visibility.INVITATION and not invitations:
            content = None
        if content is None:
            if resource.resource_type != "Patient":  # the patient is who the caller asked about
                hidden.add(item.reference)
            continue
        decided.append((resource, visibility, content))
    records: list[tuple[StoredResource, FhirJson]] = []
    visibility_of: dict[int, Visibility] = {}
    entries: list[Disclosure] = []
    for resource, visibility, content in decided:
        shown_content = _without_references_to(hidden, content)
        if resource.resource_type == "Patient":
            records.append((resource, shown_content))
            visibility_of[id(resource)] = visibility
        else:
            entries.append(Disclosure(resource, shown_content, visibility))
    return PatientView(
        _person(records, visibility_of, patient_key, viewer, policy),
        entries,
        len(stored) - len(decided),
        tuple(Disclosure(r, content, visibility_of[id(r)]) for r, content in records),
    )


def _person(
    records: list[tuple[StoredResource, FhirJson]],
    visibility_of: dict[int, Visibility],
    patient_key: str,
    viewer: Viewer,
    policy: Policy,
) -> Disclosure | None:
    """The person, assembled from the Patient records the viewer may see."""
    content = person_view(records, patient_resource_id(patient_key), policy, viewer.org)
    if content is None:
        return None
    first = in_precedence([record for record, _ in records], policy, viewer.org)[0]
    return Disclosure(first, content, visibility_of[id(first)])


async def consented_versions(
    uow: ResourcesUnitOfWork,
    viewer: Viewer,
    versions: list[StoredResource],
    *,
    policy: Policy,
    now: datetime | None = None,
) -> list[Disclosure]:
    """The versions (history) of one of the patient's resources that ``viewer`` may see.

    Each version is decided as the current one would be, against the patient's
    consents in force now, and references to what the viewer is not shown are
    withheld as in ``consented_view``.
    """
    if not versions or versions[-1].patient_key is None:
        return []
    now = now or clock.now()
    stored = await uow.resources.for_patient(versions[-1].patient_key)
    consents = consents_of(stored)
    patients = [s for s in stored if s.resource_type == "Patient"]
    kommune = residence(patients, policy)
    hidden: set[str] = set()
    for resource in stored:
        item = item_of(resource)
        visibility = decide(viewer, item, consents, patient_kommune=kommune, now=now, policy=policy)
        if resource.resource_type != "Patient" and visibility is Visibility.HIDDEN:
            hidden.add(item.reference)
    disclosures: list[Disclosure] = []
    for version in versions:
        item = item_of(version)
        visibility = decide(viewer, item, consents, patient_kommune=kommune, now=now, policy=policy)
        content = shown(viewer, item, visibility, consents, now)
        if content is not None:
            disclosures.append(
                Disclosure(version, _without_references_to(hidden, content), visibility)
            )
    return disclosures


async def visibility_for(
    uow: ResourcesUnitOfWork,
    viewers: list[Viewer],
    resource: StoredResource,
    *,
    policy: Policy,
    now: datetime | None = None,
) -> list[Visibility]:
    """How much of one stored resource each of ``viewers`` may see, e.g. whether the
    patient's consent covers sharing a meeting with each organisation invited to it."""
    if resource.patient_key is None:
        return [Visibility.HIDDEN for _ in viewers]
    now = now or clock.now()
    stored = await uow.resources.for_patient(
        resource.patient_key, resource_types=("Consent", "Patient")
    )
    consents = consents_of(stored)
    patients = [s for s in stored if s.resource_type == "Patient"]
    kommune = residence(patients, policy)
    item = item_of(resource)
    return [
        decide(viewer, item, consents, patient_kommune=kommune, now=now, policy=policy)
        for viewer in viewers
    ]


WITHHELD = {"display": "withheld"}


def _without_references_to(hidden: set[str], content: Any) -> Any:
    """``content`` with every reference to a hidden resource replaced by "withheld".

    A visible letter must not reveal the id of the hidden stay it answers.
    """
    if not hidden:
        return content
    if isinstance(content, dict):
        # Consent.provision.actor.reference is itself a Reference (an object), not a string.
        reference = content.get("reference")
        if isinstance(reference, str) and reference in hidden:
            return dict(WITHHELD)
        return {key: _without_references_to(hidden, value) for key, value in content.items()}
    if isinstance(content, list):
        return [_without_references_to(hidden, value) for value in content]
    return content


def load_policy(path: Path | None) -> Policy:
    """The policy defaults, changed by a JSON policy file when one is configured.

    The file may set ``psychiatryNotifications`` (bool), ``notificationTypes``
    (resource types the residence municipality is notified of), and the sources whose
    Patient records may say where the patient lives and that they died:
    ``authoritativeSectors`` and ``authoritativeOrganisations`` (SOR codes).
    """
    if path is None:
        return Policy()
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as error:
        raise PolicyFileError(f"consent policy file {path}: {error}") from error
    known = {
        "psychiatryNotifications",
        "notificationTypes",
        "authoritativeSectors",
        "authoritativeOrganisations",
    }
    if not isinstance(data, dict) or set(data) - known:
        raise PolicyFileError(f"consent policy file {path} may only set {', '.join(sorted(known))}")
    default = Policy()
    psychiatry = data.get("psychiatryNotifications", False)
    lists = {
        name: data.get(name, fallback)
        for name, fallback in (
            ("notificationTypes", ["Encounter"]),
            ("authoritativeSectors", sorted(default.authoritative_sectors)),
            ("authoritativeOrganisations", []),
        )
    }
    if not isinstance(psychiatry, bool) or not all(
        isinstance(values, list) and all(isinstance(v, str) for v in values)
        for values in lists.values()
    ):
        raise PolicyFileError(f"consent policy file {path}: wrong value types")
    unknown = set(lists["authoritativeSectors"]) - {sector.value for sector in Sector}
    if unknown:
        raise PolicyFileError(
            f"consent policy file {path}: authoritativeSectors names no sector "
            f"{', '.join(sorted(unknown))}"
        )
    return Policy(
        psychiatry_notifications=psychiatry,
        notification_types=frozenset(lists["notificationTypes"]),
        authoritative_sectors=frozenset(lists["authoritativeSectors"]),
        authoritative_organisations=frozenset(lists["authoritativeOrganisations"]),
    )
