"""A coordinator's day on the page, in a real browser against a real ``hub serve``.

The social nurse signs in (her name in the header), finds the patient (the search box
names what is wrong with a mistyped CPR number), records the patient's oral consent
(wrong SOR codes and periods are refused in Danish, with what she typed kept), convenes
a rundbordsmøde with the municipality from the directory and the GP by SOR code (not
covered by the consent; a meeting in the past and an unknown SOR code are refused),
records the plan (an action without a due date is refused), updates an action and sees
it all on the timeline; her sign-in runs out in the middle of a form and she comes back
to it as she left it; then her meetings, the indicators and their CSV, a page that does
not exist, and the same day on a phone. Every page is checked for the basics of WCAG 2.1
AA and with axe-core, and screenshots are saved under test-artifacts/web/.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import Deployment
from tests.support import clock
from tests.support.accessibility import check_axe
from tests.support.browser import chromium, expired, reissued, running_hub, screenshot
from tests.support.clock import hl7
from tests.support.directory_entries import directory_entry
from tests.support.hl7 import adt

CPR = "2512489996"
COORDINATOR = "999888777"  # a social nurse employed by the region, as its hospital is
REGION = "sor:1000001"  # their data controller
MUNICIPALITY = "478941000016003"
MUNICIPALITY_NAME = "Randers Kommune, Rusmiddelcenter"
GP = "555555555"
GP_NAME = "Lægehuset i Randers"
NURSE = "Sofie Holm"
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
        municipality_entry = directory_entry("rusmiddelcenter", MUNICIPALITY, MUNICIPALITY_NAME)
        municipality = deployment.token("municipality", MUNICIPALITY, kommune="730")
        assert deployment.ingest(municipality_entry, municipality, format="fhir").status_code == 202
        gp_entry = directory_entry("laegehuset", GP, GP_NAME)
        assert (
            deployment.ingest(gp_entry, deployment.token("gp", GP), format="fhir").status_code
            == 202
        )
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
    check_axe(page)


def linked(hub: Deployment, page: Page, name: str) -> str:
    """The address the link called ``name`` leads to."""
    return f"{hub.base_url}{page.get_by_role('link', name=name).get_attribute('href')}"


def fits_the_screen(page: Page) -> None:
    """Nothing wider than the screen: no sideways scrolling."""
    # Measured once the page and its stylesheet have loaded: a link's click returns when
    # the next page is on its way, and a busy machine can measure it unstyled.
    page.wait_for_load_state("load")
    wide = page.evaluate(
        """() => [...document.querySelectorAll('main *, header *')]
            .filter(el => el.getBoundingClientRect().right > window.innerWidth + 1)
            .slice(0, 5).map(el => el.tagName + '.' + el.className + ' ' +
                             Math.round(el.getBoundingClientRect().right))"""
    )
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"), (
        page.url,
        wide,
    )


def on_screen(page: Page, locator: Any) -> None:
    """``locator`` lies within the screen's width (seen without scrolling sideways)."""
    box = locator.bounding_box()
    assert box is not None and box["x"] >= 0, box
    assert box["x"] + box["width"] <= page.viewport_size["width"] + 1, box


def test_a_coordinators_day(hub: Deployment) -> None:
    token = reissued(hub, hub.token("coordinator", COORDINATOR, controller=REGION), name=NURSE)
    with chromium() as browser:
        page = browser.new_page()
        page.set_default_timeout(20_000)

        page.goto(hub.base_url)
        expect(page.get_by_role("heading", name="Log ind")).to_be_visible()
        check_accessibility(page)
        screenshot(page, "01-log-ind")
        page.get_by_label("Adgangsnøgle").fill(token)
        page.get_by_role("button", name="Log ind").click()

        expect(page.get_by_role("heading", name="Arbejdsliste")).to_be_visible()
        header = page.locator("header.top")
        expect(header).to_contain_text(f"{NURSE} · Koordinator")
        expect(header).not_to_contain_text("dev-user")
        check_accessibility(page)
        # A mistyped number is refused for what is wrong with it; spaces are fine.
        page.get_by_label("CPR-nummer").fill("3213709995")
        page.get_by_role("button", name="Find").click()
        expect(page.get_by_role("alert")).to_contain_text("32.13.70 er ikke en dato")
        expect(page.get_by_label("CPR-nummer")).to_have_value("3213709995")
        page.get_by_label("CPR-nummer").fill("251248 9996")
        page.get_by_role("button", name="Find").click()
        # The region's stay is the coordinator's own controller's data: shown at once.
        expect(page.locator(".tidslinje")).to_contain_text("Hospital")
        assert CPR not in page.url
        screenshot(page, "02-patient")

        page.get_by_role("link", name="Samtykke").click()
        check_accessibility(page)
        # Wrong input is refused in Danish, and the form keeps what was typed.
        page.get_by_label(re.compile(MUNICIPALITY_NAME)).check()
        page.get_by_label("Andre organisationer").fill("abc, 12")
        page.get_by_label("Behandling", exact=True).check()
        page.get_by_role("button", name="Registrér").click()
        expect(page.get_by_role("alert")).to_contain_text(
            "Organisationsregistret kender ikke SOR-koderne abc, 12"
        )
        expect(page.get_by_label(re.compile(MUNICIPALITY_NAME))).to_be_checked()
        expect(page.get_by_label("Behandling", exact=True)).to_be_checked()
        expect(page.get_by_label("Andre organisationer")).to_have_value("abc, 12")
        page.get_by_label("Andre organisationer").fill(COORDINATOR)
        page.get_by_label("Gælder fra").fill(clock.iso(clock.day_from_today(30)))
        page.get_by_label("Gælder til").fill(clock.iso(clock.day_from_today(1)))
        page.get_by_role("button", name="Registrér").click()
        expect(page.get_by_role("alert")).to_contain_text("Perioden slutter, før den begynder")
        page.get_by_label("Gælder fra").fill("2020-01-01")
        page.get_by_label("Gælder til").fill("2020-12-31")
        page.get_by_role("button", name="Registrér").click()
        expect(page.get_by_role("alert")).to_contain_text("Perioden er allerede slut")
        expect(page.get_by_label(re.compile(MUNICIPALITY_NAME))).to_be_checked()
        page.get_by_label("Gælder fra").fill("")
        page.get_by_label("Gælder til").fill("")
        page.get_by_role("button", name="Registrér").click()
        expect(page.get_by_role("status")).to_have_text(
            "Samtykket er registreret og gælder fra nu."
        )
        consents = page.get_by_role("table", name="Samtykker og frabedelser")
        expect(consents).to_contain_text(f"SOR {MUNICIPALITY}")
        expect(consents).to_contain_text("Behandling")
        # A refusal is confirmed as one, from the day it applies.
        starts = clock.day_from_today(10)
        page.get_by_label("Frabeder sig deling").check()
        page.get_by_label("Psykiatri", exact=True).check()
        page.get_by_label("Gælder fra").fill(clock.iso(starts))
        page.get_by_role("button", name="Registrér").click()
        expect(page.get_by_role("status")).to_contain_text(
            f"Frabedelsen er registreret og gælder fra {clock.danish_date(starts)}"
        )
        expect(consents).to_contain_text("Frabedt")
        expect(consents).not_to_contain_text("sector")
        screenshot(page, "03-samtykke", for_docs=True)

        page.get_by_role("link", name="Forløb og status").click()
        expect(page.locator(".tidslinje")).to_contain_text("Hospital")
        expect(page.locator(".status")).to_contain_text("Indlagt")
        expect(page.locator(".tidslinje")).to_contain_text("hele sektoren psykiatri")
        check_accessibility(page)

        page.get_by_role("link", name="Rundbordsmøder og plan").click()
        check_accessibility(page)
        # Before sending: the consent just recorded covers the municipality.
        candidate = page.locator(".deltager", has_text=MUNICIPALITY_NAME)
        expect(candidate).to_contain_text("Samtykke dækker")
        expect(candidate).not_to_contain_text("dækker ikke")
        page.get_by_label("Årsag").fill(REASON)
        page.get_by_label(re.compile(MUNICIPALITY_NAME)).check()
        page.locator(f"#rolle-{MUNICIPALITY}").fill("rusmiddelkonsulent")
        page.locator("#ny-sor-1").fill(GP)
        page.locator("#ny-navn-1").fill(GP_NAME)
        page.locator("#ny-sektor-1").select_option("gp")
        # As many participants by SOR code as needed: one more row, the rest kept.
        page.get_by_role("button", name="Tilføj endnu en deltager med SOR-kode").click()
        expect(page.locator("#ny-sor-2")).to_be_visible()
        expect(page.locator("#ny-sor-1")).to_have_value(GP)
        expect(page.get_by_label("Årsag")).to_have_value(REASON)
        expect(page.get_by_label(re.compile(MUNICIPALITY_NAME))).to_be_checked()
        page.locator("#ny-sor-2").fill("abc")
        page.get_by_label("Foreslået tidspunkt").fill("2020-03-02T10:00")
        page.get_by_label("Din rolle").fill("socialsygeplejerske")
        page.get_by_role("button", name="Send indkaldelse").click()
        expect(page.get_by_role("alert")).to_contain_text(
            "Organisationsregistret kender ikke SOR-koden abc"
        )
        expect(page.get_by_label("Årsag")).to_have_value(REASON)
        expect(page.locator(f"#rolle-{MUNICIPALITY}")).to_have_value("rusmiddelkonsulent")
        page.locator("#ny-sor-2").fill("")
        page.get_by_role("button", name="Send indkaldelse").click()
        expect(page.get_by_role("alert")).to_contain_text(
            "Tidspunktet er overstået. Et rundbordsmøde skal ligge i fremtiden."
        )
        page.get_by_label("Foreslået tidspunkt").fill(MEETING.strftime("%Y-%m-%dT%H:%M"))
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
        page.get_by_label("Tovholder", exact=True).select_option(COORDINATOR)
        page.locator("#handling-1-0").fill("Første samtale på rusmiddelcentret")
        page.locator("#ansvarlig-1-0").select_option(MUNICIPALITY)
        page.locator("#handling-1-1").fill("Boligansøgning sammen med borgeren")
        page.locator("#ansvarlig-1-1").select_option(COORDINATOR)
        page.locator("#frist-1-1").fill(clock.iso(clock.day_from_today(40)))
        page.get_by_role("button", name="Gem planen").click()
        expect(page.get_by_role("alert")).to_contain_text("Hver handling skal have en frist.")
        expect(page.locator("#handling-1-0")).to_have_value("Første samtale på rusmiddelcentret")
        expect(page.locator("#frist-1-1")).to_have_value(clock.iso(clock.day_from_today(40)))
        page.locator("#frist-1-0").fill(clock.iso(clock.day_from_today(-30)))
        page.get_by_role("button", name="Gem planen").click()
        expect(page.get_by_role("status")).to_have_text(re.compile("Planen er registreret"))
        actions = page.get_by_role("table", name="Handlinger")
        overdue = actions.get_by_role("row", name=re.compile("Første samtale"))
        expect(overdue).to_contain_text("Overskredet")
        expect(overdue).to_have_class(re.compile("overskredet"))
        expect(page.get_by_text("Tovholder:")).to_contain_text(f"SOR {COORDINATOR}")
        check_accessibility(page)
        screenshot(page, "05-plan", for_docs=True)

        housing = actions.get_by_role("row", name=re.compile("Boligansøgning"))
        housing.get_by_label("Ny status").select_option("in-progress")
        housing.get_by_label("Bemærkning").fill("Ansøgning sendt til boligkontoret")
        housing.get_by_role("button", name="Gem").click()
        expect(page.get_by_role("status")).to_have_text(re.compile("Handlingen er opdateret"))
        housing = actions.get_by_role("row", name=re.compile("Boligansøgning"))
        expect(housing).to_contain_text("I gang")
        # The note in Danish: what, by whom, and what they wrote.
        expect(housing.locator(".noter")).to_contain_text(
            f"I gang (Koordinator, SOR {COORDINATOR}): Ansøgning sendt til boligkontoret"
        )
        expect(housing).not_to_contain_text("by coordinator")
        screenshot(page, "06-handling-opdateret")

        page.get_by_role("link", name="Forløb og status").click()
        timeline = page.locator(".tidslinje")
        expect(timeline).to_contain_text("Møde")
        expect(timeline).to_contain_text("Plan")
        expect(timeline).to_contain_text("Boligansøgning")
        expect(timeline.locator(".sektor-coordinator").first).to_have_text("Koordinator")
        status = page.locator(".status")
        expect(status).to_contain_text(f"tovholder: SOR {COORDINATOR} (2 handlinger)")
        expect(status).to_contain_text("Overskredet: Første samtale på rusmiddelcentret")
        expect(status).to_contain_text(
            f"{clock.danish_date(MEETING)} kl. {clock.danish_time(MEETING)}"
        )
        screenshot(page, "07-forloeb", for_docs=True)

        # Filtered to the hospital's entries: the stay, none of the coordinator's.
        page.get_by_label("Hospital", exact=True).check()
        page.get_by_role("button", name="Vis", exact=True).click()
        expect(timeline).to_contain_text("Hospital")
        expect(timeline).not_to_contain_text("Koordinator")

        # The plan revised without the housing action: it is cancelled, not counted.
        page.get_by_role("link", name="Rundbordsmøder og plan").click()
        page.get_by_text("Revidér planen").click()
        page.locator("#handling-1-1").fill("")
        page.get_by_role("button", name="Gem planen").click()
        expect(page.get_by_role("status")).to_have_text(re.compile("Planen er registreret"))
        page.get_by_role("link", name="Forløb og status").click()
        expect(status).to_contain_text(f"tovholder: SOR {COORDINATOR} (1 handling)")

        # The GP proposes another time; the coordinator moves the meeting there in one step,
        # gives the video link (kept as typed when it is refused) and records it as held.
        later = clock.at_danish(8, 9)
        proposed = hub.graphql(
            "mutation($id: ID!, $s: String!) { respondToRoundTable("
            "meetingId: $id, answer: PROPOSE_TIME, proposedStart: $s) { id } }",
            hub.token("gp", GP),
            id=meeting_id,
            s=clock.iso(later),
        )
        assert "errors" not in proposed, proposed
        page.get_by_role("link", name="Rundbordsmøder og plan").click()
        page.get_by_role("button", name=re.compile("Flyt mødet til")).click()
        expect(page.get_by_role("status")).to_have_text(re.compile("Mødet er flyttet"))
        expect(page.locator("article.moede h3")).to_contain_text(clock.danish_date(later))
        page.get_by_text("Mødested, afholdelse eller aflysning").click()
        page.locator("#videolink-1").fill("http://video.example.dk/rundbord")
        page.get_by_role("button", name="Gem mødested").click()
        expect(page.get_by_role("alert")).to_contain_text("Videolinket skal være en https://")
        expect(page.locator("#videolink-1")).to_have_value("http://video.example.dk/rundbord")
        page.locator("#videolink-1").fill("https://video.example.dk/rundbord")
        page.get_by_role("button", name="Gem mødested").click()
        expect(page.get_by_role("status")).to_have_text(re.compile("Mødested og videolink"))
        expect(page.get_by_role("link", name="https://video.example.dk/rundbord")).to_be_visible()
        page.get_by_text("Mødested, afholdelse eller aflysning").click()
        page.get_by_label("Beslutninger (referat)").fill("Bostøtte søges; lægen følger op")
        page.get_by_role("button", name="Registrér mødet som afholdt").click()
        expect(page.get_by_role("status")).to_have_text(re.compile("registreret som afholdt"))
        expect(page.locator(".referat")).to_contain_text("Bostøtte søges; lægen følger op")
        expect(page.get_by_role("button", name="Aflys mødet")).to_have_count(0)

        # The sign-in runs out while a form is being filled in: after signing in again,
        # the user is back on the form with what she had typed, and nothing was sent.
        page.get_by_role("link", name="Rundbordsmøder og plan").click()
        page.get_by_label("Årsag").fill("Opfølgning efter udskrivelsen")
        browser.add_cookies(
            [{"name": "brobygger_session", "value": expired(hub, token), "url": hub.base_url}]
        )
        page.get_by_role("button", name="Send indkaldelse").click()
        expect(page.get_by_role("heading", name="Log ind")).to_be_visible()
        expect(page.get_by_role("status")).to_contain_text("Din adgang udløb")
        page.get_by_label("Adgangsnøgle").fill(token)
        page.get_by_role("button", name="Log ind").click()
        expect(page.get_by_role("heading", name="Indkald til rundbordsmøde")).to_be_visible()
        expect(page.get_by_role("status")).to_contain_text("Du er logget ind igen")
        expect(page.get_by_label("Årsag")).to_have_value("Opfølgning efter udskrivelsen")
        expect(page.locator("article.moede")).to_have_count(1)
        page.reload()  # read once: gone on the next load
        expect(page.get_by_label("Årsag")).to_have_value("")

        page.get_by_role("link", name="Mine rundbordsmøder").click()
        mine = page.get_by_role("table", name=re.compile("Møder din organisation"))
        expect(mine.get_by_role("row", name=re.compile(REASON))).to_contain_text("CPR 251248-9996")
        check_accessibility(page)
        screenshot(page, "08-mine-rundbordsmoeder", for_docs=True)

        page.get_by_role("link", name="Indikatorer").click()
        expect(page.get_by_role("heading", name="Indikatorer", level=1)).to_be_visible()
        check_accessibility(page)
        own = page.locator(
            ".indikator", has=page.get_by_role("heading", name="Rundbordsmøder indkaldt")
        )
        expect(own.locator(".tal")).to_have_text("1 møde")
        plans = page.locator(
            ".indikator", has=page.get_by_role("heading", name="Planer registreret")
        )
        expect(plans.locator(".tal")).to_have_text("1 plan")
        expect(page.get_by_role("heading", name=re.compile("Uden tal i perioden"))).to_be_visible()
        # Month labels with the year under each year's first bar.
        years = own.locator("svg.diagram text.etiket-aar").all_text_contents()
        assert years and all(re.fullmatch(r"20\d\d", y) for y in years), years
        assert str(clock.today().year) in years
        screenshot(page, "09-indikatorer", for_docs=True)
        excel = page.request.get(linked(hub, page, "Hent som CSV til Excel"))
        assert excel.headers["content-type"].startswith("text/csv")
        text = excel.body().decode("utf-8")
        assert text.startswith("\ufeffFra;Til;Omfang;Indikator;Kommune;Værdi;Enhed;")
        assert ";Egne tal;Rundbordsmøder indkaldt;;1;møde;nej;\r\n" in text
        assert re.search(r"^\d\d\.\d\d\.\d{4};", text.splitlines()[1])
        data = page.request.get(linked(hub, page, "CSV til programmer"))
        assert data.text().lstrip("\ufeff").startswith("from,to,scope,name,title")
        # Any period: over two years, by quarter, each labelled.
        page.get_by_label("Fra dato").fill(clock.iso(clock.day_from_today(-800)))
        page.get_by_role("button", name="Vis").click()
        expect(page.get_by_text(re.compile(r"^Perioden .*, pr\. kvartal\."))).to_be_visible()
        assert own.locator("svg.diagram text.etiket").filter(has_text="kvt.").count() > 0

        # A page that does not exist: in Danish, in the page's layout.
        missing = page.goto(f"{hub.base_url}/ui/findes-ikke")
        assert missing is not None and missing.status == 404
        expect(page.get_by_role("heading", name="Siden findes ikke")).to_be_visible()
        check_accessibility(page)

        # Tablet width: nothing wider than the screen.
        page.set_viewport_size({"width": 768, "height": 1024})
        page.get_by_role("link", name="Arbejdsliste").click()
        page.get_by_label("CPR-nummer").fill(CPR)
        page.get_by_role("button", name="Find").click()
        page.get_by_role("link", name="Rundbordsmøder og plan").click()
        fits_the_screen(page)
        screenshot(page, "10-tablet-rundbord")

        # A phone: a compact header, tables as stacked cards, nothing sideways.
        page.set_viewport_size({"width": 390, "height": 844})
        header_height = page.locator("header.top").bounding_box()["height"]  # type: ignore[index]
        assert header_height <= 844 * 0.2, header_height
        fits_the_screen(page)
        actions = page.get_by_role("table", name="Handlinger")
        first_action = actions.get_by_role("row", name=re.compile("Første samtale"))
        on_screen(page, first_action.get_by_text("Overskredet"))
        on_screen(page, first_action.locator("td[data-etiket='Frist']"))
        check_accessibility(page)
        screenshot(page, "11-telefon-rundbord", for_docs=True)
        page.get_by_role("link", name="Samtykke").click()
        fits_the_screen(page)
        on_screen(page, page.get_by_role("button", name="Tilbagekald").first)
        screenshot(page, "12-telefon-samtykke", for_docs=True)
        page.get_by_role("link", name="Arbejdsliste").click()
        fits_the_screen(page)
        page.get_by_role("link", name="Indikatorer").click()
        fits_the_screen(page)
        screenshot(page, "13-telefon-indikatorer")
