"""Every read path of pathway events audits the real reader, through a running hub.

Two tokens of one organisation with different subjects: the one that set the
subscription up, and another that reads it (pulls a page, opens the websocket). The
access log must name the reader; a webhook's POST names the subscription itself. The
coordinators' page is audited under whoever is signed in.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Iterator
from typing import Any

import pytest

from hub.config import Settings
from hub.domain.sectors import Sector
from hub.services.auth import TokenIssuer
from tests.e2e.conftest import Deployment, module_hub
from tests.e2e.test_discharge_events import (
    PULL,
    REGISTER,
    SUBSCRIPTIONS,
    discharge_of,
    subscribed,
    wait_for_position,
)
from tests.support.browser import WebSession
from tests.support.hub_process import run_hub

ACCESS_LOG = """
query Log($cpr: String!) {
  accessLog(cpr: $cpr) { action outcome viewerSub viewerSector viewerOrg subscription }
}
"""
DELIVERED = "pathway-event.delivered"


@pytest.fixture(scope="module", params=["embedded-sqlite", "kafka-postgresql"])
def deployment(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Deployment]:
    directory = tmp_path_factory.mktemp(f"audit-reader-{request.param}")
    with module_hub(request, directory) as deployment:
        yield deployment


# This module's patients are its own.
_cprs = (f"{day:02d}0{month}719995" for month, day in itertools.product(range(1, 10), range(1, 29)))


def token(
    deployment: Deployment,
    sub: str,
    *,
    org: str,
    sector: str = "municipality",
    kommune: str | None = "730",
    roles: frozenset[str] = frozenset(),
) -> str:
    """A development token as ``hub token --sub SUB`` issues it."""
    return TokenIssuer(Settings.from_env(deployment.env)).issue(
        sector=Sector(sector), org=org, sub=sub, kommune=kommune, roles=roles
    )


def access_log(deployment: Deployment, cpr: str) -> list[dict[str, Any]]:
    auditor = token(
        deployment,
        "revisor-1",
        org="999999",
        sector="coordinator",
        kommune=None,
        roles=frozenset({"auditor"}),
    )
    body = deployment.graphql(ACCESS_LOG, auditor, cpr=cpr)
    assert "errors" not in body, body
    entries: list[dict[str, Any]] = body["data"]["accessLog"]
    return entries


def delivered_to(deployment: Deployment, cpr: str) -> list[tuple[str, str, str | None]]:
    """(who, organisation, subscription) of every delivery of the patient's events."""
    return [
        (e["viewerSub"], e["viewerOrg"], e["subscription"])
        for e in access_log(deployment, cpr)
        if e["action"] == DELIVERED
    ]


def test_a_pull_and_a_webhook_are_audited_under_who_was_told(deployment: Deployment) -> None:
    owner = token(deployment, "owner-anna", org="730-pull")
    reader = token(deployment, "reader-bo", org="730-pull")
    registered = deployment.graphql(
        REGISTER,
        owner,
        # Nothing listens here: each attempt is audited all the same, then retried.
        input={"kommune": "730", "url": "http://127.0.0.1:9/events", "kinds": ["DISCHARGE"]},
    )["data"]["registerDischargeWebhook"]
    hook = registered["id"]
    resident = next(_cprs)
    discharge_of(deployment, resident)

    recipient = (f"subscription:{hook}", "730-pull", f"Subscription/{hook}")
    deployment.wait_for(
        lambda: recipient in delivered_to(deployment, resident), "the webhook attempt's audit"
    )

    body = deployment.graphql(PULL, reader, id=hook, after=0)
    assert "errors" not in body, body
    assert [e["cpr"] for e in body["data"]["dischargeEventsAfter"]] == [resident]
    told = delivered_to(deployment, resident)
    assert ("reader-bo", "730-pull", f"Subscription/{hook}") in told
    assert {who for who, _, _ in told} <= {"reader-bo", f"subscription:{hook}"}, told

    # `hub audit list` names the reader too.
    listed = run_hub("audit", "list", "--cpr", resident, env=deployment.env)
    assert listed.returncode == 0, listed.stderr
    pulled = [
        line for line in listed.stdout.splitlines() if DELIVERED in line and "reader-bo" in line
    ]
    assert pulled and "730-pull" in pulled[0], listed.stdout
    assert "owner-anna" not in listed.stdout


def test_no_token_of_another_organisation_or_kommune_reads_a_subscription(
    deployment: Deployment,
) -> None:
    owner = token(deployment, "owner-gus", org="730-guarded")
    registered = deployment.graphql(
        REGISTER, owner, input={"kommune": "730", "url": "http://127.0.0.1:9/events"}
    )["data"]["registerDischargeWebhook"]
    resident = next(_cprs)
    discharge_of(deployment, resident)

    def pulled() -> list[dict[str, Any]]:
        body = deployment.graphql(PULL, owner, id=registered["id"], after=0)
        assert "errors" not in body, body
        events: list[dict[str, Any]] = body["data"]["dischargeEventsAfter"]
        return events

    deployment.wait_for(lambda: [e["cpr"] for e in pulled()] == [resident], "the discharge")
    strangers = {
        "neighbour": token(deployment, "neighbour", org="707-sundhed", kommune="707"),
        "same-name-other-org": token(deployment, "owner-gus", org="730-other"),
        "hospital": token(deployment, "nurse", org="730-guarded", sector="hospital", kommune=None),
        "other-kommune": token(deployment, "odd-token", org="730-guarded", kommune="707"),
    }
    for name, stranger in strangers.items():
        body = deployment.graphql(PULL, stranger, id=registered["id"], after=0)
        assert body.get("data") is None, (name, body)
        assert "no subscription" in body["errors"][0]["message"], (name, body)
        assert resident not in str(body), name
    entries = access_log(deployment, resident)
    assert not {e["viewerSub"] for e in entries} & {"neighbour", "nurse", "odd-token"}, entries
    # The owner's own pulls name it; none is recorded for the namesake of another organisation.
    assert {e["viewerOrg"] for e in entries if e["viewerSub"] == "owner-gus"} == {"730-guarded"}


async def test_a_websocket_is_audited_under_the_token_that_opened_it(
    deployment: Deployment,
) -> None:
    owner = token(deployment, "owner-carl", org="730-ws")
    reader = token(deployment, "reader-dora", org="730-ws")
    async with subscribed(deployment, owner) as subscriber:
        await subscriber.nothing_for(0.3)  # the organisation's feed exists from now on
    body = await asyncio.to_thread(deployment.graphql, SUBSCRIPTIONS, owner)
    (feed,) = body["data"]["dischargeSubscriptions"]
    first, second = next(_cprs), next(_cprs)
    await asyncio.to_thread(discharge_of, deployment, first)
    await asyncio.to_thread(wait_for_position, deployment, owner, 1)
    async with subscribed(deployment, reader, after=0) as subscriber:
        caught_up = await subscriber.next()  # from the log
        await asyncio.to_thread(discharge_of, deployment, second)
        live = await subscriber.next()  # as it happens
    assert (caught_up["cpr"], live["cpr"]) == (first, second)
    via = f"Subscription/{feed['id']}"
    assert ("reader-dora", "730-ws", via) in await asyncio.to_thread(
        delivered_to, deployment, first
    )

    def live_audited() -> bool:
        return bool(delivered_to(deployment, second))

    await asyncio.to_thread(deployment.wait_for, live_audited, "the live event's audit")
    # Only the reader was connected when it happened: nobody else is named.
    assert await asyncio.to_thread(delivered_to, deployment, second) == [
        ("reader-dora", "730-ws", via)
    ]


def test_the_coordinators_page_is_audited_under_the_signed_in_user(
    deployment: Deployment,
) -> None:
    resident = next(_cprs)
    discharge_of(deployment, resident)
    signed_in = token(deployment, "coordinator-frida", org="730-web")
    session = WebSession(deployment.base_url, signed_in)
    try:
        patient = session.patient_path(resident)
        for path in (patient, f"{patient}/samtykke", f"{patient}/rundbord"):
            response = session.get(path)
            assert response.status_code == 200, (path, response.text)
    finally:
        session.close()
    reads = [e for e in access_log(deployment, resident) if e["viewerOrg"] == "730-web"]
    assert {e["action"] for e in reads} >= {"pathway.read", "pathway.status"}, reads
    assert {(e["viewerSub"], e["viewerSector"]) for e in reads} == {
        ("coordinator-frida", "municipality")
    }
    assert all(e["subscription"] is None for e in reads)
