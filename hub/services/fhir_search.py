"""FHIR search and ``Patient/$everything`` over the consented view.

A search reads patients' records through ``hub.services.consent.read.consented_view``,
the one choke point, and then matches, sorts and counts only what the viewer is shown:
a resource the viewer may not see is not matched, not counted in ``total`` and not
named in any link. What a resource is matched on is what the viewer is shown of it (a
hospital notification is matched on its notification fields only).

Which patients a search reads:

* ``patient``/``subject`` (by Patient id, or ``:identifier`` with a CPR number),
  ``Patient?identifier=`` and ``_id``: those patients;
* otherwise a parameter that bounds a worklist (``Task?owner``,
  ``ServiceRequest?performer``, ``Communication?recipient``): the patients whose
  resources of that type name the value, at most ``MAX_PATIENTS`` of them;
* anything else is refused as too costly (``SearchRefused``): a search never reads the
  whole store.

Every search is audited per patient (``fhir.search``), as a pathway read is.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo

from hub.domain.consent import DEFAULT_POLICY, Policy
from hub.domain.fhir_search import (
    Criterion,
    ReferenceValue,
    SearchRequest,
    Token,
    target_range,
)
from hub.domain.identifiers import (
    CPR_SYSTEM,
    cpr_patient_key,
    local_patient_key,
    normalise_cpr,
)
from hub.domain.timeline import timeline_fields
from hub.services.audit import DENIED, SUCCESS, record_access
from hub.services.auth import Principal
from hub.services.consent.read import Disclosure, PatientView, consented_view, viewer_of
from hub.services.unit_of_work import (
    AuditedResourcesUnits,
    AuditedUnitOfWork,
    ResourcesUnitOfWork,
    UnitOfWorkFactory,
)
from hub.store.resources import StoredResource

MAX_PATIENTS = 200
"""The most patients a search across patients (a worklist) reads."""

STAND_IN_KEY = "stand-in:"
"""A patient key no patient has: what an id that names no patient is read as, so that it
takes the steps a hidden patient's does."""

SEARCH_ACTION = "fhir.search"
EVERYTHING_ACTION = "fhir.everything"


class SearchRefused(PermissionError):
    """A search the hub will not run: it would read too much (OperationOutcome too-costly)."""


@dataclass(frozen=True)
class SearchPage:
    matches: list[Disclosure]  # this page's, in order
    included: list[Disclosure]  # the patients the page's matches are about (_include)
    total: int  # every match the viewer may see


async def launch_patient_key(units: UnitOfWorkFactory[ResourcesUnitOfWork], patient_id: str) -> str:
    """The patient key of a SMART launch context's Patient id (a stand-in for none)."""
    async with units(autocommit=True) as uow:
        return await _key_of_patient_id(uow, patient_id) or STAND_IN_KEY


async def _key_of_patient_id(uow: ResourcesUnitOfWork, patient_id: str) -> str | None:
    # The person (every subject refers to it) or one organisation's record of them:
    # both looked for, so that the steps are the same.
    stored = await uow.resources.get("Patient", patient_id)
    records = await uow.resources.person_records(patient_id)
    found = stored or (records[0] if records else None)
    return found.patient_key if found else None


def _key_of_identifier(token: Token) -> str | None:
    """The patient key an identifier names: a CPR number, or the replacement number a
    sender keyed the patient by (its system and value)."""
    if token.code is None:
        return None
    if token.system in (CPR_SYSTEM, None):
        cpr = normalise_cpr(token.code)
        if cpr is not None:
            return cpr_patient_key(cpr)
        return None
    if not token.system:
        return None
    return local_patient_key(token.system, token.code)


async def _keys_of(
    uow: ResourcesUnitOfWork, request: SearchRequest, criterion: Criterion
) -> set[str]:
    """The patients one bounding criterion names (its values are alternatives)."""
    keys: set[str] = set()
    for value in criterion.values:
        key: str | None = None
        if isinstance(value, Token):  # Patient identifier, or _id
            if criterion.parameter.name == "identifier":
                key = _key_of_identifier(value)
            elif value.code is not None and request.resource_type == "Patient":
                key = await _key_of_patient_id(uow, value.code)
            elif value.code is not None:
                stored = await uow.resources.get(request.resource_type, value.code)
                key = stored.patient_key if stored else None
        elif isinstance(value, ReferenceValue):
            if value.identifier is not None:
                key = _key_of_identifier(value.identifier)
            elif value.type in (None, "Patient") and value.id:
                key = await _key_of_patient_id(uow, value.id)
        keys.add(key or STAND_IN_KEY)
    return keys


def _mentioned(criterion: Criterion) -> tuple[str, ...] | None:
    """What a worklist criterion's matches must mention, for the store's first cut."""
    texts: list[str] = []
    for value in criterion.values:
        if not isinstance(value, ReferenceValue):
            return None
        text = value.identifier.code if value.identifier else value.id
        if not text or '"' in text or "\\" in text:
            return None
        texts.append(text)
    return tuple(texts)


async def _patients(uow: ResourcesUnitOfWork, request: SearchRequest) -> tuple[list[str], bool]:
    """The patients a search reads, and whether it names them (else it is a worklist)."""
    named = [
        c
        for c in request.criteria
        if c.parameter.compartment
        or c.parameter.name == "_id"
        or (request.resource_type == "Patient" and c.parameter.name == "identifier")
    ]
    if named:
        keys: set[str] | None = None
        for criterion in named:
            found = await _keys_of(uow, request, criterion)
            keys = found if keys is None else keys & found
        return sorted(keys or {STAND_IN_KEY}), True
    bounding = [c for c in request.criteria if c.parameter.bounds and c.modifier != "not"]
    mentioned = _mentioned(bounding[0]) if bounding else None
    if mentioned is None:
        raise SearchRefused(
            f"a search of {request.resource_type} must name the patient (patient, subject, _id"
            + (", identifier" if request.resource_type == "Patient" else "")
            + ")"
            + "".join(f" or the {p.parameter.name}" for p in bounding[:1])
        )
    statuses = _plain_statuses(request)
    worklist = await uow.resources.patients_mentioning(
        request.resource_type, mentioned, statuses=statuses, limit=MAX_PATIENTS + 1
    )
    if len(worklist) > MAX_PATIENTS:
        raise SearchRefused(
            f"the search reaches more than {MAX_PATIENTS} patients; narrow it by status or patient"
        )
    return worklist, False


def _plain_statuses(request: SearchRequest) -> tuple[str, ...] | None:
    """The statuses a search asks for, when one plain ``status`` criterion says so."""
    criteria = [c for c in request.by_name("status") if c.modifier is None]
    if len(criteria) != 1:
        return None
    codes = [v.code for v in criteria[0].values if isinstance(v, Token)]
    return tuple(c for c in codes if c) if all(codes) else None


def _candidates(view: PatientView, resource_type: str) -> list[Disclosure]:
    if resource_type == "Patient":
        return [view.patient] if view.patient else []
    return [e for e in view.entries if e.stored.resource_type == resource_type]


def _pathway_order(entry: Disclosure) -> tuple[int, float, str, str]:
    """Newest first by the time the entry sits at on the pathway; untimed last."""
    start = timeline_fields(entry.content).start_instant
    return (0 if start else 1, -start.timestamp() if start else 0.0, *_identity(entry))


def _identity(entry: Disclosure) -> tuple[str, str]:
    return entry.stored.resource_type, str(entry.content.get("id") or entry.stored.id)


def _sorted(
    found: list[tuple[str, Disclosure]], request: SearchRequest, zone: tzinfo
) -> list[tuple[str, Disclosure]]:
    ordered = sorted(found, key=lambda pair: _pathway_order(pair[1]))
    for key in reversed(request.sort):
        timed = [p for p in ordered if request.sort_instant(p[1].content, key, zone)]
        untimed = [p for p in ordered if not request.sort_instant(p[1].content, key, zone)]
        timed.sort(
            key=lambda pair: request.sort_instant(pair[1].content, key, zone) or datetime.min,
            reverse=key.descending,
        )
        ordered = timed + untimed
    return ordered


async def search(
    units: AuditedResourcesUnits,
    viewer: Principal,
    request: SearchRequest,
    *,
    zone: tzinfo,
    policy: Policy = DEFAULT_POLICY,
    within: str | None = None,
) -> SearchPage:
    """The page of ``request``'s matches ``viewer`` may see, with the total of them.

    ``within`` (a patient key) narrows the search to that patient, as a token's SMART
    patient scopes do. Raises ``SearchRefused`` for a search the hub will not run.
    """
    who = viewer_of(viewer)
    async with units(autocommit=True) as uow:  # reads and their audit record
        keys, named = await _patients(uow, request)
        if within is not None:
            keys = [key if key == within else STAND_IN_KEY for key in keys]
        views: dict[str, PatientView] = {}
        found: list[tuple[str, Disclosure]] = []
        for key in dict.fromkeys(keys):
            view = await consented_view(uow, who, key, policy=policy)
            views[key] = view
            found.extend(
                (key, d)
                for d in _candidates(view, request.resource_type)
                if request.matches(d.content, zone)
            )
        ordered = _sorted(found, request, zone)
        page = (
            []
            if request.summary_count
            else ordered[request.offset : request.offset + request.count]
        )
        included: list[Disclosure] = []
        if request.include_patient:
            for key in dict.fromkeys(k for k, _ in page):
                person = views[key].patient
                if person is not None:
                    included.append(person)
        for key, view in views.items():
            shown = [d for k, d in page if k == key]
            if not shown and not named:
                continue  # a worklist names only the patients it shows
            await _audit(
                uow,
                viewer,
                SEARCH_ACTION,
                key,
                view,
                [
                    *(view.person_sources if request.resource_type == "Patient" and shown else []),
                    *(d.stored for d in shown if d.stored.resource_type != "Patient"),
                    *(
                        view.person_sources
                        if request.include_patient and shown and view.patient
                        else []
                    ),
                ],
            )
        await uow.commit()
    return SearchPage([d for _, d in page], included, len(ordered))


async def _audit(
    uow: AuditedUnitOfWork,
    viewer: Principal,
    action: str,
    key: str,
    view: PatientView,
    disclosed: Sequence[StoredResource],
) -> None:
    # The same version once.
    shown = list({(d.resource_type, d.id, d.version_id): d for d in disclosed}.values())
    nothing_at_all = not (view.patient or view.entries)
    await record_access(
        uow,
        viewer,
        action=action,
        patient_key=None if key == STAND_IN_KEY else key,
        disclosed=shown,
        withheld=view.withheld,
        # Asked and shown nothing although there was something: a refusal.
        outcome=DENIED if view.withheld and nothing_at_all else SUCCESS,
    )


@dataclass(frozen=True)
class EverythingPage:
    entries: list[Disclosure]  # this page's: the Patient first, then newest first
    total: int


async def everything(
    units: AuditedResourcesUnits,
    viewer: Principal,
    patient_id: str,
    *,
    types: frozenset[str] | None = None,
    since: datetime | None = None,
    count: int,
    offset: int = 0,
    policy: Policy = DEFAULT_POLICY,
    within: str | None = None,
) -> EverythingPage | None:
    """The patient's record as ``viewer`` may see it (``Patient/$everything``); None when
    the viewer may see nothing of it, as when there is no such patient.

    ``types`` keeps those resource types; ``since`` those whose shown ``meta.lastUpdated``
    is at or after it (a resource shown without its meta, as a hospital notification is,
    is not selected by it).
    """
    who = viewer_of(viewer)
    async with units(autocommit=True) as uow:  # reads and their audit record
        key = await _key_of_patient_id(uow, patient_id) or STAND_IN_KEY
        if within is not None and key != within:
            key = STAND_IN_KEY
        view = await consented_view(uow, who, key, policy=policy)
        if view.patient is None and not view.entries:
            await _audit(uow, viewer, EVERYTHING_ACTION, key, view, [])
            await uow.commit()
            return None
        records = [view.patient] if view.patient else []
        items = [
            d
            for d in [*records, *sorted(view.entries, key=_pathway_order)]
            if (types is None or d.stored.resource_type in types) and _since(d, since)
        ]
        page = items[offset : offset + count]
        disclosed = [
            *(
                view.person_sources
                if any(d.stored.resource_type == "Patient" for d in page)
                else []
            ),
            *(d.stored for d in page if d.stored.resource_type != "Patient"),
        ]
        await _audit(uow, viewer, EVERYTHING_ACTION, key, view, disclosed)
        await uow.commit()
    return EverythingPage(page, len(items))


def _since(entry: Disclosure, since: datetime | None) -> bool:
    if since is None:
        return True
    meta = entry.content.get("meta")
    updated = meta.get("lastUpdated") if isinstance(meta, dict) else None
    span = target_range(updated, UTC) if isinstance(updated, str) else None
    return span is not None and span[0] >= since
