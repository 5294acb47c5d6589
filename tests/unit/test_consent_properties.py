"""The consent rules against an independent reading of the policy, on random cases.

``reference`` below is written from the policy's text (docs/consent.md), not from
``hub.domain.consent``: flattened rules instead of a tree walk. Hypothesis
draws patients' consents (permits and refusals, nested, with periods, purposes,
data classes, revocations), resources from every sector and viewers of every kind,
and both must agree on every case.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from hub.domain.consent import (
    SECTOR_ROLE_SYSTEM,
    Item,
    Policy,
    Viewer,
    Visibility,
    decide,
    read_consent,
)
from hub.domain.identifiers import SOR_SYSTEM
from hub.domain.sectors import Sector
from hub.domain.sensitivity import PSYCHIATRY_LABEL

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
ORGS = ("100", "200", "300")
KOMMUNER = ("730", "707")
TYPES = ("Encounter", "ServiceRequest", "CarePlan")
YEARS = (2024, 2025, 2026)


@dataclass(frozen=True)
class Conditions:
    actor: str | None  # "sor:100" / "sector:gp"
    resource_type: str | None
    year: int | None  # data period: the calendar year
    expired: bool  # the rule's period ended before now
    purpose: str | None
    psychiatry: bool


conditions = st.builds(
    Conditions,
    actor=st.one_of(
        st.none(),
        st.sampled_from([f"sor:{o}" for o in ORGS]),
        st.sampled_from([f"sector:{s.value}" for s in Sector]),
    ),
    resource_type=st.one_of(st.none(), st.sampled_from(TYPES)),
    year=st.one_of(st.none(), st.sampled_from(YEARS)),
    expired=st.booleans(),
    purpose=st.one_of(st.none(), st.sampled_from(["TREAT", "HRESCH"])),
    psychiatry=st.booleans(),
)


@dataclass(frozen=True)
class Rule:
    type: str
    when: Conditions
    exceptions: tuple[Rule, ...] = ()


rules = st.recursive(
    st.builds(Rule, type=st.sampled_from(["permit", "deny"]), when=conditions),
    lambda children: st.builds(
        Rule,
        type=st.sampled_from(["permit", "deny"]),
        when=conditions,
        exceptions=st.lists(children, max_size=2).map(tuple),
    ),
    max_leaves=4,
)


@dataclass(frozen=True)
class DrawnConsent:
    active: bool
    root: Rule


consents = st.lists(st.builds(DrawnConsent, active=st.booleans(), root=rules), max_size=3)


def fhir_provision(rule: Rule) -> dict[str, Any]:
    when = rule.when
    provision: dict[str, Any] = {"type": rule.type}
    if when.actor:
        kind, value = when.actor.split(":")
        provision["actor"] = [
            {"reference": {"identifier": {"system": SOR_SYSTEM, "value": value}}}
            if kind == "sor"
            else {"role": {"coding": [{"system": SECTOR_ROLE_SYSTEM, "code": value}]}}
        ]
    if when.resource_type:
        provision["class"] = [{"code": when.resource_type}]
    if when.year:
        provision["dataPeriod"] = {"start": f"{when.year}-01-01", "end": f"{when.year}-12-31"}
    if when.expired:
        provision["period"] = {"end": "2026-01-31"}
    if when.purpose:
        provision["purpose"] = [{"code": when.purpose}]
    if when.psychiatry:
        provision["securityLabel"] = [{"code": "PSY"}]
    if rule.exceptions:
        provision["provision"] = [fhir_provision(child) for child in rule.exceptions]
    return provision


@dataclass(frozen=True)
class Case:
    viewer: Viewer
    sector: Sector
    resource_type: str
    year: int
    kommune: str | None
    drawn: list[DrawnConsent]


cases = st.builds(
    Case,
    viewer=st.builds(
        Viewer,
        sector=st.sampled_from(list(Sector)),
        org=st.sampled_from(ORGS),
        kommune=st.one_of(st.none(), st.sampled_from(KOMMUNER)),
        purpose=st.sampled_from(["TREAT", "HRESCH"]),
    ),
    sector=st.sampled_from(list(Sector)),
    resource_type=st.sampled_from(TYPES),
    year=st.sampled_from(YEARS),
    kommune=st.one_of(st.none(), st.sampled_from(KOMMUNER)),
    drawn=consents,
)


# --- the reference reading of the policy -------------------------------------------------


def holds(when: Conditions, case: Case) -> bool:
    viewer = case.viewer
    return all(
        [
            when.actor is None or when.actor in (f"sor:{viewer.org}", f"sector:{viewer.sector}"),
            when.resource_type is None or when.resource_type == case.resource_type,
            when.year is None or when.year == case.year,
            not when.expired,
            when.purpose is None or when.purpose == viewer.purpose,
        ]
    )


def paths(rule: Rule, trail: tuple[Rule, ...] = ()) -> list[tuple[Rule, ...]]:
    """Every root-to-node path of a consent: a node's rule holds when all on its path hold."""
    here = (*trail, rule)
    return [here] + [p for child in rule.exceptions for p in paths(child, here)]


def consent_says(consent: DrawnConsent, case: Case) -> tuple[str, Rule] | None:
    holding = [p for p in paths(consent.root) if all(holds(r.when, case) for r in p)]
    if not holding:
        return None
    depth = max(len(p) for p in holding)
    deepest = [p[-1] for p in holding if len(p) == depth]
    rule = next((r for r in deepest if r.type == "deny"), deepest[0])
    if rule.type == "deny" and depth == 1 and consent.root.exceptions:
        return None  # a base "nothing but the exceptions", not a refusal
    return rule.type, rule


def reference(case: Case, policy: Policy) -> Visibility:
    viewer = case.viewer
    psychiatric = case.sector is Sector.PSYCHIATRY
    if viewer.sector is case.sector:
        return Visibility.FULL
    said = [s for c in case.drawn if c.active and (s := consent_says(c, case)) is not None]
    if any(kind == "deny" for kind, _ in said):
        return Visibility.HIDDEN
    if any(kind == "permit" and (rule.when.psychiatry or not psychiatric) for kind, rule in said):
        return Visibility.FULL
    notified = (
        viewer.sector is Sector.MUNICIPALITY
        and viewer.kommune is not None
        and viewer.kommune == case.kommune
        and case.resource_type == "Encounter"
        and (case.sector is Sector.HOSPITAL or (psychiatric and policy.psychiatry_notifications))
    )
    return Visibility.NOTIFICATION if notified else Visibility.HIDDEN


def item_of(case: Case) -> Item:
    content: dict[str, Any] = {"resourceType": case.resource_type, "id": "r"}
    if case.sector is Sector.PSYCHIATRY:
        content["meta"] = {"security": [dict(PSYCHIATRY_LABEL)]}
    return Item(
        case.resource_type,
        "r",
        case.sector.value,
        "999",
        content,
        start=datetime(case.year, 6, 1, tzinfo=UTC),
        end=datetime(case.year, 6, 2, tzinfo=UTC),
    )


@settings(max_examples=1500, deadline=None)
@given(case=cases, psychiatry_notifications=st.booleans())
def test_the_policy_agrees_with_its_reference_reading(
    case: Case, psychiatry_notifications: bool
) -> None:
    policy = Policy(psychiatry_notifications=psychiatry_notifications)
    parsed = [
        read_consent(
            {
                "resourceType": "Consent",
                "id": f"c{i}",
                "status": "active" if drawn.active else "inactive",
                "provision": fhir_provision(drawn.root),
            }
        )
        for i, drawn in enumerate(case.drawn)
    ]
    decided = decide(
        case.viewer, item_of(case), parsed, patient_kommune=case.kommune, now=NOW, policy=policy
    )
    assert decided is reference(case, policy)
