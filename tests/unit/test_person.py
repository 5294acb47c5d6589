"""The patient is many records, one person: precedence, and who may say what."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from hub.domain.consent import Policy
from hub.domain.identifiers import owned_patient_id, patient_resource_id
from hub.domain.person import (
    has_died,
    owned_record,
    owned_reference,
    person_view,
    residence,
)
from hub.services.consent.read import PolicyFileError, load_policy

KEY = "cpr:0101709995"
PERSON = patient_resource_id(KEY)
POLICY = Policy()


@dataclass(frozen=True)
class Record:
    sector: str
    org: str
    content: dict[str, Any]
    source_time: datetime | None
    last_updated: datetime = datetime(2024, 1, 1, tzinfo=UTC)


def record(sector: str, org: str, day: int, **content: Any) -> Record:
    return Record(
        sector, org, {"resourceType": "Patient", **content}, datetime(2024, 3, day, tzinfo=UTC)
    )


def home(kommune: str) -> list[dict[str, str]]:
    return [{"use": "home", "district": kommune}]


HOSPITAL = record("hospital", "rhr", 1, name=[{"family": "Holm"}], address=home("730"))
GP = record("gp", "laege", 5, name=[{"family": "Holm-Falsk"}], telecom=[{"value": "12345678"}])
MUNICIPALITY = record("municipality", "norddjurs", 9, address=home("707"), deceasedBoolean=True)


def test_each_element_comes_from_the_first_record_in_precedence() -> None:
    records = [MUNICIPALITY, GP, HOSPITAL]
    seen = person_view([(r, r.content) for r in records], PERSON, POLICY, viewer_org="laege")
    assert seen is not None
    assert seen["id"] == PERSON
    assert seen["name"] == [{"family": "Holm"}]  # the authoritative record's, not the newest
    assert seen["address"] == home("730")
    assert seen["telecom"] == [{"value": "12345678"}]  # only the GP's record has it
    # Only an authoritative record, or the viewer's own, says the patient died.
    assert "deceasedBoolean" not in seen
    own = person_view([(r, r.content) for r in records], PERSON, POLICY, viewer_org="norddjurs")
    assert own is not None and own["deceasedBoolean"] is True


def test_a_viewer_who_may_see_no_record_gets_none() -> None:
    assert person_view([], PERSON, POLICY, viewer_org="rhr") is None


def test_residence_and_death_come_only_from_authoritative_records() -> None:
    assert residence([HOSPITAL, GP, MUNICIPALITY], POLICY) == "730"
    assert residence([GP, MUNICIPALITY], POLICY) is None
    assert not has_died([HOSPITAL, MUNICIPALITY], POLICY)
    moved = record("psychiatry", "psyk", 10, address=home("101"))
    assert residence([HOSPITAL, moved, MUNICIPALITY], POLICY) == "101"  # the newest says
    died = record("hospital", "auh", 11, deceasedDateTime="2024-03-11")
    assert has_died([HOSPITAL, died], POLICY)
    # A deployment that trusts its municipality's own register says so explicitly.
    trusting = Policy(authoritative_organisations=frozenset({"norddjurs"}))
    assert residence([HOSPITAL, MUNICIPALITY], trusting) == "707"


def test_each_organisation_writes_its_own_record_of_the_person() -> None:
    patient = {"resourceType": "Patient", "id": PERSON}
    assert owned_record(patient, KEY, "rhr")["id"] == owned_patient_id(KEY, "rhr")
    assert owned_patient_id(KEY, "rhr") != owned_patient_id(KEY, "laege")
    stay = {"resourceType": "Encounter", "id": "e1"}
    assert owned_record(stay, KEY, "rhr") is stay
    assert (
        owned_reference(f"Patient/{PERSON}", KEY, "rhr")
        == f"Patient/{owned_patient_id(KEY, 'rhr')}"
    )
    assert owned_reference("Encounter/e1", KEY, "rhr") == "Encounter/e1"


def test_the_policy_file_names_the_authoritative_sources(tmp_path: Path) -> None:
    path = tmp_path / "policy.json"
    path.write_text(
        json.dumps({"authoritativeSectors": ["hospital"], "authoritativeOrganisations": ["707"]})
    )
    policy = load_policy(path)
    assert policy.authoritative_sectors == frozenset({"hospital"})
    assert policy.is_authoritative("municipality", "707")
    assert not policy.is_authoritative("psychiatry", "psyk")
    assert load_policy(None).authoritative_sectors == frozenset({"hospital", "psychiatry"})
    path.write_text(json.dumps({"authoritativeSectors": ["police"]}))
    with pytest.raises(PolicyFileError, match="police"):
        load_policy(path)
    path.write_text(json.dumps({"authoritativeOrganisations": "707"}))
    with pytest.raises(PolicyFileError, match="wrong value types"):
        load_policy(path)
