"""No hidden resource id appears anywhere in a pathway response, error or count.

The consent rules are tested against a reference reading elsewhere
(``test_consent_properties``); here the point is the API: the real GraphQL schema,
run in process against a fresh SQLite store, must show a viewer exactly the
resources ``hub.domain.consent.decide`` lets them see, show a notification
only as its notification fields, and let nothing else through: not an id, not a
line of content, not a count (``hasMore``).

Every stored resource carries a marker ``SECRET-<id>`` in its free text, so content
that should not be shown is recognisable wherever it turns up. Resources refer to
each other (a letter to its stay) and Consents name resources, as real ones do: a
shown resource must not give away the id of a hidden one it refers to either. The
Patient's own id is not a secret (the caller names the patient by CPR and every
entry names its subject); the Patient's content is.
"""

from __future__ import annotations

import asyncio
import json
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy.ext.asyncio import AsyncEngine

from hub.domain.consent import (
    NOTIFICATION_FIELDS,
    NOTIFIED_EXTENSION,
    RELATIVES_CLASS,
    SECTOR_ROLE_SYSTEM,
    Item,
    Policy,
    Viewer,
    Visibility,
    decide,
    read_consent,
)
from hub.domain.identifiers import CPR_SYSTEM, SOR_SYSTEM, cpr_patient_key, patient_resource_id
from hub.domain.sectors import Sector
from hub.domain.sensitivity import labelled
from hub.services.auth import Principal
from hub.services.intake import IntakeService
from hub.store.database import create_engine
from hub.store.migrate import upgrade
from hub.store.resources import StoredResource
from hub.store.unit_of_work import UnitOfWork
from schema.build import build_schema
from schema.context import HubContext
from tests.support import clock

CPR = "0101709995"
PATIENT_KEY = cpr_patient_key(CPR)
PATIENT_ID = patient_resource_id(PATIENT_KEY)
OTHER_PATIENT_KEY = cpr_patient_key("0202804441")
ORGS = ("100", "200", "300")
KOMMUNER = ("730", "707")
TYPES = ("Encounter", "ServiceRequest", "CarePlan", "Communication")
CLASSES = (*TYPES, "Patient", "Consent", RELATIVES_CLASS)
YEARS = (2024, 2025, 2026)
STATUSES = {
    "Encounter": ("in-progress", "finished"),
    "ServiceRequest": ("active", "completed"),
    "CarePlan": ("active", "completed"),
    "Communication": ("completed",),
}
OVERRIDE = "unconscious, needs medication history"
CONTACT_MARKER = "SECRET-contact"
ENCOUNTER_CLASS = "http://terminology.hl7.org/CodeSystem/v3-ActCode"

ENTRY_FIELDS = "resourceType id sector status start end fhir"
PATHWAY = f"""
query Pathway($cpr: String!, $first: Int, $purpose: String!, $reason: String) {{
  pathway(cpr: $cpr, first: $first, purpose: $purpose, emergencyOverrideReason: $reason) {{
    cpr patient hasMore entries {{ {ENTRY_FIELDS} }}
  }}
}}
"""
RESOURCE = f"""
query One($type: String!, $id: ID!, $purpose: String!, $reason: String) {{
  resource(resourceType: $type, id: $id, purpose: $purpose, emergencyOverrideReason: $reason) {{
    {ENTRY_FIELDS}
  }}
}}
"""
ACCESS_LOG = "query Log($cpr: String!) { accessLog(cpr: $cpr) { id action disclosedCount } }"

SCHEMA = build_schema(allow_introspection=False)


def marker(resource_id: str) -> str:
    return f"SECRET-{resource_id}"


# --- what is drawn ---------------------------------------------------------------------


@dataclass(frozen=True)
class Conditions:
    actor: str | None  # "sor:100" / "sector:gp"
    resource_type: str | None
    year: int | None  # data period: the calendar year
    in_force: str  # "always", "expired" (ended in 2020), "future" (starts a year from now)
    purpose: str | None
    psychiatry: bool
    named: int | None  # names the n-th stored resource (provision.data); None names none


@dataclass(frozen=True)
class Rule:
    type: str
    when: Conditions
    exceptions: tuple[Rule, ...] = ()


@dataclass(frozen=True)
class DrawnResource:
    id: str
    resource_type: str
    sector: Sector
    org: str
    year: int
    status: str
    notified: str | None = None  # an Encounter's notified municipal organisation (SOR)
    refers: int | None = None  # refers to the n-th drawn resource (a letter to its stay)


@dataclass(frozen=True)
class DrawnConsent:
    id: str
    active: bool
    sector: Sector  # the recording sector
    org: str
    year: int
    root: Rule


@dataclass(frozen=True)
class Scenario:
    patient_sector: Sector
    patient_org: str
    kommune: str | None  # the patient's residence (address district)
    relatives: bool  # the Patient has a contact
    resources: tuple[DrawnResource, ...]
    consents: tuple[DrawnConsent, ...]
    other_id: str  # a resource of another patient, in the viewer's own sector
    viewer: Principal
    purpose: str
    override: str | None
    psychiatry_notifications: bool

    @property
    def policy(self) -> Policy:
        return Policy(psychiatry_notifications=self.psychiatry_notifications)


ACTORS = (*(f"sor:{o}" for o in ORGS), *(f"sector:{s.value}" for s in Sector))


def conditions(viewer: Principal) -> st.SearchStrategy[Conditions]:
    # A rule names the viewer (by organisation or sector) about half the time.
    own = (f"sor:{viewer.org}", f"sector:{viewer.sector.value}")
    return st.builds(
        Conditions,
        actor=st.sampled_from((None, *own, *own, *ACTORS)),
        resource_type=st.one_of(st.none(), st.sampled_from(CLASSES)),
        year=st.one_of(st.none(), st.sampled_from(YEARS)),
        in_force=st.sampled_from(["always", "always", "expired", "future"]),
        purpose=st.one_of(st.none(), st.sampled_from(["TREAT", "HRESCH"])),
        psychiatry=st.booleans(),
        named=st.sampled_from((None, None, None, *range(8))),
    )


def rules(viewer: Principal) -> st.SearchStrategy[Rule]:
    when = conditions(viewer)
    return st.recursive(
        st.builds(Rule, type=st.sampled_from(["permit", "deny"]), when=when),
        lambda children: st.builds(
            Rule,
            type=st.sampled_from(["permit", "deny"]),
            when=when,
            exceptions=st.lists(children, max_size=2).map(tuple),
        ),
        max_leaves=4,
    )


@st.composite
def resources(draw: st.DrawFn, resource_id: str) -> DrawnResource:
    # Hospital stays, and residence-municipality viewers below, are drawn more often:
    # they are what the notification basis is about.
    resource_type = draw(st.sampled_from(("Encounter", *TYPES)))
    return DrawnResource(
        id=resource_id,
        resource_type=resource_type,
        sector=draw(st.sampled_from((Sector.HOSPITAL, *Sector))),
        org=draw(st.sampled_from(ORGS)),
        year=draw(st.sampled_from(YEARS)),
        status=draw(st.sampled_from(STATUSES[resource_type])),
        notified=draw(st.sampled_from((None, None, *ORGS)))
        if resource_type == "Encounter"
        else None,
        refers=draw(st.sampled_from((None, *range(8)))),
    )


@st.composite
def viewers(draw: st.DrawFn, home: str | None) -> Principal:
    """A viewer; half of them municipal, mostly of the patient's ``home`` municipality."""
    sector = draw(st.sampled_from((Sector.MUNICIPALITY,) * 3 + tuple(Sector)))
    kommune = draw(
        st.sampled_from((home or KOMMUNER[0],) * 2 + KOMMUNER)
        if sector is Sector.MUNICIPALITY
        else st.one_of(st.none(), st.sampled_from(KOMMUNER))
    )
    return Principal(sub="viewer", sector=sector, org=draw(st.sampled_from(ORGS)), kommune=kommune)


@st.composite
def scenarios(draw: st.DrawFn) -> Scenario:
    # Twelve characters of hex after a type letter: no id can turn up inside a
    # timestamp, a code or another id by chance.
    tokens = draw(
        st.lists(
            st.text(alphabet="0123456789abcdef", min_size=12, max_size=12),
            min_size=12,
            max_size=12,
            unique=True,
        )
    )
    count = draw(st.integers(1, 8))
    drawn = tuple(draw(resources(f"r{tokens[i]}")) for i in range(count))
    kommune = draw(st.sampled_from((None, KOMMUNER[0], *KOMMUNER)))
    viewer = draw(viewers(kommune))
    consents = tuple(
        DrawnConsent(
            id=f"c{tokens[8 + i]}",
            active=draw(st.sampled_from((True, True, False))),
            sector=draw(st.sampled_from(list(Sector))),
            org=draw(st.sampled_from(ORGS)),
            year=draw(st.sampled_from(YEARS)),
            root=draw(rules(viewer)),
        )
        for i in range(draw(st.sampled_from((0, 1, 1, 2, 3))))
    )
    return Scenario(
        patient_sector=draw(st.sampled_from(list(Sector))),
        patient_org=draw(st.sampled_from(ORGS)),
        kommune=kommune,
        relatives=draw(st.booleans()),
        resources=drawn,
        consents=consents,
        other_id=f"o{tokens[11]}",
        viewer=viewer,
        purpose=draw(st.sampled_from(["TREAT", "HRESCH"])),
        override=draw(st.sampled_from((None, None, None, OVERRIDE))),
        psychiatry_notifications=draw(st.booleans()),
    )


# --- as FHIR ---------------------------------------------------------------------------


def at(year: int, day: int, hour: int) -> str:
    return f"{year}-06-{day:02d}T{hour:02d}:00:00+02:00"


REFERRING_ELEMENTS = {
    "Encounter": "partOf",
    "ServiceRequest": "basedOn",
    "CarePlan": "basedOn",
    "Communication": "about",
}


def reference(drawn: DrawnResource) -> dict[str, str]:
    return {"reference": f"{drawn.resource_type}/{drawn.id}"}


def resource_json(
    drawn: DrawnResource,
    others: tuple[DrawnResource, ...] = (),
    patient_id: str = PATIENT_ID,
) -> dict[str, Any]:
    """The resource as a sender would have it stored, its marker in every free text."""
    secret = [{"text": marker(drawn.id)}]
    base: dict[str, Any] = {
        "resourceType": drawn.resource_type,
        "id": drawn.id,
        "status": drawn.status,
        "subject": {"reference": f"Patient/{patient_id}"},
    }
    if drawn.refers is not None and others:
        target = reference(others[drawn.refers % len(others)])
        element = REFERRING_ELEMENTS[drawn.resource_type]
        base[element] = target if element == "partOf" else [target]
    if drawn.resource_type == "Encounter":
        base |= {
            "class": {"system": ENCOUNTER_CLASS, "code": "IMP"},
            "period": {"start": at(drawn.year, 1, 8), "end": at(drawn.year, 3, 12)},
            "serviceProvider": {"identifier": {"system": SOR_SYSTEM, "value": drawn.org}},
            "reasonCode": secret,
            "hospitalization": {"dischargeDisposition": secret[0]},
        }
        if drawn.notified:
            base["extension"] = [
                {
                    "url": NOTIFIED_EXTENSION,
                    "valueIdentifier": {"system": SOR_SYSTEM, "value": drawn.notified},
                }
            ]
    elif drawn.resource_type == "ServiceRequest":
        base |= {
            "intent": "order",
            "authoredOn": at(drawn.year, 1, 8),
            "reasonCode": secret,
            "note": secret,
        }
    elif drawn.resource_type == "CarePlan":
        base |= {
            "intent": "plan",
            "period": {"start": at(drawn.year, 1, 8)},
            "description": marker(drawn.id),
            "note": secret,
        }
    else:
        base |= {
            "sent": at(drawn.year, 1, 8),
            "payload": [{"contentString": marker(drawn.id)}],
            "note": secret,
        }
    return labelled(base, drawn.sector)


def resource_item(drawn: DrawnResource, stored: StoredResource) -> Item:
    start = datetime(drawn.year, 6, 1, 6, tzinfo=UTC)
    end = (
        datetime(drawn.year, 6, 3, 10, tzinfo=UTC) if drawn.resource_type == "Encounter" else start
    )
    return Item(
        drawn.resource_type, drawn.id, drawn.sector.value, drawn.org, stored.content, start, end
    )


def provision_json(rule: Rule, drawn: tuple[DrawnResource, ...]) -> dict[str, Any]:
    when = rule.when
    provision: dict[str, Any] = {"type": rule.type}
    if when.actor:
        kind, value = when.actor.split(":")
        provision["actor"] = [
            {"reference": {"identifier": {"system": SOR_SYSTEM, "value": value}}}
            if kind == "sor"
            else {"role": {"coding": [{"system": SECTOR_ROLE_SYSTEM, "code": value}]}}
        ]
    if when.resource_type:
        provision["class"] = [{"code": when.resource_type}]
    if when.year:
        provision["dataPeriod"] = {"start": f"{when.year}-01-01", "end": f"{when.year}-12-31"}
    if when.in_force == "expired":
        provision["period"] = {"end": "2020-01-31"}
    elif when.in_force == "future":
        provision["period"] = {"start": clock.iso(clock.day_from_today(365))}
    if when.purpose:
        provision["purpose"] = [{"code": when.purpose}]
    if when.psychiatry:
        provision["securityLabel"] = [{"code": "PSY"}]
    if when.named is not None:
        named = drawn[when.named % len(drawn)]
        provision["data"] = [{"meaning": "instance", "reference": reference(named)}]
    if rule.exceptions:
        provision["provision"] = [provision_json(child, drawn) for child in rule.exceptions]
    return provision


def consent_json(consent: DrawnConsent, drawn: tuple[DrawnResource, ...]) -> dict[str, Any]:
    return {
        "resourceType": "Consent",
        "id": consent.id,
        "status": "active" if consent.active else "inactive",
        "scope": {
            "coding": [
                {
                    "system": "http://terminology.hl7.org/CodeSystem/consentscope",
                    "code": "patient-privacy",
                }
            ]
        },
        "patient": {"identifier": {"system": CPR_SYSTEM, "value": CPR}},
        "dateTime": f"{consent.year}-03-01T09:00:00+00:00",
        "organization": [{"identifier": {"system": SOR_SYSTEM, "value": consent.org}}],
        "provision": provision_json(consent.root, drawn),
    }


def patient_json(scenario: Scenario) -> dict[str, Any]:
    patient: dict[str, Any] = {
        "resourceType": "Patient",
        "id": PATIENT_ID,
        "identifier": [{"system": CPR_SYSTEM, "value": CPR}],
        "name": [{"text": marker(PATIENT_ID)}],
        "birthDate": "1970-01-01",
    }
    if scenario.kommune:
        patient["address"] = [{"use": "home", "district": scenario.kommune}]
    if scenario.relatives:
        patient["contact"] = [
            {
                "relationship": [{"text": "sister"}],
                "name": {"text": CONTACT_MARKER},
                "telecom": [{"system": "phone", "value": CONTACT_MARKER}],
            }
        ]
    return labelled(patient, scenario.patient_sector)


def names(rule: Rule, resource_type: str) -> bool:
    return rule.when.resource_type == resource_type or any(
        names(child, resource_type) for child in rule.exceptions
    )


# --- storing, asking, expecting -----------------------------------------------------------


@dataclass(frozen=True)
class Stored:
    resources: dict[str, StoredResource]  # by id: the patient's, Patient and Consents included
    items: dict[str, Item]


async def store(engine: AsyncEngine, scenario: Scenario) -> Stored:
    saved: dict[str, StoredResource] = {}
    items: dict[str, Item] = {}

    async def save(resource: dict[str, Any], sector: Sector, org: str, key: str) -> StoredResource:
        stored = await uow.resources.save(
            resource, patient_key=key, sector=sector.value, org=org, event_id=f"event-{org}"
        )
        assert stored is not None
        return stored

    async with UnitOfWork(engine) as uow:
        patient = await save(
            patient_json(scenario), scenario.patient_sector, scenario.patient_org, PATIENT_KEY
        )
        saved[PATIENT_ID] = patient
        items[PATIENT_ID] = Item(
            "Patient",
            PATIENT_ID,
            scenario.patient_sector.value,
            scenario.patient_org,
            patient.content,
            datetime(1970, 1, 1, tzinfo=UTC),
            datetime(1970, 1, 1, tzinfo=UTC),
        )
        for drawn in scenario.resources:
            stored = await save(
                resource_json(drawn, scenario.resources), drawn.sector, drawn.org, PATIENT_KEY
            )
            saved[drawn.id] = stored
            items[drawn.id] = resource_item(drawn, stored)
        for consent in scenario.consents:
            stored = await save(
                consent_json(consent, scenario.resources), consent.sector, consent.org, PATIENT_KEY
            )
            saved[consent.id] = stored
            recorded = datetime(consent.year, 3, 1, 9, tzinfo=UTC)
            items[consent.id] = Item(
                "Consent",
                consent.id,
                consent.sector.value,
                consent.org,
                stored.content,
                recorded,
                recorded,
            )
        # Another patient's resource, written by the viewer's own sector: it would be
        # shown in full if it were ever mixed into this patient's pathway.
        other = DrawnResource(
            scenario.other_id, "Encounter", scenario.viewer.sector, "100", 2026, "finished"
        )
        await save(
            resource_json(other, patient_id=patient_resource_id(OTHER_PATIENT_KEY)),
            other.sector,
            other.org,
            OTHER_PATIENT_KEY,
        )
        await uow.commit()
    return Stored(saved, items)


@dataclass(frozen=True)
class Response:
    data: dict[str, Any] | None
    errors: list[Any] | None

    @property
    def text(self) -> str:
        """Everything the caller gets: data and errors."""
        return json.dumps(self.data, sort_keys=True) + str(self.errors)

    @property
    def pathway(self) -> dict[str, Any]:
        assert self.errors is None, self.errors
        assert self.data is not None
        pathway: dict[str, Any] = self.data["pathway"]
        return pathway


async def ask(
    engine: AsyncEngine,
    viewer: Principal,
    query: str,
    policy: Policy = Policy(),  # noqa: B008 - frozen
    **variables: Any,
) -> Response:
    context = HubContext(
        viewer=viewer, engine=engine, intake=IntakeService(engine, {}), policy=policy
    )
    result = await SCHEMA.execute(query, variable_values=variables, context_value=context)
    return Response(result.data, result.errors)


async def ask_pathway(
    engine: AsyncEngine, scenario: Scenario, first: int | None = None
) -> Response:
    return await ask(
        engine,
        scenario.viewer,
        PATHWAY,
        scenario.policy,
        cpr=CPR,
        first=first,
        purpose=scenario.purpose,
        reason=scenario.override,
    )


async def ask_resource(
    engine: AsyncEngine, scenario: Scenario, resource_type: str, resource_id: str
) -> Response:
    return await ask(
        engine,
        scenario.viewer,
        RESOURCE,
        scenario.policy,
        type=resource_type,
        id=resource_id,
        purpose=scenario.purpose,
        reason=scenario.override,
    )


def decided(scenario: Scenario, stored: Stored, now: datetime) -> dict[str, Visibility]:
    """What the policy says of every stored resource of the patient, for this viewer."""
    consents = [
        read_consent(s.content) for s in stored.resources.values() if s.resource_type == "Consent"
    ]
    principal = scenario.viewer
    viewer = Viewer(
        principal.sector,
        principal.org,
        principal.kommune,
        purpose=scenario.purpose,
        override_reason=scenario.override,
    )
    # Only an authoritative source's Patient says where the patient lives.
    authoritative = scenario.policy.is_authoritative(
        scenario.patient_sector.value, scenario.patient_org
    )
    return {
        resource_id: decide(
            viewer,
            item,
            consents,
            patient_kommune=scenario.kommune if authoritative else None,
            now=now,
            policy=scenario.policy,
        )
        for resource_id, item in stored.items.items()
    }


async def in_fresh_store(body: Any) -> Any:
    """``body(engine)`` against a store of its own, created and disposed of here."""
    with tempfile.TemporaryDirectory() as directory:
        engine = create_engine(f"sqlite+aiosqlite:///{Path(directory) / 'hub.db'}")
        try:
            await upgrade(engine)
            return await body(engine)
        finally:
            await engine.dispose()


# --- the property -----------------------------------------------------------------------


def same_but_withheld(shown: Any, stored: Any, withheld: frozenset[str]) -> bool:
    """Whether ``shown`` is ``stored`` but for references to ``withheld`` ("Type/id").

    Those may be shown as anything (the leak check makes sure it is not the id).
    """
    if isinstance(stored, dict):
        reference = stored.get("reference")
        if isinstance(reference, str) and reference in withheld:
            return True
        return (
            isinstance(shown, dict)
            and shown.keys() == stored.keys()
            and all(same_but_withheld(shown[k], stored[k], withheld) for k in stored)
        )
    if isinstance(stored, list):
        return (
            isinstance(shown, list)
            and len(shown) == len(stored)
            and all(same_but_withheld(a, b, withheld) for a, b in zip(shown, stored, strict=True))
        )
    return bool(shown == stored)


def check(
    scenario: Scenario, stored: Stored, full: Response, first: Response, now: datetime
) -> None:
    visibility = decided(scenario, stored, now)
    hidden = {i for i, v in visibility.items() if v is Visibility.HIDDEN}
    notified = {i for i, v in visibility.items() if v is Visibility.NOTIFICATION}
    shown = {(stored.resources[i].resource_type, i) for i in visibility if i not in hidden}
    pathway = full.pathway

    # (1) Exactly the decided set, each once.
    entries = pathway["entries"]
    got = [(e["resourceType"], e["id"]) for e in entries]
    if pathway["patient"] is not None:
        got.append(("Patient", pathway["patient"]["id"]))
    assert len(got) == len(set(got)), got
    assert set(got) == shown

    # (2) Nothing hidden anywhere; of a notification, only its fields.
    secrets = {i for i in hidden if i != PATIENT_ID} | {scenario.other_id}
    if PATIENT_ID in hidden:
        secrets.add(marker(PATIENT_ID))
    secrets |= {marker(i) for i in notified}
    for response in (full, first):
        leaked = sorted(secret for secret in secrets if secret in response.text)
        assert not leaked, (leaked, response.text)
    withheld = frozenset(
        f"{stored.resources[i].resource_type}/{i}" for i in hidden if i != PATIENT_ID
    )
    for entry in entries:
        content = stored.resources[entry["id"]].content
        assert entry["sector"] == stored.resources[entry["id"]].sector
        if visibility[entry["id"]] is Visibility.NOTIFICATION:
            assert set(entry["fhir"]) <= set(NOTIFICATION_FIELDS)
            content = {k: v for k, v in content.items() if k in NOTIFICATION_FIELDS}
        assert same_but_withheld(entry["fhir"], content, withheld), (entry["fhir"], content)

    # (3) Counts: hasMore says only whether more *visible* entries exist.
    visible_entries = len(shown) - (("Patient", PATIENT_ID) in shown)
    assert len(entries) == visible_entries
    assert pathway["hasMore"] is False
    paged = first.pathway
    assert paged["hasMore"] is (visible_entries > 1)
    assert paged["entries"] == entries[:1]
    assert paged["patient"] == pathway["patient"]
    assert paged["cpr"] == pathway["cpr"] == CPR

    # (4) Relatives: outside their author's sector only under override or a permit naming them.
    contact_shown = CONTACT_MARKER in full.text
    own = scenario.patient_sector is scenario.viewer.sector
    named_relatives = any(c.active and names(c.root, RELATIVES_CLASS) for c in scenario.consents)
    if contact_shown:
        assert scenario.relatives
        assert own or scenario.override or named_relatives
    if not own and not scenario.override and not named_relatives:
        assert not contact_shown
    if own and scenario.relatives:
        assert contact_shown
    if pathway["patient"] is not None:
        patient = stored.resources[PATIENT_ID].content
        expected = (
            patient if contact_shown else {k: v for k, v in patient.items() if k != "contact"}
        )
        assert same_but_withheld(pathway["patient"], expected, withheld)


def check_lookups(
    scenario: Scenario,
    stored: Stored,
    full: Response,
    found: dict[str, Response],
    missing: dict[str, Response],
    now: datetime,
) -> None:
    """``resource(type, id)`` shows what the pathway shows; a hidden one is as if missing."""
    visibility = decided(scenario, stored, now)
    pathway = full.pathway
    entries = {e["id"]: e for e in pathway["entries"]}
    for resource_id, response in found.items():
        resource_type = stored.resources[resource_id].resource_type
        assert response.errors is None, response.errors
        assert response.data is not None
        entry = response.data["resource"]
        if visibility[resource_id] is Visibility.HIDDEN:
            assert resource_id not in response.text
            assert response.text == missing[resource_type].text
        elif resource_type == "Patient":
            assert entry is not None
            assert entry["fhir"] == pathway["patient"]
        else:
            assert entry == entries[resource_id]
    for response in missing.values():
        assert response.data == {"resource": None}, response.text


async def leak_example(scenario: Scenario) -> None:
    async def body(engine: AsyncEngine) -> None:
        stored = await store(engine, scenario)
        full = await ask_pathway(engine, scenario)
        first = await ask_pathway(engine, scenario, first=1)
        found = {
            resource_id: await ask_resource(engine, scenario, s.resource_type, resource_id)
            for resource_id, s in stored.resources.items()
        }
        missing = {
            resource_type: await ask_resource(engine, scenario, resource_type, "xnotstored000")
            for resource_type in {s.resource_type for s in stored.resources.values()}
        }
        now = clock.now()
        check(scenario, stored, full, first, now)
        check_lookups(scenario, stored, full, found, missing, now)

    await in_fresh_store(body)


# A failing case shrinks for up to Hypothesis's five minutes: let it finish.
@pytest.mark.timeout(600)
@settings(max_examples=40, deadline=None)
@given(scenario=scenarios())
def test_the_api_shows_exactly_what_the_policy_decides_and_leaks_nothing_else(
    scenario: Scenario,
) -> None:
    asyncio.run(leak_example(scenario))


# --- deterministic cases ----------------------------------------------------------------

HOSPITAL = Sector.HOSPITAL
GP = Principal(sub="gp", sector=Sector.GP, org="200")
STAY = DrawnResource("rhiddenstay001", "Encounter", HOSPITAL, "100", 2026, "finished")
PSYCHIATRIC_STAY = replace(STAY, id="rhiddenstay002", sector=Sector.PSYCHIATRY)


def quiet_patient(**changes: Any) -> Scenario:
    """A hospital patient of Randers with a stay and a relative; the GP asks."""
    fields: dict[str, Any] = {
        "patient_sector": HOSPITAL,
        "patient_org": "100",
        "kommune": "730",
        "relatives": True,
        "resources": (STAY,),
        "consents": (),
        "other_id": "ootherpatient1",
        "viewer": GP,
        "purpose": "TREAT",
        "override": None,
        "psychiatry_notifications": False,
    }
    return Scenario(**(fields | changes))


def to(sector: Sector, rule_type: str, purpose: str | None, resource_type: str | None) -> Rule:
    return Rule(
        rule_type,
        Conditions(f"sector:{sector.value}", resource_type, None, "always", purpose, False, None),
    )


def recorded(consent_id: str, root: Rule) -> DrawnConsent:
    return DrawnConsent(consent_id, True, Sector.COORDINATOR, "300", 2026, root)


RANDERS_HOME_CARE = Principal(sub="carer", sector=Sector.MUNICIPALITY, org="300", kommune="730")
AARHUS_HOME_CARE = Principal(sub="carer", sector=Sector.MUNICIPALITY, org="300", kommune="707")

CASES = {
    "a permit for another purpose": quiet_patient(
        purpose="HRESCH",
        consents=(recorded("cpermittreat1", to(Sector.GP, "permit", "TREAT", "Encounter")),),
    ),
    "a refusal": quiet_patient(
        consents=(recorded("crefusal00001", to(Sector.GP, "deny", None, None)),)
    ),
    "no consent at all": quiet_patient(),
    "another kommune's municipality": quiet_patient(viewer=AARHUS_HOME_CARE),
    "the residence municipality, refused": quiet_patient(
        viewer=RANDERS_HOME_CARE,
        consents=(recorded("crefusal00002", to(Sector.MUNICIPALITY, "deny", None, None)),),
    ),
    "the residence municipality, a psychiatric stay": quiet_patient(
        viewer=RANDERS_HOME_CARE, resources=(PSYCHIATRIC_STAY,)
    ),
    "a permit for stays that does not name psychiatry": quiet_patient(
        resources=(PSYCHIATRIC_STAY,),
        consents=(recorded("cpermitstays1", to(Sector.GP, "permit", None, "Encounter")),),
    ),
}


def requests() -> Iterator[dict[str, Any]]:
    for first in (None, 1, 0):  # 0 is refused: its error must not differ either
        yield {"cpr": CPR, "first": first}
    yield {"cpr": "not-a-cpr", "first": None}


async def responses(engine: AsyncEngine, scenario: Scenario) -> list[str]:
    """Every answer the viewer gets about the patient and the first resource's id."""
    stay = scenario.resources[0]
    return (
        [
            (await ask_resource(engine, scenario, stay.resource_type, stay.id)).text,
        ]
        + [
            (
                await ask(
                    engine,
                    scenario.viewer,
                    PATHWAY,
                    scenario.policy,
                    purpose=scenario.purpose,
                    reason=scenario.override,
                    **request,
                )
            ).text
            for request in requests()
        ]
        + [(await ask(engine, scenario.viewer, ACCESS_LOG, cpr=CPR)).text]
    )


@pytest.mark.parametrize("case", sorted(CASES))
def test_hidden_data_answers_exactly_as_no_data_does(case: str) -> None:
    scenario = CASES[case]

    stay = scenario.resources[0]

    async def with_data(engine: AsyncEngine) -> tuple[list[str], list[str]]:
        await store(engine, scenario)
        asked = await responses(engine, scenario)
        # The stay is there to be seen, by the sector that wrote it.
        author = Principal(sub="author", sector=stay.sector, org=stay.org)
        seen = await responses(engine, replace(scenario, viewer=author))
        return asked, seen

    async def without_data(engine: AsyncEngine) -> list[str]:
        return await responses(engine, scenario)

    asked, seen = asyncio.run(in_fresh_store(with_data))
    empty = asyncio.run(in_fresh_store(without_data))

    assert all(stay.id in text and marker(stay.id) in text for text in seen[:3])
    for text in asked:
        secrets = (stay.id, marker(PATIENT_ID), CONTACT_MARKER, *(c.id for c in scenario.consents))
        for secret in secrets:
            assert secret not in text
    assert asked == empty


def test_a_permit_for_the_purpose_does_show_the_stay() -> None:
    """The cases above hide for the reason they say, not because nothing could be shown."""
    scenario = CASES["a permit for another purpose"]
    treating = replace(scenario, purpose="TREAT")

    async def body(engine: AsyncEngine) -> str:
        await store(engine, treating)
        return (await ask_pathway(engine, treating)).text

    text = asyncio.run(in_fresh_store(body))
    assert STAY.id in text and marker(STAY.id) in text
    assert marker(PATIENT_ID) not in text  # the permit names stays, not the Patient


RELATIVES = {
    "the hospital that recorded them": (Principal("nurse", HOSPITAL, "100"), (), True),
    "a GP under a permit for all data": (
        GP,
        (recorded("callofit00001", to(Sector.GP, "permit", None, None)),),
        False,
    ),
    "a GP under a permit that names relatives": (
        GP,
        (
            recorded("callofit00001", to(Sector.GP, "permit", None, None)),
            recorded("crelatives001", to(Sector.GP, "permit", None, RELATIVES_CLASS)),
        ),
        True,
    ),
    "a GP under a permit for all data but a refusal of relatives": (
        GP,
        (
            recorded("callofit00001", to(Sector.GP, "permit", None, None)),
            recorded("crelatives001", to(Sector.GP, "permit", None, RELATIVES_CLASS)),
            recorded("cnorelatives1", to(Sector.GP, "deny", None, RELATIVES_CLASS)),
        ),
        False,
    ),
}


@pytest.mark.parametrize("case", sorted(RELATIVES))
def test_relatives_are_shown_only_to_their_author_or_under_a_permit_naming_them(
    case: str,
) -> None:
    viewer, consents, expected = RELATIVES[case]
    scenario = quiet_patient(viewer=viewer, consents=consents)

    async def body(engine: AsyncEngine) -> Response:
        await store(engine, scenario)
        return await ask_pathway(engine, scenario)

    response = asyncio.run(in_fresh_store(body))
    patient = response.pathway["patient"]
    assert patient is not None and patient["id"] == PATIENT_ID
    assert (CONTACT_MARKER in response.text) is expected
    assert ("contact" in patient) is expected
