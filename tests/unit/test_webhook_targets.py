"""Where webhooks may go: public addresses, https outside development, and what the
operator's allow-list names."""

from __future__ import annotations

from ipaddress import ip_address
from pathlib import Path

import pytest

from hub.config import ConfigError, Settings
from hub.domain.webhook_targets import IPAddress, WebhookTargetRules
from hub.services.webhook_targets import WebhookTargetError, check_webhook_url

STRICT = WebhookTargetRules()  # production: https, public addresses only
DEVELOPMENT = WebhookTargetRules(require_https=False)


class Resolving:
    """A resolver that answers ``addresses`` for any host, and notes what it was asked."""

    def __init__(self, *addresses: str) -> None:
        self.addresses = [ip_address(a) for a in addresses]
        self.asked: list[tuple[str, int]] = []

    async def __call__(self, host: str, port: int) -> list[IPAddress]:
        self.asked.append((host, port))
        return self.addresses


@pytest.mark.parametrize(
    ("address", "kind"),
    [
        ("169.254.169.254", "link-local"),  # the cloud metadata service
        ("fe80::1", "link-local"),
        ("fe80::1%eth0", "link-local"),
        ("127.0.0.1", "loopback"),
        ("127.10.0.1", "loopback"),
        ("::1", "loopback"),
        ("10.1.2.3", "private"),
        ("172.16.0.9", "private"),
        ("192.168.1.1", "private"),
        ("fd12:3456::1", "unique-local"),
        ("fc00::1", "unique-local"),
        ("100.64.0.1", "shared (carrier-grade NAT)"),
        ("0.0.0.0", "unspecified"),  # noqa: S104 (an address judged, not bound)
        ("::", "unspecified"),
        ("224.0.0.1", "multicast"),
        ("fec0::1", "site-local"),
        ("240.0.0.1", "private"),  # reserved, which Python counts as private
        ("::ffff:127.0.0.1", "carrying a loopback address, 127.0.0.1"),
        ("::ffff:169.254.169.254", "carrying a link-local address, 169.254.169.254"),
        ("::ffff:10.0.0.1", "carrying a private address, 10.0.0.1"),
        ("64:ff9b::a9fe:a9fe", "carrying a link-local address, 169.254.169.254"),  # NAT64
        ("2002:a00:1::1", "carrying a private address, 10.0.0.1"),  # 6to4
        ("::127.0.0.1", "carrying a loopback address, 127.0.0.1"),  # IPv4-compatible
    ],
)
def test_an_address_that_is_not_public_is_refused_and_says_what_it_is(
    address: str, kind: str
) -> None:
    refused = STRICT.refusal("receiver.example", [ip_address(address)])
    assert refused is not None and kind in refused and "HUB_WEBHOOK_ALLOWED_TARGETS" in refused


@pytest.mark.parametrize(
    "address", ["93.184.216.34", "8.8.8.8", "2606:4700::1111", "::ffff:93.184.216.34"]
)
def test_a_public_address_is_accepted(address: str) -> None:
    assert STRICT.refusal("receiver.example", [ip_address(address)]) is None


def test_one_private_address_among_public_ones_refuses_the_host() -> None:
    addresses = [ip_address("93.184.216.34"), ip_address("10.0.0.7")]
    refused = STRICT.refusal("receiver.example", addresses)
    assert refused is not None and "receiver.example resolves to 10.0.0.7" in refused


def test_the_allow_list_names_addresses_networks_and_hosts() -> None:
    rules = WebhookTargetRules.parse(
        "127.0.0.1, 10.20.0.0/16 fd00:1::/32\nreceiver.internal.", require_https=True
    )
    for allowed in ("127.0.0.1", "10.20.3.4", "fd00:1::5", "::ffff:127.0.0.1"):
        assert rules.refusal("somewhere.example", [ip_address(allowed)]) is None, allowed
    for refused in ("127.0.0.2", "10.21.0.1", "fd00:2::5", "169.254.169.254"):
        assert rules.refusal("somewhere.example", [ip_address(refused)]) is not None, refused
    # A host named in the list may resolve to whatever the operator put it at.
    assert rules.refusal("Receiver.Internal", [ip_address("192.168.7.7")]) is None


@pytest.mark.parametrize("entry", ["10.0.0.1/8", "300.1.2.3", "fd00::g", "recei ver!", "1.2.3"])
def test_an_allow_list_entry_that_is_no_address_network_or_host_is_a_config_error(
    entry: str, tmp_path: Path
) -> None:
    with pytest.raises(ConfigError, match="HUB_WEBHOOK_ALLOWED_TARGETS"):
        Settings.from_env({"HUB_VAR_DIR": str(tmp_path), "HUB_WEBHOOK_ALLOWED_TARGETS": entry})


def test_https_is_required_unless_in_development(tmp_path: Path) -> None:
    production = Settings.from_env(
        {"HUB_VAR_DIR": str(tmp_path), "HUB_DEV": "false", "HUB_TOKEN_SIGNING_KEY": "k" * 32}
    )
    development = Settings.from_env({"HUB_VAR_DIR": str(tmp_path), "HUB_DEV": "true"})
    assert production.webhooks.targets.require_https
    assert not development.webhooks.targets.require_https
    assert production.webhooks.targets.scheme_refusal("http") is not None
    assert development.webhooks.targets.scheme_refusal("http") is None


async def test_registering_the_cloud_metadata_address_is_refused_with_the_reason() -> None:
    with pytest.raises(WebhookTargetError) as refused:
        await check_webhook_url("https://169.254.169.254/latest/meta-data/", STRICT)
    assert "169.254.169.254, a link-local address" in str(refused.value)


async def test_loopback_by_any_spelling_is_refused() -> None:
    for url in ("http://127.0.0.1:9/events", "http://[::1]/events", "http://2130706433/events"):
        with pytest.raises(WebhookTargetError, match="loopback"):
            await check_webhook_url(url, DEVELOPMENT)


async def test_a_host_name_is_judged_by_what_it_resolves_to() -> None:
    resolve = Resolving("10.9.8.7")
    with pytest.raises(WebhookTargetError, match=r"resolves to 10\.9\.8\.7, a private address"):
        await check_webhook_url("https://receiver.example:8443/events", STRICT, resolve=resolve)
    assert resolve.asked == [("receiver.example", 8443)]
    public = Resolving("93.184.216.34")
    url = "https://receiver.example/events"
    assert await check_webhook_url(url, STRICT, resolve=public) == url


async def test_http_is_refused_outside_development_and_other_schemes_always() -> None:
    public = Resolving("93.184.216.34")
    with pytest.raises(WebhookTargetError, match="url must be https"):
        await check_webhook_url("http://receiver.example/events", STRICT, resolve=public)
    url = "http://receiver.example/events"
    assert await check_webhook_url(url, DEVELOPMENT, resolve=public) == url
    with pytest.raises(WebhookTargetError, match="http or https"):
        await check_webhook_url("ftp://receiver.example/events", DEVELOPMENT, resolve=public)


async def test_a_host_that_does_not_resolve_is_refused() -> None:
    with pytest.raises(WebhookTargetError, match="could not be resolved"):
        await check_webhook_url("https://no-such-host.invalid/events", STRICT)
