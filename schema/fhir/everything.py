"""``GET /fhir/Patient/{id}/$everything``: the patient's record as the caller may see it,
the Patient first, as a Bundle ``searchset``; ``_since``, ``_type`` and ``_count``.

A patient the caller may see nothing of answers as one that does not exist: 404.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from hub.domain.fhir_search import (
    DEFAULT_COUNT,
    MAX_COUNT,
    RESOURCE_TYPES,
    SearchError,
    time_range,
)
from hub.services.fhir_search import everything
from schema.fhir.bundles import entry, page_links
from schema.fhir.context import FhirContext
from schema.fhir.formats import fhir_response, media_type, prefers_strict
from schema.fhir.outcomes import invalid, not_found, operation_outcome
from schema.fhir.scopes import everything_types

_SHAPING = frozenset({"_format", "_pretty"})


async def patient_everything(request: Request, context: FhirContext) -> Response:
    kind = media_type(request)
    patient_id = request.path_params["id"]
    principal = await context.principal(request)
    allowed, within = await everything_types(context.units, principal)
    given: list[tuple[str, str]] = []
    types: frozenset[str] | None = None
    since = None
    count, offset = DEFAULT_COUNT, 0
    ignored: list[str] = []
    try:
        for name, value in request.query_params.multi_items():
            if name == "_type":
                wanted = frozenset(t.strip() for t in value.split(",") if t.strip())
                unknown = sorted(wanted - set(RESOURCE_TYPES))
                if unknown:
                    raise SearchError(f"_type: the hub holds no {', '.join(unknown)}")
                types = wanted if types is None else types & wanted
            elif name == "_since":
                since = time_range(value, context.zone)[0]
            elif name in ("_count", "_offset"):
                number = int(value) if value.isdigit() else -1
                if number < 0 or (name == "_count" and number > MAX_COUNT):
                    raise SearchError(f"{name} must be a whole number from 0 to {MAX_COUNT}")
                count, offset = (number, offset) if name == "_count" else (count, number)
                continue
            elif name in _SHAPING:
                continue
            else:
                if prefers_strict(request):
                    raise SearchError(f"$everything takes no parameter {name}", "not-supported")
                ignored.append(name)
                continue
            given.append((name, value))
    except SearchError as error:
        raise invalid(str(error), error.code) from None
    types = allowed if types is None else types & allowed
    page = await everything(
        context.units,
        principal,
        patient_id,
        types=types,
        since=since,
        count=count,
        offset=offset,
        policy=context.policy,
        within=within,
    )
    if page is None:
        raise not_found("Patient", patient_id)
    base = context.base(request)
    url = f"{base}/Patient/{patient_id}/$everything"
    bundle = {
        "resourceType": "Bundle",
        "type": "searchset",
        "total": page.total,
        "link": page_links(url, given, offset=offset, count=count, total=page.total),
    }
    entries = [entry(base, d) for d in page.entries]
    if ignored:
        outcome = operation_outcome(
            "not-supported", f"ignored (not supported): {', '.join(ignored)}", "warning"
        )
        entries.append({"resource": outcome, "search": {"mode": "outcome"}})
    if entries:
        bundle["entry"] = entries
    return fhir_response(request, bundle, kind=kind)
