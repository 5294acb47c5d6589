"""Reading one resource by type and id, as one viewer may see it.

A hidden resource must not be told from a missing one, by the answer or by the time it
takes. So every lookup that shows nothing takes the same steps: the resource's patient's
Consents and Patient records are read and the consent rules decide on the resource, and
the refusal is audited; a lookup that finds nothing of a patient's does the same for a
stand-in resource of a patient key no patient has. Only a lookup that may show something
goes on to read the patient's record in full, through ``consented_view``.
"""

from __future__ import annotations

from dataclasses import dataclass

from hub import clock
from hub.domain.consent import (
    DEFAULT_POLICY,
    DEFAULT_PURPOSE,
    Policy,
    Viewer,
    Visibility,
    decide,
)
from hub.domain.identifiers import patient_resource_id
from hub.domain.person import residence
from hub.services.audit import DENIED, SUCCESS, record_access
from hub.services.auth import Principal
from hub.services.consent.read import (
    Disclosure,
    consented_versions,
    consented_view,
    consents_of,
    item_of,
    refuse_unless_clinician,
    viewer_of,
)
from hub.services.pathway import override_refusal
from hub.services.unit_of_work import RecordsUnits, ResourcesUnitOfWork
from hub.store.resources import StoredResource


async def read_resource(
    units: RecordsUnits,
    viewer: Principal,
    resource_type: str,
    resource_id: str,
    *,
    purpose: str = DEFAULT_PURPOSE,
    override_reason: str | None = None,
    policy: Policy = DEFAULT_POLICY,
    action: str = "resource.read",
    within: str | None = None,
) -> Disclosure | None:
    """One resource, as ``viewer`` may see it; None when it is missing or not theirs to see.

    The two cases give the same answer, and take the same steps to give it, so that
    neither the answer nor the time it takes tells a hidden resource from one that
    does not exist: a lookup that finds nothing of a patient's is decided against a
    stand-in (the same queries, the same consent evaluation) and audited as refused,
    as a hidden one is. A lookup of patient data is audited like a pathway read, as
    ``action``. ``within`` (a patient key) narrows the answer to that patient's data,
    as a token's SMART patient scopes do.
    """
    found = await _read(
        units,
        viewer,
        resource_type,
        resource_id,
        purpose=purpose,
        override_reason=override_reason,
        policy=policy,
        action=action,
        within=within,
        versions=False,
    )
    return found[-1] if found else None


async def read_versions(
    units: RecordsUnits,
    viewer: Principal,
    resource_type: str,
    resource_id: str,
    *,
    policy: Policy = DEFAULT_POLICY,
    action: str = "resource.history.read",
    within: str | None = None,
) -> list[Disclosure] | None:
    """The versions of one resource ``viewer`` may see, oldest first; None as ``read_resource``
    answers None, after the same steps.

    Each version is decided as ``consented_versions`` decides it. The person (a Patient by
    the id every subject refers to, or an organisation's record of them) is assembled
    anew for each viewer and has one version: the one shown now.
    """
    return await _read(
        units,
        viewer,
        resource_type,
        resource_id,
        purpose=DEFAULT_PURPOSE,
        override_reason=None,
        policy=policy,
        action=action,
        within=within,
        versions=True,
    )


async def _read(
    units: RecordsUnits,
    viewer: Principal,
    resource_type: str,
    resource_id: str,
    *,
    purpose: str,
    override_reason: str | None,
    policy: Policy,
    action: str,
    within: str | None,
    versions: bool,
) -> list[Disclosure] | None:
    who = viewer_of(viewer, purpose=purpose, override_reason=override_reason)
    async with units(autocommit=True) as uow:  # reads and their audit record
        with override_refusal():
            await refuse_unless_clinician(
                uow, viewer, override_reason, action=action, patient_key=None
            )
        stored = await uow.resources.get(resource_type, resource_id)
        if resource_type == "Patient":
            # An organisation's record, or the person every subject refers to: assembled
            # from the records. Looked for either way, so that the steps are the same.
            records = await uow.resources.person_records(resource_id)
            stored = stored or (records[0] if records else None)
        if stored is not None and stored.patient_key is None and _own(stored, viewer):
            # Directory entries and acknowledgements: the author's own business.
            own = Disclosure(stored, stored.content, Visibility.FULL)
            if not versions:
                return [own]
            history = await uow.resources.history(resource_type, resource_id)
            return [Disclosure(v, v.content, Visibility.FULL) for v in history]
        # Someone else's directory entry is as missing as one that does not exist.
        subject = stored if stored is not None and stored.patient_key is not None else None
        asked = subject or _stand_in(resource_type, resource_id)
        found = None
        if await _may_see(uow, who, asked, resource_id, policy=policy) and subject:
            found = await _disclosed(uow, who, subject, resource_id, policy=policy)
        if found and within is not None and subject and subject.patient_key != within:
            found = None  # another patient's: outside what the token may read
        shown: list[Disclosure] = [found.disclosure] if found else []
        if found and versions and resource_type != "Patient" and subject:
            history = await uow.resources.history(resource_type, resource_id)
            shown = await consented_versions(uow, who, history, policy=policy)
        sources = (
            []
            if not found
            else found.sources
            if resource_type == "Patient"
            else [d.stored for d in shown]
        )
        await record_access(
            uow,
            viewer,
            action=action,
            patient_key=subject.patient_key if subject else None,
            disclosed=sources,
            withheld=0 if found or not subject else 1,
            purpose=purpose,
            override_reason=override_reason,
            outcome=SUCCESS if found else DENIED,
        )
        await uow.commit()
    return shown if found else None


_STAND_IN_KEY = "stand-in:"
"""A patient key no patient has (no adapter writes one): what a lookup that found
nothing of a patient's is decided against, so that it takes the steps a hidden one does."""


def _own(stored: StoredResource, viewer: Principal) -> bool:
    return stored.org == viewer.org or stored.controller == viewer.controller


def _stand_in(resource_type: str, resource_id: str) -> StoredResource:
    """A resource of no patient and no organisation, decided as a hidden one would be."""
    return StoredResource(
        resource_type=resource_type,
        id=resource_id,
        version_id=1,
        last_updated=clock.now(),
        patient_key=_STAND_IN_KEY,
        sector="",
        org="",
        event_id="",
        content={"resourceType": resource_type, "id": resource_id},
    )


async def _may_see(
    uow: ResourcesUnitOfWork,
    viewer: Viewer,
    asked: StoredResource,
    resource_id: str,
    *,
    policy: Policy,
) -> bool:
    """Whether ``viewer`` may be shown anything of ``asked`` (asked for as ``resource_id``).

    Decided from the patient's Consents and Patient records only, as ``consented_view``
    decides it, so that a refusal costs the same whatever else the patient's record
    holds; a yes is then read in full through ``consented_view``.
    """
    basis = await uow.resources.for_patient(
        asked.patient_key or _STAND_IN_KEY, resource_types=("Consent", "Patient")
    )
    consents = consents_of(basis)
    patients = [s for s in basis if s.resource_type == "Patient"]
    kommune = residence(patients, policy)
    now = clock.now()

    def visible(resource: StoredResource) -> bool:
        visibility = decide(
            viewer, item_of(resource), consents, patient_kommune=kommune, now=now, policy=policy
        )
        # An invitation is shown only in the listing of the viewer's own meetings.
        return visibility not in (Visibility.HIDDEN, Visibility.INVITATION)

    if asked.resource_type != "Patient" or asked.patient_key == _STAND_IN_KEY:
        return visible(asked)
    # The person (by its id) or one organisation's record of them: shown when a record is.
    person = patient_resource_id(asked.patient_key or "")
    return any(visible(r) for r in patients if resource_id in (person, r.id))


@dataclass(frozen=True)
class _Found:
    disclosure: Disclosure
    sources: list[StoredResource]  # what was disclosed, for the audit


async def _disclosed(
    uow: ResourcesUnitOfWork,
    viewer: Viewer,
    subject: StoredResource,
    resource_id: str,
    *,
    policy: Policy,
) -> _Found | None:
    """``subject`` (asked for as ``resource_id``) as ``viewer`` is shown it, if at all."""
    assert subject.patient_key is not None
    view = await consented_view(uow, viewer, subject.patient_key, policy=policy)
    if subject.resource_type == "Patient":
        # An organisation's own record, or the person: either way the person as the
        # viewer may see them.
        person = view.patient
        record_ids = {d.stored.id for d in view.patient_records}
        if person is None or resource_id not in (person.content["id"], *record_ids):
            return None
        return _Found(person, view.person_sources)
    found = next(
        (
            d
            for d in view.entries
            if d.stored.id == resource_id and d.stored.resource_type == subject.resource_type
        ),
        None,
    )
    return _Found(found, [found.stored]) if found else None
