"""The choke point on stored data: references to what is hidden are withheld too."""

from __future__ import annotations

from typing import Any

import orjson
from sqlalchemy.ext.asyncio import AsyncEngine

from hub.domain.consent import DEFAULT_POLICY, Viewer
from hub.domain.identifiers import SOR_SYSTEM, patient_resource_id
from hub.domain.sectors import Sector
from hub.services.consent.read import consented_view
from hub.store.unit_of_work import UnitOfWork

PATIENT = "cpr:0101709995"
GP = Viewer(Sector.GP, "555555555")


async def store(engine: AsyncEngine, *resources: dict[str, Any]) -> None:
    async with UnitOfWork(engine) as uow:
        for n, resource in enumerate(resources):
            await uow.resources.save(
                resource, patient_key=PATIENT, sector="hospital", org="100000001", event_id=f"e{n}"
            )
        await uow.commit()


async def test_a_shown_letter_does_not_reveal_the_hidden_stay_it_concerns(
    engine: AsyncEngine,
) -> None:
    patient = {"reference": f"Patient/{patient_resource_id(PATIENT)}"}
    await store(
        engine,
        {
            "resourceType": "Encounter",
            "id": "stay-1",
            "status": "finished",
            "class": {"code": "IMP"},
            "subject": patient,
        },
        {
            "resourceType": "Communication",
            "id": "letter-1",
            "status": "completed",
            "subject": patient,
            "encounter": {"reference": "Encounter/stay-1"},
        },
        {
            "resourceType": "Consent",
            "id": "consent-1",
            "status": "active",
            "provision": {
                "type": "permit",
                "actor": [{"reference": {"identifier": {"system": SOR_SYSTEM, "value": GP.org}}}],
                "class": [{"code": "Communication"}],
            },
        },
    )
    async with UnitOfWork(engine) as uow:
        view = await consented_view(uow, GP, PATIENT, policy=DEFAULT_POLICY)
    (letter,) = view.entries
    assert letter.content["encounter"] == {"display": "withheld"}
    assert b"stay-1" not in orjson.dumps(letter.content)
    assert letter.content["subject"] == patient  # the patient is who the caller asked about
    assert view.withheld == 2  # the stay and the consent itself


async def test_a_shown_consent_with_actors_by_identifier_is_shown_whole(
    engine: AsyncEngine,
) -> None:
    """Consent.provision.actor.reference is an object; withholding must not trip on it."""
    actor = {"reference": {"identifier": {"system": SOR_SYSTEM, "value": GP.org}}}
    await store(
        engine,
        {"resourceType": "Encounter", "id": "stay-2", "status": "finished", "class": {}},
        {
            "resourceType": "Consent",
            "id": "consent-2",
            "status": "active",
            "provision": {"type": "permit", "actor": [actor], "class": [{"code": "Consent"}]},
        },
    )
    async with UnitOfWork(engine) as uow:
        view = await consented_view(uow, GP, PATIENT, policy=DEFAULT_POLICY)
    (consent,) = view.entries
    assert consent.content["provision"]["actor"] == [actor]
    assert view.withheld == 1


async def test_a_blank_override_reason_is_no_override(engine: AsyncEngine) -> None:
    """An override must be audited with its reason; without one it is not granted."""
    from hub.services.auth import Principal
    from hub.services.consent.read import viewer_of

    await store(engine, {"resourceType": "Encounter", "id": "stay-3", "status": "finished"})
    gp = Principal(sub="gp", sector=Sector.GP, org=GP.org)
    async with UnitOfWork(engine) as uow:
        blank = await consented_view(
            uow, viewer_of(gp, override_reason="  "), PATIENT, policy=DEFAULT_POLICY
        )
        real = await consented_view(
            uow, viewer_of(gp, override_reason="unconscious"), PATIENT, policy=DEFAULT_POLICY
        )
    assert blank.entries == []
    assert [d.stored.id for d in real.entries] == ["stay-3"]
