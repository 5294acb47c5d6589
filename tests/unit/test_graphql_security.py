"""The GraphQL endpoint's defences: tokens, limits, masked errors, no schema leaks."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
import strawberry
from graphql import GraphQLError, get_introspection_query
from sqlalchemy import text
from starlette.applications import Starlette

from hub.config import Settings
from hub.domain.sectors import Sector
from hub.entrypoints.asgi import create_app
from hub.services.auth import TokenIssuer, dev_signing_key
from schema.build import MAX_DEPTH
from schema.query_cost import QueryCostLimiter
from schema.security import masked_errors
from schema.validation_cache import validated
from tests.conftest import hub_settings
from tests.support import clock

CPR = "0101709995"
OTHER_CPR = "0201709995"
ENTRY_FIELDS = "resourceType id sector status start end fhir"
FULL_PATHWAY = f"cpr patient hasMore entries {{ {ENTRY_FIELDS} }}"


class RunningHub:
    """A hub app running in the test, with a valid token for it."""

    def __init__(self, settings: Settings, app: Starlette, client: httpx.AsyncClient) -> None:
        self.settings = settings
        self.app = app
        self.client = client
        self.token = TokenIssuer(settings).issue(sector=Sector.HOSPITAL, org="1", sub="nurse")

    async def graphql(self, query: str, **variables: Any) -> dict[str, Any]:
        response = await self.client.post(
            "/graphql",
            json={"query": query, "variables": variables},
            headers={"Authorization": f"Bearer {self.token}"},
        )
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body


@asynccontextmanager
async def running_hub(directory: Path, *, dev: bool) -> AsyncIterator[RunningHub]:
    settings = hub_settings(directory, HUB_DEV="true" if dev else "false")
    app = create_app(settings)
    transport = httpx.ASGITransport(app=app)
    # The lifespan opens the store (migrations) and the bus, as `hub serve` does.
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url="http://hub") as client,
    ):
        yield RunningHub(settings, app, client)


@pytest.fixture(scope="module")
async def production(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[RunningHub]:
    async with running_hub(tmp_path_factory.mktemp("production"), dev=False) as hub:
        yield hub


@pytest.fixture(scope="module")
async def development(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[RunningHub]:
    async with running_hub(tmp_path_factory.mktemp("development"), dev=True) as hub:
        yield hub


def messages(body: dict[str, Any]) -> list[str]:
    return [error["message"] for error in body.get("errors", [])]


def aliased_pathways(count: int, cpr: str, selection: str, arguments: str = "") -> str:
    fields = " ".join(
        f'p{i}: pathway(cpr: "{cpr}"{arguments}) {{ {selection} }}' for i in range(count)
    )
    return f"{{ {fields} }}"


# --- query cost -------------------------------------------------------------------------


async def test_a_full_pathway_query_is_answered(production: RunningHub) -> None:
    body = await production.graphql(
        f"query Pathway($cpr: String!) {{ pathway(cpr: $cpr) {{ {FULL_PATHWAY} }} }}", cpr=CPR
    )
    assert "errors" not in body, body
    assert body["data"]["pathway"]["cpr"] == CPR


async def test_many_aliased_full_pathways_cost_too_much_and_nothing_runs(
    production: RunningHub,
) -> None:
    # With a malformed CPR, any pathway that ran would add "cpr must be a CPR number".
    body = await production.graphql(aliased_pathways(3, "12345", FULL_PATHWAY))
    assert body["data"] is None
    assert messages(body) == [
        "query cost 10515 exceeds the maximum 5000; ask for fewer fields or smaller pages (first)"
    ]


async def test_paging_with_first_brings_the_same_aliases_under_the_maximum(
    production: RunningHub,
) -> None:
    body = await production.graphql(aliased_pathways(3, CPR, FULL_PATHWAY, ", first: 20"))
    assert "errors" not in body, body
    assert set(body["data"]) == {"p0", "p1", "p2"}


@pytest.mark.parametrize(("first", "refused"), [(500, True), (20, False)])
async def test_first_given_as_a_variable_counts(
    production: RunningHub, first: int, refused: bool
) -> None:
    query = (
        "query Two($cpr: String!, $first: Int) {"
        f" a: pathway(cpr: $cpr, first: $first) {{ {FULL_PATHWAY} }}"
        f" b: pathway(cpr: $cpr, first: $first) {{ {FULL_PATHWAY} }} }}"
    )
    body = await production.graphql(query, cpr=CPR, first=first)
    assert any("exceeds the maximum 5000" in m for m in messages(body)) is refused
    assert (body["data"] is None) is refused


async def test_a_document_is_validated_once_per_page_size_and_each_request_keeps_its_cost(
    production: RunningHub,
) -> None:
    """The same document asked again with the same page sizes is not validated again,
    whatever else its variables hold (another CPR number), yet the cost, which reads
    the page sizes, is decided for each of them, and a refusal's message is the same
    every time."""
    query = (
        "query Cached($cpr: String!, $first: Int) {"
        f" a: pathway(cpr: $cpr, first: $first) {{ {FULL_PATHWAY} }}"
        f" b: pathway(cpr: $cpr, first: $first) {{ {FULL_PATHWAY} }} }}"
    )
    before = validated.cache_info()
    asked = [(CPR, 20, False), (CPR, 500, True), (OTHER_CPR, 20, False), (OTHER_CPR, 500, True)]
    for cpr, first, refused in asked:
        body = await production.graphql(query, cpr=cpr, first=first)
        assert any("exceeds the maximum 5000" in m for m in messages(body)) is refused
    after = validated.cache_info()
    assert after.misses - before.misses == 2 and after.hits - before.hits == 2

    misspelt = f'{{ pathway(cpr: "{CPR}") {{ entrys {{ id }} }} }}'
    first_answer = messages(await production.graphql(misspelt))
    assert first_answer and messages(await production.graphql(misspelt)) == first_answer
    assert all("Did you mean" not in m for m in first_answer)


async def test_a_first_beyond_the_page_size_gets_the_resolvers_answer(
    production: RunningHub,
) -> None:
    # `first` is capped at the page size when costing, so the caller learns the real rule.
    body = await production.graphql(f'{{ pathway(cpr: "{CPR}", first: 100000) {{ cpr }} }}')
    assert messages(body) == ["first must be between 1 and 500"]


async def test_fragments_count_where_they_are_spread(production: RunningHub) -> None:
    query = (
        f"fragment Entry on PathwayEntry {{ {ENTRY_FIELDS} }} "
        "fragment Full on Pathway { cpr entries { ...Entry } } "
        + aliased_pathways(2, "12345", "...Full")
    )
    body = await production.graphql(query)
    assert messages(body) == [
        "query cost 7006 exceeds the maximum 5000; ask for fewer fields or smaller pages (first)"
    ]


@strawberry.type
class Item:
    name: str = "x"


@strawberry.type
class ListQuery:
    @strawberry.field
    def items(self, info: strawberry.Info, first: int | None = None) -> list[Item]:
        info.context.append(first)  # the test's record of resolver calls
        return [Item()]


def test_an_operation_over_the_cost_is_never_executed() -> None:
    schema = strawberry.Schema(query=ListQuery, extensions=[lambda: QueryCostLimiter(max_cost=100)])
    calls: list[int | None] = []
    cheap = schema.execute_sync("{ items(first: 10) { name } }", context_value=calls)
    dear = schema.execute_sync(  # 3 × (1 + 50 × 1) with the default list size of 50
        "{ a: items { name } b: items { name } c: items { name } }", context_value=calls
    )

    assert cheap.errors is None and calls == [10]
    assert dear.data is None
    assert [e.message for e in dear.errors or []] == [
        "query cost 153 exceeds the maximum 100; ask for fewer fields or smaller pages (first)"
    ]
    assert calls == [10]  # the dear operation never reached a resolver


async def test_the_graphql_ide_can_still_introspect_in_development(development: RunningHub) -> None:
    body = await development.graphql(get_introspection_query())
    assert "errors" not in body, messages(body)
    assert body["data"]["__schema"]["queryType"]["name"] == "Query"


def unwrapped(times: int) -> str:
    """A selection on __Type unwrapping its type ``times`` times (``ofType { … }``)."""
    return "ofType { " * times + "name" + " }" * times


@pytest.mark.parametrize(
    "query",
    [
        f'{{ __type(name: "Query") {{ {unwrapped(MAX_DEPTH)} }} }}',
        "{ ...Deep } fragment Deep on Query { __schema { queryType { Unwrap } } }".replace(
            "Unwrap", unwrapped(MAX_DEPTH - 1)
        ),
    ],
    ids=["type", "through-a-fragment"],
)
async def test_introspection_is_held_to_the_same_depth_limit(
    development: RunningHub, query: str
) -> None:
    body = await development.graphql(query)
    assert body["data"] is None
    assert messages(body) == [f"'anonymous' exceeds maximum operation depth of {MAX_DEPTH}"]


async def test_introspection_within_the_depth_limit_is_answered(development: RunningHub) -> None:
    body = await development.graphql(
        f'{{ __type(name: "Query") {{ {unwrapped(MAX_DEPTH - 1)} }} }}'
    )
    assert "errors" not in body, messages(body)
    assert body["data"]["__type"] == {"ofType": None}


# --- the other limits -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "message"),
    [
        (
            '{ pathway(cpr: "12345") { entries { fhir '
            + "{ a " * MAX_DEPTH
            + "}" * MAX_DEPTH
            + " } } }",
            f"exceeds maximum operation depth of {MAX_DEPTH}",
        ),
        (aliased_pathways(21, "12345", "cpr"), "21 aliases found. Allowed: 20"),
        ('{ pathway(cpr: "12345") { ' + "cpr " * 2001 + "} }", "more than 2000 tokens"),
    ],
    ids=["too-deep", "alias-flood", "token-flood"],
)
async def test_limits_refuse_an_operation_before_it_runs(
    production: RunningHub, query: str, message: str
) -> None:
    body = await production.graphql(query)
    assert body["data"] is None
    assert any(message in m for m in messages(body)), messages(body)
    assert not any("CPR" in m for m in messages(body))  # the pathway never ran


async def test_a_body_nested_too_deeply_is_the_callers_error(production: RunningHub) -> None:
    nested = (
        '{"query": "{ __typename }", "variables": {"a": ' + "[" * 100_000 + "]" * 100_000 + "}}"
    )
    response = await production.client.post(
        "/graphql",
        content=nested,
        headers={
            "Authorization": f"Bearer {production.token}",
            "Content-Type": "application/json",
        },
    )
    assert response.status_code == 400, response.text
    assert "not JSON the hub reads" in response.text and "depth limit" in response.text


async def test_batched_operations_are_refused(production: RunningHub) -> None:
    operation = {"query": '{ pathway(cpr: "12345") { cpr } }'}
    response = await production.client.post(
        "/graphql",
        json=[operation, operation],
        headers={"Authorization": f"Bearer {production.token}"},
    )
    assert response.status_code == 400
    assert "CPR" not in response.text  # neither operation ran


# --- what errors reveal -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "hidden"),
    [
        ('{ pathwy(cpr: "0101709995") { cpr } }', "'pathway'"),
        (f'{{ pathway(cpr: "{CPR}") {{ entrys {{ id }} }} }}', "'entries'"),
        (f'{{ pathway(cpr: "{CPR}", frist: 3) {{ cpr }} }}', "'first'"),
        ("query ($cpr: Strin!) { pathway(cpr: $cpr) { cpr } }", "'String'"),
    ],
    ids=["field", "nested-field", "argument", "type"],
)
async def test_misspelt_names_get_no_suggestions(
    production: RunningHub, query: str, hidden: str
) -> None:
    body = await production.graphql(query)
    assert body["data"] is None and body["errors"]
    for message in messages(body):
        assert "Did you mean" not in message
        assert hidden not in message


async def test_a_deliberate_error_keeps_its_message(production: RunningHub) -> None:
    body = await production.graphql('{ pathway(cpr: "12345") { cpr } }')
    assert messages(body) == ["cpr must be a CPR number: 10 digits, DDMMYYSSSS"]


@strawberry.type
class FailingQuery:
    @strawberry.field
    def broken(self) -> str:
        raise RuntimeError("secret detail")

    @strawberry.field
    def refused(self) -> str:
        raise GraphQLError("first must be between 1 and 500")


def test_unexpected_errors_are_masked_and_deliberate_ones_pass() -> None:
    schema = strawberry.Schema(query=FailingQuery, extensions=[masked_errors])
    broken = schema.execute_sync("{ broken }")
    refused = schema.execute_sync("{ refused }")

    assert [e.formatted["message"] for e in broken.errors or []] == ["Unexpected error."]
    assert "secret detail" not in json.dumps([e.formatted for e in broken.errors or []])
    assert [e.message for e in refused.errors or []] == ["first must be between 1 and 500"]


async def test_a_store_failure_reaches_the_client_masked(tmp_path: Path) -> None:
    async with running_hub(tmp_path, dev=True) as hub:
        # A store out of step with the code: the read's driver error names tables and SQL.
        async with hub.app.state.hub.engine.begin() as connection:
            await connection.execute(text("DROP TABLE audit_events"))
        body = await hub.graphql(f'{{ pathway(cpr: "{CPR}") {{ cpr }} }}')
    assert body["data"] is None
    assert messages(body) == ["Unexpected error."]
    assert "audit_events" not in json.dumps(body)


# --- who may ask ------------------------------------------------------------------------


def signed(settings: Settings, key: str, **claims: Any) -> str:
    payload = {
        "iss": settings.token_issuer,
        "aud": settings.token_audience,
        "sub": "nurse",
        "sector": "hospital",
        "org": "1",
        "exp": clock.now() + timedelta(minutes=5),
        **claims,
    }
    return jwt.encode(payload, key, algorithm="HS256")


@pytest.mark.parametrize(
    "token",
    ["none", "forged", "expired", "unknown-sector", "wrong-audience"],
)
async def test_graphql_refuses_a_caller_without_a_valid_token(
    production: RunningHub, token: str
) -> None:
    settings = production.settings
    key = dev_signing_key(settings)
    authorization = {
        "none": None,
        "forged": signed(settings, "another-key-" + "x" * 40),
        "expired": TokenIssuer(settings).issue(
            sector=Sector.HOSPITAL, org="1", sub="nurse", ttl=timedelta(seconds=-1)
        ),
        "unknown-sector": signed(settings, key, sector="police"),
        "wrong-audience": signed(settings, key, aud="another-service"),
    }[token]
    headers = {"Authorization": f"Bearer {authorization}"} if authorization else {}
    response = await production.client.post(
        "/graphql", json={"query": f'{{ pathway(cpr: "{CPR}") {{ cpr }} }}'}, headers=headers
    )
    assert response.status_code == 401
    assert "data" not in response.json()


async def test_a_valid_token_signed_the_same_way_is_accepted(production: RunningHub) -> None:
    # The refusals above are about the claims, not about how the test signs tokens.
    token = signed(production.settings, dev_signing_key(production.settings))
    response = await production.client.post(
        "/graphql",
        json={"query": f'{{ pathway(cpr: "{CPR}") {{ cpr }} }}'},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 200
    assert response.json() == {"data": {"pathway": {"cpr": CPR}}}


# --- development-only surfaces ----------------------------------------------------------


async def test_introspection_is_refused_outside_development(production: RunningHub) -> None:
    body = await production.graphql("{ __schema { queryType { name } } }")
    assert body["data"] is None
    assert any("introspection has been disabled" in m for m in messages(body))


@pytest.mark.parametrize("with_token", [False, True])
async def test_the_graphql_ide_is_not_served_outside_development(
    production: RunningHub, development: RunningHub, with_token: bool
) -> None:
    browser = {"Accept": "text/html"}
    offered = await development.client.get("/graphql", headers=browser)
    assert offered.status_code == 200 and "graphiql" in offered.text.lower()

    if with_token:
        browser["Authorization"] = f"Bearer {production.token}"
    page = await production.client.get("/graphql", headers=browser)
    assert page.status_code in {401, 404}
    assert "graphiql" not in page.text.lower()
