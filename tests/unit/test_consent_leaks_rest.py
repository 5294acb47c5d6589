"""The consent leak property, through FHIR REST: in every random world of
``test_consent_leaks``, the REST interface shows the viewer exactly what GraphQL shows it
— the same resources, the same content, the same counts — and a hidden resource answers
exactly as a missing one.

Read (``GET /fhir/{type}/{id}``), search (``?patient=`` per type, with ``total``) and
``Patient/$everything`` are each compared with the GraphQL pathway of the same viewer,
and every REST answer is checked for the hidden ids and markers. The REST interface
takes no emergency override nor another purpose of use than treatment, so each world is
played without an override, for treatment.
"""

from __future__ import annotations

import asyncio
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
from hypothesis import HealthCheck, given, settings
from sqlalchemy.ext.asyncio import AsyncEngine

from hub.bootstrap import units_over
from hub.domain.consent import Visibility
from hub.services.auth import Principal
from schema.fhir import create_fhir_app
from tests.support import clock
from tests.support.consent_worlds import worlds
from tests.unit.test_consent_leaks import (
    NOT_SHOWN,
    PATIENT_ID,
    Scenario,
    Stored,
    ask_pathway,
    check,
    decided,
    marker,
    scenarios,
    store,
    template,
)
from tests.unit.test_consent_leaks import in_store as _in_store

__all__ = ["template"]  # the migrated store every world copies (a fixture)

TYPES = ("Encounter", "ServiceRequest", "CarePlan", "Communication", "Task", "Appointment")


class StubVerifier:
    """Every request is the world's viewer (its token is tested elsewhere)."""

    def __init__(self, viewer: Principal) -> None:
        self.viewer = viewer

    async def verify(self, _authorization: str | None) -> Principal:
        return self.viewer


async def rest(engine: AsyncEngine, scenario: Scenario) -> httpx.AsyncClient:
    app = create_fhir_app(
        units_over(engine),
        scenario.policy,
        StubVerifier(scenario.viewer),  # type: ignore[arg-type]
        local_timezone="Europe/Copenhagen",
        oidc=None,
    )
    transport = httpx.ASGITransport(app=app, root_path="/fhir")
    return httpx.AsyncClient(
        transport=transport, base_url="http://hub.test/fhir", headers={"Authorization": "Bearer x"}
    )


def resources_of(bundle: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    return {
        (e["resource"]["resourceType"], e["resource"]["id"]): e["resource"]
        for e in bundle.get("entry", [])
        if e["search"]["mode"] == "match"
    }


async def compare(engine: AsyncEngine, scenario: Scenario, stored: Stored) -> None:
    pathway = (await ask_pathway(engine, scenario)).pathway
    expected = {(e["resourceType"], e["id"]): e["fhir"] for e in pathway["entries"]}
    if pathway["patient"] is not None:
        expected[("Patient", PATIENT_ID)] = pathway["patient"]
    visibility = decided(scenario, stored, clock.now())
    # As the GraphQL check has them: hidden ids, and the text of what is hidden or shown
    # as a notification only (the content shown is compared with GraphQL's below).
    hidden = {i for i, v in visibility.items() if v in NOT_SHOWN}
    notified = {i for i, v in visibility.items() if v is Visibility.NOTIFICATION}
    secrets = {i for i in hidden if i != PATIENT_ID} | {scenario.other_id}
    secrets |= {marker(i) for i in hidden | notified}
    texts: list[str] = []
    async with await rest(engine, scenario) as client:
        everything = await client.get(f"/Patient/{PATIENT_ID}/$everything", params={"_count": 500})
        texts.append(everything.text)
        if expected:
            assert everything.status_code == 200, everything.text
            assert resources_of(everything.json()) == expected
            assert everything.json()["total"] == len(expected)
        else:
            assert everything.status_code == 404
        for resource_type in TYPES:
            found = await client.get(f"/{resource_type}", params={"patient": PATIENT_ID})
            texts.append(found.text)
            wanted = {k: v for k, v in expected.items() if k[0] == resource_type}
            assert found.json()["total"] == len(wanted), found.text
            assert resources_of(found.json()) == wanted
        missing: dict[str, str] = {}
        for resource_id, resource in stored.resources.items():
            resource_type = resource.resource_type
            if resource_type not in missing:
                absent = await client.get(f"/{resource_type}/xnotstored000")
                assert absent.status_code == 404
                missing[resource_type] = absent.text.replace("xnotstored000", "{id}")
            answer = await client.get(f"/{resource_type}/{resource_id}")
            texts.append(answer.text.replace(f"{resource_type}/{resource_id} is", "asked is"))
            if (resource_type, resource_id) in expected:
                assert answer.status_code == 200, answer.text
                assert answer.json() == expected[(resource_type, resource_id)]
            else:
                assert answer.status_code == 404
                assert answer.text.replace(resource_id, "{id}") == missing[resource_type]
    for text in texts:
        leaked = sorted(s for s in secrets if s in text and s != PATIENT_ID)
        assert not leaked, (leaked, text)


async def rest_example(template: Path, scenario: Scenario) -> None:
    scenario = replace(scenario, override=None, purpose="TREAT")

    async def body(engine: AsyncEngine) -> None:
        stored = await store(units_over(engine), scenario)
        full = await ask_pathway(engine, scenario)
        check(scenario, stored, full, await ask_pathway(engine, scenario, first=1), clock.now())
        await compare(engine, scenario, stored)

    await _in_store(template, body)


@settings(
    max_examples=worlds(20),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(scenario=scenarios())
def test_rest_shows_exactly_what_graphql_shows_and_leaks_nothing_else(
    template: Path, scenario: Scenario
) -> None:
    asyncio.run(rest_example(template, scenario))
