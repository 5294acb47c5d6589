"""No hidden resource id appears anywhere in a pathway response, error or count.

The consent rules are tested against a reference reading elsewhere
(``test_consent_properties``); here the point is the API: the real GraphQL schema,
run in process against a fresh SQLite store, must show a viewer exactly the
resources ``hub.domain.consent.decide`` lets them see, show a notification
only as its notification fields, and let nothing else through: not an id, not a
line of content, not a count (``hasMore``).

The worlds are those of ``tests.support.consent_worlds``: two regions (a hospital, a
psychiatry, a coordinator each), two kommuner (two units each, and a coordinator in
Randers), two general practices, each organisation writing under its data controller
(now and then a record stored before controllers were recorded, its organisation's
alone). Letters, referrals (some deferred) and tasks are addressed to organisations by
SOR code or GLN, mostly to the viewer; rundbordsmøder invite organisations. The
patient's consents are recorded by the patient themself (stored with the controller
"patient") or by any organisation: the one holding the data, or an adversary naming
itself or others for data it does not hold, a GP or a somatic ward naming psychiatry,
and every Consent's ``organization`` names someone else again. An emergency override
is asserted by clinicians and by others, who must get an error and nothing else.

Every stored resource carries a marker ``SECRET-<id>`` in its free text, so content
that should not be shown is recognisable wherever it turns up. Resources refer to
each other (a letter to its stay) and Consents name resources, as real ones do: a
shown resource must not give away the id of a hidden one it refers to either. The
Patient's own id is not a secret (the caller names the patient by CPR and every
entry names its subject); the Patient's content is.

The number of random worlds is ``BROBYGGER_CONSENT_WORLDS`` (see
tests/support/consent_worlds.py).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from sqlalchemy.ext.asyncio import AsyncEngine

from hub.bootstrap import units_over
from hub.domain.consent import (
    NOTIFICATION_FIELDS,
    NOTIFIED_EXTENSION,
    RELATIVES_CLASS,
    Item,
    Policy,
    Viewer,
    Visibility,
    decide,
    read_consent,
)
from hub.domain.identifiers import CPR_SYSTEM, SOR_SYSTEM, cpr_patient_key, patient_resource_id
from hub.domain.pathway_codes import PATHWAY_EVENTS, ROUND_TABLE
from hub.domain.sectors import Sector
from hub.domain.sensitivity import labelled
from hub.services.auth import Principal
from hub.services.intake import IntakeService
from hub.services.unit_of_work import RecordsUnits
from hub.store.resources import StoredResource
from schema.build import build_schema
from schema.context import HubContext
from tests.support import clock
from tests.support.consent_worlds import (
    ADDRESS_KINDS,
    COORDINATOR_A,
    HOME_CARE_707,
    HOME_CARE_730,
    HOSPITAL_A,
    HOSPITAL_B,
    KOMMUNER,
    MUNICIPAL,
    ORGS,
    PATIENT_CUSTODIAN,
    PRACTICE_1,
    PSYCHIATRY_A,
    PSYCHIATRY_B,
    RECORDER_SOR,
    VIEWER_SECTOR,
    VIEWER_SOR,
    Org,
    address_json,
    provision_actor_json,
    resolved_actor,
    rule_trees,
    worlds,
)
from tests.support.fake_unit_of_work import FakeStore
from tests.support.store_templates import in_store, migrated_template

CPR = "0101709995"
PATIENT_KEY = cpr_patient_key(CPR)
PATIENT_ID = patient_resource_id(PATIENT_KEY)
OTHER_PATIENT_KEY = cpr_patient_key("0202804441")
CITIZEN_PORTAL = "sundhed-dk"  # the organisation on the token a patient records with
TYPES = ("Encounter", "ServiceRequest", "CarePlan", "Communication", "Task", "Appointment")
CLASSES = (*TYPES, "Patient", "Consent", RELATIVES_CLASS)
YEARS = (2024, 2025, 2026)
STATUSES = {
    "Encounter": ("in-progress", "finished"),
    "ServiceRequest": ("active", "completed"),
    "CarePlan": ("active", "completed"),
    "Communication": ("completed",),
    "Task": ("requested", "completed"),
    "Appointment": ("booked", "proposed"),
}
ADDRESSED_TYPES = ("ServiceRequest", "Communication", "Task")
ANSWERS = ("accepted", "declined", "tentative", "needs-action")
CLINICIAN = frozenset({"clinician"})
CLINICAL = (Sector.HOSPITAL, Sector.PSYCHIATRY, Sector.GP)
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


def principal(org: Org, *, sub: str = "viewer", **fields: Any) -> Principal:
    """A token of ``org``: its sector, kommune and data controller."""
    return Principal(
        sub=sub,
        sector=org.sector,
        org=org.sor,
        kommune=org.kommune,
        controller=org.controller,
        **fields,
    )


# --- what is drawn ---------------------------------------------------------------------


@dataclass(frozen=True)
class Conditions:
    actor: str | None  # "sor:110101" / "sector:gp"
    classes: tuple[str, ...]  # resource types (RelatedPerson: relatives); none: any
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


Address = tuple[Org, str]  # an organisation, by SOR code ("sor") or by GLN under a system


@dataclass(frozen=True)
class DrawnResource:
    id: str
    resource_type: str
    author: Org
    year: int
    status: str
    legacy: bool = False  # stored before controllers were recorded: its organisation's alone
    notified: Org | None = None  # an Encounter's notified municipal organisation
    refers: int | None = None  # refers to the n-th drawn resource (a letter to its stay)
    addressed: tuple[Address, ...] = ()  # performer / recipient / restriction.recipient
    owner: Address | None = None  # a Task's owner
    deferred: str = "none"  # a referral: "none", "past" or "future" (occurrence)
    invited: tuple[tuple[Org, str], ...] = ()  # a rundbordsmøde's organisations and answers

    @property
    def sector(self) -> Sector:
        return self.author.sector

    @property
    def controller(self) -> str:
        return f"sor:{self.author.sor}" if self.legacy else self.author.controller


@dataclass(frozen=True)
class DrawnConsent:
    id: str
    active: bool
    recorder: Org | None  # None: the patient, with a token of their own
    year: int
    root: Rule
    claims: Org = HOSPITAL_A  # whom the Consent's ``organization`` names (never believed)

    @property
    def custodian(self) -> str:
        return self.recorder.controller if self.recorder else PATIENT_CUSTODIAN

    @property
    def sector(self) -> Sector:
        return self.recorder.sector if self.recorder else Sector.COORDINATOR

    @property
    def org(self) -> str:
        return self.recorder.sor if self.recorder else CITIZEN_PORTAL


@dataclass(frozen=True)
class Scenario:
    patient_author: Org  # who wrote the Patient record
    kommune: str | None  # the patient's residence (address district)
    relatives: bool  # the Patient has a contact
    resources: tuple[DrawnResource, ...]
    consents: tuple[DrawnConsent, ...]
    other_id: str  # a resource of another patient, by the viewer's own organisation
    viewer: Principal
    purpose: str
    override: str | None
    psychiatry_notifications: bool

    @property
    def policy(self) -> Policy:
        return Policy(psychiatry_notifications=self.psychiatry_notifications)

    @property
    def may_override(self) -> bool:
        """Only a clinician may assert an override (rule 2): anyone else gets an error."""
        return self.viewer.sector in CLINICAL and "clinician" in self.viewer.roles

    @property
    def overriding(self) -> bool:
        return self.override is not None and self.may_override

    @property
    def patient_controller(self) -> str:
        return self.patient_author.controller


symbolic_conditions = st.builds(
    Conditions,
    # A rule names the viewer (by organisation or sector) about half the time.
    actor=st.sampled_from(
        (
            None,
            *(VIEWER_SOR, VIEWER_SECTOR) * 4,
            RECORDER_SOR,
            *(f"sor:{o.sor}" for o in ORGS),
            *(f"sector:{s.value}" for s in Sector),
        )
    ),
    classes=st.sampled_from(((), (), *((c,) for c in CLASSES))),
    year=st.one_of(st.none(), st.sampled_from(YEARS)),
    in_force=st.sampled_from(["always", "always", "expired", "future"]),
    purpose=st.one_of(st.none(), st.sampled_from(["TREAT", "HRESCH"])),
    psychiatry=st.booleans(),
    named=st.sampled_from((None, None, None, *range(8))),
)


symbolic_rules = rule_trees(Rule, symbolic_conditions, 2)


def resolved(rule: Rule, viewer: Principal, recorder: Org | None) -> Rule:
    actor = resolved_actor(rule.when.actor, viewer.org, viewer.sector, recorder)
    return Rule(
        rule.type,
        replace(rule.when, actor=actor),
        tuple(resolved(child, viewer, recorder) for child in rule.exceptions),
    )


SOME_ORG = st.sampled_from((None, None, None, *ORGS))  # None: the viewer
KIND = st.sampled_from(("sor", "sor", *ADDRESS_KINDS))


@st.composite
def resources(draw: st.DrawFn, resource_id: str, viewer: Org) -> DrawnResource:
    def address() -> Address:
        return (draw(SOME_ORG) or viewer, draw(KIND))

    # Hospital stays, and residence-municipality viewers below, are drawn more often:
    # they are what the notification basis is about.
    resource_type = draw(st.sampled_from(("Encounter", *TYPES)))
    author = (
        draw(st.sampled_from((HOSPITAL_A, HOSPITAL_B, *ORGS)))
        if resource_type == "Encounter"
        else draw(SOME_ORG) or viewer
    )
    addressed = resource_type in ADDRESSED_TYPES
    return DrawnResource(
        id=resource_id,
        resource_type=resource_type,
        author=author,
        year=draw(st.sampled_from(YEARS)),
        status=draw(st.sampled_from(STATUSES[resource_type])),
        legacy=draw(st.sampled_from((False,) * 9 + (True,))),
        notified=draw(st.sampled_from((None, None, *MUNICIPAL, *ORGS)))
        if resource_type == "Encounter"
        else None,
        refers=draw(st.sampled_from((None, *range(8)))),
        addressed=tuple(address() for _ in range(draw(st.integers(0, 2)))) if addressed else (),
        owner=address() if resource_type == "Task" and draw(st.booleans()) else None,
        deferred=draw(st.sampled_from(("none", "none", "past", "future")))
        if resource_type == "ServiceRequest"
        else "none",
        invited=tuple(
            (draw(SOME_ORG) or viewer, draw(st.sampled_from(ANSWERS)))
            for _ in range(draw(st.integers(1, 3)))
        )
        if resource_type == "Appointment"
        else (),
    )


@st.composite
def viewers(draw: st.DrawFn, home: str | None) -> Principal:
    """A viewer; many of them municipal, mostly of the patient's ``home`` municipality."""
    homes = tuple(o for o in MUNICIPAL if o.kommune == (home or KOMMUNER[0]))
    org = draw(st.sampled_from(homes + homes + ORGS))
    return principal(
        org,
        aliases=frozenset({org.alias}) if draw(st.booleans()) else frozenset(),
        roles=CLINICIAN if draw(st.booleans()) else frozenset(),
    )


# An opening: a broad permit to the viewer (of everything, the Patient or the relatives;
# psychiatry data or not) with an exception or two, by the patient or by an organisation
# under a controller that holds some of the data. Most worlds have one, so that what
# it opens meets the other rules (and the relatives are shown outside their controller).
openings = st.builds(
    Rule,
    type=st.just("permit"),
    when=st.builds(
        Conditions,
        actor=st.sampled_from((None, VIEWER_SOR, VIEWER_SECTOR)),
        # recordConsent(relatives: true) with the Patient: both classes, one provision.
        classes=st.sampled_from(((), (), ("Patient",), ("Patient", RELATIVES_CLASS))),
        year=st.none(),
        in_force=st.just("always"),
        purpose=st.none(),
        psychiatry=st.booleans(),
        named=st.none(),
    ),
    exceptions=st.lists(rule_trees(Rule, symbolic_conditions, 1), max_size=2).map(tuple),
)


@st.composite
def consents(
    draw: st.DrawFn,
    consent_id: str,
    viewer: Principal,
    holders: tuple[Org, ...],
    opening: bool,
) -> DrawnConsent:
    # The patient; an organisation that holds some of the data (or its colleague under
    # the same controller); or (not for an opening) anyone, adversaries included.
    holder = draw(st.sampled_from(holders))
    colleagues = tuple(o for o in ORGS if o.controller == holder.controller)
    anyone = () if opening else ORGS
    recorder = draw(st.sampled_from((None, None, holder, *colleagues, *anyone)))
    return DrawnConsent(
        id=consent_id,
        active=draw(st.sampled_from((True, True, False))),
        recorder=recorder,
        year=draw(st.sampled_from(YEARS)),
        root=resolved(draw(openings if opening else symbolic_rules), viewer, recorder),
        claims=draw(st.sampled_from(ORGS)),
    )


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
    kommune = draw(st.sampled_from((None, KOMMUNER[0], *KOMMUNER)))
    viewer = draw(viewers(kommune))
    viewer_org = next(o for o in ORGS if o.sor == viewer.org)
    count = draw(st.integers(1, 8))
    drawn = tuple(draw(resources(f"r{tokens[i]}", viewer_org)) for i in range(count))
    patient_author = draw(st.sampled_from((HOSPITAL_A, PSYCHIATRY_A, *ORGS)))
    holders = (patient_author, *(d.author for d in drawn))
    kinds = (*(True,) * draw(st.integers(0, 1)), *(False,) * draw(st.integers(0, 2)))
    recorded = tuple(
        draw(consents(f"c{tokens[8 + i]}", viewer, holders, opening))
        for i, opening in enumerate(kinds)
    )
    return Scenario(
        patient_author=patient_author,
        kommune=kommune,
        relatives=draw(st.booleans()),
        resources=drawn,
        consents=recorded,
        other_id=f"o{tokens[11]}",
        viewer=viewer,
        purpose=draw(st.sampled_from(["TREAT", "HRESCH"])),
        override=draw(st.sampled_from((None, None, None, OVERRIDE))),
        psychiatry_notifications=draw(st.booleans()),
    )


# --- as FHIR ---------------------------------------------------------------------------


def at(year: int, day: int, hour: int) -> str:
    return f"{year}-06-{day:02d}T{hour:02d}:00:00+02:00"


def deferral(drawn: DrawnResource) -> str | None:
    """When a deferred referral is to happen: two months ago, or two months from now."""
    if drawn.deferred == "none":
        return None
    days = 60 if drawn.deferred == "future" else -60
    return clock.iso(clock.danish_day_at(clock.day_from_today(days), 10))


def times(drawn: DrawnResource) -> tuple[str, str | None]:
    """Where the resource sits on the timeline: its start and end as written."""
    if drawn.resource_type == "Encounter":
        return at(drawn.year, 1, 8), at(drawn.year, 3, 12)
    if drawn.resource_type == "Appointment":
        return at(drawn.year, 1, 8), at(drawn.year, 1, 10)
    return deferral(drawn) or at(drawn.year, 1, 8), None


REFERRING_ELEMENTS = {
    "Encounter": "partOf",
    "ServiceRequest": "basedOn",
    "CarePlan": "basedOn",
    "Communication": "about",
    "Task": "basedOn",
    "Appointment": "basedOn",
}


def reference(drawn: DrawnResource) -> dict[str, str]:
    return {"reference": f"{drawn.resource_type}/{drawn.id}"}


def addresses(drawn: tuple[Address, ...]) -> list[dict[str, object]]:
    return [address_json(org, kind) for org, kind in drawn]


def resource_json(
    drawn: DrawnResource,
    others: tuple[DrawnResource, ...] = (),
    patient_id: str = PATIENT_ID,
) -> dict[str, Any]:
    """The resource as a sender would have it stored, its marker in every free text."""
    secret = [{"text": marker(drawn.id)}]
    start, end = times(drawn)
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
            "period": {"start": start, "end": end},
            "serviceProvider": {"identifier": {"system": SOR_SYSTEM, "value": drawn.author.sor}},
            "reasonCode": secret,
            "hospitalization": {"dischargeDisposition": secret[0]},
        }
        if drawn.notified:
            base["extension"] = [
                {
                    "url": NOTIFIED_EXTENSION,
                    "valueIdentifier": {"system": SOR_SYSTEM, "value": drawn.notified.sor},
                }
            ]
    elif drawn.resource_type == "ServiceRequest":
        base |= {
            "intent": "order",
            "authoredOn": at(drawn.year, 1, 8),
            "performer": addresses(drawn.addressed),
            "reasonCode": secret,
            "note": secret,
        }
        if drawn.deferred == "past":
            base["occurrencePeriod"] = {"start": start}
        elif drawn.deferred == "future":
            base["occurrenceDateTime"] = start
    elif drawn.resource_type == "CarePlan":
        base |= {
            "intent": "plan",
            "period": {"start": start},
            "description": marker(drawn.id),
            "note": secret,
        }
    elif drawn.resource_type == "Communication":
        base |= {
            "sent": start,
            "recipient": addresses(drawn.addressed),
            "payload": [{"contentString": marker(drawn.id)}],
            "note": secret,
        }
    elif drawn.resource_type == "Task":
        base |= {
            "intent": "order",
            "authoredOn": start,
            "description": marker(drawn.id),
            "note": secret,
        }
        if drawn.owner:
            base["owner"] = address_json(*drawn.owner)
        if drawn.addressed:
            base["restriction"] = {"recipient": addresses(drawn.addressed)}
    else:
        base |= {
            "serviceType": [{"coding": [{"system": PATHWAY_EVENTS, "code": ROUND_TABLE.code}]}],
            "start": start,
            "end": end,
            "minutesDuration": 120,
            "description": marker(drawn.id),
            "comment": marker(drawn.id),
            "participant": [
                {"actor": {"reference": f"Patient/{patient_id}"}, "status": "accepted"},
                *(
                    {"actor": address_json(org, "sor"), "status": answer}
                    for org, answer in drawn.invited
                ),
            ],
        }
    return labelled(base, drawn.sector)


def instant(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value).astimezone(UTC) if value else None


def resource_item(drawn: DrawnResource, stored: StoredResource) -> Item:
    start, end = (instant(t) for t in times(drawn))
    return Item(
        drawn.resource_type,
        drawn.id,
        drawn.sector.value,
        drawn.author.sor,
        stored.content,
        start,
        end or start,
        controller=drawn.controller,
    )


def provision_json(rule: Rule, drawn: tuple[DrawnResource, ...]) -> dict[str, Any]:
    when = rule.when
    provision: dict[str, Any] = {"type": rule.type}
    if when.actor:
        provision["actor"] = provision_actor_json(when.actor)
    if when.classes:
        provision["class"] = [{"code": c} for c in when.classes]
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
        # What a sender claims here decides nothing: the custodian is its token's.
        "organization": [{"identifier": {"system": SOR_SYSTEM, "value": consent.claims.sor}}],
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
    return labelled(patient, scenario.patient_author.sector)


def names(rule: Rule, resource_type: str) -> bool:
    """Whether a permit in ``rule``'s tree names ``resource_type``."""
    return (rule.type == "permit" and resource_type in rule.when.classes) or any(
        names(child, resource_type) for child in rule.exceptions
    )


# --- storing, asking, expecting -----------------------------------------------------------


@dataclass(frozen=True)
class Stored:
    resources: dict[str, StoredResource]  # by id: the patient's, Patient and Consents included
    items: dict[str, Item]


async def store(units: RecordsUnits, scenario: Scenario) -> Stored:
    """Write the scenario's resources in one unit of work (the store's, or the fake's)."""
    saved: dict[str, StoredResource] = {}
    items: dict[str, Item] = {}

    async def save(
        resource: dict[str, Any], sector: Sector, org: str, controller: str, key: str
    ) -> StoredResource:
        stored = await uow.resources.save(
            resource,
            patient_key=key,
            sector=sector.value,
            org=org,
            event_id=f"event-{org}",
            controller=controller,
        )
        assert stored is not None
        return stored

    author = scenario.patient_author
    async with units() as uow:
        patient = await save(
            patient_json(scenario), author.sector, author.sor, author.controller, PATIENT_KEY
        )
        saved[PATIENT_ID] = patient
        born = datetime(1970, 1, 1, tzinfo=UTC)
        items[PATIENT_ID] = Item(
            "Patient",
            PATIENT_ID,
            author.sector.value,
            author.sor,
            patient.content,
            born,
            born,
            controller=author.controller,
        )
        for drawn in scenario.resources:
            stored = await save(
                resource_json(drawn, scenario.resources),
                drawn.sector,
                drawn.author.sor,
                drawn.controller,
                PATIENT_KEY,
            )
            saved[drawn.id] = stored
            items[drawn.id] = resource_item(drawn, stored)
        for consent in scenario.consents:
            stored = await save(
                consent_json(consent, scenario.resources),
                consent.sector,
                consent.org,
                consent.custodian,
                PATIENT_KEY,
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
                controller=consent.custodian,
            )
        # Another patient's resource, written by the viewer's own organisation: it would
        # be shown in full if it were ever mixed into this patient's pathway.
        viewer = scenario.viewer
        other = DrawnResource(
            scenario.other_id,
            "Encounter",
            next(o for o in ORGS if o.sor == viewer.org),
            2026,
            "finished",
        )
        await save(
            resource_json(other, patient_id=patient_resource_id(OTHER_PATIENT_KEY)),
            other.sector,
            other.author.sor,
            other.controller,
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
    units: Any = None,
    **variables: Any,
) -> Response:
    """``query`` as ``viewer`` asks it; the services' units of work are ``units`` (a
    ``FakeStore``'s) when given, else the store's on ``engine``."""
    context = HubContext(
        viewer=viewer,
        intake=IntakeService(units_over(engine), {}),
        units=units or units_over(engine),
        policy=policy,
    )
    result = await SCHEMA.execute(query, variable_values=variables, context_value=context)
    return Response(result.data, result.errors)


async def ask_pathway(
    engine: AsyncEngine, scenario: Scenario, first: int | None = None, units: Any = None
) -> Response:
    return await ask(
        engine,
        scenario.viewer,
        PATHWAY,
        scenario.policy,
        units,
        cpr=CPR,
        first=first,
        purpose=scenario.purpose,
        reason=scenario.override,
    )


async def ask_resource(
    engine: AsyncEngine,
    scenario: Scenario,
    resource_type: str,
    resource_id: str,
    units: Any = None,
) -> Response:
    return await ask(
        engine,
        scenario.viewer,
        RESOURCE,
        scenario.policy,
        units,
        type=resource_type,
        id=resource_id,
        purpose=scenario.purpose,
        reason=scenario.override,
    )


def decided(scenario: Scenario, stored: Stored, now: datetime) -> dict[str, Visibility]:
    """What the policy says of every stored resource of the patient, for this viewer.

    Each Consent's custodian is its recorder's controller as drawn (the patient's own:
    "patient"), never what the Consent says of itself.
    """
    recorders = {c.id: c for c in scenario.consents}
    consents = [
        read_consent(
            s.content,
            custodian=recorders[s.id].custodian,
            recorder_sector=recorders[s.id].sector.value,
        )
        for s in stored.resources.values()
        if s.resource_type == "Consent"
    ]
    principal = scenario.viewer
    viewer = Viewer(
        principal.sector,
        principal.org,
        principal.kommune,
        purpose=scenario.purpose,
        override_reason=scenario.override if scenario.overriding else None,
        controller=principal.controller,
        aliases=principal.aliases,
    )
    # Only an authoritative source's Patient says where the patient lives.
    authoritative = scenario.policy.is_authoritative(
        scenario.patient_author.sector.value, scenario.patient_author.sor
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


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated store, copied for each world."""
    return migrated_template(tmp_path_factory.mktemp("consent-leaks"))


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


WHOLE = (Visibility.FULL, Visibility.ADDRESSED)
# What a pathway or lookup does not show: an invitation is shown only in the listing of
# one's own meetings, never under a CPR number.
NOT_SHOWN = (Visibility.HIDDEN, Visibility.INVITATION)


def every_secret(stored: Stored, scenario: Scenario) -> set[str]:
    """Every id and marker of the patient's data (the Patient's id aside), and the other's."""
    ids = {i for i in stored.resources if i != PATIENT_ID}
    return ids | {marker(i) for i in stored.resources} | {CONTACT_MARKER, scenario.other_id}


def check_refused(
    scenario: Scenario, stored: Stored, pathways: list[Response], lookups: list[Response]
) -> None:
    """An override asserted by someone who may not: an error, and nothing of the patient.

    (A pathway read says why; a lookup answers "Unexpected error.": ``resolve_resource``
    does not turn the refusal into the caller's error as ``resolve_pathway`` does.)
    """
    secrets = every_secret(stored, scenario)
    for response in pathways:
        assert "clinician" in str(response.errors), response.text
    for response in pathways + lookups:
        assert response.errors, response.text
        leaked = sorted(secret for secret in secrets if secret in response.text)
        assert not leaked, (leaked, response.text)
        assert response.data is None or not any(response.data.values()), response.text


def check(
    scenario: Scenario, stored: Stored, full: Response, first: Response, now: datetime
) -> None:
    visibility = decided(scenario, stored, now)
    for seen in sorted({v.value for v in visibility.values()}):
        event(f"a world with {seen} resources")  # --hypothesis-show-statistics
    hidden = {i for i, v in visibility.items() if v in NOT_SHOWN}
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
        secrets |= {marker(PATIENT_ID), CONTACT_MARKER}
    secrets |= {marker(i) for i in hidden | notified}
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
        else:
            assert visibility[entry["id"]] in WHOLE
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

    # (4) Relatives (rule 6): outside their author's controller only under an override or
    # a permit naming them that its recorder may give (the patient, or the controller
    # that holds the Patient record). Psychiatry's record is not its region's somatic
    # units' own (rule 4).
    contact_shown = CONTACT_MARKER in full.text
    viewer, author = scenario.viewer, scenario.patient_author
    own = author.sor == viewer.org or (
        scenario.patient_controller == viewer.controller
        and (author.sector is not Sector.PSYCHIATRY or viewer.sector is Sector.PSYCHIATRY)
    )
    may_permit = any(
        c.active
        and names(c.root, RELATIVES_CLASS)
        and c.custodian in {PATIENT_CUSTODIAN, scenario.patient_controller}
        for c in scenario.consents
    )
    if contact_shown:
        event("relatives shown" + ("" if own else " outside their controller"))
        assert scenario.relatives and visibility[PATIENT_ID] in WHOLE
        assert own or scenario.overriding or may_permit
    if own and scenario.relatives and visibility[PATIENT_ID] in WHOLE:
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
        if visibility[resource_id] in NOT_SHOWN:
            assert resource_id not in response.text
            assert response.text == missing[resource_type].text
        elif resource_type == "Patient":
            assert entry is not None
            assert entry["fhir"] == pathway["patient"]
        else:
            assert entry == entries[resource_id]
    for response in missing.values():
        assert response.data == {"resource": None}, response.text


async def leak_example(template: Path, scenario: Scenario) -> None:
    async def body(engine: AsyncEngine) -> None:
        # The pathway and the lookups read through their unit of work only: the fake's
        # (held to the store's answers by tests/contract/test_resources_repository_contract.py).
        units = FakeStore().units
        stored = await store(units, scenario)
        full = await ask_pathway(engine, scenario, units=units)
        first = await ask_pathway(engine, scenario, first=1, units=units)
        found = {
            resource_id: await ask_resource(engine, scenario, s.resource_type, resource_id, units)
            for resource_id, s in stored.resources.items()
        }
        missing = {
            resource_type: await ask_resource(
                engine, scenario, resource_type, "xnotstored000", units
            )
            for resource_type in {s.resource_type for s in stored.resources.values()}
        }
        if scenario.override and not scenario.may_override:
            event("an override refused")
            check_refused(scenario, stored, [full, first], [*found.values(), *missing.values()])
            return
        now = clock.now()
        check(scenario, stored, full, first, now)
        check_lookups(scenario, stored, full, found, missing, now)

    await in_store(template, body)


# A failing case shrinks for up to Hypothesis's five minutes: let it finish.
@pytest.mark.timeout(7200)
@settings(
    max_examples=worlds(40),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(scenario=scenarios())
def test_the_api_shows_exactly_what_the_policy_decides_and_leaks_nothing_else(
    template: Path, scenario: Scenario
) -> None:
    asyncio.run(leak_example(template, scenario))


# --- deterministic cases ----------------------------------------------------------------

GP = principal(PRACTICE_1, sub="gp")
STAY = DrawnResource("rhiddenstay001", "Encounter", HOSPITAL_A, 2026, "finished")
PSYCHIATRIC_STAY = replace(STAY, id="rhiddenstay002", author=PSYCHIATRY_A)


def quiet_patient(**changes: Any) -> Scenario:
    """A patient of Randers with a stay at hospital A (which wrote the Patient record too,
    with a relative); the GP asks."""
    fields: dict[str, Any] = {
        "patient_author": HOSPITAL_A,
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


def to(
    actor: str,
    rule_type: str,
    purpose: str | None = None,
    resource_type: str | None = None,
    *,
    psychiatry: bool = False,
) -> Rule:
    return Rule(
        rule_type,
        Conditions(
            actor,
            (resource_type,) if resource_type else (),
            None,
            "always",
            purpose,
            psychiatry,
            None,
        ),
    )


def sector(s: Sector) -> str:
    return f"sector:{s.value}"


def recorded(consent_id: str, root: Rule, *, by: Org | None) -> DrawnConsent:
    """A consent recorded by ``by``: the organisation whose token stored it (hospital A
    holds the stay and the Patient record), or None: the patient themself."""
    return DrawnConsent(consent_id, True, by, 2026, root)


GP_STAYS = to(sector(Sector.GP), "permit", None, "Encounter")
GP_PSYCHIATRIC_STAYS = to(sector(Sector.GP), "permit", None, "Encounter", psychiatry=True)

CASES = {
    "a permit for another purpose": quiet_patient(
        purpose="HRESCH",
        consents=(
            recorded(
                "cpermittreat1",
                to(sector(Sector.GP), "permit", "TREAT", "Encounter"),
                by=HOSPITAL_A,
            ),
        ),
    ),
    "a refusal": quiet_patient(
        consents=(recorded("crefusal00001", to(sector(Sector.GP), "deny"), by=HOSPITAL_A),)
    ),
    "a refusal the patient recorded": quiet_patient(
        consents=(
            recorded("cpermitstays0", GP_STAYS, by=HOSPITAL_A),
            recorded("crefusal00003", to(f"sor:{PRACTICE_1.sor}", "deny"), by=None),
        )
    ),
    "no consent at all": quiet_patient(),
    "another kommune's municipality": quiet_patient(viewer=principal(HOME_CARE_707)),
    "the residence municipality, refused": quiet_patient(
        viewer=principal(HOME_CARE_730),
        consents=(
            recorded("crefusal00002", to(sector(Sector.MUNICIPALITY), "deny"), by=HOSPITAL_A),
        ),
    ),
    "the residence municipality, a psychiatric stay": quiet_patient(
        viewer=principal(HOME_CARE_730), resources=(PSYCHIATRIC_STAY,)
    ),
    "a permit for stays that does not name psychiatry": quiet_patient(
        resources=(PSYCHIATRIC_STAY,),
        consents=(recorded("cpermitstays1", GP_STAYS, by=PSYCHIATRY_A),),
    ),
    "a permit for stays by the other region, which holds none": quiet_patient(
        consents=(recorded("cpermitstays2", GP_STAYS, by=HOSPITAL_B),),
    ),
    "a psychiatry permit by the region's somatic hospital": quiet_patient(
        resources=(PSYCHIATRIC_STAY,),
        consents=(recorded("cpermitpsych1", GP_PSYCHIATRIC_STAYS, by=HOSPITAL_A),),
    ),
    "a psychiatry permit by the other region's psychiatry": quiet_patient(
        resources=(PSYCHIATRIC_STAY,),
        consents=(recorded("cpermitpsych2", GP_PSYCHIATRIC_STAYS, by=PSYCHIATRY_B),),
    ),
    "the region's somatic coordinator, a psychiatric stay and record": quiet_patient(
        patient_author=PSYCHIATRY_A,
        resources=(PSYCHIATRIC_STAY,),
        viewer=principal(COORDINATOR_A),
    ),
    "a letter addressed to another organisation": quiet_patient(
        resources=(
            DrawnResource(
                "rletter000001",
                "Communication",
                HOSPITAL_A,
                2026,
                "completed",
                addressed=((HOSPITAL_B, "sor"),),
            ),
        ),
    ),
    "a referral to the GP, deferred": quiet_patient(
        resources=(
            DrawnResource(
                "rreferral0001",
                "ServiceRequest",
                HOSPITAL_A,
                2026,
                "active",
                addressed=((PRACTICE_1, "sor"),),
                deferred="future",
            ),
        ),
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
def test_hidden_data_answers_exactly_as_no_data_does(template: Path, case: str) -> None:
    scenario = CASES[case]

    stay = scenario.resources[0]

    async def with_data(engine: AsyncEngine) -> tuple[list[str], list[str]]:
        await store(units_over(engine), scenario)
        asked = await responses(engine, scenario)
        # The stay is there to be seen, by the organisation that wrote it.
        seen = await responses(engine, replace(scenario, viewer=principal(stay.author)))
        return asked, seen

    async def without_data(engine: AsyncEngine) -> list[str]:
        return await responses(engine, scenario)

    asked, seen = asyncio.run(in_store(template, with_data))
    empty = asyncio.run(in_store(template, without_data))

    assert all(stay.id in text and marker(stay.id) in text for text in seen[:3])
    for text in asked:
        secrets = (stay.id, marker(PATIENT_ID), CONTACT_MARKER, *(c.id for c in scenario.consents))
        for secret in secrets:
            assert secret not in text
    assert asked == empty


def test_a_permit_for_the_purpose_does_show_the_stay(template: Path) -> None:
    """The cases above hide for the reason they say, not because nothing could be shown."""
    scenario = CASES["a permit for another purpose"]
    treating = replace(scenario, purpose="TREAT")

    async def body(engine: AsyncEngine) -> str:
        await store(units_over(engine), treating)
        return (await ask_pathway(engine, treating)).text

    text = asyncio.run(in_store(template, body))
    assert STAY.id in text and marker(STAY.id) in text
    assert marker(PATIENT_ID) not in text  # the permit names stays, not the Patient


# The adversarial permits above, recorded by who holds the data: then they do show it.
HONEST = {
    "a permit for stays by the other region, which holds none": (HOSPITAL_A, GP_STAYS),
    "a psychiatry permit by the region's somatic hospital": (PSYCHIATRY_A, GP_PSYCHIATRIC_STAYS),
    "a psychiatry permit by the other region's psychiatry": (PSYCHIATRY_A, GP_PSYCHIATRIC_STAYS),
    "a permit for stays that does not name psychiatry": (PSYCHIATRY_A, GP_PSYCHIATRIC_STAYS),
}


@pytest.mark.parametrize("case", sorted(HONEST))
def test_the_same_permit_by_who_holds_the_data_does_show_it(template: Path, case: str) -> None:
    holder, rule = HONEST[case]
    scenario = replace(CASES[case], consents=(recorded("chonest000001", rule, by=holder),))
    stay = scenario.resources[0]

    async def body(engine: AsyncEngine) -> str:
        await store(units_over(engine), scenario)
        return (await ask_pathway(engine, scenario)).text

    text = asyncio.run(in_store(template, body))
    assert stay.id in text and marker(stay.id) in text
    assert marker(PATIENT_ID) not in text and CONTACT_MARKER not in text


def test_a_message_addressed_to_the_viewer_shows_it_and_nothing_else(template: Path) -> None:
    """Rule 5: the GP (by its GLN on the token) sees the letter sent to it, not the stay it
    is about nor the patient record; a referral deferred to the future it sees then."""
    letter = DrawnResource(
        "rletter000002",
        "Communication",
        HOSPITAL_A,
        2026,
        "completed",
        refers=1,
        addressed=((PRACTICE_1, sorted(ADDRESS_KINDS)[0]),),
    )
    deferred = replace(CASES["a referral to the GP, deferred"].resources[0], id="rreferral0002")
    gp = replace(GP, aliases=frozenset({PRACTICE_1.alias}))
    scenario = quiet_patient(viewer=gp, resources=(letter, STAY, deferred))

    async def body(engine: AsyncEngine) -> str:
        await store(units_over(engine), scenario)
        return (await ask_pathway(engine, scenario)).text

    text = asyncio.run(in_store(template, body))
    assert letter.id in text and marker(letter.id) in text
    for secret in (STAY.id, marker(STAY.id), deferred.id, marker(deferred.id)):
        assert secret not in text
    assert marker(PATIENT_ID) not in text


ALL_DATA_FOR_GPS = recorded("callofit00001", to(sector(Sector.GP), "permit"), by=HOSPITAL_A)


def about_relatives(
    consent_id: str,
    *,
    by: Org | None,
    rule_type: str = "permit",
    actor: str = sector(Sector.GP),
) -> DrawnConsent:
    """A consent about the patient's relatives (for GPs unless ``actor`` says otherwise)."""
    return recorded(consent_id, to(actor, rule_type, None, RELATIVES_CLASS), by=by)


RELATIVES = {
    "the hospital that recorded them": (principal(HOSPITAL_A, sub="nurse"), (), True),
    "the region's coordinator (the same controller)": (principal(COORDINATOR_A), (), True),
    "the other region's hospital": (principal(HOSPITAL_B), (), None),
    "a GP under a permit for all data": (GP, (ALL_DATA_FOR_GPS,), False),
    "a GP under a permit that names relatives": (
        GP,
        (ALL_DATA_FOR_GPS, about_relatives("crelatives001", by=HOSPITAL_A)),
        True,
    ),
    "a GP under a permit the patient recorded that names relatives": (
        GP,
        (ALL_DATA_FOR_GPS, about_relatives("crelatives002", by=None)),
        True,
    ),
    "a GP under a permit naming relatives by the other region, which does not hold them": (
        GP,
        (ALL_DATA_FOR_GPS, about_relatives("crelatives003", by=HOSPITAL_B)),
        False,
    ),
    "a GP naming relatives for itself": (
        GP,
        (
            ALL_DATA_FOR_GPS,
            about_relatives("crelatives004", by=PRACTICE_1, actor=f"sor:{PRACTICE_1.sor}"),
        ),
        False,
    ),
    "a GP under a permit for all data but a refusal of relatives": (
        GP,
        (
            ALL_DATA_FOR_GPS,
            about_relatives("crelatives001", by=HOSPITAL_A),
            # Anyone may record a refusal: here the GP itself.
            about_relatives("cnorelatives1", by=PRACTICE_1, rule_type="deny"),
        ),
        False,
    ),
}


@pytest.mark.parametrize("case", sorted(RELATIVES))
def test_relatives_are_shown_only_within_their_controller_or_under_a_permit_naming_them(
    template: Path, case: str
) -> None:
    """``expected`` None: the Patient record itself is not shown."""
    viewer, consents, expected = RELATIVES[case]
    scenario = quiet_patient(viewer=viewer, consents=consents)

    async def body(engine: AsyncEngine) -> Response:
        await store(units_over(engine), scenario)
        return await ask_pathway(engine, scenario)

    response = asyncio.run(in_store(template, body))
    patient = response.pathway["patient"]
    if expected is None:
        assert patient is None
        assert marker(PATIENT_ID) not in response.text and CONTACT_MARKER not in response.text
        return
    assert patient is not None and patient["id"] == PATIENT_ID
    assert (CONTACT_MARKER in response.text) is expected
    assert ("contact" in patient) is expected


def test_an_override_by_a_non_clinician_is_an_error_that_shows_nothing(template: Path) -> None:
    """Rule 2: a clinician's override shows the stay; anyone else's is refused, whole."""
    clinician = replace(GP, roles=CLINICIAN)
    overriding = quiet_patient(viewer=clinician, override=OVERRIDE)
    refused = quiet_patient(viewer=principal(HOME_CARE_730), override=OVERRIDE)

    async def body(engine: AsyncEngine) -> tuple[str, Response]:
        await store(units_over(engine), overriding)
        return (await ask_pathway(engine, overriding)).text, await ask_pathway(engine, refused)

    shown, answer = asyncio.run(in_store(template, body))
    assert STAY.id in shown and marker(STAY.id) in shown and CONTACT_MARKER in shown
    assert answer.errors and answer.data is None
    for secret in (STAY.id, marker(STAY.id), marker(PATIENT_ID), CONTACT_MARKER):
        assert secret not in answer.text
