"""A token's SMART scopes applied to one request: allowed or 403, and the patient they
narrow it to (``hub.domain.smart_scopes`` holds the rules)."""

from __future__ import annotations

from hub.domain.fhir_search import RESOURCE_TYPES
from hub.domain.identifiers import cpr_patient_key
from hub.domain.smart_scopes import READ, Scopes
from hub.services.auth import Principal, TokenError, TokenVerifier
from hub.services.fhir_search import launch_patient_key
from hub.services.unit_of_work import ResourcesUnitOfWork, UnitOfWorkFactory
from schema.fhir.outcomes import forbidden

_WHAT = {"r": "reading", "s": "searching"}


async def narrowed_to(
    units: UnitOfWorkFactory[ResourcesUnitOfWork],
    principal: Principal,
    resource_type: str,
    permission: str,
) -> str | None:
    """The patient key the request is narrowed to (None: not narrowed by patient).

    Raises a 403 FhirError when the scopes do not allow ``permission`` on the type: that
    depends on the token alone, never on the data.
    """
    grant = Scopes.of(principal.scopes).grant(resource_type, permission)
    if not grant.allowed:
        raise forbidden(
            f"the token's scopes do not allow {_WHAT.get(permission, permission)} "
            f"{resource_type} (e.g. user/{resource_type}.rs)"
        )
    if not grant.patient_only:
        return None
    return await launch_context(units, principal)


async def launch_context(
    units: UnitOfWorkFactory[ResourcesUnitOfWork], principal: Principal
) -> str:
    """The patient of the token's launch context: its ``patient`` claim, or a citizen's
    own CPR number; a token with patient scopes and neither is refused."""
    if principal.launch_patient:
        return await launch_patient_key(units, principal.launch_patient)
    if principal.cpr:
        return cpr_patient_key(principal.cpr)
    raise forbidden("patient/ scopes need a patient in the token's launch context (patient)")


async def everything_types(
    units: UnitOfWorkFactory[ResourcesUnitOfWork], principal: Principal
) -> tuple[frozenset[str], str | None]:
    """The types ``$everything`` may return for the token, and the patient it is narrowed
    to (any type granted by a patient scope only narrows the whole operation)."""
    scopes = Scopes.of(principal.scopes)
    grants = {t: scopes.grant(t, READ) for t in RESOURCE_TYPES}
    allowed = frozenset(t for t, g in grants.items() if g.allowed)
    if not allowed:
        raise forbidden("the token's scopes allow reading none of the patient's resources")
    if any(grants[t].patient_only for t in allowed):
        return allowed, await launch_context(units, principal)
    return allowed, None


class RefusingSmartScopes(TokenVerifier):
    """The token verifier of an API that does not read SMART scopes (GraphQL): a token
    whose scopes would narrow it is refused there, so that no API widens what it may read."""

    def __init__(self, verifier: TokenVerifier) -> None:  # wraps; nothing of its own
        self._inner = verifier

    async def verify(self, authorization: str | None) -> Principal:
        principal = await self._inner.verify(authorization)
        if Scopes.of(principal.scopes).narrowing:
            raise TokenError(
                "this token carries SMART on FHIR scopes: it reads the FHIR REST interface "
                "(/fhir) only"
            )
        return principal
