"""The coordinators' page: who gets in, what a form needs, and that the HTML a viewer
gets holds nothing the consent rules hide from them.

One ``hub serve`` (embedded default) serves every test of this module.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import httpx
import orjson
import pytest

from tests.e2e.conftest import Deployment
from tests.support import clock
from tests.support.browser import WebSession, csrf_of, running_hub
from tests.support.hl7 import adt

HOSPITAL = "100000001"
MUNICIPALITY = "730-sundhed"
STAY_REASON = "Alkoholabstinenser med delirium"
REFERRAL_TEXT = "Henvist til alkoholbehandling"
REFERRAL_REASON = "Alkoholisk leversygdom"
MEETING_REASON = "Gentagne akutte indlaeggelser"

CONVENE = """
mutation Convene($input: ConveneRoundTableInput!) {
  conveneRoundTable(input: $input) { id status }
}
"""


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    with running_hub(tmp_path_factory.mktemp("web-access")) as deployment:
        yield deployment


def hospital_token(hub: Deployment) -> str:
    return hub.token("hospital", HOSPITAL, aliases=("hl7:RHR",))


def municipality_token(hub: Deployment) -> str:
    return hub.token("municipality", MUNICIPALITY, kommune="730")


def referral(cpr: str) -> bytes:
    return orjson.dumps(
        {
            "resourceType": "ServiceRequest",
            "id": f"henvisning-{cpr}",
            "status": "active",
            "intent": "order",
            "subject": {"identifier": {"system": "urn:oid:1.2.208.176.1.2", "value": cpr}},
            "code": {"text": REFERRAL_TEXT},
            "reasonCode": [{"text": REFERRAL_REASON}],
            "authoredOn": "2026-11-02T09:00:00+01:00",
        }
    )


def every_page(session: WebSession, patient: str) -> dict[str, str]:
    """The HTML of every page a user can open about the patient, and of the lists."""
    pages = {}
    for path in (
        "/",
        patient,
        f"{patient}?sektor=hospital",
        f"{patient}?type=ServiceRequest",
        f"{patient}?fra={clock.iso(clock.day_from_today(-365))}&til={clock.iso(clock.day_from_today(30))}",
        f"{patient}/samtykke",
        f"{patient}/rundbord",
        "/rundbord",
        "/indikatorer",
        "/indikatorer.csv",
    ):
        response = session.get(path)
        assert response.status_code == 200, (path, response.text)
        pages[path] = response.text
    return pages


def test_a_municipality_without_consent_gets_no_hidden_data_in_any_page(hub: Deployment) -> None:
    cpr = "1507709994"
    hospital = hospital_token(hub)
    admission = adt("A01", cpr=cpr, visit="WEB1", kommune="730", reason=STAY_REASON)
    assert hub.ingest(admission).status_code == 202
    assert hub.ingest(referral(cpr), hospital, format="fhir").status_code == 202
    hub.wait_for(lambda: len(hub.pathway(cpr, hospital)["entries"]) == 2, "the hospital's data")
    hidden_ids = [
        e["id"] for e in hub.pathway(cpr, hospital)["entries"] if e["resourceType"] != "Encounter"
    ]
    meeting = hub.graphql(
        CONVENE,
        hospital,
        input={
            "cpr": cpr,
            "reason": MEETING_REASON,
            "proposedStart": clock.iso(clock.at_danish(7, 10)),
            "participants": [{"org": MUNICIPALITY, "sector": "municipality"}],
        },
    )
    # The meeting's id is not hidden: its invitation carries it, to answer it by.
    assert "errors" not in meeting, meeting
    meeting_id = meeting["data"]["conveneRoundTable"]["id"]

    municipality = WebSession(hub.base_url, municipality_token(hub))
    patient = municipality.patient_path(cpr)
    before = every_page(municipality, patient)
    # The notification basis shows the hospital stay, and the meeting's invitation.
    assert "Hospital" in before[patient]
    assert "Kun invitationen" in before["/rundbord"]
    for path, html in before.items():
        for secret in (STAY_REASON, REFERRAL_TEXT, REFERRAL_REASON, MEETING_REASON, *hidden_ids):
            assert secret not in html, f"{secret!r} reached the municipality in {path}"
    # The list across patients does not tell whom an invitation-only meeting is about.
    assert cpr not in before["/rundbord"] and cpr[:6] not in before["/rundbord"]

    # The invitation is answered from that list.
    answered = municipality.post(f"/rundbord/{meeting_id}/svar", {"svar": "accepted"})
    assert answered.status_code == 303, answered.text
    assert "Deltager" in municipality.get("/rundbord").text
    responses = hub.graphql(
        "query($cpr: String!) { roundTables(cpr: $cpr, first: 5) "
        "{ participants(first: 10) { org response } } }",
        hospital,
        cpr=cpr,
    )
    assert {"org": MUNICIPALITY, "response": "accepted"} in (
        responses["data"]["roundTables"][0]["participants"]
    )

    # The hospital records the patient's consent through the page; the municipality
    # then sees the referral and the meeting (the checks above can fail).
    hospital_session = WebSession(hub.base_url, hospital)
    hospital_patient = hospital_session.patient_path(cpr)
    assert REFERRAL_TEXT in hospital_session.get(hospital_patient).text
    recorded = hospital_session.post(
        f"{hospital_patient}/samtykke", {"beslutning": "permit", "organisation": MUNICIPALITY}
    )
    assert recorded.status_code == 303, recorded.text
    after = municipality.get(patient).text
    assert REFERRAL_TEXT in after
    assert MEETING_REASON in municipality.get(f"{patient}/rundbord").text


def test_pages_need_a_signed_in_user_with_a_valid_token(hub: Deployment) -> None:
    with httpx.Client(base_url=hub.base_url, timeout=30) as client:
        assert client.get("/").headers["location"] == "/ui/"
        anonymous = client.get("/ui/indikatorer")
        assert anonymous.status_code == 303
        assert anonymous.headers["location"] == "/ui/log-ind?videre=/indikatorer"
        form = client.get("/ui/log-ind")
        assert '<html lang="da">' in form.text
        refused = client.post(
            "/ui/log-ind", data={"csrf": csrf_of(form.text), "token": "not-a-token"}
        )
        assert refused.status_code == 401
        assert "kunne ikke godkendes" in refused.text
        assert "brobygger_session" not in refused.headers.get("set-cookie", "")

        signed_in = client.post(
            "/ui/log-ind",
            data={
                "csrf": csrf_of(form.text),
                "token": municipality_token(hub),
                "videre": "/\\evil.example",  # never sent on to another site
            },
        )
        assert signed_in.headers["location"] == "/ui/"
        cookie = signed_in.headers["set-cookie"]
        assert "brobygger_session=" in cookie
        assert "HttpOnly" in cookie and "SameSite=strict" in cookie
        assert "Secure" not in cookie  # served over plain http here; set over https
        page = client.get("/ui/indikatorer")
        assert page.status_code == 200
        assert "script-src" not in page.headers["content-security-policy"]
        assert "default-src 'none'" in page.headers["content-security-policy"]
        assert page.headers["cache-control"] == "no-store"

        signed_out = client.post("/ui/log-ud", data={"csrf": csrf_of(page.text)})
        assert signed_out.status_code == 303
        assert client.get("/ui/indikatorer").status_code == 303


def test_a_form_without_the_csrf_token_changes_nothing(hub: Deployment) -> None:
    cpr = "0101709995"
    assert hub.ingest(adt("A01", cpr=cpr, visit="WEB2")).status_code == 202
    session = WebSession(hub.base_url, hospital_token(hub))
    patient = session.patient_path(cpr)
    consent = {"beslutning": "permit", "organisation": MUNICIPALITY}

    forged = session.client.post(f"{patient}/samtykke", data=consent)
    assert forged.status_code == 403
    wrong = session.client.post(f"{patient}/samtykke", data={**consent, "csrf": "guessed"})
    assert wrong.status_code == 403
    elsewhere = session.client.post(
        f"{patient}/samtykke",
        data={**consent, "csrf": session.csrf},
        headers={"Origin": "https://evil.example"},
    )
    assert elsewhere.status_code == 403
    assert "Ingen samtykker" in session.get(f"{patient}/samtykke").text

    accepted = session.post(f"{patient}/samtykke", consent)
    assert accepted.status_code == 303
    assert "Ingen samtykker" not in session.get(f"{patient}/samtykke").text


def test_a_patient_link_does_not_carry_the_cpr_number(hub: Deployment) -> None:
    session = WebSession(hub.base_url, municipality_token(hub))
    patient = session.patient_path("2512489996")
    assert "2512489996" not in patient and "251248" not in patient
    assert session.get("/patient/not-a-reference").status_code == 404
    refused = session.post("/soeg", {"cpr": "12345"})
    assert refused.status_code == 422
    assert "10 cifre" in refused.text


def test_static_files_are_served(hub: Deployment) -> None:
    css = httpx.get(f"{hub.base_url}/ui/static/site.css")
    assert css.status_code == 200
    assert ".sektor-hospital" in css.text


def test_an_unknown_patient_and_a_hidden_one_look_the_same(hub: Deployment) -> None:
    hidden = "1609709993"  # only a referral of the hospital's, no consent: nothing to see
    assert hub.ingest(referral(hidden), hospital_token(hub), format="fhir").status_code == 202
    hub.wait_for(lambda: hub.pathway(hidden, hospital_token(hub))["entries"] != [], "it")
    unknown = "1709709992"
    session = WebSession(hub.base_url, municipality_token(hub))
    pages = []
    for cpr in (hidden, unknown):
        patient = session.patient_path(cpr)  # both found: a valid number always is
        for path in (patient, f"{patient}/samtykke", f"{patient}/rundbord"):
            html = session.get(path).text
            reference = patient.removeprefix("/patient/")
            pages.append(
                re.sub(r'name="csrf" value="[^"]+"', "", html)
                .replace(reference, "REF")
                .replace(f"{cpr[:6]}-{cpr[6:]}", "CPR")
            )
    assert pages[:3] == pages[3:]
    assert REFERRAL_TEXT not in "".join(pages)
    # A number with a space is a number; a wrong one is refused for its real fault.
    assert session.post("/soeg", {"cpr": "160970 9993"}).status_code == 303
    wrong = session.post("/soeg", {"cpr": "3213709995"})
    assert wrong.status_code == 422 and "32.13.70 er ikke en dato" in wrong.text


def test_refusals_carry_a_machine_code_and_the_page_says_them_in_danish(hub: Deployment) -> None:
    cpr = "1811709990"
    hospital = hospital_token(hub)
    assert hub.ingest(adt("A01", cpr=cpr, visit="WEB3")).status_code == 202
    hub.wait_for(lambda: hub.pathway(cpr, hospital)["entries"] != [], "the stay")
    participants = [{"org": MUNICIPALITY, "sector": "municipality"}]
    for given, code in (
        ({"reason": " "}, "reason-missing"),
        ({"proposedStart": "2020-03-02T10:00:00+01:00"}, "meeting-in-past"),
        ({"durationMinutes": 0}, "bad-duration"),
    ):
        refused = hub.graphql(
            CONVENE,
            hospital,
            input={"cpr": cpr, "reason": MEETING_REASON, "participants": participants, **given},
        )
        assert refused["errors"][0]["extensions"]["code"] == code, refused
    past = hub.graphql(
        "mutation($input: ConsentInput!) { recordConsent(input: $input) { effective } }",
        hospital,
        input={
            "cpr": cpr,
            "decision": "DENY",
            "period": {"start": "2020-01-01", "end": "2020-12-31"},
        },
    )
    assert past["errors"][0]["extensions"]["code"] == "period-past", past

    session = WebSession(hub.base_url, hospital)
    patient = session.patient_path(cpr)
    convened = session.post(
        f"{patient}/rundbord",
        {
            "aarsag": MEETING_REASON,
            "deltager": f"municipality|{MUNICIPALITY}|",
            "tidspunkt": "02.03.2020 10:00",  # Danish text, where no picker is
            "varighed": "60",
        },
    )
    assert convened.status_code == 422
    assert "Tidspunktet er overstået" in convened.text
    assert MEETING_REASON in convened.text  # kept in the form
    assert "past" not in convened.text and "proposedStart" not in convened.text

    missing = session.get("/findes-ikke")
    assert missing.status_code == 404
    assert '<html lang="da">' in missing.text and "Siden findes ikke" in missing.text
    assert "Not Found" not in missing.text
