"""The FHIR REST interface in process, against a SQLite store: conformance (what it answers
validates as FHIR R4, Bundles, links, totals), hidden answered as missing, formats and
errors, SMART scopes.

The hub's own FHIR models (``fhir.resources``, R4B, as the adapters use) validate
every CapabilityStatement, Bundle and OperationOutcome the interface answers with.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from fhir.resources.R4B import get_fhir_model_class
from sqlalchemy.ext.asyncio import AsyncEngine

from hub.bootstrap import units_over
from hub.config import OidcSettings
from hub.domain.consent import SECTOR_ROLE_SYSTEM, Policy
from hub.domain.identifiers import CPR_SYSTEM, SOR_SYSTEM, cpr_patient_key, patient_resource_id
from hub.domain.sectors import Sector
from hub.services.auth import TokenError, TokenIssuer, TokenVerifier
from hub.store.database import create_engine
from hub.store.migrate import upgrade
from hub.store.unit_of_work import UnitOfWork
from schema.fhir import RefusingSmartScopes, create_fhir_app
from schema.fhir.smart import SmartConfiguration
from tests.conftest import hub_settings
from tests.support.fake_idp import FakeIdentityProvider

CPR = "0101709995"
KEY = cpr_patient_key(CPR)
PATIENT = patient_resource_id(KEY)
OTHER_CPR = "0202804441"
OTHER_KEY = cpr_patient_key(OTHER_CPR)
OTHER = patient_resource_id(OTHER_KEY)
HOSPITAL = "100001"
REGION = "sor:100000"
GP = "300001"
HOME_CARE = "730001"
STAYS = [f"stay{n}" for n in range(5)]  # the hospital's, the first three shared with GPs
ACT_CODE = "http://terminology.hl7.org/CodeSystem/v3-ActCode"


def stay(resource_id: str, day: int, status: str = "finished") -> dict[str, Any]:
    return {
        "resourceType": "Encounter",
        "id": resource_id,
        "status": status,
        "class": {"system": ACT_CODE, "code": "IMP"},
        "subject": {"reference": f"Patient/{PATIENT}"},
        "period": {
            "start": f"2025-06-{day:02d}T08:00:00+02:00",
            "end": f"2025-06-{day + 1:02d}T12:00:00+02:00",
        },
        "reasonCode": [{"text": f"SECRET-{resource_id}"}],
    }


def gp_consent(consent_id: str, data_class: str, named: list[str]) -> dict[str, Any]:
    """The patient's consent, recorded at the hospital: GPs may see ``data_class`` (only the
    ``named`` resources, when any are)."""
    provision: dict[str, Any] = {
        "type": "permit",
        "actor": [{"role": {"coding": [{"system": SECTOR_ROLE_SYSTEM, "code": "gp"}]}}],
        "class": [{"code": data_class}],
    }
    if named:
        provision["data"] = [
            {"meaning": "instance", "reference": {"reference": reference}} for reference in named
        ]
    return {
        "resourceType": "Consent",
        "id": consent_id,
        "status": "active",
        "scope": {
            "coding": [
                {
                    "system": "http://terminology.hl7.org/CodeSystem/consentscope",
                    "code": "patient-privacy",
                }
            ]
        },
        "category": [{"coding": [{"system": "http://loinc.org", "code": "59284-0"}]}],
        "patient": {"identifier": {"system": CPR_SYSTEM, "value": CPR}},
        "dateTime": "2025-05-01T09:00:00+02:00",
        "provision": provision,
    }


RESOURCES: list[tuple[dict[str, Any], str]] = [
    (
        {
            "resourceType": "Patient",
            "id": PATIENT,
            "identifier": [{"system": CPR_SYSTEM, "value": CPR}],
            "name": [{"family": "Berggren"}],
            "address": [{"use": "home", "district": "730"}],
        },
        KEY,
    ),
    *((stay(sid, 2 + 3 * n), KEY) for n, sid in enumerate(STAYS)),
    (gp_consent("gpstays", "Encounter", [f"Encounter/{s}" for s in STAYS[:3]]), KEY),
    (gp_consent("gppatient", "Patient", []), KEY),
    (
        {
            "resourceType": "Task",
            "id": "followup",
            "status": "requested",
            "intent": "order",
            "for": {"reference": f"Patient/{PATIENT}"},
            "owner": {"identifier": {"system": SOR_SYSTEM, "value": HOME_CARE}},
            "description": "Opfølgning efter udskrivelse",
        },
        KEY,
    ),
    (
        {
            "resourceType": "Patient",
            "id": OTHER,
            "identifier": [{"system": CPR_SYSTEM, "value": OTHER_CPR}],
        },
        OTHER_KEY,
    ),
    (stay("otherstay", 3) | {"subject": {"reference": f"Patient/{OTHER}"}}, OTHER_KEY),
]


@dataclass
class Hub:
    client: httpx.AsyncClient
    issuer: TokenIssuer

    def token(self, sector: Sector, org: str, **claims: Any) -> dict[str, str]:
        controller = {Sector.HOSPITAL: REGION}.get(sector)
        token = self.issuer.issue(
            sector=sector, org=org, sub="dev", controller=controller, **claims
        )
        return {"Authorization": f"Bearer {token}"}

    @property
    def hospital(self) -> dict[str, str]:
        return self.token(Sector.HOSPITAL, HOSPITAL)

    @property
    def gp(self) -> dict[str, str]:
        return self.token(Sector.GP, GP)

    @property
    def home_care(self) -> dict[str, str]:
        return self.token(Sector.MUNICIPALITY, HOME_CARE, kommune="730")

    async def get(self, path: str, headers: dict[str, str], **params: str) -> httpx.Response:
        return await self.client.get(path, headers=headers, params=params)


@pytest.fixture(scope="module")
async def engine(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[AsyncEngine]:
    path: Path = tmp_path_factory.mktemp("fhir-rest") / "hub.db"
    engine = create_engine(f"sqlite+aiosqlite:///{path}")
    await upgrade(engine)
    async with UnitOfWork(engine) as uow:
        for resource, key in RESOURCES:
            await uow.resources.save(
                resource,
                patient_key=key,
                sector="hospital",
                org=HOSPITAL,
                event_id=f"event-{resource['id']}",
                controller=REGION,
            )
        await uow.commit()
    async with UnitOfWork(engine) as uow:  # a second version of the first stay
        await uow.resources.save(
            stay(STAYS[0], 2) | {"status": "entered-in-error"},
            patient_key=KEY,
            sector="hospital",
            org=HOSPITAL,
            event_id="event-correction",
            controller=REGION,
        )
        await uow.commit()
    yield engine
    await engine.dispose()


@pytest.fixture(scope="module")
async def hub(engine: AsyncEngine, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Hub]:
    settings = hub_settings(tmp_path_factory.mktemp("fhir-rest-var"))
    app = create_fhir_app(
        units_over(engine),
        Policy(),
        TokenVerifier(settings),
        local_timezone="Europe/Copenhagen",
        oidc=None,
    )
    transport = httpx.ASGITransport(app=app, root_path="/fhir")
    async with httpx.AsyncClient(transport=transport, base_url="http://hub.test/fhir") as client:
        yield Hub(client, TokenIssuer(settings))


def valid(body: dict[str, Any]) -> dict[str, Any]:
    """``body`` once its FHIR model has read it (raises when it is not valid FHIR)."""
    get_fhir_model_class(body["resourceType"]).model_validate(body)
    return body


def ids(bundle: dict[str, Any], mode: str = "match") -> list[str]:
    return [e["resource"]["id"] for e in bundle.get("entry", []) if e["search"]["mode"] == mode]


def link(bundle: dict[str, Any], relation: str) -> str | None:
    return next((x["url"] for x in bundle["link"] if x["relation"] == relation), None)


async def test_the_capability_statement_is_valid_r4_and_says_what_the_hub_serves(
    hub: Hub,
) -> None:
    response = await hub.client.get("/metadata")  # no token: a client finds out first
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/fhir+json")
    statement = valid(response.json())
    assert statement["fhirVersion"] == "4.0.1" and statement["kind"] == "instance"
    served = {r["type"]: r for r in statement["rest"][0]["resource"]}
    assert set(served) >= {"Patient", "Encounter", "ServiceRequest", "CarePlan", "Consent"}
    assert {"Appointment", "Communication", "Task", "Flag"} <= set(served)
    encounter = served["Encounter"]
    assert {i["code"] for i in encounter["interaction"]} == {
        "read",
        "vread",
        "history-instance",
        "search-type",
    }
    assert {p["name"] for p in encounter["searchParam"]} >= {
        "patient",
        "status",
        "date",
        "class",
        "_lastUpdated",
    }
    assert {p["name"] for p in served["Task"]["searchParam"]} >= {"owner", "status"}
    assert served["Patient"]["operation"][0]["name"] == "everything"
    assert "Encounter:patient" in encounter["searchInclude"]


async def test_a_read_shows_the_resource_with_its_version_and_answers_304_when_unchanged(
    hub: Hub,
) -> None:
    response = await hub.get(f"/Encounter/{STAYS[1]}", hub.hospital)
    assert response.status_code == 200
    assert valid(response.json())["id"] == STAYS[1]
    assert response.headers["etag"] == 'W/"1"'
    assert "last-modified" in response.headers
    again = await hub.client.get(
        f"/Encounter/{STAYS[1]}", headers={**hub.hospital, "If-None-Match": 'W/"1"'}
    )
    assert again.status_code == 304 and again.content == b""


async def test_a_hidden_resource_answers_exactly_as_a_missing_one(hub: Hub) -> None:
    hidden = await hub.get(f"/Encounter/{STAYS[4]}", hub.gp)  # no consent covers it
    missing = await hub.get("/Encounter/stay9", hub.gp)  # no such stay
    assert hidden.status_code == missing.status_code == 404
    assert valid(hidden.json())["issue"][0]["code"] == "not-found"
    assert hidden.text.replace(STAYS[4], "stay9") == missing.text
    assert hidden.headers == missing.headers
    shared = await hub.get(f"/Encounter/{STAYS[1]}", hub.gp)  # the consent names this one
    assert shared.status_code == 200 and "SECRET" in shared.text
    for path in (f"/Encounter/{STAYS[4]}/_history", f"/Encounter/{STAYS[4]}/_history/1"):
        assert (await hub.get(path, hub.gp)).status_code == 404


async def test_history_lists_every_version_newest_first_and_vread_reads_one(hub: Hub) -> None:
    response = await hub.get(f"/Encounter/{STAYS[0]}/_history", hub.hospital)
    bundle = valid(response.json())
    assert bundle["type"] == "history" and bundle["total"] == 2
    assert [e["resource"]["status"] for e in bundle["entry"]] == ["entered-in-error", "finished"]
    assert [e["request"]["method"] for e in bundle["entry"]] == ["PUT", "POST"]
    first = await hub.get(f"/Encounter/{STAYS[0]}/_history/1", hub.hospital)
    assert first.json()["status"] == "finished" and first.headers["etag"] == 'W/"1"'
    assert (await hub.get(f"/Encounter/{STAYS[0]}/_history/3", hub.hospital)).status_code == 404


async def test_a_search_pages_through_what_the_caller_may_see_and_counts_only_that(
    hub: Hub,
) -> None:
    everything_seen: list[str] = []
    url: str | None = f"/Encounter?patient=Patient/{PATIENT}&_count=2&_sort=-date"
    pages = 0
    while url:
        response = await hub.client.get(url, headers=hub.gp)
        bundle = valid(response.json())
        assert bundle["type"] == "searchset" and bundle["total"] == 3
        everything_seen += ids(bundle)
        next_url = link(bundle, "next")
        url = next_url
        pages += 1
    assert everything_seen == [STAYS[2], STAYS[1], STAYS[0]]  # newest first, the GP's three
    assert pages == 2
    hospital = (await hub.get("/Encounter", hub.hospital, patient=PATIENT, _count="2")).json()
    assert hospital["total"] == 5 and len(ids(hospital)) == 2
    assert link(hospital, "next") is not None and "_offset=2" in str(link(hospital, "next"))


async def test_search_parameters_select_as_the_spec_defines_them(hub: Hub) -> None:
    async def found(**params: str) -> list[str]:
        response = await hub.get("/Encounter", hub.hospital, patient=PATIENT, **params)
        assert response.status_code == 200, response.text
        return sorted(ids(valid(response.json())))

    assert await found(status="entered-in-error") == [STAYS[0]]
    assert await found(status="finished", date="ge2025-06-10") == STAYS[3:]
    assert await found(date="2025-06") == STAYS  # each stay lies within June
    assert await found(date="eq2025-06-05") == []  # no stay lies within that one day
    assert await found(**{"class": f"{ACT_CODE}|IMP", "_id": STAYS[2]}) == [STAYS[2]]
    by_cpr = await hub.get(
        "/Encounter", hub.hospital, **{"patient:identifier": f"{CPR_SYSTEM}|{CPR}"}
    )
    assert by_cpr.json()["total"] == 5
    patients = (
        await hub.get("/Patient", hub.hospital, identifier=f"{CPR_SYSTEM}|{OTHER_CPR}")
    ).json()
    assert ids(valid(patients)) == [OTHER]


async def test_include_adds_the_patient_as_the_caller_may_see_it(hub: Hub) -> None:
    response = await hub.get(
        "/Encounter", hub.gp, patient=PATIENT, _include="Encounter:patient", _count="1"
    )
    bundle = valid(response.json())
    assert ids(bundle, "include") == [PATIENT]
    assert bundle["total"] == 3  # included resources are not counted


async def test_unknown_parameters_are_ignored_and_reported_or_refused_when_strict(
    hub: Hub,
) -> None:
    lenient = await hub.get("/Encounter", hub.hospital, patient=PATIENT, colour="blue")
    bundle = valid(lenient.json())
    assert bundle["total"] == 5
    assert "colour" not in str(link(bundle, "self"))  # the self link names what was used
    outcome = [e for e in bundle["entry"] if e["search"]["mode"] == "outcome"]
    assert "colour" in outcome[0]["resource"]["issue"][0]["diagnostics"]
    strict = await hub.client.get(
        "/Encounter",
        params={"patient": PATIENT, "colour": "blue"},
        headers={**hub.hospital, "Prefer": "handling=strict"},
    )
    assert strict.status_code == 400
    assert valid(strict.json())["issue"][0]["code"] == "not-supported"
    bad = await hub.get("/Encounter", hub.hospital, patient=PATIENT, date="last-week")
    assert bad.status_code == 400 and valid(bad.json())["issue"][0]["code"] == "invalid"


async def test_a_search_that_names_no_patient_is_refused_unless_it_is_a_worklist(
    hub: Hub,
) -> None:
    refused = await hub.get("/Encounter", hub.hospital, status="finished")
    assert refused.status_code == 403
    assert valid(refused.json())["issue"][0]["code"] == "too-costly"
    owner = f"{SOR_SYSTEM}|{HOME_CARE}"
    tasks = await hub.get(
        "/Task", hub.home_care, **{"owner:identifier": owner, "status": "requested"}
    )
    assert ids(valid(tasks.json())) == ["followup"]  # addressed to home care
    other = await hub.get("/Task", hub.gp, **{"owner:identifier": owner})
    assert other.json()["total"] == 0  # not the GP's to see


async def test_a_notification_is_matched_on_what_it_shows_only(hub: Hub) -> None:
    """Home care (the patient's residence municipality) sees the stays as notifications."""
    response = await hub.get("/Encounter", hub.home_care, patient=PATIENT, status="finished")
    bundle = valid(response.json())
    assert bundle["total"] == 4 and "SECRET" not in response.text
    updated = await hub.get("/Encounter", hub.home_care, patient=PATIENT, _lastUpdated="ge2000")
    assert updated.json()["total"] == 0  # a notification shows no meta to match on


async def test_everything_gives_the_consented_record_patient_first(hub: Hub) -> None:
    response = await hub.get(f"/Patient/{PATIENT}/$everything", hub.gp)
    bundle = valid(response.json())
    assert ids(bundle)[0] == PATIENT
    assert sorted(ids(bundle)[1:]) == STAYS[:3]
    assert bundle["total"] == 4
    stays = (
        await hub.get(f"/Patient/{PATIENT}/$everything", hub.hospital, _type="Encounter")
    ).json()
    assert stays["total"] == 5 and all(
        e["resource"]["resourceType"] == "Encounter" for e in stays["entry"]
    )
    paged = (await hub.get(f"/Patient/{PATIENT}/$everything", hub.hospital, _count="3")).json()
    assert len(ids(paged)) == 3 and link(paged, "next") is not None
    assert (
        await hub.get(f"/Patient/{PATIENT}/$everything", hub.hospital, _since="2000-01-01")
    ).json()["total"] == 9
    later = (
        await hub.get(f"/Patient/{PATIENT}/$everything", hub.hospital, _since="2999-01-01")
    ).json()
    assert later["total"] == 0


async def test_everything_of_a_patient_the_caller_may_not_see_is_as_of_none(hub: Hub) -> None:
    hidden = await hub.get(f"/Patient/{OTHER}/$everything", hub.gp)
    missing = await hub.get(
        f"/Patient/{patient_resource_id(cpr_patient_key('0303904441'))}/$everything", hub.gp
    )
    assert hidden.status_code == missing.status_code == 404


@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH", "DELETE"])
async def test_writes_answer_405_and_point_to_the_message_intake(hub: Hub, method: str) -> None:
    response = await hub.client.request(method, "/Encounter/x", headers=hub.hospital, json={})
    assert response.status_code == 405
    assert "/ingest/fhir" in valid(response.json())["issue"][0]["diagnostics"]
    create = await hub.client.post("/Encounter", headers=hub.hospital, json={})
    assert create.status_code == 405


async def test_errors_are_operation_outcomes_with_their_status(hub: Hub) -> None:
    unauthenticated = await hub.client.get(f"/Encounter/{STAYS[0]}")
    assert unauthenticated.status_code == 401
    assert unauthenticated.headers["www-authenticate"].startswith("Bearer")
    assert valid(unauthenticated.json())["issue"][0]["code"] == "login"
    xml = await hub.get(f"/Encounter/{STAYS[0]}", hub.hospital, _format="xml")
    assert xml.status_code == 406
    unknown = await hub.get("/MedicationRequest/x", hub.hospital)
    assert (
        unknown.status_code == 404 and valid(unknown.json())["issue"][0]["code"] == "not-supported"
    )
    plain = await hub.get(f"/Encounter/{STAYS[1]}", hub.hospital, _format="application/json")
    assert plain.headers["content-type"].startswith("application/json")


async def test_smart_scopes_narrow_what_a_token_reads(hub: Hub) -> None:
    encounters_only = hub.token(Sector.HOSPITAL, HOSPITAL, scopes=frozenset({"user/Encounter.rs"}))
    assert (await hub.get(f"/Encounter/{STAYS[1]}", encounters_only)).status_code == 200
    task = await hub.get("/Task/followup", encounters_only)
    assert task.status_code == 403 and valid(task.json())["issue"][0]["code"] == "forbidden"
    included = await hub.get(
        "/Encounter", encounters_only, patient=PATIENT, _include="Encounter:patient"
    )
    assert ids(included.json(), "include") == []  # no Patient scope: not included

    this_patient = hub.token(
        Sector.HOSPITAL, HOSPITAL, scopes=frozenset({"patient/*.rs"}), launch_patient=PATIENT
    )
    assert (await hub.get(f"/Encounter/{STAYS[1]}", this_patient)).status_code == 200
    elsewhere = await hub.get("/Encounter/otherstay", this_patient)
    missing = await hub.get("/Encounter/nosuchstay", this_patient)
    assert elsewhere.status_code == missing.status_code == 404
    assert (await hub.get("/Encounter", this_patient, patient=OTHER)).json()["total"] == 0
    assert (await hub.get(f"/Patient/{OTHER}/$everything", this_patient)).status_code == 404
    no_context = hub.token(Sector.HOSPITAL, HOSPITAL, scopes=frozenset({"patient/*.rs"}))
    assert (await hub.get(f"/Encounter/{STAYS[1]}", no_context)).status_code == 403

    # Scopes never widen: a GP token for everything still sees what consent allows.
    gp_everything = hub.token(Sector.GP, GP, scopes=frozenset({"system/*.rs"}))
    assert (await hub.get(f"/Encounter/{STAYS[4]}", gp_everything)).status_code == 404


async def test_the_smart_configuration_names_the_issuers_endpoints() -> None:
    provider = FakeIdentityProvider(issuer="http://idp.test")
    settings = OidcSettings(
        issuer=provider.issuer,
        client_id="hub",
        client_secret="s3cret",
        redirect_url="http://hub.test/ui/oidc/callback",
    )
    document = await SmartConfiguration(
        settings, transport=httpx.ASGITransport(app=provider.app())
    ).document()
    assert document["issuer"] == provider.issuer
    assert document["authorization_endpoint"].endswith("/authorize")
    assert document["token_endpoint"].endswith("/token")
    assert "permission-v2" in document["capabilities"]
    assert document["code_challenge_methods_supported"] == ["S256"]


async def test_graphql_refuses_a_token_whose_smart_scopes_would_narrow_it(
    tmp_path: Path,
) -> None:
    """No API widens what a SMART token may read: one GraphQL would not narrow is refused."""
    settings = hub_settings(tmp_path)
    issuer, verifier = TokenIssuer(settings), RefusingSmartScopes(TokenVerifier(settings))
    plain = issuer.issue(sector=Sector.GP, org=GP, sub="dev", scopes=frozenset({"openid"}))
    assert (await verifier.verify(f"Bearer {plain}")).org == GP
    smart = issuer.issue(sector=Sector.GP, org=GP, sub="dev", scopes=frozenset({"user/*.rs"}))
    with pytest.raises(TokenError, match="FHIR REST"):
        await verifier.verify(f"Bearer {smart}")
