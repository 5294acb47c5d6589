"""``resource(type, id)``: a hidden resource cannot be told from a missing one, by the
answer or by the work done to give it (which is what the time it takes would show).

The work is counted, not timed: the SQL statements the store runs and the consent
decisions taken, for a hidden resource and for a missing one, must be the same.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine

import hub.services.consent.read as consent_read
import hub.services.resource_read as resource_read
from hub.bootstrap import units_over
from hub.domain.identifiers import (
    cpr_patient_key,
    owned_patient_id,
    patient_resource_id,
)
from hub.domain.sectors import Sector
from hub.services.auth import Principal
from hub.services.intake import IntakeService
from hub.store.database import create_engine
from hub.store.migrate import upgrade
from hub.store.unit_of_work import UnitOfWork
from schema.build import build_schema
from schema.context import HubContext

PATIENT_KEY = cpr_patient_key("0101709995")
UNKNOWN_KEY = cpr_patient_key("0202804441")  # a patient the hub knows nothing of
HOSPITAL = "1001"
DIRECTORY_OWNER = "2002"
STAY = "hiddenstay0001"
RECORD = owned_patient_id(PATIENT_KEY, HOSPITAL)
ORGANISATION = "someonesorg0001"

GP = Principal(sub="gp", sector=Sector.GP, org="gp-1", controller="sor:gp-1")
AUTHOR = Principal(sub="nurse", sector=Sector.HOSPITAL, org=HOSPITAL, controller="sor:region")

LOOKUP = "query One($type: String!, $id: ID!) { resource(resourceType: $type, id: $id) { id } }"
SCHEMA = build_schema(allow_introspection=False)


@pytest.fixture(scope="module")
async def engine(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[AsyncEngine]:
    """A store holding one patient's stay and Patient record, written by a hospital the
    GP asking has no consent for, and an Organization another organisation wrote."""
    path: Path = tmp_path_factory.mktemp("lookup") / "hub.db"
    engine = create_engine(f"sqlite+aiosqlite:///{path}")
    await upgrade(engine)
    async with UnitOfWork(engine) as uow:
        for resource, key, org in (
            ({"resourceType": "Patient", "id": RECORD, "gender": "female"}, PATIENT_KEY, HOSPITAL),
            (
                {
                    "resourceType": "Encounter",
                    "id": STAY,
                    "status": "finished",
                    "class": {"code": "IMP"},
                    "subject": {"reference": f"Patient/{patient_resource_id(PATIENT_KEY)}"},
                },
                PATIENT_KEY,
                HOSPITAL,
            ),
            (
                {"resourceType": "Organization", "id": ORGANISATION, "name": "X"},
                None,
                DIRECTORY_OWNER,
            ),
        ):
            await uow.resources.save(
                resource,
                patient_key=key,
                sector=Sector.HOSPITAL.value,
                org=org,
                event_id=f"event-{resource['id']}",
                controller="sor:region",
            )
        await uow.commit()
    yield engine
    await engine.dispose()


class Work:
    """What one lookup made the hub do."""

    def __init__(self) -> None:
        self.statements: list[str] = []
        self.decisions = 0


@contextmanager
def counted(engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch) -> Iterator[Work]:
    work = Work()

    def statement(_conn: Any, _cursor: Any, sql: str, *_args: Any) -> None:
        work.statements.append(sql)

    def counting(decide: Any) -> Any:
        def decision(*args: Any, **kwargs: Any) -> Any:
            work.decisions += 1
            return decide(*args, **kwargs)

        return decision

    with monkeypatch.context() as patch:
        for module in (resource_read, consent_read):
            patch.setattr(module, "decide", counting(module.decide))
        event.listen(engine.sync_engine, "before_cursor_execute", statement)
        try:
            yield work
        finally:
            event.remove(engine.sync_engine, "before_cursor_execute", statement)


async def look_up(
    engine: AsyncEngine, viewer: Principal, resource_type: str, resource_id: str
) -> str:
    context = HubContext(
        viewer=viewer,
        intake=IntakeService(units_over(engine), {}),
        units=units_over(engine),
    )
    result = await SCHEMA.execute(
        LOOKUP, variable_values={"type": resource_type, "id": resource_id}, context_value=context
    )
    assert result.errors is None, result.errors
    return repr(result.data)


CASES = {
    # what is asked for: (type, an id the GP may not see, an id nothing has)
    "a stay": ("Encounter", STAY, "nosuchstay0001"),
    "a Patient record": ("Patient", RECORD, owned_patient_id(UNKNOWN_KEY, HOSPITAL)),
    "the person": (
        "Patient",
        patient_resource_id(PATIENT_KEY),
        patient_resource_id(UNKNOWN_KEY),
    ),
    "another organisation's entry": ("Organization", ORGANISATION, "nosuchorg0001"),
}


@pytest.mark.parametrize("case", sorted(CASES))
async def test_a_hidden_resource_takes_the_same_steps_as_a_missing_one(
    engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch, case: str
) -> None:
    resource_type, hidden_id, missing_id = CASES[case]
    with counted(engine, monkeypatch) as hidden:
        hidden_answer = await look_up(engine, GP, resource_type, hidden_id)
    with counted(engine, monkeypatch) as missing:
        missing_answer = await look_up(engine, GP, resource_type, missing_id)

    assert hidden_answer == missing_answer == repr({"resource": None})
    assert hidden.statements == missing.statements
    assert hidden.decisions == missing.decisions
    assert hidden.decisions >= 1  # the consent rules were asked, not skipped


@pytest.mark.parametrize("case", sorted(CASES))
async def test_what_is_hidden_from_one_is_there_for_its_author(
    engine: AsyncEngine, case: str
) -> None:
    resource_type, hidden_id, _missing_id = CASES[case]
    author = (
        Principal(sub="clerk", sector=Sector.HOSPITAL, org=DIRECTORY_OWNER, controller="sor:x")
        if resource_type == "Organization"
        else AUTHOR
    )
    answer = await look_up(engine, author, resource_type, hidden_id)
    assert hidden_id in answer
