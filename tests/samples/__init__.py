"""The project's own sample messages, one folder per intake format.

The published conformance corpus (``BROBYGGER_CORPUS``) lives outside the project and
may be absent; these messages do not depend on it. They are written for the hub's
tests after the published formats, with made-up people, CPR numbers, identifiers and
organisations (the SOR codes are the ones the tests already use for the sending
hospital and the municipality of Randers), and every date in them lies in the past.

- ``medcom/``: MedCom FHIR messages. One hospital stay of Karen Holm reported as
  HospitalNotifications (STIN, its revision RE_STIN, STOR, SLHJ; STIN also in FHIR
  XML) and a later emergency stay (STAA); a CareCommunication thread about the first
  stay (new message from the hospital, the GP's reply in FHIR XML with an attachment,
  the GP's forward to the municipality); acknowledgements (ok in XML, fatal-error with
  an OperationOutcome); a CareCommunication about Tomasz Novak, who has no CPR number
  and is known by a locally issued replacement number (erstatningspersonnummer,
  ``urn:oid:1.2.208.176.1.6.1.3.177``).
- ``oioxml/``: MedCom OIOXML letters in windows-1252: an admission notice (XDIS20)
  and the discharge notice (XDIS17) of the same stay, a correspondence letter (XDIS91),
  a hospital referral (XREF01), the discharge letter (udskrivningsepikrise, XDIS01) of
  Ane Marie Østergaard's later acute stay, addressed to her GP with home care in copy,
  and an administrative email (XDIS90) to the municipality about that discharge; a
  correspondence letter (XDIS91) about Tomasz Novak, who has only a replacement number
  (``AlternativeIdentifier``).
- ``hl7v2/``: Danish-style HL7 v2 ADT: an admission (A01, UTF-8, CR) and its
  discharge (A03, ISO-8859-1, LF), a BHS/BTS batch of two registrations (A04, CRLF)
  and a patient update (A08, timestamps with offsets); a later acute stay of the same
  patient, admitted from her care home (A01 with PV1-2 ``I``, PV1-4 ``E``, PV1-14 ``5``)
  and discharged back to it (A03 with PV1-36/37), and her TOBS and "Kom godt hjem"
  screening scores from that stay (ORU^R01); the acute admission (A01) of Mikkel
  Jensen, homeless and without a CPR number, by his national replacement number
  (erstatningspersonnummer, ``urn:oid:1.2.208.176.1.6.1.1`` in PID-3).
- ``fhir/``: a transaction Bundle as a v2-to-FHIR converter writes it for an A01, with
  entries the fhir format does not accept; a transaction with the street team's visit
  to Mikkel Jensen, the Patient named by his replacement number.
"""

from __future__ import annotations

from pathlib import Path

SAMPLES = Path(__file__).resolve().parent


def sample_path(name: str) -> Path:
    """The sample ``name`` (``folder/file``), which must exist."""
    path = SAMPLES / name
    assert path.is_file(), f"no sample {name}"
    return path


def sample(name: str) -> bytes:
    """The bytes of the sample ``name`` (``folder/file``), exactly as a sender sends them."""
    return sample_path(name).read_bytes()


def sample_names(folder: str, pattern: str = "*") -> list[str]:
    """The samples in ``folder`` matching ``pattern``, as ``folder/file``, sorted."""
    return sorted(
        f"{folder}/{path.name}"
        for path in (SAMPLES / folder).glob(pattern)
        if path.is_file() and path.name != "__init__.py"
    )
