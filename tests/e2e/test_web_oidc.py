"""Signing in to the coordinators' page through the region's OpenID Connect provider.

One fake provider (in this process) and one ``hub serve`` configured for it serve the
sign-in tests of this module; the flow is driven with httpx, following each redirect by
hand as a browser would, and once in Chromium. The last tests are of the settings alone.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import jwt
import pytest
from playwright.sync_api import Route

from hub.config import ClaimsCarrier, ConfigError, OidcSettings, Settings
from tests.e2e.conftest import Deployment, deployment_env, hub_serve
from tests.support.browser import chromium, csrf_of
from tests.support.fake_idp import (
    HUB_AUDIENCE,
    FakeIdentityProvider,
    IdTokenFault,
    fake_identity_provider,
)
from tests.support.services import free_port
from web.oidc import OidcClient
from web.oidc_sign_in import PENDING_COOKIE

COORDINATOR = {
    "sub": "sygeplejerske-anna",
    "name": "Anna Holm",  # the profile scope's name: the header shows it
    "sector": "coordinator",
    "org": "999888777",
}
PROVIDER_SITE = "login.region.test"
_REFRESH = re.compile(r'<meta http-equiv="refresh" content="0; url=([^"]+)">')


@dataclass
class OidcHub:
    hub: Deployment
    idp: FakeIdentityProvider

    def browser(self) -> httpx.Client:
        """A fresh cookie jar: one browser."""
        return httpx.Client(base_url=self.hub.base_url, timeout=30)


@pytest.fixture(scope="module")
def oidc_hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OidcHub]:
    tmp = tmp_path_factory.mktemp("web-oidc")
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    logs = tmp / "logs"
    logs.mkdir()
    # Browsers meet the provider on another site than the hub's, as in production.
    with fake_identity_provider(front_channel_host=PROVIDER_SITE) as idp:
        idp.redirect_url = f"{base_url}/ui/oidc/callback"
        secret_file = tmp / "oidc-client-secret"
        secret_file.write_text(idp.client_secret + "\n")
        env = deployment_env(None, "embedded-sqlite", tmp) | {
            "HUB_TOKEN_JWKS_URL": idp.jwks_url,
            "HUB_TOKEN_ISSUER": idp.issuer,
            "HUB_TOKEN_AUDIENCE": HUB_AUDIENCE,
            "HUB_OIDC_ISSUER": idp.issuer,
            "HUB_OIDC_CLIENT_ID": idp.client_id,
            "HUB_OIDC_CLIENT_SECRET_FILE": str(secret_file),
            "HUB_OIDC_REDIRECT_URL": idp.redirect_url,
            "HUB_OIDC_SCOPES": "openid profile",
        }
        with hub_serve(port, env, logs / "serve.log"):
            yield OidcHub(Deployment("embedded-sqlite", env, base_url, logs), idp)


@pytest.fixture
def idp(oidc_hub: OidcHub) -> Iterator[FakeIdentityProvider]:
    oidc_hub.idp.user = dict(COORDINATOR)
    oidc_hub.idp.id_token_fault = None
    oidc_hub.idp.login_form = False
    yield oidc_hub.idp
    oidc_hub.idp.id_token_fault = None
    oidc_hub.idp.login_form = False


def to_provider(browser: httpx.Client, idp: FakeIdentityProvider, next_page: str = "/") -> str:
    """Click "Log ind med regionens login"; the provider's redirect back (a callback URL)."""
    form = browser.get("/ui/log-ind", params={"videre": next_page})
    assert form.status_code == 200
    link = re.search(r'<a class="knap" href="([^"]+)">Log ind med regionens login</a>', form.text)
    assert link, form.text
    started = browser.get(link.group(1).replace("&amp;", "&"))
    assert started.status_code == 303, started.text
    authorization = started.headers["location"]
    assert authorization.startswith(f"{idp.browser_base}/authorize?")
    at_provider = httpx.get(idp.by_loopback(authorization))  # signs the user in at once
    assert at_provider.status_code == 302, at_provider.text
    callback: str = at_provider.headers["location"]
    return callback


def signed_in_page(browser: httpx.Client) -> httpx.Response:
    return browser.get("/ui/")


def assert_not_signed_in(browser: httpx.Client) -> None:
    front = signed_in_page(browser)
    assert front.status_code == 303
    assert front.headers["location"].startswith("/ui/log-ind")


def assert_sign_in_refused(
    oidc_hub: OidcHub, idp: FakeIdentityProvider, status: int, says: str
) -> None:
    """A round trip through the provider ends in ``status``, the page saying ``says``,
    and the browser not signed in."""
    with oidc_hub.browser() as browser:
        refused = browser.get(to_provider(browser, idp))
        assert refused.status_code == status, refused.text
        assert says in refused.text
        assert_not_signed_in(browser)


def with_query(url: str, **changes: str) -> str:
    parts = urlsplit(url)
    query = {key: values[0] for key, values in parse_qs(parts.query).items()} | changes
    return parts._replace(query=str(httpx.QueryParams(query))).geturl()


def test_signing_in_with_the_regions_login_shows_the_users_organisation(
    oidc_hub: OidcHub, idp: FakeIdentityProvider
) -> None:
    with oidc_hub.browser() as browser:
        form = browser.get("/ui/log-ind")
        # Production: the region's login, no token to paste.
        assert "Log ind med regionens login" in form.text
        assert "<textarea" not in form.text
        assert_not_signed_in(browser)

        callback = to_provider(browser, idp, next_page="/rundbord")
        arrived = browser.get(callback)
        assert arrived.status_code == 200, arrived.text
        moves_on_to = _REFRESH.search(arrived.text)
        assert moves_on_to and moves_on_to.group(1) == "/ui/rundbord"

        front = signed_in_page(browser)
        assert front.status_code == 200, front.text
        assert "Anna Holm" in front.text
        assert "SOR 999888777" in front.text
        assert browser.get("/ui/rundbord").status_code == 200

        # The same redirect again finds no sign-in waiting for it.
        assert browser.get(callback).status_code == 400


def test_pasting_a_token_is_not_a_way_in_when_the_region_signs_in(
    oidc_hub: OidcHub, idp: FakeIdentityProvider
) -> None:
    with oidc_hub.browser() as browser:
        browser.get("/ui/log-ind")
        csrf = browser.cookies["brobygger_csrf"]
        token = oidc_hub.idp.access_token(COORDINATOR)  # one the API would take
        pasted = browser.post("/ui/log-ind", data={"csrf": csrf, "token": token, "videre": "/"})
        assert oidc_hub.hub.graphql("{ __typename }", token) == {"data": {"__typename": "Query"}}
        assert pasted.status_code == 405
        assert_not_signed_in(browser)


def test_a_callback_with_another_state_is_refused(
    oidc_hub: OidcHub, idp: FakeIdentityProvider
) -> None:
    with oidc_hub.browser() as browser:
        callback = to_provider(browser, idp)
        refused = browser.get(with_query(callback, state="forged-state"))
        assert refused.status_code == 400
        assert "hørte ikke til dette log ind" in refused.text
        assert_not_signed_in(browser)
        # The refusal used up the pending sign-in: the genuine answer no longer works.
        assert browser.get(callback).status_code == 400
        assert_not_signed_in(browser)


def test_a_callback_in_a_browser_that_did_not_start_the_sign_in_is_refused(
    oidc_hub: OidcHub, idp: FakeIdentityProvider
) -> None:
    # Someone else's code and state, sent to a victim's browser (login CSRF).
    with oidc_hub.browser() as attacker, oidc_hub.browser() as victim:
        callback = to_provider(attacker, idp)
        assert victim.get(callback).status_code == 400
        assert_not_signed_in(victim)


@pytest.mark.parametrize("fault", list(IdTokenFault))
def test_an_id_token_that_fails_verification_is_refused(
    oidc_hub: OidcHub, idp: FakeIdentityProvider, fault: IdTokenFault
) -> None:
    idp.id_token_fault = fault
    assert_sign_in_refused(oidc_hub, idp, 401, "svaret fra regionens login var ugyldigt")


def test_a_replayed_callback_is_refused_even_with_its_pending_cookie(
    oidc_hub: OidcHub, idp: FakeIdentityProvider
) -> None:
    with oidc_hub.browser() as browser:
        callback = to_provider(browser, idp)
        sealed = browser.cookies[PENDING_COOKIE]
        assert browser.get(callback).status_code == 200
    # Someone who copied both the redirect and the browser's cookie sends them again.
    with oidc_hub.browser() as replaying:
        refused = replaying.get(callback, headers={"Cookie": f"{PENDING_COOKIE}={sealed}"})
        assert refused.status_code == 401, refused.text
        assert "svaret fra regionens login var ugyldigt" in refused.text
        assert_not_signed_in(replaying)


async def test_the_sign_in_reads_the_providers_keys_again_when_it_rotates_them() -> None:
    # The page's OIDC client on its own, against a provider of its own: the API's
    # verifier reads the provider's keys by its own rules (PyJWT's), and a rotation
    # here would reach the other tests' sign-ins through it.
    with fake_identity_provider() as idp:
        idp.user = dict(COORDINATOR)
        idp.redirect_url = "http://127.0.0.1:9/ui/oidc/callback"  # never followed
        client = OidcClient(
            OidcSettings(
                issuer=idp.issuer,
                client_id=idp.client_id,
                client_secret=idp.client_secret,
                redirect_url=idp.redirect_url,
            )
        )

        async def signed_with() -> str:
            authorization_url, pending = await client.start("/")
            async with httpx.AsyncClient() as browser:
                back = await browser.get(authorization_url)
            answer = parse_qs(urlsplit(back.headers["location"]).query)
            assert answer["state"] == [pending.state]
            tokens = await client.finish(pending, code=answer["code"][0])
            return str(jwt.get_unverified_header(tokens.id_token)["kid"])

        before = await signed_with()  # the client now holds the provider's keys
        idp.rotate_key()  # and none of them signs any more
        assert await signed_with() != before


def test_a_provider_user_without_the_hubs_claims_is_refused(
    oidc_hub: OidcHub, idp: FakeIdentityProvider
) -> None:
    # Known to the region, but not given a sector and organisation for the hub: the API
    # would refuse that token, and so does the page.
    idp.user = {"sub": "portier-bo"}
    assert_sign_in_refused(oidc_hub, idp, 403, "giver ikke adgang til Brobygger")


def test_signing_out_ends_the_session_and_signs_out_at_the_provider(
    oidc_hub: OidcHub, idp: FakeIdentityProvider
) -> None:
    with oidc_hub.browser() as browser:
        assert browser.get(to_provider(browser, idp)).status_code == 200
        front = signed_in_page(browser)
        assert front.status_code == 200

        # The CSRF check still guards the form.
        assert browser.post("/ui/log-ud", data={"csrf": "guessed"}).status_code == 403
        assert signed_in_page(browser).status_code == 200

        signed_out = browser.post("/ui/log-ud", data={"csrf": csrf_of(front.text)})
        assert signed_out.status_code == 200
        assert_not_signed_in(browser)
        moves_on_to = _REFRESH.search(signed_out.text)
        assert moves_on_to, signed_out.text
        at_provider = urlsplit(moves_on_to.group(1).replace("&amp;", "&"))
        assert f"{at_provider.scheme}://{at_provider.netloc}{at_provider.path}" == (
            f"{idp.browser_base}/logout"
        )
        assert parse_qs(at_provider.query) == {
            "client_id": [idp.client_id],
            "post_logout_redirect_uri": [f"{oidc_hub.hub.base_url}/ui/log-ind"],
        }


def test_chromium_signs_in_through_the_region_and_lands_on_the_page_it_asked_for(
    oidc_hub: OidcHub, idp: FakeIdentityProvider
) -> None:
    with chromium() as context:
        # The provider's site is reached through its loopback address; for the browser
        # it stays another site, whose redirect back must still end signed in.
        def by_loopback(route: Route) -> None:
            answer = route.fetch(url=idp.by_loopback(route.request.url), max_redirects=0)
            route.fulfill(response=answer)

        context.route(f"http://{PROVIDER_SITE}:*/**", by_loopback)
        page = context.new_page()
        page.goto(f"{oidc_hub.hub.base_url}/ui/indikatorer")
        assert "/ui/log-ind" in page.url
        idp.login_form = True
        page.get_by_role("link", name="Log ind med regionens login").click()
        # Signing in on the provider's own page: its redirect back comes from its site.
        page.get_by_role("button", name="Log ind").click()
        page.wait_for_url(f"{oidc_hub.hub.base_url}/ui/indikatorer")
        assert page.get_by_role("heading", level=1).inner_text() == "Indikatorer"
        assert "SOR 999888777" in page.content()

        page.get_by_role("button", name="Log ud").click()
        page.wait_for_url(f"{idp.browser_base}/logout*")
        page.goto(f"{oidc_hub.hub.base_url}/ui/")
        assert "/ui/log-ind" in page.url


# -- configuration an operator gets wrong --------------------------------------------

OIDC_ENV = {
    "HUB_TOKEN_JWKS_URL": "https://login.region.test/realms/region/jwks",
    "HUB_OIDC_ISSUER": "https://login.region.test/realms/region",
    "HUB_OIDC_CLIENT_ID": "brobygger-ui",
    "HUB_OIDC_CLIENT_SECRET": "s3cret-value",
    "HUB_OIDC_REDIRECT_URL": "https://brobygger.region.test/ui/oidc/callback",
}


def test_oidc_settings_are_read_and_the_secret_is_not_printed(tmp_path: Path) -> None:
    settings = Settings.from_env({"HUB_VAR_DIR": str(tmp_path), **OIDC_ENV})
    assert settings.oidc is not None
    assert settings.oidc.scopes == ("openid",)
    assert settings.oidc.claims_carrier is ClaimsCarrier.ACCESS
    assert "s3cret-value" not in repr(settings)
    secret_file = tmp_path / "secret"
    secret_file.write_text("from-a-file\n")
    from_file = Settings.from_env(
        {"HUB_VAR_DIR": str(tmp_path), **OIDC_ENV, "HUB_OIDC_CLIENT_SECRET": ""}
        | {"HUB_OIDC_CLIENT_SECRET_FILE": str(secret_file), "HUB_OIDC_CLAIMS_TOKEN": "id"}
    )
    assert from_file.oidc is not None and from_file.oidc.client_secret == "from-a-file"
    assert from_file.oidc.claims_carrier is ClaimsCarrier.ID
    assert Settings.from_env({"HUB_VAR_DIR": str(tmp_path)}).oidc is None


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"HUB_OIDC_CLIENT_ID": ""}, "HUB_OIDC_CLIENT_ID"),
        ({"HUB_OIDC_REDIRECT_URL": ""}, "HUB_OIDC_REDIRECT_URL"),
        ({"HUB_OIDC_CLIENT_SECRET": ""}, "HUB_OIDC_CLIENT_SECRET"),
        ({"HUB_OIDC_CLIENT_SECRET_FILE": "/nonexistent/secret"}, "not both"),
        ({"HUB_TOKEN_JWKS_URL": ""}, "needs HUB_TOKEN_JWKS_URL"),
        ({"HUB_OIDC_SCOPES": "profile email"}, "must include openid"),
        ({"HUB_OIDC_CLAIMS_TOKEN": "refresh"}, "access or id"),
    ],
)
def test_an_incomplete_oidc_configuration_is_refused(
    tmp_path: Path, change: dict[str, str], message: str
) -> None:
    with pytest.raises(ConfigError, match=message):
        Settings.from_env({"HUB_VAR_DIR": str(tmp_path), **OIDC_ENV, **change})
