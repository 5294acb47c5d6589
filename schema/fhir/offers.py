"""``GET /fhir/HealthcareService``: the offers directory as a FHIR search, and read.

Offers are no patient data: any authenticated organisation may search and read them
(a token's SMART scopes narrow patient data only), and nothing is audited. Parameters:
``name`` (the name holds the words), ``service-category`` (a category code or text),
``_text`` (words of name, description, category, target group or owner), ``kommune``
(the kommune served; no standard parameter exists), ``_count``. Only active offers are
found.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from hub.domain.offers import OfferSearch
from hub.services.offers import MAX_FOUND, find_offer_resources, offer_resource
from schema.fhir.context import FhirContext
from schema.fhir.formats import fhir_response, prefers_strict
from schema.fhir.outcomes import invalid, not_found

OFFER_TYPE = "HealthcareService"
SEARCH_PARAMETERS: dict[str, tuple[str, str]] = {
    "name": ("string", "The name holds every word (any case)"),
    "service-category": ("token", "A category code, or words of its text"),
    "_text": ("string", "Every word in the name, description, category, target group or owner"),
    "kommune": ("token", "The kommune the offer serves (3 digits, or DK Core's 4)"),
}
_IGNORED = frozenset({"_format", "_pretty", "_count"})


async def search_offers(request: Request, context: FhirContext) -> Response:
    await context.principal(request)
    pairs = list(request.query_params.multi_items())
    if request.method == "POST":
        form = await request.form()
        pairs += [(k, v) for k, v in form.multi_items() if isinstance(v, str)]
    given: dict[str, str] = {}
    for name, value in pairs:
        if name in SEARCH_PARAMETERS:
            given[name] = " ".join(filter(None, (given.get(name), value)))
        elif name not in _IGNORED and prefers_strict(request):
            raise invalid(f"the parameter {name!r} is not supported on HealthcareService")
    try:
        count = int(dict(pairs).get("_count", MAX_FOUND))
    except ValueError:
        raise invalid("_count must be a number") from None
    count = max(1, min(count, MAX_FOUND))
    text = " ".join(filter(None, (given.get("name"), given.get("_text"))))
    search = OfferSearch(
        kommune=given.get("kommune"), category=given.get("service-category"), text=text
    )
    found = await find_offer_resources(context.units, search)
    base = context.base(request)
    entries = [
        {
            "fullUrl": f"{base}/{OFFER_TYPE}/{offer.id}",
            "resource": content,
            "search": {"mode": "match"},
        }
        for offer, content in found[:count]
    ]
    bundle: dict[str, Any] = {
        "resourceType": "Bundle",
        "type": "searchset",
        "total": len(found),
        "link": [{"relation": "self", "url": str(request.url)}],
        "entry": entries,
    }
    return fhir_response(request, bundle)


async def read_offer(request: Request, context: FhirContext) -> Response:
    await context.principal(request)
    offer_id = request.path_params["id"]
    content = await offer_resource(context.units, offer_id)
    if content is None:
        raise not_found(OFFER_TYPE, offer_id)
    return fhir_response(request, content)
