"""Opaque references to a patient in the page's addresses.

A CPR number in a URL ends up in access logs, browser history and proxies. The page
names the patient by the CPR number encrypted with a key of this process instead;
a reference stops working after ``MAX_AGE_SECONDS`` or a restart, and the user simply
looks the patient up again.
"""

from __future__ import annotations

from cryptography.fernet import Fernet, InvalidToken

from hub.domain.identifiers import normalise_cpr

MAX_AGE_SECONDS = 12 * 3600


class PatientRefs:
    def __init__(self) -> None:
        self._fernet = Fernet(Fernet.generate_key())

    def of(self, cpr: str) -> str:
        return self._fernet.encrypt(cpr.encode()).decode()

    def cpr(self, reference: str) -> str | None:
        """The CPR number a reference names, or None when it is not (or no longer) valid."""
        try:
            raw = self._fernet.decrypt(reference.encode(), ttl=MAX_AGE_SECONDS).decode()
        except (InvalidToken, UnicodeError, ValueError):
            return None
        return normalise_cpr(raw)
