"""The coordinators' page serves a patient known only by a replacement number
(erstatningspersonnummer) as any other: the patient page with its status, recording a
consent and convening a rundbordsmøde, the number shown as itself, never mangled."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from functools import partial
from pathlib import Path
from typing import cast

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.applications import Starlette
from starlette.routing import Route

from hub.domain.consent import DEFAULT_POLICY
from hub.services.auth import Principal, TokenError, TokenVerifier
from hub.services.intake import IntakeService
from hub.store.database import create_engine
from hub.store.migrate import upgrade
from hub.store.unit_of_work import UnitOfWork
from tests.support import clock
from tests.unit.test_replacement_number_entry_points import (
    HOSPITAL_STAFF,
    MUNICIPALITY,
    NUMBER,
    SYSTEM,
    admitted,
)
from tests.unit.test_round_table_safety_plan import ProjectingIntake
from web import consent, patient, round_table
from web.patient_ref import PatientRefs
from web.rendering import WebHub, templates
from web.session import CSRF_COOKIE, CSRF_FIELD, SESSION_COOKIE

CSRF = "csrf-token-of-this-browser"


class OneUser:
    """Token checking for one signed-in user: the hospital's coordinator."""

    async def verify(self, authorization: str | None) -> Principal:
        if authorization != "Bearer staff":
            raise TokenError("unknown token")
        return HOSPITAL_STAFF


@pytest.fixture
async def page(tmp_path: Path) -> AsyncIterator[tuple[httpx.AsyncClient, str]]:
    engine: AsyncEngine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'hub.db'}")
    await upgrade(engine)
    await admitted(engine)
    the_patient = "/patient/{ref}"
    app = Starlette(
        routes=[
            Route(the_patient, patient.patient, methods=["GET"]),
            Route(f"{the_patient}/samtykke", consent.consent_page, methods=["GET"]),
            Route(f"{the_patient}/samtykke", consent.record, methods=["POST"]),
            Route(f"{the_patient}/rundbord", round_table.round_table_page, methods=["GET"]),
            Route(f"{the_patient}/rundbord", round_table.convene_meeting, methods=["POST"]),
        ]
    )
    refs = PatientRefs()
    app.state.web = WebHub(
        partial(UnitOfWork, engine),
        cast(IntakeService, ProjectingIntake(engine)),
        DEFAULT_POLICY,
        cast(TokenVerifier, OneUser()),
        refs,
        templates(),
    )
    transport = httpx.ASGITransport(app=app)
    cookies = {SESSION_COOKIE: "staff", CSRF_COOKIE: CSRF}
    async with httpx.AsyncClient(
        transport=transport, base_url="http://hub", cookies=cookies
    ) as client:
        yield client, f"/patient/{refs.of(f'{SYSTEM}|{NUMBER}')}"
    await engine.dispose()


def shown(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


async def test_the_patient_page_consent_and_round_table_of_a_replacement_number(
    page: tuple[httpx.AsyncClient, str],
) -> None:
    client, address = page

    overview = await client.get(address)
    assert overview.status_code == 200
    assert "erstatningspersonnummer 0703921VJ5" in shown(overview.text)
    assert "Indlagt" in shown(overview.text)  # the status panel, from the hospital's stay

    recorded = await client.post(
        f"{address}/samtykke",
        data={CSRF_FIELD: CSRF, "beslutning": "permit", "sektor": "municipality"},
    )
    assert recorded.status_code == 303, shown(recorded.text)
    assert recorded.headers["location"].endswith("/samtykke?besked=registreret")
    consents = shown((await client.get(f"{address}/samtykke")).text)
    assert "Samtykke – erstatningspersonnummer 0703921VJ5" in consents

    start = clock.day_from_today(7).isoformat() + "T10:00"
    convened = await client.post(
        f"{address}/rundbord",
        data={
            CSRF_FIELD: CSRF,
            "aarsag": "Gentagne indlaeggelser",
            "deltager": f"municipality|{MUNICIPALITY}|Randers Kommune",
            "tidspunkt": start,
        },
    )
    assert convened.status_code == 303, shown(convened.text)
    meetings = shown((await client.get(f"{address}/rundbord")).text)
    assert "Gentagne indlaeggelser" in meetings
    for text in (consents, meetings):
        assert "cpr:" not in text and "|0703921VJ5" not in text
