"""The hub's log output: one format, and no CPR number or person's name in it.

Every process the ``hub`` command starts (``serve``, ``worker`` and the one-off
commands) calls ``configure_logging`` first. It installs ``RedactPersonalData`` for
every log record the process makes, whichever logger makes it and whichever handler
writes it, uvicorn's included (they are set up later, by uvicorn itself): the record is
masked as it is made, by the rules of ``hub.domain.redaction``, before any handler or
formatter sees it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any

from hub.domain.redaction import redact

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"

_formatter = logging.Formatter()


class RedactPersonalData(logging.Filter):
    """Masks CPR numbers and names in a record: its message, its arguments, the
    traceback of its exception and its stack. Lets every record through."""

    def filter(self, record: logging.LogRecord) -> bool:
        redact_record(record)
        return True


def redact_record(record: logging.LogRecord) -> None:
    """Mask ``record`` in place (see ``RedactPersonalData``)."""
    record.msg = redact(record.msg if isinstance(record.msg, str) else str(record.msg))
    if isinstance(record.args, Mapping):
        record.args = {key: _redacted(value) for key, value in record.args.items()}
    elif record.args:
        # Masked one by one, so formats such as uvicorn's access line still apply.
        record.args = tuple(_redacted(value) for value in record.args)
    try:
        message = record.getMessage()
    except (TypeError, ValueError):
        message = None  # a malformed call; the handler reports it as it would have
    if message is not None and redact(message) != message:  # a number split over arguments
        record.msg, record.args = redact(message), ()
    if record.exc_info and not record.exc_text:
        record.exc_text = _formatter.formatException(record.exc_info)
    if record.exc_text:
        record.exc_text = redact(record.exc_text)
        # The exception itself still holds the text; formatters print exc_text.
        record.exc_info = None
    if record.stack_info:
        record.stack_info = redact(record.stack_info)


def _redacted(value: object) -> object:
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, int | float):
        return value  # kept for %d and %f: a number is masked in the message, if at all
    text = str(value)
    masked = redact(text)
    return masked if masked != text else value


class _RedactingFactory:
    """The record factory that was installed before, its records masked."""

    def __init__(self, previous: Callable[..., logging.LogRecord]) -> None:
        self.previous = previous
        self._filter = RedactPersonalData()

    def __call__(self, *args: Any, **kwargs: Any) -> logging.LogRecord:
        record = self.previous(*args, **kwargs)
        self._filter.filter(record)
        return record


def install_redaction() -> None:
    """Mask every log record this process makes from now on (idempotent)."""
    previous = logging.getLogRecordFactory()
    if not isinstance(previous, _RedactingFactory):
        logging.setLogRecordFactory(_RedactingFactory(previous))


def configure_logging(level: int = logging.INFO) -> None:
    """The process's logging: INFO and up to stderr, in ``FORMAT``, personal data masked."""
    install_redaction()
    logging.basicConfig(level=level, format=FORMAT)
