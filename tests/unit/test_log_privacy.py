"""The logs hold no CPR number and no person's name; a client's error is one line with
the id to find it by, and a fault of the hub's own keeps its traceback."""

from __future__ import annotations

import io
import logging
import re
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import text

from hub.domain.redaction import redact
from hub.entrypoints.logs import RedactPersonalData, install_redaction
from tests.support.hl7 import adt
from tests.unit.test_graphql_security import RunningHub, running_hub

CPR = "0101709995"
FAMILY, GIVEN = "Tjørnelund", "Ingeborg"  # names found nowhere else in a log line


# --- what is masked ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "line",
    [
        f"pathway(cpr: {CPR})",
        "patient cpr:010170-9995 not found",
        f"input_value={{'family': '{FAMILY}', 'given': ['{GIVEN}']}}",
        f'{{"name": [{{"use": "official", "text": "{GIVEN} {FAMILY}"}}], "id": "p1"}}',
        f"HumanName(family='{FAMILY}', given=['{GIVEN}'])",
        f'<name><family value="{FAMILY}"/><given value="{GIVEN}"/></name>',
        f"<PersonGivenName>{GIVEN}</PersonGivenName><PersonSurnameName>{FAMILY}</PersonSurnameName>",
        repr(adt(cpr=CPR, name=f"{FAMILY}^{GIVEN}")),
        adt(cpr=CPR, name=f"{FAMILY}^{GIVEN}", separator="\n").decode(),
        f"NK1|1|{FAMILY}^{GIVEN}|SPO",
    ],
    ids=[
        "cpr",
        "cpr-with-dash",
        "fhir-repr",
        "fhir-json-name-list",
        "fhir-kwargs",
        "fhir-xml",
        "oioxml",
        "hl7v2-bytes-repr",
        "hl7v2-lines",
        "hl7v2-relative",
    ],
)
def test_cpr_numbers_and_names_are_masked(line: str) -> None:
    masked = redact(line)
    for secret in (CPR, "010170-9995", FAMILY, GIVEN):
        assert secret not in masked
    assert "[cpr]" in masked or "[name]" in masked


@pytest.mark.parametrize(
    "line",
    [
        "offset 1733539200 of partition 3",  # ten digits, but no day and month
        "GLN 5790000123456, SOR 380421000016009",  # longer numbers
        '{"resourceType": "Organization", "name": "Regionshospital Randers"}',
        '<Organization><name value="Regionshospital Randers"/></Organization>',
        "<OrganisationName>Randers Kommune</OrganisationName>",
    ],
)
def test_what_only_looks_like_personal_data_is_kept(line: str) -> None:
    assert redact(line) == line


# --- log records ------------------------------------------------------------------------


@contextmanager
def written(logger_name: str, *, filtered: bool) -> Iterator[io.StringIO]:
    """What a handler of ``logger_name`` writes (with the masking filter, if asked)."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    if filtered:
        handler.addFilter(RedactPersonalData())
    logger = logging.getLogger(logger_name)
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        yield stream
    finally:
        logger.removeHandler(handler)


@contextmanager
def redaction_installed() -> Iterator[None]:
    previous = logging.getLogRecordFactory()
    install_redaction()
    try:
        yield
    finally:
        logging.setLogRecordFactory(previous)


def log_everything(logger: logging.Logger) -> None:
    patient = {"name": [{"family": FAMILY, "given": [GIVEN]}]}
    logger.info("reading %s for %s", f"cpr:{CPR}", patient)
    logger.info("%(who)s asked", {"who": CPR})
    logger.info("%s-%s", CPR[:6], CPR[6:])  # a number split over two arguments
    try:
        raise ValueError(f"{CPR}: input_value={{'family': '{FAMILY}', 'given': ['{GIVEN}']}}")
    except ValueError:
        logger.exception("lookup failed for %s", CPR)


def test_a_record_is_masked_in_its_message_arguments_and_traceback() -> None:
    with written("test.privacy.filter", filtered=True) as stream:
        log_everything(logging.getLogger("test.privacy.filter"))
    output = stream.getvalue()
    assert "Traceback" in output and "ValueError" in output
    for secret in (CPR, "010170-9995", FAMILY, GIVEN):
        assert secret not in output
    assert output.count("[cpr]") == 5  # each line that held one


def test_an_access_line_keeps_its_arguments() -> None:
    """uvicorn's access formatter reads the arguments themselves, so they stay five."""
    record = logging.LogRecord(
        "uvicorn.access",
        logging.INFO,
        __file__,
        1,
        '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:5000", "GET", f"/ui/soeg?cpr={CPR}", "1.1", 200),
        None,
    )
    RedactPersonalData().filter(record)
    assert record.args == ("127.0.0.1:5000", "GET", "/ui/soeg?cpr=[cpr]", "1.1", 200)


def test_once_installed_every_logger_and_handler_is_masked() -> None:
    with redaction_installed(), written("test.privacy.installed", filtered=False) as stream:
        # A handler of its own, set up after the masking, as uvicorn sets up its own.
        log_everything(logging.getLogger("test.privacy.installed"))
    output = stream.getvalue()
    assert "Traceback" in output
    for secret in (CPR, FAMILY, GIVEN):
        assert secret not in output


# --- the hub's errors -------------------------------------------------------------------


@pytest.fixture(scope="module")
async def hub(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[RunningHub]:
    async with running_hub(tmp_path_factory.mktemp("log-privacy"), dev=False) as running:
        yield running


def hub_records(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    """The records of the hub's own code and of the GraphQL library (not of the client)."""
    return [
        r
        for r in caplog.records
        if r.name.split(".")[0] in {"hub", "schema", "web", "adapters", "strawberry", "graphql"}
    ]


@pytest.mark.parametrize(
    ("query", "variables"),
    [
        ('{ pathway(cpr: "0101709995", first: 0) { cpr } }', {}),  # a resolver's refusal
        ('{ pathway(cpr: "0101709995") { cpr entrys { id } } }', {}),  # a misspelt field
        ('query ($n: Int) { pathway(cpr: "1", first: $n) { cpr } }', {"n": CPR}),  # not an Int
        (f'{{ a: pathway(cpr: "{CPR}", first: 0) {{ cpr }} b: pathway(cpr: "1") {{ cpr }} }}', {}),
    ],
    ids=["refusal", "validation", "variable", "two-errors"],
)
async def test_a_refused_query_is_one_log_line_with_its_request_id(
    hub: RunningHub,
    caplog: pytest.LogCaptureFixture,
    query: str,
    variables: dict[str, str],
) -> None:
    caplog.set_level(logging.INFO)
    body = await hub.graphql(query, **variables)

    assert body["errors"]
    (record,) = hub_records(caplog)
    assert record.levelno == logging.INFO
    assert record.exc_info is None and not record.exc_text  # no traceback
    assert re.fullmatch(r"graphql request [0-9a-f]{16} refused: .+", record.getMessage())
    assert CPR not in caplog.text
    # The answer is the client's: nothing in it differs from one request to the next.
    assert body == await hub.graphql(query, **variables)


async def test_a_refused_message_is_one_log_line_with_its_dead_letter_id(
    hub: RunningHub, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    response = await hub.client.post(
        "/ingest/hl7v2",
        content=adt(cpr=CPR, name=f"{FAMILY}^{GIVEN}", admitted="20261341250000"),
        headers={"Authorization": f"Bearer {hub.token}"},
    )

    assert response.status_code == 422, response.text
    (record,) = hub_records(caplog)
    assert record.exc_info is None and not record.exc_text
    assert response.json()["error"]["deadLetterId"] in record.getMessage()
    for secret in (CPR, FAMILY, GIVEN):
        assert secret not in caplog.text


async def test_a_fault_is_logged_with_its_traceback_and_no_cpr(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    with redaction_installed():
        async with running_hub(tmp_path, dev=False) as broken:
            # A store out of step with the code: the driver's error holds the SQL and its
            # parameters, the patient's key among them.
            async with broken.app.state.hub.engine.begin() as connection:
                await connection.execute(text("DROP TABLE audit_events"))
            caplog.clear()
            body = await broken.graphql(f'{{ pathway(cpr: "{CPR}") {{ cpr }} }}')

    (error,) = body["errors"]
    assert error["message"] == "Unexpected error."
    (record,) = hub_records(caplog)
    assert record.levelno == logging.ERROR
    assert error["extensions"]["requestId"] in record.getMessage()
    assert record.exc_text is not None and "audit_events" in record.exc_text
    assert "[cpr]" in caplog.text and CPR not in caplog.text
