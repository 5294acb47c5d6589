"""The audit trail: FHIR AuditEvents (IHE BALP style), append-only, on SQLite and PostgreSQL.

Also the access log that reads it: ``hub audit list`` and the ``accessLog`` resolver, who
may call it, and that reading it (or being refused) is itself audited.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import strawberry
from alembic import command
from fhir.resources.R4B.auditevent import AuditEvent
from sqlalchemy import Connection, delete, insert, select, text, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

from hub.bootstrap import units_over
from hub.domain.identifiers import CPR_SYSTEM, SOR_SYSTEM, cpr_patient_key
from hub.domain.sectors import Sector
from hub.entrypoints.cli import main
from hub.services.audit import (
    PURPOSE_SYSTEM,
    AccessLogRefused,
    read_access_log,
    record_access,
    record_disclosure,
)
from hub.services.auth import Principal, TokenIssuer, TokenVerifier
from hub.services.unit_of_work import UnitOfWorkFactory
from hub.store.database import create_engine
from hub.store.migrate import alembic_config, upgrade
from hub.store.resources import StoredResource
from hub.store.tables import audit_events
from hub.store.unit_of_work import UnitOfWork
from schema.audit import AccessLogEntry, resolve_access_log
from tests.conftest import hub_settings

CPR = "2512489996"
PATIENT = cpr_patient_key(CPR)
OTHER_CPR = "0108589995"
REPLACEMENT = "urn:oid:1.2.208.176.1.6.1.1|0703921VJ5"
NURSE = Principal("sygeplejerske-7", Sector.HOSPITAL, "100000001")
HOME_CARE = Principal("randers-omsorg", Sector.MUNICIPALITY, "478941000016003", kommune="730")
AUDITOR = Principal("revisor-1", Sector.COORDINATOR, "999999", roles=frozenset({"auditor"}))
CITIZEN = Principal("borger-nancy", Sector.COORDINATOR, "sundhed-dk", cpr=CPR)


async def stored_encounter(engine: AsyncEngine, id: str = "enc-1") -> StoredResource:
    resource = {
        "resourceType": "Encounter",
        "id": id,
        "status": "in-progress",
        "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "IMP"},
        "period": {"start": "2026-11-22T08:00:00+01:00"},
    }
    async with UnitOfWork(engine) as uow:
        stored = await uow.resources.save(
            resource, patient_key=PATIENT, sector="hospital", org="100000001", event_id=id
        )
        await uow.commit()
    assert stored is not None
    return stored


async def rows(engine: AsyncEngine) -> list[dict[str, Any]]:
    async with engine.connect() as connection:
        result = await connection.execute(select(audit_events).order_by(audit_events.c.id))
        return [dict(row._mapping) for row in result.all()]


async def recorded(engine: AsyncEngine, reader: Principal, **access: Any) -> None:
    """``reader``'s access (``record_access``'s arguments) recorded in a unit of its own."""
    async with UnitOfWork(engine) as uow:
        await record_access(uow, reader, **access)
        await uow.commit()


def entities_by_role(event: dict[str, Any], role: str) -> list[dict[str, Any]]:
    return [e for e in event["entity"] if e["role"]["code"] == role]


# --- recording ---------------------------------------------------------------------------


async def test_an_access_is_stored_as_a_valid_fhir_audit_event(engine: AsyncEngine) -> None:
    encounter = await stored_encounter(engine)
    await recorded(
        engine, NURSE, action="pathway.read", patient_key=PATIENT, disclosed=[encounter], withheld=3
    )

    [row] = await rows(engine)
    assert (row["action"], row["sub"], row["sector"], row["org"]) == (
        "pathway.read",
        "sygeplejerske-7",
        "hospital",
        "100000001",
    )
    assert (row["patient_key"], row["outcome"], row["purpose"]) == (PATIENT, "success", "TREAT")
    assert (row["override_reason"], row["disclosed_count"]) == (None, 1)

    event = row["detail"]
    AuditEvent.model_validate(event)  # valid FHIR R4B
    assert event["action"] == "R" and event["outcome"] == "0"
    assert event["subtype"] == [
        {"system": "urn:brobygger:codesystem:audit-action", "code": "pathway.read"}
    ]
    assert event["purposeOfEvent"][0]["coding"][0] == {
        "system": PURPOSE_SYSTEM,
        "code": "TREAT",
        "display": "treatment",
    }
    assert event["recorded"].startswith(row["at"].isoformat()[:19])
    user, org = event["agent"][0], event["agent"][1]
    assert user["requestor"] is True
    assert user["who"]["identifier"]["value"] == "sygeplejerske-7"
    assert user["role"][0]["coding"][0]["code"] == "hospital"
    assert org["who"]["identifier"] == {"system": SOR_SYSTEM, "value": "100000001"}
    [patient] = entities_by_role(event, "1")
    assert patient["what"]["identifier"] == {"system": CPR_SYSTEM, "value": CPR}
    assert patient["detail"] == [{"type": "withheld", "valueString": "3"}]
    [data] = entities_by_role(event, "4")
    assert data["what"]["reference"] == f"Encounter/enc-1/_history/{encounter.version_id}"


async def test_a_denied_request_and_an_override_are_recorded_as_such(
    engine: AsyncEngine,
) -> None:
    encounter = await stored_encounter(engine)
    async with UnitOfWork(engine) as uow:
        await record_access(
            uow,
            HOME_CARE,
            action="pathway.read",
            patient_key=PATIENT,
            disclosed=[],
            withheld=1,
            outcome="denied",
        )
        await record_access(
            uow,
            HOME_CARE,
            action="pathway.read",
            patient_key=PATIENT,
            disclosed=[encounter],
            purpose="ETREAT",
            override_reason="  bevidstløs, akut behov for medicinliste ",
        )
        await record_access(
            uow,
            NURSE,
            action="consent.record",
            patient_key=PATIENT,
            disclosed=[],
            purpose="TREAT",
        )
        await uow.commit()

    denied, override, consent = await rows(engine)
    assert (denied["outcome"], denied["disclosed_count"]) == ("denied", 0)
    assert denied["detail"]["outcome"] == "4"
    assert "denied" in denied["detail"]["outcomeDesc"]

    assert override["override_reason"] == "bevidstløs, akut behov for medicinliste"
    assert override["purpose"] == "ETREAT"
    purposes = override["detail"]["purposeOfEvent"]
    assert [p["coding"][0]["code"] for p in purposes] == ["ETREAT", "BTG"]
    assert purposes[1]["text"] == "bevidstløs, akut behov for medicinliste"
    assert override["detail"]["agent"][0]["purposeOfUse"] == purposes

    assert consent["detail"]["action"] == "C"  # a record is a create
    assert consent["detail"]["agent"][0]["type"]["coding"][0]["code"] == "AGNT"
    for row in (denied, override, consent):
        AuditEvent.model_validate(row["detail"])


async def test_record_disclosure_still_records_a_treatment_read(engine: AsyncEngine) -> None:
    encounter = await stored_encounter(engine)
    async with UnitOfWork(engine) as uow:
        await record_disclosure(
            uow, NURSE, action="pathway.read", patient_key=PATIENT, disclosed=[encounter]
        )
        await uow.commit()
    [row] = await rows(engine)
    assert (row["purpose"], row["outcome"], row["disclosed_count"]) == ("TREAT", "success", 1)
    AuditEvent.model_validate(row["detail"])


async def test_an_access_about_no_patient_or_a_locally_known_one_is_valid_fhir(
    engine: AsyncEngine,
) -> None:
    async with UnitOfWork(engine) as uow:
        await record_access(uow, NURSE, action="pathway.read", patient_key=None, disclosed=[])
        await record_access(
            uow, NURSE, action="pathway.read", patient_key="urn:local:mrn|X123", disclosed=[]
        )
        await uow.commit()
    nobody, local = await rows(engine)
    assert "entity" not in nobody["detail"]  # FHIR JSON has no empty arrays
    [patient] = entities_by_role(local["detail"], "1")
    assert patient["what"]["identifier"] == {"system": "urn:local:mrn", "value": "X123"}
    for row in (nobody, local):
        AuditEvent.model_validate(row["detail"])


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"purpose": "treatment please"}, "v3-ActReason"),
        ({"outcome": "maybe"}, "outcome"),
        ({"action": "read"}, "pathway.read"),
        ({"withheld": -1}, "negative"),
    ],
)
async def test_an_unusable_record_is_refused_before_it_is_written(
    engine: AsyncEngine, change: dict[str, Any], message: str
) -> None:
    arguments: dict[str, Any] = {"action": "pathway.read", "patient_key": PATIENT, "disclosed": []}
    async with UnitOfWork(engine) as uow:
        with pytest.raises(ValueError, match=message):
            await record_access(uow, NURSE, **(arguments | change))


# --- append-only --------------------------------------------------------------------------


async def test_the_database_refuses_to_change_or_remove_an_audit_record(
    engine: AsyncEngine,
) -> None:
    await recorded(engine, NURSE, action="pathway.read", patient_key=PATIENT, disclosed=[])
    attempts = [
        update(audit_events).values(sub="someone-else"),
        update(audit_events).values(outcome="success"),
        delete(audit_events),
        text("DELETE FROM audit_events WHERE id = 1"),
    ]
    if engine.dialect.name == "postgresql":
        attempts.append(text("TRUNCATE audit_events"))
    for statement in attempts:
        async with engine.connect() as connection:
            with pytest.raises(DBAPIError, match="append-only"):
                await connection.execute(statement)
    [row] = await rows(engine)
    assert row["sub"] == "sygeplejerske-7"


async def test_records_from_before_the_migration_keep_their_count(database_url: str) -> None:
    engine = create_engine(database_url)

    def to(revision: str) -> Any:
        def run(connection: Connection) -> None:
            command.upgrade(alembic_config(connection), revision)

        return run

    try:
        async with engine.begin() as connection:
            await connection.run_sync(to("0002"))
            # Only the columns revision 0002 has (the later ones have server defaults).
            await connection.execute(
                insert(audit_events).values(
                    at=datetime(2026, 11, 1, 8, tzinfo=UTC),
                    action="pathway.read",
                    sub="old",
                    sector="hospital",
                    org="1",
                    patient_key=PATIENT,
                    detail={"resources": ["Encounter/a/_history/1", "Patient/p/_history/2"]},
                )
            )
        await upgrade(engine)
        async with UnitOfWork(engine) as uow:
            [old] = await uow.audit.for_patient(PATIENT)
        assert (old.sub, old.outcome, old.purpose, old.disclosed_count) == (
            "old",
            "success",
            None,
            2,
        )
        async with engine.connect() as connection:
            with pytest.raises(DBAPIError, match="append-only"):
                await connection.execute(delete(audit_events))
    finally:
        await engine.dispose()


async def test_the_audit_migration_can_be_undone_and_redone(engine: AsyncEngine) -> None:
    def downgrade(connection: Connection) -> None:
        command.downgrade(alembic_config(connection), "0002")

    async with engine.begin() as connection:
        await connection.run_sync(downgrade)
        await connection.execute(text("DELETE FROM audit_events"))  # no trigger any more
    await upgrade(engine)
    await recorded(engine, NURSE, action="pathway.read", patient_key=PATIENT, disclosed=[])
    async with engine.connect() as connection:
        with pytest.raises(DBAPIError, match="append-only"):
            await connection.execute(delete(audit_events))


# --- reading the access log ---------------------------------------------------------------


@strawberry.type
class AccessLogQuery:
    access_log: list[AccessLogEntry] = strawberry.field(resolver=resolve_access_log)


ACCESS_LOG_SCHEMA = strawberry.Schema(query=AccessLogQuery)
ACCESS_LOG_QUERY = """
query ($cpr: String!) {
  accessLog(cpr: $cpr) {
    id at action outcome viewerSub viewerSector viewerOrg purpose overrideReason disclosedCount
  }
}
"""


@dataclass(frozen=True)
class AuditContext:
    """The part of ``schema.context.HubContext`` the resolver uses."""

    viewer: Principal
    engine: AsyncEngine

    @property
    def units(self) -> UnitOfWorkFactory[UnitOfWork]:
        return units_over(self.engine)


async def access_log(engine: AsyncEngine, viewer: Principal, cpr: str = CPR) -> Any:
    return await ACCESS_LOG_SCHEMA.execute(
        ACCESS_LOG_QUERY, variable_values={"cpr": cpr}, context_value=AuditContext(viewer, engine)
    )


async def two_reads(engine: AsyncEngine) -> None:
    encounter = await stored_encounter(engine)
    await recorded(engine, NURSE, action="pathway.read", patient_key=PATIENT, disclosed=[encounter])
    await recorded(
        engine,
        HOME_CARE,
        action="pathway.read",
        patient_key=PATIENT,
        disclosed=[encounter],
        withheld=2,
        purpose="ETREAT",
        override_reason="akut",
    )


async def test_an_auditor_reads_the_access_log_newest_first(engine: AsyncEngine) -> None:
    await two_reads(engine)
    result = await access_log(engine, AUDITOR)
    assert result.errors is None
    entries = result.data["accessLog"]
    assert [(e["viewerSub"], e["overrideReason"]) for e in entries] == [
        ("randers-omsorg", "akut"),
        ("sygeplejerske-7", None),
    ]
    assert entries[0] | {"id": "-", "at": "-"} == {
        "id": "-",
        "at": "-",
        "action": "pathway.read",
        "outcome": "success",
        "viewerSub": "randers-omsorg",
        "viewerSector": "municipality",
        "viewerOrg": "478941000016003",
        "purpose": "ETREAT",
        "overrideReason": "akut",
        "disclosedCount": 1,
    }
    assert "withheld" not in str(entries)  # kept for the record, shown to no one here

    # The read is itself audited, naming the entries it showed.
    async with UnitOfWork(engine) as uow:
        latest = (await uow.audit.for_patient(PATIENT))[0]
    assert (latest.action, latest.sub, latest.outcome) == ("audit.read", "revisor-1", "success")
    assert (latest.purpose, latest.disclosed_count) == ("HCOMPL", 2)
    shown = [e["what"]["reference"] for e in entities_by_role(latest.detail, "4")]
    assert shown == [f"AuditEvent/{entry['id']}" for entry in entries]
    assert latest.detail["type"]["code"] == "110101"  # DICOM: Audit Log Used
    AuditEvent.model_validate(latest.detail)


async def test_the_patient_reads_their_own_access_log(engine: AsyncEngine) -> None:
    await two_reads(engine)
    result = await access_log(engine, CITIZEN)
    assert result.errors is None
    assert len(result.data["accessLog"]) == 2
    async with UnitOfWork(engine) as uow:
        latest = (await uow.audit.for_patient(PATIENT))[0]
    assert (latest.action, latest.purpose, latest.outcome) == ("audit.read", "PATRQT", "success")
    assert latest.detail["agent"][0]["type"]["coding"][0]["code"] == "PAT"


@pytest.mark.parametrize(
    "viewer",
    [
        NURSE,  # a clinician who reads the pathway may not read who else did
        Principal("borger-anden", Sector.COORDINATOR, "sundhed-dk", cpr=OTHER_CPR),
        Principal("x", Sector.HOSPITAL, "1", roles=frozenset({"auditor-trainee"})),
    ],
)
async def test_anyone_else_is_refused_and_the_attempt_is_audited(
    engine: AsyncEngine, viewer: Principal
) -> None:
    await two_reads(engine)
    result = await access_log(engine, viewer)
    assert result.data is None
    assert [error.message for error in result.errors] == ["not allowed"]
    async with UnitOfWork(engine) as uow:
        entries = await uow.audit.for_patient(PATIENT)
    assert len(entries) == 3
    attempt = entries[0]
    assert (attempt.action, attempt.sub, attempt.outcome) == ("audit.read", viewer.sub, "denied")
    assert attempt.disclosed_count == 0
    AuditEvent.model_validate(attempt.detail)


async def test_a_malformed_cpr_is_an_error_not_an_access(engine: AsyncEngine) -> None:
    result = await access_log(engine, AUDITOR, cpr="25124899")
    assert "CPR number" in result.errors[0].message
    assert await rows(engine) == []


async def test_read_access_log_raises_for_a_refused_viewer(engine: AsyncEngine) -> None:
    with pytest.raises(AccessLogRefused):
        await read_access_log(units_over(engine), HOME_CARE, CPR)


# --- tokens: roles and the patient's own CPR ----------------------------------------------


async def test_tokens_carry_roles_and_the_patients_own_cpr(tmp_path: Path) -> None:
    settings = hub_settings(tmp_path)
    issuer = TokenIssuer(settings)
    verifier = TokenVerifier(settings)
    auditor = issuer.issue(
        sector=Sector.COORDINATOR, org="999999", sub="revisor-1", roles=frozenset({"auditor"})
    )
    citizen = issuer.issue(
        sector=Sector.COORDINATOR, org="sundhed-dk", sub="borger", cpr="251248-9996"
    )
    plain = issuer.issue(sector=Sector.HOSPITAL, org="1", sub="x")
    assert (await verifier.verify(f"Bearer {auditor}")).roles == frozenset({"auditor"})
    assert (await verifier.verify(f"Bearer {citizen}")).cpr == CPR
    plain_principal = await verifier.verify(f"Bearer {plain}")
    assert (plain_principal.roles, plain_principal.cpr) == (frozenset(), None)


# --- hub audit list -----------------------------------------------------------------------


def test_hub_audit_list_prints_one_line_per_access_newest_first(
    database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    monkeypatch.setenv("HUB_VAR_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("HUB_DATABASE_URL", database_url)

    async def seed() -> None:
        engine = create_engine(database_url)
        try:
            await upgrade(engine)
            await two_reads(engine)
            async with UnitOfWork(engine) as uow:
                await record_access(
                    uow,
                    NURSE,
                    action="pathway.read",
                    patient_key=cpr_patient_key(OTHER_CPR),
                    disclosed=[],
                    outcome="denied",
                )
                await record_access(
                    uow, HOME_CARE, action="inbox.read", patient_key=REPLACEMENT, disclosed=[]
                )
                await uow.commit()
        finally:
            await engine.dispose()

    asyncio.run(seed())
    assert main(["audit", "list", "--cpr", "251248-9996"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2  # the other patient's access is not listed
    newest, oldest = lines
    for part in ("pathway.read", "success", "randers-omsorg", "municipality", "478941000016003"):
        assert part in newest
    assert "1 disclosed" in newest and "ETREAT" in newest
    assert newest.endswith("OVERRIDE: akut")
    assert "sygeplejerske-7" in oldest and "TREAT" in oldest and "OVERRIDE" not in oldest

    assert main(["audit", "list", "--cpr", CPR, "--limit", "1"]) == 0
    assert len(capsys.readouterr().out.splitlines()) == 1
    assert main(["audit", "list", "--cpr", "1111111111"]) == 0
    assert capsys.readouterr().out.strip() == "no accesses recorded"
    # A patient known only by a replacement number, named as SYSTEM|VALUE.
    assert main(["audit", "list", "--cpr", REPLACEMENT]) == 0
    (line,) = capsys.readouterr().out.splitlines()
    assert "inbox.read" in line and "randers-omsorg" in line


def test_hub_audit_list_refuses_a_malformed_cpr(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    monkeypatch.setenv("HUB_VAR_DIR", str(tmp_path / "var"))
    assert main(["audit", "list", "--cpr", "not-a-cpr"]) == 2
    assert "CPR number" in capsys.readouterr().err
    # An identifier that is no replacement number is refused the same way.
    assert main(["audit", "list", "--cpr", "urn:example:mrn|12345"]) == 2
    assert "replacement number" in capsys.readouterr().err
    assert not (tmp_path / "var" / "hub.db").exists()
