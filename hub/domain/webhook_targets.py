"""Which addresses the hub may POST a webhook to.

Whoever registers a webhook chooses its URL, so without a rule the hub could be made
to post (or merely probe) inside its own network: the cloud metadata service at
``169.254.169.254``, a database on loopback, an administration page on a private
address. The rule: every address a webhook's host resolves to must be public
(``ipaddress``'s ``is_global``, and not multicast or IPv6 site-local), unless the
operator's allow-list names the host, the address or a network holding it.

An IPv6 address that carries an IPv4 address (IPv4-mapped ``::ffff:a.b.c.d``,
IPv4-compatible ``::a.b.c.d``, NAT64 ``64:ff9b::/96``, 6to4 ``2002::/16``) is judged by
the IPv4 address as well, so ``::ffff:127.0.0.1`` is loopback.

And the scheme: https, or http too where ``require_https`` is off (development).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from ipaddress import (
    IPv4Address,
    IPv4Network,
    IPv6Address,
    IPv6Network,
    ip_address,
    ip_network,
)

IPAddress = IPv4Address | IPv6Address
IPNetwork = IPv4Network | IPv6Network

_SHARED = IPv4Network("100.64.0.0/10")  # carrier-grade NAT (RFC 6598)
_UNIQUE_LOCAL = IPv6Network("fc00::/7")
_NAT64 = IPv6Network("64:ff9b::/96")
_IPV4_COMPATIBLE = IPv6Network("::/96")
_HOST_NAME = re.compile(
    r"^(?=.{1,253}\.?$)[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?"
    r"(?:\.[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?)*\.?$"
)


def embedded_ipv4(address: IPv6Address) -> IPv4Address | None:
    """The IPv4 address an IPv6 address carries, if it is of a form that carries one."""
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if (address in _NAT64 or address in _IPV4_COMPATIBLE) and int(address) > 1:
        return IPv4Address(int(address) & 0xFFFF_FFFF)
    return None


def _kind(address: IPAddress) -> str | None:
    """What sort of non-public address ``address`` is ("a loopback"…); None when public."""
    if address.is_unspecified:
        return "an unspecified"
    if address.is_loopback:
        return "a loopback"
    if address.is_link_local:
        return "a link-local"
    if address.is_multicast:
        return "a multicast"
    if isinstance(address, IPv6Address):
        if address in _UNIQUE_LOCAL:
            return "a unique-local"
        if address.is_site_local:
            return "a site-local"
    elif address in _SHARED:
        return "a shared (carrier-grade NAT)"
    if address.is_private:
        return "a private"
    if not address.is_global or address.is_reserved:
        return "a reserved"
    return None


def non_public(address: IPAddress) -> str | None:
    """Why ``address`` is not public ("a loopback address"…); None when it is."""
    if isinstance(address, IPv6Address) and (inner := embedded_ipv4(address)) is not None:
        carried = _kind(inner)
        if carried is not None:
            return f"an IPv6 address carrying {carried} address, {inner}"
        if address.ipv4_mapped is not None or address in _IPV4_COMPATIBLE:
            return None  # a public IPv4 address, written as IPv6
    own = _kind(address)
    return f"{own} address" if own is not None else None


def host_key(host: str) -> str:
    """A host name as the allow-list compares it: lower case, no trailing dot."""
    return host.strip().lower().rstrip(".")


@dataclass(frozen=True)
class WebhookTargetRules:
    """Where webhooks may go: public addresses, and what the allow-list names."""

    allowed_networks: tuple[IPNetwork, ...] = ()
    allowed_hosts: frozenset[str] = frozenset()
    require_https: bool = True

    @classmethod
    def parse(cls, allow_list: str, *, require_https: bool) -> WebhookTargetRules:
        """Rules from an allow-list of addresses, networks (CIDR) and host names,
        separated by commas or white space. Raises ValueError naming a bad entry."""
        networks: list[IPNetwork] = []
        hosts: set[str] = set()
        for entry in re.split(r"[,\s]+", allow_list.strip()):
            if not entry:
                continue
            try:
                networks.append(ip_network(entry.strip("[]"), strict=True))
                continue
            except ValueError:
                if "/" in entry or ":" in entry or _looks_numeric(entry):
                    raise ValueError(
                        f"{entry!r} is not an address or a network (CIDR, host bits zero)"
                    ) from None
            if not _HOST_NAME.match(entry.lower()):
                raise ValueError(f"{entry!r} is not an address, a network or a host name")
            hosts.add(host_key(entry))
        return cls(tuple(networks), frozenset(hosts), require_https)

    def scheme_refusal(self, scheme: str) -> str | None:
        """Why a URL of ``scheme`` is refused, or None."""
        if scheme == "https" or (scheme == "http" and not self.require_https):
            return None
        if scheme == "http":
            return "url must be https (http is accepted only in development, HUB_DEV)"
        return "url must be an absolute http or https URL"

    def allows_host(self, host: str) -> bool:
        """Whether the allow-list names ``host`` itself, whatever it resolves to."""
        return host_key(host) in self.allowed_hosts

    def allows_address(self, address: IPAddress) -> bool:
        """Whether ``address`` is public, or in a network the allow-list names."""
        if self._listed(address):
            return True
        if isinstance(address, IPv6Address):
            inner = embedded_ipv4(address)
            if inner is not None and self._listed(inner):
                return True
        return non_public(address) is None

    def refusal(self, host: str, addresses: Iterable[IPAddress]) -> str | None:
        """Why the hub will not connect to ``host`` at ``addresses``; None when it may.

        A host with one address the hub may not post to is refused as a whole: a name
        that resolves to a public and a private address at once is no safer than either.
        """
        if self.allows_host(host):
            return None
        for address in addresses:
            if not self.allows_address(address):
                reason = non_public(address)
                shown = host if str(address) == host else f"{host} resolves to {address}"
                return (
                    f"url's host {shown}, {reason}: webhooks go to public addresses only, "
                    "unless the hub's HUB_WEBHOOK_ALLOWED_TARGETS names it"
                )
        return None

    def _listed(self, address: IPAddress) -> bool:
        return any(
            address.version == network.version and address in network
            for network in self.allowed_networks
        )


def _looks_numeric(entry: str) -> bool:
    """An entry of digits and dots only is a mistyped address, not a host name."""
    return all(part.isdigit() for part in entry.split(".") if part)


def parse_address(text: str) -> IPAddress:
    """An address as the resolver gives it (an IPv6 one may carry a ``%zone``)."""
    return ip_address(text)
