"""How GraphQL errors reach the server log: a refusal in one line, a fault with its traceback.

strawberry logs every error with the operation's source text (which holds the CPR
number the caller asked about) and, for an error a resolver raised, a full traceback,
even when the error is the caller's to fix. Here instead each operation that ends in
errors gets a request id, and:

* the errors the hub reports on purpose (parsing, validation, a resolver's refusal)
  are logged together as one INFO line: the request id, where and what, masked by
  ``hub.domain.redaction``, no source text and no traceback. The client has the
  message itself; its answer is the same, byte for byte, whenever it asks the same;
* each unexpected error (a bug or an outage: see ``schema.security.is_unexpected``)
  is logged as an ERROR with its traceback, under the same request id, which the
  client's "Unexpected error." carries as ``extensions.requestId`` so that the
  traceback can be found from what the client reports.
"""

from __future__ import annotations

import logging
import uuid

import strawberry
from graphql import GraphQLError
from strawberry.types import ExecutionContext

from hub.domain.redaction import redact
from schema.security import REQUEST_ID, is_unexpected

log = logging.getLogger(__name__)


class LoggedErrorsSchema(strawberry.Schema):
    """The strawberry schema, logging its errors as the module docstring says."""

    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        log_errors(errors)


def log_errors(errors: list[GraphQLError]) -> str:
    """Log ``errors`` (one operation's) under a new request id; the id."""
    request_id = uuid.uuid4().hex[:16]
    refused = [error for error in errors if not is_unexpected(error)]
    if refused:
        log.info(
            "graphql request %s refused: %s",
            request_id,
            "; ".join(redact(_described(error)) for error in refused),
        )
    for error in errors:
        if is_unexpected(error):
            error.extensions = {**(error.extensions or {}), REQUEST_ID: request_id}
            log.error(
                "graphql request %s failed: %s",
                request_id,
                redact(_described(error)),
                exc_info=error.original_error,
            )
    return request_id


def _described(error: GraphQLError) -> str:
    """Where (the field's path, if any) and what, without the operation's text."""
    where = ".".join(str(key) for key in error.path) if error.path else None
    return f"{where}: {error.message}" if where else error.message
