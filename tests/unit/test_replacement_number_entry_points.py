"""A patient known only by a replacement number (erstatningspersonnummer) is named by
``patient: {system, value}`` in every entry point that takes a patient: consent,
pathway status, rundbordsmøder and the access log work for them as for a CPR number,
through the real GraphQL schema on a fresh SQLite store. A viewer without a basis gets
exactly the answer an unknown number gets."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any, cast

import orjson
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.fhir import FhirAdapter
from consumers.round_table_index import RoundTableIndexer
from hub.domain.sectors import Sector
from hub.domain.translation import Sender
from hub.services.auth import Principal
from hub.services.intake import IntakeService
from hub.services.pathway_events import PathwayEventMessage
from hub.store.database import create_engine
from hub.store.unit_of_work import UnitOfWork
from schema.build import build_schema
from schema.context import HubContext
from schema.pathway_events import PathwayEvent
from tests.support import clock
from tests.support.inbound_events import inbound_event, project
from tests.support.store_templates import migrated_sqlite
from tests.unit.test_round_table_safety_plan import ProjectingIntake

SYSTEM = "urn:oid:1.2.208.176.1.6.1.1"
NUMBER = "0703921VJ5"
PATIENT = {"system": SYSTEM, "value": NUMBER}
UNKNOWN = {"system": SYSTEM, "value": "1111111XX1"}  # a number nobody wrote about
HOSPITAL, MUNICIPALITY = "100000001", "730-sundhed"
WARD = Sender(Sector.HOSPITAL, HOSPITAL, "adt-feed", controller=HOSPITAL)
HOSPITAL_STAFF = Principal("afd-m3", Sector.HOSPITAL, HOSPITAL, controller=HOSPITAL)
MUNICIPAL_STAFF = Principal(
    "randers", Sector.MUNICIPALITY, MUNICIPALITY, kommune="730", controller="730"
)
AUDITOR = Principal("revisor", Sector.HOSPITAL, "900000009", roles=frozenset({"auditor"}))

SCHEMA = build_schema(allow_introspection=False)

STATUS = """
query Status($patient: PatientIdentifierInput) {
  pathwayStatus(patient: $patient) {
    cpr patient { system value } whereabouts openReferralCount activePlanCount
  }
}"""
PATHWAY = """
query Pathway($patient: PatientIdentifierInput) {
  pathway(patient: $patient) { entries { resourceType } }
}"""
RECORD = """
mutation Record($input: ConsentInput!) {
  recordConsent(input: $input) { identifier status effective }
}"""
REVOKE = """
mutation Revoke($patient: PatientIdentifierInput, $identifier: String!) {
  revokeConsent(patient: $patient, identifier: $identifier) { status effective }
}"""
ACCESS_LOG = """
query Log($patient: PatientIdentifierInput) {
  accessLog(patient: $patient) { action outcome viewerOrg }
}"""
CONVENE = """
mutation Convene($input: ConveneRoundTableInput!) {
  conveneRoundTable(input: $input) { id cpr patient { system value } invitationOnly }
}"""
ROUND_TABLES = """
query Meetings($patient: PatientIdentifierInput) {
  roundTables(patient: $patient) { id cpr patient { system value } invitationOnly reason }
}"""


@pytest.fixture
async def sqlite(tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    async with migrated_sqlite(tmp_path / "hub.db") as engine:
        yield engine


@pytest.fixture
async def unmigrated(tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    """A store without tables: for requests refused before anything is read."""
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'empty.db'}")
    yield engine
    await engine.dispose()


async def admitted(engine: AsyncEngine) -> None:
    """The hospital admits the patient, whom it knows by the replacement number only."""
    subject = {"identifier": PATIENT}
    bundle = {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {
                "resource": {
                    "resourceType": "Patient",
                    "identifier": [PATIENT],
                    "name": [{"family": "Hansen", "given": ["Peter"]}],
                },
                "request": {"method": "PUT", "url": f"Patient?identifier={SYSTEM}|{NUMBER}"},
            },
            {
                "resource": {
                    "resourceType": "Encounter",
                    "status": "in-progress",
                    "class": {"code": "IMP"},
                    "subject": subject,
                    "period": {"start": "2025-11-01T08:00:00+01:00"},
                },
                "request": {"method": "PUT", "url": "Encounter?identifier=urn:visit|v1"},
            },
        ],
    }
    (translation,) = FhirAdapter().translate(orjson.dumps(bundle), WARD)
    assert translation.patient_key == f"{SYSTEM}|{NUMBER}"
    await project(engine, inbound_event("fhir", translation, WARD), [RoundTableIndexer()])


async def run(
    engine: AsyncEngine, viewer: Principal, query: str, **variables: Any
) -> dict[str, Any]:
    """The query's whole answer as ``viewer`` gets it: data and errors."""
    intake = cast(IntakeService, ProjectingIntake(engine))
    units = partial(UnitOfWork, engine)
    context = HubContext(viewer=viewer, intake=intake, units=units)
    result = await SCHEMA.execute(query, variable_values=variables, context_value=context)
    errors = [
        {"message": e.message, "code": (e.extensions or {}).get("code")}
        for e in result.errors or []
    ]
    return {"data": result.data, "errors": errors}


async def data(engine: AsyncEngine, viewer: Principal, query: str, **variables: Any) -> Any:
    answer = await run(engine, viewer, query, **variables)
    assert not answer["errors"], answer["errors"]
    return answer["data"]


async def test_consent_under_the_replacement_number_decides_what_a_kommune_sees(
    sqlite: AsyncEngine,
) -> None:
    await admitted(sqlite)

    # No basis yet: the kommune is told exactly what it is told of an unknown number.
    status = (await data(sqlite, MUNICIPAL_STAFF, STATUS, patient=PATIENT))["pathwayStatus"]
    unknown = (await data(sqlite, MUNICIPAL_STAFF, STATUS, patient=UNKNOWN))["pathwayStatus"]
    assert status["cpr"] is None and status["patient"] == PATIENT
    assert {**status, "patient": None} == {**unknown, "patient": None}
    assert status["whereabouts"] == "UNKNOWN"
    assert (await data(sqlite, MUNICIPAL_STAFF, PATHWAY, patient=PATIENT)) == (
        await data(sqlite, MUNICIPAL_STAFF, PATHWAY, patient=UNKNOWN)
    )

    # The holding hospital records the patient's consent for the municipal sector.
    permit = {"patient": PATIENT, "decision": "PERMIT", "sectors": ["municipality"]}
    recorded = (await data(sqlite, HOSPITAL_STAFF, RECORD, input=permit))["recordConsent"]
    assert recorded["effective"] and recorded["status"] == "active"
    status = (await data(sqlite, MUNICIPAL_STAFF, STATUS, patient=PATIENT))["pathwayStatus"]
    assert status["whereabouts"] == "ADMITTED"
    shown = (await data(sqlite, MUNICIPAL_STAFF, PATHWAY, patient=PATIENT))["pathway"]
    assert "Encounter" in {e["resourceType"] for e in shown["entries"]}

    # Revoked, under the same number: hidden again, exactly like an unknown number.
    revoked = await data(
        sqlite, HOSPITAL_STAFF, REVOKE, patient=PATIENT, identifier=recorded["identifier"]
    )
    assert revoked["revokeConsent"] == {"status": "inactive", "effective": True}
    status = (await data(sqlite, MUNICIPAL_STAFF, STATUS, patient=PATIENT))["pathwayStatus"]
    assert {**status, "patient": None} == {**unknown, "patient": None}

    # Permitted again, then refused by the patient: the refusal hides it.
    await data(sqlite, HOSPITAL_STAFF, RECORD, input=permit)
    refusal = {"patient": PATIENT, "decision": "DENY", "sectors": ["municipality"]}
    await data(sqlite, MUNICIPAL_STAFF, RECORD, input=refusal)
    status = (await data(sqlite, MUNICIPAL_STAFF, STATUS, patient=PATIENT))["pathwayStatus"]
    assert {**status, "patient": None} == {**unknown, "patient": None}
    shown = (await data(sqlite, MUNICIPAL_STAFF, PATHWAY, patient=PATIENT))["pathway"]
    assert [e["resourceType"] for e in shown["entries"]] == ["Consent"]  # its own refusal


async def test_the_access_log_of_a_replacement_number(sqlite: AsyncEngine) -> None:
    await admitted(sqlite)
    await data(sqlite, MUNICIPAL_STAFF, STATUS, patient=PATIENT)

    log = (await data(sqlite, AUDITOR, ACCESS_LOG, patient=PATIENT))["accessLog"]
    assert {"action": "pathway.status", "outcome": "denied", "viewerOrg": MUNICIPALITY} in log
    # Not an auditor: refused alike for the patient and for an unknown number.
    refused = await run(sqlite, MUNICIPAL_STAFF, ACCESS_LOG, patient=PATIENT)
    assert refused == await run(sqlite, MUNICIPAL_STAFF, ACCESS_LOG, patient=UNKNOWN)
    assert refused["data"] is None and refused["errors"][0]["message"] == "not allowed"
    # The refused attempt is itself in the log, under the real reader.
    log = (await data(sqlite, AUDITOR, ACCESS_LOG, patient=PATIENT))["accessLog"]
    assert {"action": "audit.read", "outcome": "denied", "viewerOrg": MUNICIPALITY} in log


async def test_a_round_table_about_a_replacement_number(sqlite: AsyncEngine) -> None:
    await admitted(sqlite)
    convene = {
        "patient": PATIENT,
        "reason": "Gentagne indlaeggelser",
        "participants": [{"org": MUNICIPALITY, "sector": "municipality"}],
        "proposedStart": clock.day_from_today(7).isoformat() + "T10:00:00+01:00",
    }
    meeting = (await data(sqlite, HOSPITAL_STAFF, CONVENE, input=convene))["conveneRoundTable"]
    assert meeting["cpr"] is None and meeting["patient"] == PATIENT
    assert not meeting["invitationOnly"]
    (own,) = (await data(sqlite, HOSPITAL_STAFF, ROUND_TABLES, patient=PATIENT))["roundTables"]
    assert own["id"] == meeting["id"] and own["reason"] == "Gentagne indlaeggelser"

    # Invited without the patient's consent: the invitation, never whose it is.
    (invitation,) = (await data(sqlite, MUNICIPAL_STAFF, ROUND_TABLES))["roundTables"]
    assert invitation["invitationOnly"] and invitation["patient"] is None
    assert invitation["cpr"] is None and invitation["reason"] is None
    # Asked by the number, the kommune learns nothing an unknown number does not tell.
    asked = await run(sqlite, MUNICIPAL_STAFF, ROUND_TABLES, patient=PATIENT)
    unknown = await run(sqlite, MUNICIPAL_STAFF, ROUND_TABLES, patient=UNKNOWN)
    assert asked == unknown == {"data": {"roundTables": []}, "errors": []}

    # Without a basis of its own, the kommune may not convene about the patient.
    refused = await run(
        sqlite,
        MUNICIPAL_STAFF,
        CONVENE,
        input=convene | {"participants": [{"org": HOSPITAL, "sector": "hospital"}]},
    )
    assert refused["errors"][0]["code"] == "no-basis"


@pytest.mark.parametrize(
    ("patient", "code", "named"),
    [
        ({"system": "urn:oid:9.9.9", "value": "X1"}, "unknown-patient-system", "urn:oid:9.9.9"),
        ({"system": SYSTEM, "value": "a b"}, "bad-replacement-number", None),
        ({"system": SYSTEM, "value": "A|B"}, "patient-argument", None),
    ],
)
async def test_a_number_that_is_no_patient_key_is_refused(
    unmigrated: AsyncEngine, patient: dict[str, str], code: str, named: str | None
) -> None:
    answers = [
        await run(unmigrated, HOSPITAL_STAFF, STATUS, patient=patient),
        await run(sqlite, HOSPITAL_STAFF, RECORD, input={"patient": patient, "decision": "DENY"}),
        await run(unmigrated, HOSPITAL_STAFF, ROUND_TABLES, patient=patient),
    ]
    for answer in answers:
        (error,) = answer["errors"]
        assert error["code"] == code, answer
        assert named is None or named in error["message"]
        assert patient["value"] not in error["message"]  # a number is never echoed


async def test_exactly_one_of_cpr_and_patient(unmigrated: AsyncEngine) -> None:
    both = await run(
        unmigrated,
        HOSPITAL_STAFF,
        'query { pathwayStatus(cpr: "0101709995", '
        f'patient: {{system: "{SYSTEM}", value: "{NUMBER}"}}) {{ whereabouts }} }}',
    )
    neither = await run(unmigrated, HOSPITAL_STAFF, "query { accessLog { action } }")
    assert both["errors"][0]["code"] == "patient-argument"
    assert neither["errors"][0]["message"] == "give exactly one of cpr and patient"


def test_a_pathway_event_names_the_replacement_number_unless_withheld() -> None:
    def event(withheld: bool) -> PathwayEvent:
        return PathwayEvent.from_message(
            PathwayEventMessage(
                "s1",
                1,
                "admission",
                None,
                None if withheld else "e1",
                datetime(2025, 11, 1, tzinfo=UTC),
                withheld,
                None,
                patient_key=f"{SYSTEM}|{NUMBER}",
            )
        )

    shown = event(withheld=False).patient
    assert shown is not None and (shown.system, shown.value) == (SYSTEM, NUMBER)
    assert event(withheld=True).patient is None
