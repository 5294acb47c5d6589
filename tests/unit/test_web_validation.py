"""What the coordinators' page refuses and how it says so: CPR input, consent periods,
meetings in the past, every refusal code worded in Danish, and input kept."""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, cast

import httpx
import pytest
from starlette.applications import Starlette
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from hub.domain.round_table import RoundTableError, not_past
from hub.services.consent.record import ConsentError, ConsentRequest, check_periods
from hub.services.indicators import IndicatorQueryError
from web import refusals
from web.app import server_error
from web.cpr_input import NUMBER_KINDS, parse_cpr, parse_patient
from web.dates import form_date, form_time
from web.forms import FormKeeper, Kept
from web.patient_ref import PatientRefs
from web.rendering import WebHub, form_page, templates
from web.session import person_name

ROOT = Path(__file__).resolve().parents[2]
TODAY = date(2025, 11, 20)


@pytest.mark.parametrize(
    ("typed", "cpr"),
    [
        ("0101709995", "0101709995"),
        ("010170-9995", "0101709995"),
        ("010170 9995", "0101709995"),
        (" 01 01 70 - 9995 ", "0101709995"),
        ("290200-1234", "2902001234"),  # 29 February: a date in 2000
    ],
)
def test_a_cpr_number_may_be_typed_with_spaces_or_a_hyphen(typed: str, cpr: str) -> None:
    assert parse_cpr(typed).cpr == cpr


@pytest.mark.parametrize(
    ("typed", "fault", "says"),
    [
        ("3213709995", "date", "32.13.70 er ikke en dato"),
        ("310470-9995", "date", "31.04.70 er ikke en dato"),
        ("12345", "length", "der er 5"),
        ("01017099950", "length", "der er 11"),
        ("01017O-9995", "characters", "kun cifre"),
        ("", "empty", "Skriv patientens CPR-nummer"),
    ],
)
def test_a_wrong_cpr_number_is_refused_for_its_real_fault(
    typed: str, fault: str, says: str
) -> None:
    parsed = parse_cpr(typed)
    assert (parsed.cpr, parsed.fault) == (None, fault)
    assert parsed.message is not None and says in parsed.message


def consent(start: str | None = None, end: str | None = None, **data: str) -> ConsentRequest:
    return ConsentRequest(cpr="0101709995", decision="permit", start=start, end=end, **data)


@pytest.mark.parametrize(
    ("request_", "code"),
    [
        (consent("2025-12-31", "2025-01-01"), "period-reversed"),
        (consent("2020-01-01", "2020-12-31"), "period-past"),
        (consent(None, "2025-11-19"), "period-past"),
        (consent("2025-13-01", None), "bad-date"),
        (consent(data_start="2024-12-31", data_end="2024-01-01"), "data-period-reversed"),
    ],
)
def test_a_consent_period_out_of_order_or_over_is_refused(
    request_: ConsentRequest, code: str
) -> None:
    with pytest.raises(ConsentError) as refused:
        check_periods(request_, TODAY)
    assert refused.value.code == code


@pytest.mark.parametrize(
    "request_",
    [
        consent(),
        consent("2025-11-20", "2025-11-20"),  # today only
        consent(None, "2025-11-20T23:30:00+01:00"),
        consent("2026-01-01", None),
        consent(data_start="2020-01-01", data_end="2020-12-31"),  # old data may be shared
    ],
)
def test_a_consent_period_in_order_and_not_over_is_taken(request_: ConsentRequest) -> None:
    check_periods(request_, TODAY)


def test_a_meeting_or_a_proposed_time_in_the_past_is_refused() -> None:
    now = datetime(2025, 11, 20, 9, tzinfo=UTC)
    not_past("2025-11-20T11:00:00+01:00", now)
    with pytest.raises(RoundTableError) as refused:
        not_past("2020-03-02T10:00:00+01:00", now)
    assert refused.value.code == "meeting-in-past"
    with pytest.raises(RoundTableError) as proposed:
        not_past("2025-11-20T09:59:00+01:00", now, "proposed-time-in-past")
    assert proposed.value.code == "proposed-time-in-past"


def codes_raised(path: str, error: str) -> set[str]:
    """Every code ``error`` is raised with in ``path`` (its second argument)."""
    text = (ROOT / path).read_text()
    found = set()
    for start in (m.end() for m in re.finditer(rf"\b{error}\(", text)):
        depth, end = 1, start
        while depth:
            depth += {"(": 1, ")": -1}.get(text[end], 0)
            end += 1
        found |= set(re.findall(r'"([a-z]+(?:-[a-z]+)+)"', text[start:end]))
    return found


@pytest.mark.parametrize(
    ("paths", "error", "words"),
    [
        (
            [
                "hub/domain/round_table.py",
                *(
                    str(p.relative_to(ROOT))
                    for p in sorted((ROOT / "hub/services/round_table").glob("*.py"))
                ),
                "web/round_table.py",
            ],
            "RoundTableError",
            refusals.ROUND_TABLE,
        ),
        (["hub/services/consent/record.py"], "ConsentError", refusals.CONSENT),
        (
            ["hub/services/indicators.py", "web/indicators.py"],
            "IndicatorQueryError",
            refusals.INDICATORS,
        ),
    ],
)
def test_every_refusal_code_has_danish_words_on_the_page(
    paths: list[str], error: str, words: dict[str, str]
) -> None:
    raised = set().union(*(codes_raised(p, error) for p in paths))
    assert raised, "no codes found: the test reads the wrong files"
    assert raised - set(words) == set()


def test_a_refusal_reaches_the_page_in_danish_only() -> None:
    not_covered = RoundTableError(
        "the patient's consent does not cover sharing the meeting with 555",
        "consent-does-not-cover",
        orgs=["555"],
    )
    shown = refusals.in_danish(
        not_covered, refusals.ROUND_TABLE, name_of=lambda sor: f"Lægehuset (SOR {sor})"
    )
    assert shown.startswith(
        "Patientens samtykke dækker ikke deling af mødet med Lægehuset (SOR 555)"
    )
    unknown = IndicatorQueryError("to must not be before from", "some-new-code")
    assert refusals.in_danish(unknown, refusals.INDICATORS) == refusals.GENERAL
    assert "must" not in refusals.in_danish(RoundTableError("x must y"), refusals.ROUND_TABLE)


def test_dates_and_times_are_read_as_the_picker_or_a_dane_writes_them() -> None:
    assert form_date("2025-12-31") == form_date("31.12.2025") == date(2025, 12, 31)
    assert form_date("") is None
    with pytest.raises(ValueError, match="day is out of range"):
        form_date("31.02.2025")
    assert form_time("24.11.2025 10:00") == form_time("2025-11-24T10:00")
    assert form_time("2025-11-24T10:00").utcoffset().total_seconds() == 3600  # type: ignore[union-attr]


def test_a_form_sent_after_the_sign_in_ran_out_returns_to_its_page() -> None:
    assert form_page("/patient/abc/samtykke") == "/patient/abc/samtykke"
    assert form_page("/patient/abc/samtykke/tilbagekald") == "/patient/abc/samtykke"
    assert form_page("/patient/abc/rundbord") == "/patient/abc/rundbord"
    assert form_page("/patient/abc/rundbord/m1/plan") == "/patient/abc/rundbord"
    assert form_page("/patient/abc/handling/t1") == "/patient/abc/rundbord"
    assert form_page("/rundbord/m1/svar") == "/rundbord"
    assert form_page("/soeg") == "/"


def request_with(cookies: dict[str, str]) -> Request:
    header = "; ".join(f"{k}={v}" for k, v in cookies.items())
    return Request(
        {
            "type": "http",
            "headers": [(b"cookie", header.encode())],
            "scheme": "http",
            "path": "/",
            "query_string": b"",
        }
    )


def test_a_kept_form_goes_back_to_the_user_who_typed_it_only() -> None:
    form = FormData(
        [("csrf", "x"), ("aarsag", "Gentagne indlæggelser"), ("deltager", "a"), ("deltager", "b")]
    )
    kept = Kept.of("/patient/r/rundbord", form)
    assert kept.text("aarsag") == "Gentagne indlæggelser"
    assert kept.all("deltager") == ("a", "b") and kept.has("deltager", "b")
    assert kept.text("csrf") == ""  # never kept
    keeper = FormKeeper()
    response = Response()
    assert keeper.keep(response, request_with({}), kept, "anna", "999")
    cookie = response.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Max-Age=600" in cookie
    name, _, rest = cookie.partition("=")
    browser = request_with({name: rest.split(";")[0]})
    assert keeper.restore(browser, "anna", "999") == kept
    assert keeper.restore(browser, "bent", "999") is None  # another user on the browser
    assert FormKeeper().restore(browser, "anna", "999") is None  # another process's key


def test_the_header_names_the_person_when_the_token_does() -> None:
    assert person_name({"name": "Sofie Holm", "sub": "u1"}) == "Sofie Holm"
    assert person_name({"given_name": "Sofie", "family_name": "Holm"}) == "Sofie Holm"
    assert person_name({"sub": "dev-user"}) is None


async def _get(app: Starlette) -> httpx.Response:
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://hub") as client:
        return await client.get("/")


def test_an_error_of_the_hub_is_a_danish_page_in_the_layout() -> None:
    async def fails(_request: Request) -> Response:
        raise RuntimeError("SELECT * FROM secrets")

    app = Starlette(routes=[Route("/", fails)], exception_handlers={500: server_error})
    none = cast(Any, None)
    app.state.web = WebHub(none, none, none, none, PatientRefs(), templates())
    answer = asyncio.run(_get(app))
    assert answer.status_code == 500
    assert '<html lang="da">' in answer.text and "Spring til indhold" in answer.text
    assert "Der skete en fejl i Brobygger" in answer.text
    assert "SELECT" not in answer.text and "RuntimeError" not in answer.text


NATIONAL = "urn:oid:1.2.208.176.1.6.1.1"


def test_a_replacement_number_is_found_by_its_kind_and_the_number_alone() -> None:
    assert parse_patient(" 0703921VJ5 ", NATIONAL).cpr == f"{NATIONAL}|0703921VJ5"
    assert parse_patient(f"{NATIONAL}|0703921VJ5", NATIONAL).cpr == f"{NATIONAL}|0703921VJ5"
    local = "urn:oid:1.2.208.176.1.6.1.3.177|A-17"
    assert parse_patient(local, "erstatning").cpr == local
    assert parse_patient("010170-9995", "cpr").cpr == "0101709995"
    assert parse_patient("010170-9995").cpr == "0101709995"  # a form without the choice


@pytest.mark.parametrize(
    ("typed", "kind", "fault", "words"),
    [
        ("", NATIONAL, "replacement-empty", "Skriv patientens erstatningspersonnummer"),
        ("0703 921VJ5", NATIONAL, "replacement-number", "bogstaver, cifre"),
        ("0703921VJ5", "erstatning", "replacement", "system|nummer"),
        ("0703921VJ5", "urn:oid:1.2.3", "kind", "Vælg, hvilken slags nummer"),
        ("0703921VJ5", "cpr", "characters", "kun cifre"),
    ],
)
def test_a_wrong_number_of_the_chosen_kind_is_refused_in_danish(
    typed: str, kind: str, fault: str, words: str
) -> None:
    result = parse_patient(typed, kind)
    assert (result.cpr, result.fault) == (None, fault)
    assert result.message is not None and words in result.message


def forside(**context: Any) -> str:
    template = templates().env.get_template("forside.html")
    return template.render(href=lambda path: path, csrf_field="csrf", csrf="x", rows=[], **context)


def test_the_search_form_offers_each_kind_of_number_and_lets_letters_be_typed() -> None:
    page = forside()
    offered = re.findall(r'<option value="([^"]+)"( selected)?>([^<]+)</option>', page)
    assert [(value, label) for value, _, label in offered] == list(NUMBER_KINDS)
    assert [value for value, chosen, _ in offered if chosen] == ["cpr"]  # the default
    field = re.search(r'<input id="cpr"[^>]*>', page, re.DOTALL)
    assert field is not None and 'inputmode="numeric"' not in field.group(0)
    assert 'inputmode="text"' in field.group(0)
    again = forside(kind_value=NATIONAL, cpr_value="0703 921VJ5", error="Forkert")
    chosen = re.findall(r'<option value="([^"]+)" selected>', again)
    assert chosen == [NATIONAL] and 'value="0703 921VJ5"' in again
