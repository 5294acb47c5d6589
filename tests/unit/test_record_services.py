"""The pathway and resource reads over the in-memory unit of work.

What a viewer is shown of a patient (the author its own stay; a general practice
without consent nothing, a hidden stay answering as a missing one), that each read is
audited once under the real reader and committed, and that an emergency override
asserted by someone who may not assert one is an error, audited as refused. The
resources repository the fake stands in for is held to the same contract on every
backend (tests/contract/test_resources_repository_contract.py).
"""

from __future__ import annotations

import pytest

from hub.domain.identifiers import cpr_patient_key, owned_patient_id, patient_resource_id
from hub.domain.sectors import Sector
from hub.services.auth import Principal
from hub.services.pathway import PathwayQueryError, read_pathway
from hub.services.resource_read import read_resource, read_versions
from tests.support.fake_unit_of_work import FakeStore

CPR = "0101709995"
PATIENT_KEY = cpr_patient_key(CPR)
HOSPITAL = "100000001"
STAY = "stay0001"
AUTHOR = Principal("nurse", Sector.HOSPITAL, HOSPITAL, controller="sor:region")
GP = Principal("gp", Sector.GP, "gp-1", controller="sor:gp-1")


async def patient_with_a_stay() -> FakeStore:
    """A patient whose Patient record and two versions of a stay the hospital wrote."""
    store = FakeStore()
    subject = {"reference": f"Patient/{patient_resource_id(PATIENT_KEY)}"}
    record = {"resourceType": "Patient", "id": owned_patient_id(PATIENT_KEY, HOSPITAL)}
    for resource in (
        record,
        {"resourceType": "Encounter", "id": STAY, "status": "in-progress", "subject": subject},
        {"resourceType": "Encounter", "id": STAY, "status": "finished", "subject": subject},
    ):
        await store.resources.save(
            resource,
            patient_key=PATIENT_KEY,
            sector="hospital",
            org=HOSPITAL,
            event_id="e1",
            controller=AUTHOR.controller,
        )
    return store


async def test_the_author_reads_its_own_stay_and_the_read_is_audited() -> None:
    store = await patient_with_a_stay()
    view = await read_pathway(store.units, AUTHOR, CPR)
    versions = await read_versions(store.units, AUTHOR, "Encounter", STAY)
    assert [(e.stored.id, e.content["status"]) for e in view.entries] == [(STAY, "finished")]
    assert view.patient is not None and not view.has_more
    assert versions is not None
    assert [v.content["status"] for v in versions] == ["in-progress", "finished"]
    assert [(r["action"], r["sub"], r["outcome"]) for r in store.audit.records] == [
        ("pathway.read", "nurse", "success"),
        ("resource.history.read", "nurse", "success"),
    ]
    assert store.committed == 2


async def test_a_practice_without_consent_is_shown_nothing_and_the_refusal_is_audited() -> None:
    store = await patient_with_a_stay()
    view = await read_pathway(store.units, GP, CPR)
    hidden = await read_resource(store.units, GP, "Encounter", STAY)
    missing = await read_resource(store.units, GP, "Encounter", "nostay0001")
    assert (view.patient, view.entries, view.has_more) == (None, [], False)
    assert hidden is None and missing is None
    assert [(r["action"], r["outcome"]) for r in store.audit.records] == [
        ("pathway.read", "denied"),
        ("resource.read", "denied"),
        ("resource.read", "denied"),
    ]
    # The log (not the viewer's to read) keeps whose stay was refused.
    assert store.audit.records[1]["patient_key"] == PATIENT_KEY
    assert store.audit.records[2]["patient_key"] is None


async def test_an_override_by_a_non_clinician_is_an_error_audited_as_refused() -> None:
    store = await patient_with_a_stay()
    with pytest.raises(PathwayQueryError, match="clinicians only"):
        await read_pathway(store.units, GP, CPR, override_reason="akut")
    assert [(r["action"], r["outcome"], r["override_reason"]) for r in store.audit.records] == [
        ("pathway.read", "denied", "akut")
    ]
    assert store.audit.records[0]["disclosed_count"] == 0
