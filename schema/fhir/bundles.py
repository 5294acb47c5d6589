"""Search results as FHIR Bundles of type ``searchset``: entries, ``total`` and links."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from hub.domain.fhir_search import SearchRequest
from hub.services.consent.read import Disclosure
from schema.fhir.outcomes import operation_outcome


def full_url(base: str, disclosure: Disclosure) -> str:
    content = disclosure.content
    return f"{base}/{content.get('resourceType')}/{content.get('id')}"


def entry(base: str, disclosure: Disclosure, mode: str = "match") -> dict[str, Any]:
    return {
        "fullUrl": full_url(base, disclosure),
        "resource": disclosure.content,
        "search": {"mode": mode},
    }


def page_links(
    url: str, given: list[tuple[str, str]], *, offset: int, count: int, total: int
) -> list[dict[str, str]]:
    """``self`` (the parameters the search ran on), ``first``, ``previous`` and ``next``.

    Pages are counted through what the caller may see only, so a link never tells
    that more exists than ``total`` says.
    """

    def at(position: int) -> str:
        pairs = [(k, v) for k, v in given if k not in ("_count", "_offset")]
        pairs.append(("_count", str(count)))
        if position:
            pairs.append(("_offset", str(position)))
        return f"{url}?{urlencode(pairs)}"

    links = [{"relation": "self", "url": at(offset)}, {"relation": "first", "url": at(0)}]
    if offset > 0 and count > 0:
        links.append({"relation": "previous", "url": at(max(0, offset - count))})
    if count > 0 and offset + count < total:
        links.append({"relation": "next", "url": at(offset + count)})
    return links


def searchset(
    base: str,
    url: str,
    request: SearchRequest,
    matches: list[Disclosure],
    included: list[Disclosure],
    total: int,
) -> dict[str, Any]:
    entries = [entry(base, d) for d in matches]
    entries += [entry(base, d, "include") for d in included]
    if request.ignored:
        names = ", ".join(dict.fromkeys(request.ignored))
        entries.append(
            {
                "resource": operation_outcome(
                    "not-supported",
                    f"ignored (not supported): {names}; "
                    "send Prefer: handling=strict to have such a search refused",
                    severity="warning",
                ),
                "search": {"mode": "outcome"},
            }
        )
    bundle: dict[str, Any] = {
        "resourceType": "Bundle",
        "type": "searchset",
        "total": total,
        "link": page_links(
            url, list(request.used), offset=request.offset, count=request.count, total=total
        ),
    }
    if entries:
        bundle["entry"] = entries
    return bundle
