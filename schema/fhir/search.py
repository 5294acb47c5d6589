"""``GET /fhir/{type}?…`` (and ``POST /fhir/{type}/_search``): a Bundle ``searchset``.

The parameters are read by ``hub.domain.fhir_search`` (strict or lenient as ``Prefer:
handling`` asks) and run by ``hub.services.fhir_search`` over the consented view.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from hub.domain.fhir_search import SearchError, parse_search
from hub.domain.smart_scopes import READ, SEARCH, Scopes
from hub.services.fhir_search import SearchRefused, search
from schema.fhir.bundles import searchset
from schema.fhir.context import FhirContext
from schema.fhir.formats import fhir_response, media_type, prefers_strict
from schema.fhir.outcomes import invalid, too_costly
from schema.fhir.scopes import narrowed_to


async def search_type(request: Request, context: FhirContext) -> Response:
    kind = media_type(request)
    resource_type = context.known_type(request)
    principal = await context.principal(request)
    within = await narrowed_to(context.units, principal, resource_type, SEARCH)
    pairs = list(request.query_params.multi_items())
    if request.method == "POST":
        form = await request.form()
        pairs += [(k, v) for k, v in form.multi_items() if isinstance(v, str)]
    try:
        parsed = parse_search(
            resource_type, pairs, strict=prefers_strict(request), zone=context.zone
        )
    except SearchError as error:
        raise invalid(str(error), error.code) from None
    try:
        page = await search(
            context.units,
            principal,
            parsed,
            zone=context.zone,
            policy=context.policy,
            within=within,
        )
    except SearchRefused as refused:
        raise too_costly(str(refused)) from None
    included = page.included
    if included and not Scopes.of(principal.scopes).grant("Patient", READ).allowed:
        included = []  # the token may not read Patients: the search still answers
    base = context.base(request)
    bundle = searchset(base, f"{base}/{resource_type}", parsed, page.matches, included, page.total)
    return fhir_response(request, bundle, kind=kind)
