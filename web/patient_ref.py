"""Opaque references to a patient in the page's addresses.

A CPR number in a URL ends up in access logs, browser history and proxies. The page
names the patient by the CPR number encrypted with a key of this process instead;
a reference stops working after ``MAX_AGE_SECONDS`` or a restart, and the user simply
looks the patient up again.
"""

from __future__ import annotations

from cryptography.fernet import Fernet, InvalidToken

from hub.domain.identifiers import lookup_patient_key, normalise_cpr

MAX_AGE_SECONDS = 12 * 3600


class PatientRefs:
    def __init__(self) -> None:
        self._fernet = Fernet(Fernet.generate_key())

    def of(self, cpr: str) -> str:
        """A reference to the patient with CPR number ``cpr``, or with the replacement
        number (erstatningspersonnummer) ``<system>|<value>``."""
        return self._fernet.encrypt(cpr.encode()).decode()

    def patient(self, reference: str) -> str | None:
        """The CPR number, or replacement number as ``<system>|<value>``, a reference
        names; None when it is not (or no longer) valid."""
        raw = self._raw(reference)
        if raw is None:
            return None
        cpr = normalise_cpr(raw)
        if cpr is not None:
            return cpr
        return raw if lookup_patient_key(raw) is not None else None

    def cpr(self, reference: str) -> str | None:
        """The CPR number a reference names, or None when it is not (or no longer) valid
        or names a replacement number."""
        raw = self._raw(reference)
        return normalise_cpr(raw) if raw is not None else None

    def _raw(self, reference: str) -> str | None:
        try:
            return self._fernet.decrypt(reference.encode(), ttl=MAX_AGE_SECONDS).decode()
        except (InvalidToken, UnicodeError, ValueError):
            return None
