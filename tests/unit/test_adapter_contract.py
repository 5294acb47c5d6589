"""One contract suite for every intake adapter (tests/support/adapter_contract.py).

Each adapter, over the project's own samples (the published corpus has its own
expectations, in tests/conformance):
- every sample is accepted under the contract, and translates identically twice;
- the empty payload and whitespace are refused with a reason and a place;
- arbitrary bytes and byte-mutated samples give contract translations or a refusal
  from the adapter's own checks, never an exception and never the catch-all.

What each format means (which element becomes which resource) stays in that adapter's
own test module; its format-aware mutations call the same ``outcome``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from adapters.fhir import FhirAdapter
from adapters.hl7v2 import Hl7v2Adapter
from adapters.medcom import MedComAdapter
from adapters.oioxml import OioxmlAdapter
from hub.bootstrap import build_adapters
from hub.domain.sectors import Sector
from hub.domain.translation import Adapter, Sender, fingerprint
from tests.conftest import REPO, hub_settings
from tests.samples import SAMPLES
from tests.support.adapter_contract import outcome

HOSPITAL = Sender(sector=Sector.HOSPITAL, org="265161000016000", sub="epj")
MUNICIPALITY = Sender(sector=Sector.MUNICIPALITY, org="478941000016003", sub="omsorg")


@dataclass(frozen=True)
class Case:
    """An adapter, who sends to it, and the payloads it must accept."""

    adapter: Adapter
    sender: Sender
    accepted: tuple[Path, ...]

    def __str__(self) -> str:
        return self.adapter.format


def _files(folder: Path, *patterns: str) -> tuple[Path, ...]:
    return tuple(sorted(path for pattern in patterns for path in folder.glob(pattern)))


CASES = (
    Case(
        FhirAdapter(),
        MUNICIPALITY,
        _files(REPO / "docs/examples/municipal", "*.json"),
    ),
    Case(Hl7v2Adapter(), HOSPITAL, _files(SAMPLES / "hl7v2", "*.hl7")),
    Case(
        MedComAdapter(),
        HOSPITAL,
        _files(SAMPLES / "medcom", "*.json", "*.xml"),
    ),
    Case(OioxmlAdapter(), HOSPITAL, _files(SAMPLES / "oioxml", "*.xml")),
)
PAYLOADS = [
    pytest.param(case, path, id=f"{case}-{path.name}") for case in CASES for path in case.accepted
]
PROPERTY = settings(
    max_examples=120, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow]
)


def test_every_adapter_of_the_hub_is_under_contract(tmp_path: Path) -> None:
    assert {case.adapter.format for case in CASES} == set(build_adapters(hub_settings(tmp_path)))
    assert all(case.accepted for case in CASES)


@pytest.mark.parametrize(("case", "path"), PAYLOADS)
def test_a_sample_is_accepted_and_translates_identically_twice(case: Case, path: Path) -> None:
    raw = path.read_bytes()
    first = outcome(case.adapter, raw, case.sender)
    assert first is not None, f"{path.name} refused"
    again = case.adapter.translate(raw, case.sender)
    assert list(again) == list(first)
    assert fingerprint(again) == fingerprint(first)


@pytest.mark.parametrize("case", CASES, ids=str)
@pytest.mark.parametrize("raw", [b"", b"  \r\n\t ", b"\x00", b"\xff\xfe"])
def test_an_empty_or_unreadable_payload_is_refused_with_a_place(case: Case, raw: bytes) -> None:
    assert outcome(case.adapter, raw, case.sender) is None


@pytest.mark.parametrize("case", CASES, ids=str)
@PROPERTY
@given(raw=st.binary(max_size=600))
def test_arbitrary_bytes_give_translations_or_a_reasoned_refusal(case: Case, raw: bytes) -> None:
    outcome(case.adapter, raw, case.sender)


@pytest.mark.parametrize("case", CASES, ids=str)
@PROPERTY
@given(data=st.data())
def test_byte_mutated_samples_give_translations_or_a_reasoned_refusal(
    case: Case, data: st.DataObject
) -> None:
    raw = bytearray(data.draw(st.sampled_from(case.accepted)).read_bytes())
    for _ in range(data.draw(st.integers(1, 5))):
        position = data.draw(st.integers(0, max(len(raw) - 1, 0)))
        action = data.draw(st.sampled_from(["replace", "insert", "delete", "truncate"]))
        byte = data.draw(st.sampled_from(list(b'<>&/"{}[],:|^~\\\r\n 0129AZ\x00\xe6\xc3\xf8')))
        if action == "replace" and raw:
            raw[position] = byte
        elif action == "insert":
            raw.insert(position, byte)
        elif action == "delete":
            del raw[position : position + data.draw(st.integers(1, 40))]
        else:
            del raw[position:]
    outcome(case.adapter, bytes(raw), case.sender)
