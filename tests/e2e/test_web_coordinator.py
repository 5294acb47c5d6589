"""A coordinator's day on the page, in a real browser against a real ``hub serve``.

The social nurse signs in, finds the patient (she sees nothing yet), records the
patient's oral consent, convenes a rundbordsmøde with the municipality from the
directory and the GP by SOR code (not covered by the consent), records the plan with
its actions and tovholder, updates an action and sees it all on the timeline; then
the indicators. Every page is checked for the basics of WCAG 2.1 AA, and screenshots
are saved under test-artifacts/web/.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator
from typing import Any

import orjson
import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import Deployment
from tests.support import clock
from tests.support.browser import chromium, running_hub, screenshot
from tests.support.clock import hl7
from tests.support.hl7 import adt

CPR = "2512489996"
COORDINATOR = "999888777"  # a social nurse employed by the region, as its hospital is
REGION = "sor:1000001"  # their data controller
MUNICIPALITY = "478941000016003"
MUNICIPALITY_NAME = "Randers Kommune, Rusmiddelcenter"
GP = "555555555"
REASON = "Gentagne akutte indlæggelser og usikker bolig"
ADMITTED = clock.at_danish(-16, 8)
MEETING = clock.at_danish(7, 10)  # a week ahead, 10:00 Danish time


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    with running_hub(tmp_path_factory.mktemp("web-coordinator")) as deployment:
        admission = adt(
            "A01",
            cpr=CPR,
            name="Berggren^Nancy",
            visit="V42",
            kommune="730",
            admitted=hl7(ADMITTED),
        )
        hospital = deployment.token(
            "hospital", "100000001", aliases=("hl7:RHR",), controller=REGION
        )
        assert deployment.ingest(admission, hospital).status_code == 202
        directory_entry = orjson.dumps(
            {
                "resourceType": "Organization",
                "id": "rusmiddelcenter",
                "identifier": [{"system": "urn:oid:1.2.208.176.1.1", "value": MUNICIPALITY}],
                "active": True,
                "name": MUNICIPALITY_NAME,
            }
        )
        municipality = deployment.token("municipality", MUNICIPALITY, kommune="730")
        assert deployment.ingest(directory_entry, municipality, format="fhir").status_code == 202
        yield deployment


def relative_luminance(colour: str) -> float:
    red, green, blue = (int(v) / 255 for v in re.findall(r"[\d.]+", colour)[:3])

    def channel(c: float) -> float:
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    return 0.2126 * channel(red) + 0.7152 * channel(green) + 0.0722 * channel(blue)


def contrast(foreground: str, background: str) -> float:
    lighter, darker = sorted(
        (relative_luminance(foreground), relative_luminance(background)), reverse=True
    )
    return (lighter + 0.05) / (darker + 0.05)


def check_accessibility(page: Page) -> None:
    """What a keyboard and screen-reader user needs on every page (WCAG 2.1 AA basics)."""
    assert page.get_attribute("html", "lang") == "da"
    unlabelled = page.evaluate(
        """() => [...document.querySelectorAll('input, select, textarea')]
            .filter(el => el.type !== 'hidden' && el.labels.length === 0)
            .map(el => el.name)"""
    )
    assert unlabelled == [], f"inputs without a label: {unlabelled}"
    levels = page.evaluate(
        "() => [...document.querySelectorAll('h1, h2, h3, h4, h5, h6')]"
        ".map(h => Number(h.tagName[1]))"
    )
    assert levels and levels[0] == 1 and levels.count(1) == 1, levels
    assert all(b - a <= 1 for a, b in itertools.pairwise(levels)), levels
    colours: list[dict[str, Any]] = page.evaluate(
        """() => [...document.querySelectorAll('.sektor, button, a, p, td, dd, label')]
            .slice(0, 200).map(el => {
              let bg = 'rgba(0, 0, 0, 0)', node = el;
              while (node && bg === 'rgba(0, 0, 0, 0)') {
                bg = getComputedStyle(node).backgroundColor; node = node.parentElement;
              }
              if (bg === 'rgba(0, 0, 0, 0)') bg = 'rgb(255, 255, 255)';
              return {text: el.textContent.trim().slice(0, 40),
                      fg: getComputedStyle(el).color, bg: bg};
            })"""
    )
    for item in colours:
        ratio = contrast(item["fg"], item["bg"])
        assert ratio >= 4.5, f"contrast {ratio:.2f} of {item}"
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Spring til indhold"
    outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert outline != "none", "the focused element shows no focus"


def test_a_coordinators_day(hub: Deployment) -> None:
    token = hub.token("coordinator", COORDINATOR, controller=REGION)
    with chromium() as browser:
        page = browser.new_page()
        page.set_default_timeout(20_000)

        page.goto(hub.base_url)
        expect(page.get_by_role("heading", name="Log ind")).to_be_visible()
        check_accessibility(page)
        screenshot(page, "01-log-ind")
        page.get_by_label("Adgangsnøgle").fill(token)
        page.get_by_role("button", name="Log ind").click()

        expect(page.get_by_role("heading", name="Find patient")).to_be_visible()
        check_accessibility(page)
        page.get_by_label("CPR-nummer").fill("251248-9996")
        page.get_by_role("button", name="Find").click()
        # The region's stay is the coordinator's own controller's data: shown at once.
        expect(page.locator(".tidslinje")).to_contain_text("Hospital")
        assert CPR not in page.url
        screenshot(page, "02-patient")

        page.get_by_role("link", name="Samtykke").click()
        check_accessibility(page)
        page.get_by_label(re.compile(MUNICIPALITY_NAME)).check()
        page.get_by_label("Andre organisationer").fill(COORDINATOR)
        page.get_by_label("Behandling", exact=True).check()
        page.get_by_role("button", name="Registrér").click()
        expect(page.get_by_role("status")).to_have_text(re.compile("Samtykket er registreret"))
        consents = page.get_by_role("table", name="Samtykker og frabedelser")
        expect(consents).to_contain_text(f"SOR {MUNICIPALITY}")
        expect(consents).to_contain_text("Behandling")
        screenshot(page, "03-samtykke")

        page.get_by_role("link", name="Forløb og status").click()
        expect(page.locator(".tidslinje")).to_contain_text("Hospital")
        expect(page.locator(".status")).to_contain_text("Indlagt")
        check_accessibility(page)

        page.get_by_role("link", name="Rundbordsmøder og plan").click()
        check_accessibility(page)
        # Before sending: the consent just recorded covers the municipality.
        candidate = page.locator(".deltager", has_text=MUNICIPALITY_NAME)
        expect(candidate).to_contain_text("Samtykke dækker")
        expect(candidate).not_to_contain_text("dækker ikke")
        page.get_by_label("Årsag").fill(REASON)
        page.get_by_label(re.compile(MUNICIPALITY_NAME)).check()
        page.get_by_label("Rolle").first.fill("rusmiddelkonsulent")
        page.locator("#ny-sor-1").fill(GP)
        page.locator("#ny-navn-1").fill("Lægehuset i Randers")
        page.locator("#ny-sektor-1").select_option("gp")
        page.get_by_label("Foreslået tidspunkt").fill(MEETING.strftime("%Y-%m-%dT%H:%M"))
        page.get_by_label("Din rolle").fill("socialsygeplejerske")
        page.get_by_role("button", name="Send indkaldelse").click()
        expect(page.get_by_role("status")).to_have_text(re.compile("Rundbordsmødet er indkaldt"))
        participants = page.get_by_role("table", name="Deltagere og svar")
        expect(participants.get_by_role("row", name=re.compile(MUNICIPALITY_NAME))).to_contain_text(
            "Ja"
        )
        expect(participants.get_by_role("row", name=re.compile("Lægehuset"))).to_contain_text(
            "Nej – inviteres uden patientdata"
        )
        screenshot(page, "04-rundbordsmoede-indkaldt")

        # The municipality answers in its own system (here: the GraphQL API).
        municipality = hub.token("municipality", MUNICIPALITY, kommune="730")
        meetings = hub.graphql(
            "query($cpr: String!) { roundTables(cpr: $cpr, first: 5) { id } }",
            municipality,
            cpr=CPR,
        )
        meeting_id = meetings["data"]["roundTables"][0]["id"]
        answered = hub.graphql(
            "mutation($id: ID!) { respondToRoundTable(meetingId: $id, answer: ACCEPT) { id } }",
            municipality,
            id=meeting_id,
        )
        assert "errors" not in answered, answered
        page.reload()
        expect(participants.get_by_role("row", name=re.compile(MUNICIPALITY_NAME))).to_contain_text(
            "Deltager"
        )

        page.get_by_label("Mål (ét pr. linje)").fill("Stabil bolig\nKontakt til rusmiddelcenter")
        page.get_by_label("Tovholder").select_option(COORDINATOR)
        page.locator("#handling-1-0").fill("Første samtale på rusmiddelcentret")
        page.locator("#ansvarlig-1-0").select_option(MUNICIPALITY)
        page.locator("#frist-1-0").fill(clock.iso(clock.day_from_today(-30)))
        page.locator("#handling-1-1").fill("Boligansøgning sammen med borgeren")
        page.locator("#ansvarlig-1-1").select_option(COORDINATOR)
        page.locator("#frist-1-1").fill(clock.iso(clock.day_from_today(40)))
        page.get_by_role("button", name="Gem planen").click()
        expect(page.get_by_role("status")).to_have_text(re.compile("Planen er registreret"))
        actions = page.get_by_role("table", name="Handlinger")
        overdue = actions.get_by_role("row", name=re.compile("Første samtale"))
        expect(overdue).to_contain_text("Overskredet")
        expect(overdue).to_have_class(re.compile("overskredet"))
        expect(page.get_by_text("Tovholder:")).to_contain_text(f"SOR {COORDINATOR}")
        check_accessibility(page)
        screenshot(page, "05-plan")

        housing = actions.get_by_role("row", name=re.compile("Boligansøgning"))
        housing.get_by_label("Ny status").select_option("in-progress")
        housing.get_by_label("Bemærkning").fill("Ansøgning sendt til boligkontoret")
        housing.get_by_role("button", name="Gem").click()
        expect(page.get_by_role("status")).to_have_text(re.compile("Handlingen er opdateret"))
        housing = actions.get_by_role("row", name=re.compile("Boligansøgning"))
        expect(housing).to_contain_text("I gang")
        expect(housing).to_contain_text("Ansøgning sendt til boligkontoret")
        screenshot(page, "06-handling-opdateret")

        page.get_by_role("link", name="Forløb og status").click()
        timeline = page.locator(".tidslinje")
        expect(timeline).to_contain_text("Møde")
        expect(timeline).to_contain_text("Plan")
        expect(timeline).to_contain_text("Boligansøgning")
        expect(timeline.locator(".sektor-coordinator").first).to_have_text("Koordinator")
        status = page.locator(".status")
        expect(status).to_contain_text(f"tovholder: SOR {COORDINATOR}")
        expect(status).to_contain_text("Overskredet: Første samtale på rusmiddelcentret")
        expect(status).to_contain_text(
            f"{clock.danish_date(MEETING)} kl. {clock.danish_time(MEETING)}"
        )
        screenshot(page, "07-forloeb")

        # Filtered to the hospital's entries: the stay, none of the coordinator's.
        page.get_by_label("Hospital", exact=True).check()
        page.get_by_role("button", name="Vis", exact=True).click()
        expect(timeline).to_contain_text("Hospital")
        expect(timeline).not_to_contain_text("Koordinator")

        page.get_by_role("link", name="Indikatorer").click()
        expect(page.get_by_role("heading", name="Indikatorer", level=1)).to_be_visible()
        check_accessibility(page)
        assert page.locator("svg.diagram title").count() > 0
        screenshot(page, "08-indikatorer")
        csv_link = page.get_by_role("link", name="Hent som CSV")
        download = page.request.get(f"{hub.base_url}{csv_link.get_attribute('href')}")
        assert download.headers["content-type"].startswith("text/csv")
        assert download.text().lstrip("\ufeff").startswith("from,to,scope,name,title")

        # Tablet width: nothing wider than the screen.
        page.set_viewport_size({"width": 768, "height": 1024})
        page.get_by_role("link", name="Find patient").click()
        page.get_by_label("CPR-nummer").fill(CPR)
        page.get_by_role("button", name="Find").click()
        page.get_by_role("link", name="Rundbordsmøder og plan").click()
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
        screenshot(page, "09-tablet-rundbord")
