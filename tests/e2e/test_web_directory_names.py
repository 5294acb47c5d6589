"""Organisations by name on the page and in GraphQL, once the SOR directory is loaded.

The operator loads the demo's SOR sample with ``hub directory load``; from then on the
coordinators' page names every organisation it shows by SOR code — consent lines,
participants, tovholder, action owners, the status panel — with the code beside the
name, the convene form finds organisations by name in the directory, and GraphQL
gives each round-table and status organisation its ``name``. An organisation the
directory does not hold stays "SOR <code>".
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from hub.entrypoints.demo import DEMO_DIRECTORY
from tests.e2e.conftest import Deployment
from tests.e2e.test_web_coordinator import check_accessibility
from tests.support import clock
from tests.support.browser import chromium, running_hub, screenshot
from tests.support.clock import hl7
from tests.support.directory_entries import directory_entry
from tests.support.hl7 import adt
from tests.support.hub_process import run_hub

CPR = "2512489996"
API_CPR = "0606709995"
REGION = "sor:900011000016007"  # Region Midtjylland, in the sample
HOSPITAL = "100000001"
HOSPITAL_NAME = "Akutmodtagelsen, Regionshospitalet Randers"
COORDINATOR = "999888777"  # not in the directory
MUNICIPALITY = "478941000016003"
MUNICIPALITY_NAME = "Randers Kommune, Sundhed og Omsorg"  # as SOR names it
SENT_NAME = "Rusmiddelcenteret (egen post)"  # as its own Organization resource named it
GP = "555555555"
GP_NAME = "Lægehuset Vestergade"
UNKNOWN = "123123123"
MEETING = clock.at_danish(7, 10)

MEETING_FIELDS = """
  id
  convener { org name }
  participants(first: 10) { org name }
  plan {
    tovholder { org name }
    actions(first: 5) { responsible { org name } }
    history(first: 5) { tovholder tovholderName }
  }
"""
ROUND_TABLES = f"""
query($cpr: String!) {{ roundTables(cpr: $cpr, first: 5) {{ {MEETING_FIELDS} }} }}
"""
CONVENE = f"""
mutation($input: ConveneRoundTableInput!) {{
  conveneRoundTable(input: $input) {{ {MEETING_FIELDS} }}
}}
"""
PLAN = f"""
mutation($id: ID!, $goals: [String!]!, $actions: [RoundTableActionInput!]!, $t: String!) {{
  recordRoundTablePlan(meetingId: $id, goals: $goals, actions: $actions, tovholder: $t) {{
    {MEETING_FIELDS}
  }}
}}
"""
RECORD_CONSENT = """
mutation($input: ConsentInput!) { recordConsent(input: $input) { effective } }
"""

STATUS = """
query($cpr: String!) {
  pathwayStatus(cpr: $cpr) {
    activePlans(first: 5) { tovholder tovholderSor tovholderName }
    overdueActions(first: 5) { owner ownerSor ownerName }
    nextRoundTable { participants(first: 10) { display sor name } }
  }
}
"""


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    with running_hub(tmp_path_factory.mktemp("web-directory-names")) as deployment:
        loaded = run_hub("directory", "load", str(DEMO_DIRECTORY), env=deployment.env)
        assert loaded.returncode == 0, loaded.stderr
        assert "loaded" in loaded.stdout
        # `hub serve` reads the new load within seconds (its cache asks every 5 s).
        deployment.wait_for(
            lambda: (
                deployment.graphql(
                    "query($sor: String!) { organisation(sor: $sor) { name } }", sor=MUNICIPALITY
                )["data"]["organisation"]
                is not None
            ),
            "hub serve to see the loaded directory",
            timeout=30,
        )
        hospital = deployment.token("hospital", HOSPITAL, aliases=("hl7:RHR",), controller=REGION)
        admission = adt(
            "A01",
            cpr=CPR,
            name="Berggren^Nancy",
            visit="V42",
            kommune="730",
            admitted=hl7(clock.at_danish(-3, 8)),
        )
        assert deployment.ingest(admission, hospital).status_code == 202
        # The municipality's own directory entry names it otherwise: SOR's name wins.
        entry = directory_entry("rusmiddelcenter", MUNICIPALITY, SENT_NAME)
        municipality = deployment.token("municipality", MUNICIPALITY, kommune="730")
        assert deployment.ingest(entry, municipality, format="fhir").status_code == 202
        yield deployment


def call(hub: Deployment, query: str, token: str, **variables: Any) -> Any:
    body = hub.graphql(query, token, **variables)
    assert "errors" not in body, body
    return next(iter(body["data"].values()))


def sign_in(page: Page, hub: Deployment, token: str) -> None:
    page.goto(hub.base_url)
    page.get_by_label("Adgangsnøgle").fill(token)
    page.get_by_role("button", name="Log ind").click()
    page.get_by_label("CPR-nummer").fill(CPR)
    page.get_by_role("button", name="Find").click()
    expect(page.locator(".tidslinje")).to_contain_text("Hospital")


def test_the_page_names_organisations_and_the_convene_form_finds_them_by_name(
    hub: Deployment,
) -> None:
    token = hub.token("coordinator", COORDINATOR, controller=REGION)
    with chromium() as browser:
        page = browser.new_page()
        page.set_default_timeout(20_000)
        sign_in(page, hub, token)

        # Consent for the municipality, typed as a bare SOR code: shown by its name.
        page.get_by_role("link", name="Samtykke").click()
        expect(page.get_by_label(re.compile(MUNICIPALITY_NAME))).to_be_visible()
        expect(page.get_by_text(SENT_NAME)).to_have_count(0)
        page.get_by_label("Andre organisationer").fill(f"{MUNICIPALITY}, {COORDINATOR}")
        page.get_by_role("button", name="Registrér").click()
        expect(page.get_by_role("status")).to_have_text(re.compile("Samtykket er registreret"))
        consents = page.get_by_role("table", name="Samtykker og frabedelser")
        expect(consents).to_contain_text(f"{MUNICIPALITY_NAME} (SOR {MUNICIPALITY})")
        expect(consents).to_contain_text(f"SOR {COORDINATOR}")  # unknown: the code alone
        check_accessibility(page)
        screenshot(page, "navne-01-samtykke")

        # The convene form: a search by name in the directory.
        page.get_by_role("link", name="Rundbordsmøder og plan").click()
        page.get_by_label("Søg organisation").fill("lægehuset vestergade")
        page.get_by_role("button", name="Søg", exact=True).click()
        found = page.locator("fieldset", has_text="Fundet i organisationsregistret")
        gp = found.locator(".deltager", has_text=f"SOR {GP}")
        expect(gp).to_contain_text(f"{GP_NAME} (SOR {GP}, Almen praksis)")
        expect(gp).to_contain_text("Samtykke dækker ikke")
        check_accessibility(page)
        screenshot(page, "navne-02-soeg-organisation")

        page.get_by_label("Årsag").fill("Gentagne akutte indlæggelser")
        page.get_by_label(re.compile(f"SOR {GP}")).check()
        page.get_by_label(re.compile(MUNICIPALITY_NAME)).check()
        page.get_by_label("Foreslået tidspunkt").fill(MEETING.strftime("%Y-%m-%dT%H:%M"))
        page.get_by_role("button", name="Send indkaldelse").click()
        expect(page.get_by_role("status")).to_have_text(re.compile("Rundbordsmødet er indkaldt"))
        participants = page.get_by_role("table", name="Deltagere og svar")
        expect(participants).to_contain_text(f"{GP_NAME} (SOR {GP})")
        expect(participants).to_contain_text(f"{MUNICIPALITY_NAME} (SOR {MUNICIPALITY})")
        expect(participants).to_contain_text(f"SOR {COORDINATOR}")

        # The plan: tovholder and action owner by name, in the choices and the table.
        page.get_by_label("Mål (ét pr. linje)").fill("Kontakt til rusmiddelcenter")
        page.get_by_label("Tovholder", exact=True).select_option(MUNICIPALITY)
        page.locator("#handling-1-0").fill("Første samtale")
        page.locator("#ansvarlig-1-0").select_option(MUNICIPALITY)
        page.locator("#frist-1-0").fill(clock.iso(clock.day_from_today(-2)))
        page.get_by_role("button", name="Gem planen").click()
        expect(page.get_by_role("status")).to_have_text(re.compile("Planen er registreret"))
        expect(page.get_by_text("Tovholder:")).to_contain_text(
            f"{MUNICIPALITY_NAME} (SOR {MUNICIPALITY})"
        )
        actions = page.get_by_role("table", name="Handlinger")
        expect(actions.get_by_role("row", name=re.compile("Første samtale"))).to_contain_text(
            MUNICIPALITY_NAME
        )
        check_accessibility(page)
        screenshot(page, "navne-03-plan")

        # A directory organisation without a sector of the hub: the form asks for one.
        page.get_by_label("Søg organisation").fill("region midtjylland")
        page.get_by_role("button", name="Søg", exact=True).click()
        region = page.locator(".deltager", has_text="Region Midtjylland")
        expect(region.get_by_label("Sektor (registret angiver ingen)")).to_be_visible()
        page.get_by_label("Søg organisation").fill("ingen sådan organisation")
        page.get_by_role("button", name="Søg", exact=True).click()
        expect(page.get_by_text("Ingen åbne organisationer i registret")).to_be_visible()

        # The status panel.
        page.get_by_role("link", name="Forløb og status").click()
        status = page.locator(".status")
        expect(status).to_contain_text(f"tovholder: {MUNICIPALITY_NAME} (SOR {MUNICIPALITY})")
        expect(status).to_contain_text(f"Første samtale – {MUNICIPALITY_NAME}")
        check_accessibility(page)
        screenshot(page, "navne-04-forloeb")

        # The GP's worklist: the invitation, and nothing of whose meeting it is.
        browser.clear_cookies()  # signed out: the next user signs in
        gp_page = page
        gp_page.goto(hub.base_url)
        gp_page.get_by_label("Adgangsnøgle").fill(hub.token("gp", GP))
        gp_page.get_by_role("button", name="Log ind").click()
        worklist = gp_page.get_by_role("table", name="Åbne punkter til din organisation")
        invitation = worklist.get_by_role("row", name=re.compile("Invitation til rundbordsmøde"))
        expect(invitation).to_contain_text("Kun invitationen")
        expect(worklist).not_to_contain_text(CPR[:6])
        expect(worklist).not_to_contain_text("Plan fra rundbordsmøde")

        # The municipality's: the invitation, the plan and its action, each leading to
        # the patient; marked done, an item leaves the list.
        browser.clear_cookies()
        municipal = page
        municipal.goto(hub.base_url)
        municipal.get_by_label("Adgangsnøgle").fill(
            hub.token("municipality", MUNICIPALITY, kommune="730")
        )
        municipal.get_by_role("button", name="Log ind").click()
        worklist = municipal.get_by_role("table", name="Åbne punkter til din organisation")
        for kind in ("Invitation til rundbordsmøde", "Plan fra rundbordsmøde", "Handling til jer"):
            expect(worklist.get_by_role("row", name=re.compile(kind))).to_have_count(1)
        check_accessibility(municipal)
        screenshot(municipal, "navne-05-arbejdsliste")
        plan_row = worklist.get_by_role("row", name=re.compile("Plan fra rundbordsmøde"))
        plan_row.get_by_label("Begrundelse (ved afvisning)").fill("")
        plan_row.get_by_label("Marker som").select_option("declined")
        plan_row.get_by_role("button", name="Gem").click()
        expect(municipal.get_by_role("alert")).to_have_text(
            "Skriv en begrundelse, når du afviser et punkt."
        )
        plan_row = worklist.get_by_role("row", name=re.compile("Plan fra rundbordsmøde"))
        plan_row.get_by_label("Marker som").select_option("done")
        plan_row.get_by_role("button", name="Gem").click()
        expect(municipal.get_by_role("status")).to_have_text("Punktet er markeret som færdigt.")
        expect(
            worklist.get_by_role("row", name=re.compile("Plan fra rundbordsmøde"))
        ).to_have_count(0)
        worklist.get_by_role("row", name=re.compile("Handling til jer")).get_by_role(
            "link", name="Åbn patienten"
        ).click()
        expect(municipal.locator(".tidslinje")).to_contain_text("Hospital")


def test_graphql_gives_round_table_and_status_organisations_their_name(hub: Deployment) -> None:
    hospital = hub.token("hospital", HOSPITAL, aliases=("hl7:RHR",), controller=REGION)
    admission = adt("A01", cpr=API_CPR, name="Gormsen^Ingeborg", visit="V43", kommune="730")
    assert hub.ingest(admission, hospital).status_code == 202
    hub.wait_for(lambda: hub.pathway(API_CPR, hospital)["entries"] != [], "the stay")
    call(
        hub,
        RECORD_CONSENT,
        hospital,
        input={"cpr": API_CPR, "decision": "PERMIT", "organisations": [MUNICIPALITY]},
    )
    meeting = call(
        hub,
        CONVENE,
        hospital,
        input={
            "cpr": API_CPR,
            "reason": "Gentagne akutte indlæggelser",
            "proposedStart": clock.iso(MEETING),
            "participants": [
                # No name given: the directory's.
                {"org": MUNICIPALITY, "sector": "municipality"},
                # A name given: the directory's wins.
                {"org": GP, "sector": "gp", "name": "Egen læge"},
                # Unknown to the directory: the name given, else none.
                {"org": UNKNOWN, "sector": "gp", "name": "Lægeklinikken i byen"},
                {"org": COORDINATOR, "sector": "coordinator"},
            ],
        },
    )
    assert meeting["convener"] == {"org": HOSPITAL, "name": HOSPITAL_NAME}
    assert {p["org"]: p["name"] for p in meeting["participants"]} == {
        HOSPITAL: HOSPITAL_NAME,
        MUNICIPALITY: MUNICIPALITY_NAME,
        GP: GP_NAME,
        UNKNOWN: "Lægeklinikken i byen",
        COORDINATOR: None,
    }
    planned = call(
        hub,
        PLAN,
        hospital,
        id=meeting["id"],
        goals=["Kontakt til rusmiddelcenter"],
        actions=[
            {
                "description": "Første samtale",
                "responsibleOrg": MUNICIPALITY,
                "due": clock.iso(clock.day_from_today(-2)),
            }
        ],
        t=MUNICIPALITY,
    )
    assert planned["plan"]["tovholder"] == {"org": MUNICIPALITY, "name": MUNICIPALITY_NAME}
    assert planned["plan"]["actions"] == [
        {"responsible": {"org": MUNICIPALITY, "name": MUNICIPALITY_NAME}}
    ]
    assert planned["plan"]["history"] == [
        {"tovholder": MUNICIPALITY, "tovholderName": MUNICIPALITY_NAME}
    ]
    assert call(hub, ROUND_TABLES, hospital, cpr=API_CPR) == [planned]

    status = call(hub, STATUS, hospital, cpr=API_CPR)
    assert [(p["tovholderSor"], p["tovholderName"]) for p in status["activePlans"]] == [
        (MUNICIPALITY, MUNICIPALITY_NAME)
    ]
    assert [(a["ownerSor"], a["ownerName"]) for a in status["overdueActions"]] == [
        (MUNICIPALITY, MUNICIPALITY_NAME)
    ]
    participants = status["nextRoundTable"]["participants"]
    assert {p["sor"]: p["name"] for p in participants} == {
        HOSPITAL: HOSPITAL_NAME,
        MUNICIPALITY: MUNICIPALITY_NAME,
        GP: GP_NAME,
        UNKNOWN: None,  # the status gives the directory's name only; `display` the given one
        COORDINATOR: None,
    }
    assert {p["sor"]: p["display"] for p in participants}[UNKNOWN] == "Lægeklinikken i byen"
