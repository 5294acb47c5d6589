"""FHIR search parameters read and matched as the R4 spec defines them (search.html),
its own examples first; and SMART scopes as App Launch v2 defines them."""

from __future__ import annotations

from datetime import UTC
from zoneinfo import ZoneInfo

import pytest

from hub.domain.fhir_search import (
    SearchError,
    Token,
    date_matches,
    parse_date,
    parse_search,
    parse_token,
    split_values,
    target_range,
    token_matches,
)
from hub.domain.smart_scopes import Scopes, parse_scope

COPENHAGEN = ZoneInfo("Europe/Copenhagen")


def matches(searched: str, target: object) -> bool:
    span = target_range(target, UTC)
    assert span is not None
    return date_matches(parse_date(searched, UTC), span)


FROM_21_JANUARY = {"start": "2013-01-21"}  # a period still going on
SPEC_DATE_EXAMPLES = [
    # (search value, target, matches): the examples of R4 search.html#prefix
    ("eq2013-01-14", "2013-01-14T00:00:00Z", True),
    ("eq2013-01-14", "2013-01-14T10:00:00Z", True),
    ("eq2013-01-14", "2013-01-15T00:00:00Z", False),
    ("ne2013-01-14", "2013-01-15T00:00:00Z", True),
    ("ne2013-01-14", "2013-01-14T00:00:00Z", False),
    ("ne2013-01-14", "2013-01-14T10:00:00Z", False),
    ("lt2013-01-14T10:00", "2013-01-14", True),  # the part of the 14th before 10am
    ("gt2013-01-14T10:00", "2013-01-14", True),  # the part after
    ("ge2013-03-14", FROM_21_JANUARY, True),
    ("le2013-03-14", FROM_21_JANUARY, True),
    ("sa2013-03-14", {"start": "2013-03-15"}, True),
    ("sa2013-03-14", FROM_21_JANUARY, False),
    ("eb2013-03-14", {"start": "2013-01-15", "end": "2013-01-20"}, True),
    ("eb2013-03-14", FROM_21_JANUARY, False),
]


@pytest.mark.parametrize(("searched", "target", "expected"), SPEC_DATE_EXAMPLES)
def test_date_prefixes_match_as_the_spec_examples_say(
    searched: str, target: object, expected: bool
) -> None:
    assert matches(searched, target) is expected


def test_a_date_is_the_range_its_precision_implies_in_the_hubs_time_zone() -> None:
    month = parse_date("2026-11", COPENHAGEN)
    assert month.start.isoformat() == "2026-10-31T23:00:00+00:00"
    assert month.end.isoformat() == "2026-11-30T23:00:00+00:00"
    stay = {"start": "2026-11-22T08:00:00+01:00", "end": "2026-11-25T11:30:00+01:00"}
    span = target_range(stay, COPENHAGEN)
    assert span is not None
    assert date_matches(month, span)  # eq: the month holds the whole stay
    assert not date_matches(parse_date("2026-11-22", COPENHAGEN), span)  # one day does not
    assert date_matches(parse_date("ge2026-11-22", COPENHAGEN), span)
    # The summer-time change: 30 March 2025 has 23 hours in Copenhagen.
    day = parse_date("2025-03-30", COPENHAGEN)
    assert (day.end - day.start).total_seconds() == 23 * 3600


@pytest.mark.parametrize("bad", ["2026-13-01", "22-11-2026", "2026-11-22T25:00", "ap2026"])
def test_an_unreadable_date_is_refused(bad: str) -> None:
    with pytest.raises(SearchError):
        parse_date(bad, UTC)


def test_tokens_read_system_and_code_as_the_spec_says() -> None:
    assert parse_token("http://acme.org/patient|2345") == Token("http://acme.org/patient", "2345")
    assert parse_token("2345") == Token(None, "2345")
    assert parse_token("|2345") == Token("", "2345")
    assert parse_token("http://acme.org/patient|") == Token("http://acme.org/patient", None)
    assert split_values(r"a\,b,c") == ["a,b", "c"]
    identifier = {"system": "http://acme.org/patient", "value": "2345"}
    assert token_matches(parse_token("http://acme.org/patient|2345"), identifier)
    assert token_matches(parse_token("2345"), identifier)
    assert not token_matches(parse_token("|2345"), identifier)
    assert not token_matches(parse_token("http://other|2345"), identifier)
    assert token_matches(parse_token("http://acme.org/patient|"), identifier)
    # A status is a code whose system is implied by its element.
    assert token_matches(parse_token("http://hl7.org/fhir/encounter-status|finished"), "finished")
    imp = {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "IMP"}
    assert token_matches(parse_token("IMP"), imp)
    assert not token_matches(parse_token("http://other|IMP"), imp)


ENCOUNTER = {
    "resourceType": "Encounter",
    "id": "stay",
    "status": "finished",
    "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "IMP"},
    "period": {"start": "2026-11-22T08:00:00+01:00", "end": "2026-11-25T11:30:00+01:00"},
}


def search(resource_type: str, query: str, *, strict: bool = False) -> object:
    pairs = [tuple(part.split("=", 1)) for part in query.split("&")]
    return parse_search(resource_type, pairs, strict=strict, zone=COPENHAGEN)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("status=finished", True),
        ("status=in-progress,finished", True),  # alternatives
        ("status=in-progress", False),
        ("status:not=in-progress", True),
        ("status=finished&status=in-progress", False),  # each must hold
        ("class=http://terminology.hl7.org/CodeSystem/v3-ActCode|IMP", True),
        ("date=ge2026-11-23", True),
        ("date=lt2026-11-22", False),
        ("date=2026-11", True),
        ("_id=stay", True),
    ],
)
def test_a_search_matches_as_its_parameters_combine(query: str, expected: bool) -> None:
    request = search("Encounter", query)
    assert request.matches(ENCOUNTER, COPENHAGEN) is expected  # type: ignore[attr-defined]


def test_unknown_parameters_are_refused_when_strict_and_ignored_when_lenient() -> None:
    lenient = search("Encounter", "status=finished&colour=blue&_revinclude=Task:focus")
    assert lenient.ignored == ("colour", "_revinclude")  # type: ignore[attr-defined]
    assert lenient.used == (("status", "finished"),)  # type: ignore[attr-defined]
    for query in ("colour=blue", "_revinclude=Task:focus", "status:text=x", "_sort=status"):
        with pytest.raises(SearchError) as refused:
            search("Encounter", query, strict=True)
        assert refused.value.code == "not-supported"
    with pytest.raises(SearchError):  # a known parameter's bad value: refused either way
        search("Encounter", "date=yesterday")
    with pytest.raises(SearchError):
        search("Encounter", "_count=100000")


def test_include_names_the_types_patient_reference() -> None:
    assert search("Encounter", "_include=Encounter:patient").include_patient  # type: ignore[attr-defined]
    assert search("Encounter", "_include=Encounter:subject:Patient").include_patient  # type: ignore[attr-defined]
    assert search("Encounter", "_include=Task:patient").ignored == ("_include",)  # type: ignore[attr-defined]


def test_smart_scopes_narrow_and_never_widen() -> None:
    assert parse_scope("patient/*.rs") is not None
    assert parse_scope("user/Encounter.read") is not None  # v1
    assert parse_scope("user/Encounter.sr") is None  # v2 letters come in order
    assert parse_scope("patient/Observation.rs?category=laboratory") is None
    unscoped = Scopes.of(frozenset({"openid", "profile"}))
    assert unscoped.grant("Encounter", "r").allowed  # no SMART scope: not narrowed
    user = Scopes.of(frozenset({"user/Encounter.rs", "openid"}))
    assert user.grant("Encounter", "s").allowed and not user.grant("Encounter", "s").patient_only
    assert not user.grant("Task", "r").allowed
    patient = Scopes.of(frozenset({"patient/*.rs"}))
    assert patient.grant("Task", "r").patient_only
    writes_only = Scopes.of(frozenset({"user/*.cud"}))
    assert not writes_only.grant("Encounter", "r").allowed
    odd = Scopes.of(frozenset({"patient/Observation.rs?category=laboratory"}))
    assert not odd.grant("Observation", "r").allowed  # a grant the hub cannot check: none
