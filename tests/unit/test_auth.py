"""Bearer tokens: development tokens, identity-provider tokens via JWKS, and refusals."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from hub.domain.directory import Organisation
from hub.domain.sectors import Sector
from hub.services.auth import Principal, TokenError, TokenIssuer, TokenVerifier
from tests.conftest import hub_settings
from tests.support import clock


async def test_a_dev_token_verifies_with_the_same_configuration(tmp_path: Path) -> None:
    settings = hub_settings(tmp_path)
    token = TokenIssuer(settings).issue(
        sector=Sector.MUNICIPALITY, org="730-social", sub="anna", kommune="730"
    )
    principal = await TokenVerifier(hub_settings(tmp_path)).verify(f"Bearer {token}")
    assert principal == Principal("anna", Sector.MUNICIPALITY, "730-social", "730")
    key_file = tmp_path / "var" / "dev-signing-key"
    assert key_file.stat().st_mode & 0o077 == 0  # readable by its owner only


async def test_a_token_from_another_hub_is_refused(tmp_path: Path) -> None:
    token = TokenIssuer(hub_settings(tmp_path / "a")).issue(
        sector=Sector.HOSPITAL, org="1", sub="x"
    )
    with pytest.raises(TokenError, match="invalid token"):
        await TokenVerifier(hub_settings(tmp_path / "b")).verify(f"Bearer {token}")


@pytest.mark.parametrize(
    ("claims", "message"),
    [
        ({"sector": "police"}, "sector must be one of"),
        ({"org": ""}, "organisation"),
        ({"sector": "municipality", "kommune": None}, "must name its kommune"),
        ({"kommune": "73"}, "3-digit"),
        ({"roles": "auditor"}, "roles must be a list"),
        ({"roles": ["auditor", 7]}, "roles must be a list"),
        ({"roles": ["has space"]}, "roles must be a list"),
        ({"cpr": "3213001234"}, "cpr must be a CPR number"),
        ({"cpr": 2512489996}, "cpr must be a CPR number"),
    ],
)
async def test_tokens_with_unusable_claims_are_refused(
    tmp_path: Path, claims: dict, message: str
) -> None:
    settings = hub_settings(tmp_path, HUB_TOKEN_SIGNING_KEY="k" * 40)
    payload = {
        "iss": settings.token_issuer,
        "aud": settings.token_audience,
        "sub": "x",
        "sector": "hospital",
        "org": "1",
        "exp": clock.now() + timedelta(minutes=5),
        **claims,
    }
    payload = {k: v for k, v in payload.items() if v is not None}
    token = jwt.encode(payload, "k" * 40, algorithm="HS256")
    with pytest.raises(TokenError, match=message):
        await TokenVerifier(settings).verify(f"Bearer {token}")


async def test_expired_and_malformed_tokens_are_refused(tmp_path: Path) -> None:
    settings = hub_settings(tmp_path)
    expired = TokenIssuer(settings).issue(
        sector=Sector.HOSPITAL, org="1", sub="x", ttl=timedelta(seconds=-1)
    )
    verifier = TokenVerifier(settings)
    for header in (None, "", "Basic abc", "Bearer ", f"Bearer {expired}", "Bearer a.b.c"):
        with pytest.raises(TokenError):
            await verifier.verify(header)


@pytest.fixture
def identity_provider() -> Iterator[tuple[str, rsa.RSAPrivateKey]]:
    """A JWKS endpoint on loopback serving one RSA key, as a region's IdP would."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key()))
    body = json.dumps({"keys": [{**jwk, "kid": "k1", "use": "sig", "alg": "RS256"}]}).encode()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/jwks.json", key
    server.shutdown()


async def test_identity_provider_tokens_verify_against_its_jwks(
    tmp_path: Path, identity_provider: tuple[str, rsa.RSAPrivateKey]
) -> None:
    url, key = identity_provider
    settings = hub_settings(
        tmp_path, HUB_TOKEN_JWKS_URL=url, HUB_TOKEN_ISSUER="https://idp.region.example"
    )
    claims = {
        "iss": "https://idp.region.example",
        "aud": "brobygger",
        "sub": "sygeplejerske-7",
        "sector": "hospital",
        "org": "100000001",
        "exp": clock.now() + timedelta(minutes=5),
    }
    token = jwt.encode(claims, key, algorithm="RS256", headers={"kid": "k1"})
    verifier = TokenVerifier(settings)
    assert (await verifier.verify(f"Bearer {token}")).sub == "sygeplejerske-7"

    other_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    forged = jwt.encode(claims, other_key, algorithm="RS256", headers={"kid": "k1"})
    with pytest.raises(TokenError):
        await verifier.verify(f"Bearer {forged}")
    with pytest.raises(TokenError, match="identity provider"):
        TokenIssuer(settings)
    assert not (tmp_path / "var" / "dev-signing-key").exists()


async def test_the_directory_gives_a_token_its_controller_and_location_numbers(
    tmp_path: Path,
) -> None:
    """A hospital's token names no controller: the directory's institution owner is it,
    and the directory's GLNs name the hospital too (a letter addressed by GLN reaches it).
    A controller the token does claim, and a kommune's, stay the token's."""
    settings = hub_settings(tmp_path)
    ward = Organisation(
        "100000001", "Medicinsk Afdeling M2", "sor:1000001", glns=("5790000503148",)
    )

    async def directory(org: str) -> Organisation | None:
        return ward if org == ward.sor else None

    verifier = TokenVerifier(settings, directory=directory)
    issuer = TokenIssuer(settings)

    async def principal(**claims: Any) -> Principal:
        token = issuer.issue(sub="x", **claims)
        return await verifier.verify(f"Bearer {token}")

    known = await principal(sector=Sector.HOSPITAL, org=ward.sor)
    assert known.controller == "sor:1000001"
    assert known.located_at == {"gln:5790000503148"} and known.aliases == frozenset()
    claimed = await principal(sector=Sector.HOSPITAL, org=ward.sor, controller="sor:7")
    assert claimed.controller == "sor:7"
    unknown = await principal(sector=Sector.HOSPITAL, org="200000002")
    assert unknown.controller == "sor:200000002" and unknown.located_at == frozenset()
