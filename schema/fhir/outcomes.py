"""Errors as FHIR OperationOutcomes, with the HTTP status each answers with.

Every refusal of the REST interface is one of these: a search the hub cannot read
(400), no or a bad token (401), what the token's SMART scopes do not allow or a search
too costly to run (403), a resource missing or not the caller's to see (404, the same
body for both), a write (405, pointing to the message intake), a format the hub does
not speak (406).
"""

from __future__ import annotations

from typing import Any

INGEST_PATH = "/ingest/fhir"


class FhirError(Exception):
    """A request answered with an OperationOutcome; ``code`` is the issue type
    (http://hl7.org/fhir/issue-type)."""

    def __init__(
        self,
        status: int,
        code: str,
        diagnostics: str,
        *,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(diagnostics)
        self.status = status
        self.code = code
        self.diagnostics = diagnostics
        self.headers = headers or {}

    def outcome(self) -> dict[str, Any]:
        return operation_outcome(self.code, self.diagnostics)


def operation_outcome(code: str, diagnostics: str, severity: str = "error") -> dict[str, Any]:
    return {
        "resourceType": "OperationOutcome",
        "issue": [{"severity": severity, "code": code, "diagnostics": diagnostics}],
    }


def not_found(resource_type: str, resource_id: str) -> FhirError:
    """A resource that does not exist, or that the caller may not see: one answer for both."""
    return FhirError(404, "not-found", f"{resource_type}/{resource_id} is not known")


def unknown_type(resource_type: str) -> FhirError:
    return FhirError(
        404, "not-supported", f"the hub serves no resource type {resource_type!r} over FHIR REST"
    )


def unauthorized(why: str) -> FhirError:
    return FhirError(401, "login", why, headers={"WWW-Authenticate": 'Bearer realm="brobygger"'})


def forbidden(why: str) -> FhirError:
    return FhirError(403, "forbidden", why)


def too_costly(why: str) -> FhirError:
    return FhirError(403, "too-costly", why)


def invalid(why: str, code: str = "invalid") -> FhirError:
    return FhirError(400, code, why)


def writes_elsewhere(method: str) -> FhirError:
    return FhirError(
        405,
        "not-supported",
        f"{method} is not taken here: the REST interface only reads. Send FHIR to "
        f"POST {INGEST_PATH} (a Bundle or a resource, with your bearer token), where "
        "every message is checked for who may write it and kept as a dead letter if "
        "it cannot be taken",
        headers={"Allow": "GET, HEAD"},
    )
