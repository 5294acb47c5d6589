"""HTTP endpoints of the core: health and intake."""

from __future__ import annotations

import logging

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from hub.services.auth import TokenError, TokenVerifier
from hub.services.intake import IntakeService, Rejected, UnknownFormat

log = logging.getLogger(__name__)


class BodyTooLarge(Exception):
    pass


async def read_body(request: Request, limit: int) -> bytes:
    """The request body, refusing more than ``limit`` bytes without reading them all."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise BodyTooLarge
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge
        chunks.append(chunk)
    return b"".join(chunks)


def unauthorized(message: str) -> JSONResponse:
    return JSONResponse(
        {"error": {"what": message}},
        status_code=401,
        headers={"WWW-Authenticate": 'Bearer realm="brobygger"'},
    )


class IntakeEndpoint:
    """``POST /ingest/{format}``: raw message in, ``202 {"messageId"}`` once durable."""

    def __init__(self, intake: IntakeService, verifier: TokenVerifier, max_body: int) -> None:
        self._intake = intake
        self._verifier = verifier
        self._max_body = max_body

    async def __call__(self, request: Request) -> Response:
        try:
            principal = await self._verifier.verify(request.headers.get("authorization"))
        except TokenError as error:
            return unauthorized(str(error))
        format = request.path_params["format"]
        if format not in self._intake.formats:
            return JSONResponse(
                {"error": {"what": f"unknown format {format!r}", "known": self._intake.formats}},
                status_code=404,
            )
        try:
            raw = await read_body(request, self._max_body)
        except BodyTooLarge:
            return JSONResponse(
                {"error": {"what": f"body larger than {self._max_body} bytes"}}, status_code=413
            )
        try:
            accepted = await self._intake.accept(format, raw, principal.as_sender())
        except UnknownFormat as error:
            return JSONResponse({"error": {"what": str(error)}}, status_code=404)
        except Rejected as error:
            if not error.internal:  # the hub's own failure: intake logged it, with its traceback
                # One line: what was wrong is kept in the dead letter, never in the log.
                log.info(
                    "intake refused a %s message from %s (%s): dead letter %s",
                    format,
                    principal.org,
                    error.where or "payload",
                    error.dead_letter_id,
                )
            return JSONResponse(
                {
                    "error": {
                        "what": error.what,
                        "where": error.where,
                        "deadLetterId": error.dead_letter_id,
                    }
                },
                status_code=500 if error.internal else 422,
            )
        body: dict[str, object] = {"messageId": accepted.message_id}
        if accepted.duplicate:
            body["duplicate"] = True
        return JSONResponse(body, status_code=202)
