"""The world the consent property tests draw from: data controllers and their organisations.

Two regions, each with a hospital, a psychiatry and a coordinator it employs; two
kommuner, each with two units (Randers, 730, also employs a coordinator); two general
practices. Every organisation has a SOR code and a GLN (a message may address it by
either; a token may carry the GLN as an alias). What an organisation's records are
its controller's is the point of the rules (docs/consent.md, "Data controllers"), so
every controller has at least two organisations of one sector or two sectors.

The number of random worlds a property test plays is ``BROBYGGER_CONSENT_WORLDS`` when
set (e.g. 10,000 for a nightly-style run), else the module's default::

    BROBYGGER_CONSENT_WORLDS=10000 .venv/bin/python -m pytest tests/unit/test_consent_properties.py
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from hypothesis import strategies as st

from hub.domain.consent import SECTOR_ROLE_SYSTEM
from hub.domain.identifiers import GLN_SYSTEMS, SOR_SYSTEM
from hub.domain.sectors import Sector

WORLDS_VARIABLE = "BROBYGGER_CONSENT_WORLDS"

PATIENT_CUSTODIAN = "patient"
"""The stored controller of a Consent the patient recorded themself (hub.domain.controllers)."""

GLN_SYSTEM = sorted(GLN_SYSTEMS)[0]
ADDRESS_KINDS = ("sor", *sorted(GLN_SYSTEMS))
"""How a message names its addressee: by SOR code, or by GLN under any system in use."""


def worlds(default: int) -> int:
    """How many random worlds to play: ``BROBYGGER_CONSENT_WORLDS``, else ``default``."""
    return int(os.environ.get(WORLDS_VARIABLE) or default)


@dataclass(frozen=True)
class Org:
    name: str
    sor: str
    sector: Sector
    controller: str
    kommune: str | None = None  # the token's kommune claim

    @property
    def gln(self) -> str:
        return f"5790000{self.sor}"

    @property
    def alias(self) -> str:
        """The GLN as a token carries it."""
        return f"gln:{self.gln}"

    def __repr__(self) -> str:  # short, for Hypothesis' falsifying examples
        return self.name


REGION_A = "sor:100000"  # Region Midtjylland, say: the institution owner of its hospitals
REGION_B = "sor:200000"

HOSPITAL_A = Org("hospital-A", "110101", Sector.HOSPITAL, REGION_A)
PSYCHIATRY_A = Org("psychiatry-A", "110102", Sector.PSYCHIATRY, REGION_A)
COORDINATOR_A = Org("coordinator-A", "110103", Sector.COORDINATOR, REGION_A)
HOSPITAL_B = Org("hospital-B", "210101", Sector.HOSPITAL, REGION_B)
PSYCHIATRY_B = Org("psychiatry-B", "210102", Sector.PSYCHIATRY, REGION_B)
HOME_CARE_730 = Org("home-care-730", "730001", Sector.MUNICIPALITY, "kommune:730", "730")
ADDICTION_730 = Org("addiction-730", "730002", Sector.MUNICIPALITY, "kommune:730", "730")
COORDINATOR_730 = Org("coordinator-730", "730003", Sector.COORDINATOR, "kommune:730", "730")
HOME_CARE_707 = Org("home-care-707", "707001", Sector.MUNICIPALITY, "kommune:707", "707")
SOCIAL_707 = Org("social-707", "707002", Sector.MUNICIPALITY, "kommune:707", "707")
PRACTICE_1 = Org("practice-1", "300001", Sector.GP, "sor:300001")
PRACTICE_2 = Org("practice-2", "300002", Sector.GP, "sor:300002")

ORGS = (
    HOSPITAL_A,
    PSYCHIATRY_A,
    COORDINATOR_A,
    HOSPITAL_B,
    PSYCHIATRY_B,
    HOME_CARE_730,
    ADDICTION_730,
    COORDINATOR_730,
    HOME_CARE_707,
    SOCIAL_707,
    PRACTICE_1,
    PRACTICE_2,
)
KOMMUNER = ("730", "707")
MUNICIPAL = tuple(o for o in ORGS if o.sector is Sector.MUNICIPALITY)


def address_json(org: Org, kind: str) -> dict[str, object]:
    """A Reference to ``org`` by SOR code (``kind`` "sor") or by GLN under system ``kind``."""
    if kind == "sor":
        return {"identifier": {"system": SOR_SYSTEM, "value": org.sor}}
    return {"identifier": {"system": kind, "value": org.gln}}


# Strategies are built once; a rule's actor that depends on the world drawn (the viewer,
# the recorder) is drawn as a placeholder and put in place by ``resolved_actor``.
VIEWER_SOR, VIEWER_SECTOR, RECORDER_SOR = "@viewer-sor", "@viewer-sector", "@recorder-sor"


def resolved_actor(
    actor: str | None, viewer_sor: str, viewer_sector: Sector, recorder: Org | None
) -> str | None:
    """``actor`` with a placeholder naming this world's viewer or recorder."""
    return {
        VIEWER_SOR: f"sor:{viewer_sor}",
        VIEWER_SECTOR: f"sector:{viewer_sector.value}",
        RECORDER_SOR: f"sor:{recorder.sor}" if recorder else None,
    }.get(actor or "", actor)


def provision_actor_json(actor: str) -> list[dict[str, Any]]:
    """A Consent provision's ``actor``: an organisation ("sor:…") or a sector ("sector:…")."""
    kind, value = actor.split(":")
    return [
        {"reference": {"identifier": {"system": SOR_SYSTEM, "value": value}}}
        if kind == "sor"
        else {"role": {"coding": [{"system": SECTOR_ROLE_SYSTEM, "code": value}]}}
    ]


RuleT = TypeVar("RuleT")


def rule_trees(
    rule: Callable[..., RuleT], conditions: st.SearchStrategy[Any], depth: int
) -> st.SearchStrategy[RuleT]:
    """Rules ``rule(type, when, exceptions)`` nested at most ``depth`` deep: a root with up
    to ``depth`` exceptions, each with up to one fewer of its own."""
    exceptions: st.SearchStrategy[tuple[RuleT, ...]] = (
        st.lists(rule_trees(rule, conditions, depth - 1), max_size=depth).map(tuple)
        if depth
        else st.just(())
    )
    return st.builds(
        rule,
        type=st.sampled_from(["permit", "deny", "permit"]),
        when=conditions,
        exceptions=exceptions,
    )
