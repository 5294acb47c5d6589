"""The OIOXML adapter: legacy MedCom XML letters in, validated FHIR out.

An ``Emessage`` holds an ``Envelope`` and one or more letters; each letter becomes
one Translation. Accepted letters:

=========================  ======  =====  ==========================================
element                    type    event  becomes
=========================  ======  =====  ==========================================
NotificationOfAdmission    XDIS20  DIS20  Patient, Encounter (in-progress)
NotificationOfDischarge    XDIS17  DIS17  Patient, the same Encounter (finished)
ClinicalEmail              XDIS91  DIS91  Patient, Communication
HospitalReferral           XREF01  REF01  Patient, ServiceRequest
DischargeLetter            XDIS01  DIS01  Patient, Communication (udskrivningsepikrise)
AdministrativeEmail        XDIS90  DIS90  Patient, Communication (administrativ e-mail)
=========================  ======  =====  ==========================================

Any other letter refuses the whole message. ``source_id`` is the letter's type
and number (``XDIS20:24681012``): MedCom letter numbers are unique per sending
system, but systems do reuse one number across an admission notice and its
discharge notice, and a re-send always repeats the type too. ``occurred_at`` is
``Letter/Authorisation``; ``Envelope/Identifier`` is kept in the facts.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from lxml import etree

from adapters.fhirtools import validated
from adapters.oioxml.correspondence import map_administrative_email, map_correspondence
from adapters.oioxml.discharge_letter import map_discharge_letter
from adapters.oioxml.document import Document, Node, read_document
from adapters.oioxml.letter import (
    CANCELLED,
    CORRECTED,
    NEW,
    Envelope,
    LetterContext,
    Mapped,
    read_envelope,
    read_letter_header,
)
from adapters.oioxml.notifications import map_admission, map_discharge
from adapters.oioxml.parties import declared_sender
from adapters.oioxml.referral import map_referral
from hub.domain.translation import Sender, Translation, TranslationError, refusing_the_unexpected


@dataclass(frozen=True)
class LetterKind:
    type_code: str
    event: str
    statuses: tuple[str, ...]
    mapping: Callable[[LetterContext], Mapped]


LETTERS: dict[str, LetterKind] = {
    "NotificationOfAdmission": LetterKind(
        "XDIS20", "DIS20", (NEW, CORRECTED, CANCELLED), map_admission
    ),
    "NotificationOfDischarge": LetterKind(
        "XDIS17", "DIS17", (NEW, CORRECTED, CANCELLED), map_discharge
    ),
    "ClinicalEmail": LetterKind("XDIS91", "DIS91", (NEW, CORRECTED), map_correspondence),
    "HospitalReferral": LetterKind("XREF01", "REF01", (NEW, CORRECTED), map_referral),
    "DischargeLetter": LetterKind("XDIS01", "DIS01", (NEW, CORRECTED), map_discharge_letter),
    "AdministrativeEmail": LetterKind(
        "XDIS90", "DIS90", (NEW, CORRECTED), map_administrative_email
    ),
}
# Emessage children that are not letters: the envelope, and local extensions MedCom allows.
_NOT_LETTERS = frozenset({"Envelope", "Local_Elements"})
ACCEPTED = ", ".join(f"{name} ({kind.type_code})" for name, kind in LETTERS.items())


class OioxmlAdapter:
    """Translate MedCom OIOXML letters (DIS20, DIS17, DIS01, DIS90, DIS91, REF01) into FHIR.

    ``local_timezone`` (an IANA zone name) is the zone of OIOXML dates and times,
    which carry no UTC offset.
    """

    format: str = "oioxml"

    def __init__(self, local_timezone: str = "Europe/Copenhagen") -> None:
        try:
            self._zone = ZoneInfo(local_timezone)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {local_timezone!r}") from exc

    def translate(self, raw: bytes, sender: Sender) -> list[Translation]:
        """Translate an Emessage, accepting or refusing it whole."""
        with refusing_the_unexpected("OIOXML"):
            return self._translate(raw, sender)

    def _translate(self, raw: bytes, sender: Sender) -> list[Translation]:
        document = read_document(raw)
        root = document.root
        envelope = read_envelope(root, self._zone)
        letters = [node for node in root.elements() if node.name not in _NOT_LETTERS]
        if not letters:
            raise TranslationError(
                f"the Emessage holds no letter; the oioxml format accepts {ACCEPTED}",
                f"{root.path}/Envelope",
            )
        for node in letters:
            if node.name not in LETTERS or etree.QName(node.element).namespace != root.namespace:
                raise TranslationError(
                    f"{node.name} letters are not accepted; the oioxml format accepts {ACCEPTED}",
                    node.path,
                )
        translations = []
        for position, node in enumerate(letters, start=1):
            try:
                translations.append(self._letter(node, envelope, document, sender))
            except TranslationError as exc:
                if len(letters) == 1:
                    raise
                raise TranslationError(
                    f"letter {position} of {len(letters)} in the Emessage: {exc.what}; "
                    "the whole message is refused",
                    exc.where,
                ) from exc
        return translations

    def _letter(
        self, node: Node, envelope: Envelope, document: Document, sender: Sender
    ) -> Translation:
        kind = LETTERS[node.name]
        header = read_letter_header(node, kind.type_code, kind.statuses, self._zone)
        declared = declared_sender(node.required("Sender"))
        letter = LetterContext(node, header, envelope, sender, self._zone)
        mapped = kind.mapping(letter)
        facts = {
            "type_code": header.type_code,
            "letter_status": header.status_code,
            "envelope_identifier": envelope.identifier,
        }
        if header.version_code:
            facts["version_code"] = header.version_code
        decoded = document.decoded
        facts["charset"] = "windows-1252" if decoded.charset == "cp1252" else decoded.charset
        if decoded.charset_differs:
            facts["charset_declared"] = decoded.declared or "none"
        facts.update(mapped.facts)
        return Translation(
            patient_key=mapped.patient_key,
            resources=[validated(resource) for resource in mapped.resources],
            event=kind.event,
            source_id=f"{header.type_code}:{header.identifier}",
            facts=facts,
            occurred_at=header.authorised.moment,
            occurred_at_where=header.authorised_where,
            declared_sender=declared,
            partial=mapped.partial,
        )
