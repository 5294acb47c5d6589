"""The conformance corpus: which format each directory holds, and what each file should do.

Every message file under ``../shared/corpus`` is tested; a file dropped into a known
directory is picked up automatically and must be accepted (the default) unless it
is listed in ``REFUSED`` with the element the refusal points at. A new directory
must be given a format here before its files can pass.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from hub.domain.identifiers import patient_resource_id
from hub.domain.sectors import Sector
from hub.domain.senders import SOR
from hub.domain.translation import Sender, Translation, fingerprint
from tests.conftest import CORPUS, CORPUS_PRESENT

FORMAT_OF_DIRECTORY = {
    "hl7v2": "hl7v2",
    "medcom-hospitalnotification": "medcom",
    "medcom-carecommunication": "medcom",
    "medcom-acknowledgement": "medcom",
    "medcom-oioxml": "oioxml",
    "v2-to-fhir": "fhir",
}

MESSAGE_SUFFIXES = (".hl7", ".json", ".xml")
"""The v2-to-fhir directory also holds HL7's mapping sheets (CSV); they are not messages."""


@dataclass(frozen=True)
class Refusal:
    where: str
    because: str  # a phrase the refusal's reason must contain


_UNKNOWN_PAYLOAD = Refusal(
    "Bundle.entry[7].resource(Provenance).entity[0].what.identifier.value",
    "no payload of the Communication has that identifier",
)

REFUSED: dict[str, Refusal] = {
    # MedCom's technical test without an event (no MessageHeader.eventCoding).
    "HospitalNotification_Ex_TEK_FCC.json": Refusal("MessageHeader.eventCoding", "eventCoding"),
    # MedCom's negative duplicate: an inconsistent message, sent twice.
    "Bundle-R-Tek-M-dublicate-inv-260a3cc1-38eb-454a-a57b-9e32eabb54a3.json": _UNKNOWN_PAYLOAD,
    "Bundle-R-Tek-N-dublicate-inv-260f76f2-d986-4ba1-8049-2369b1b164ce.xml": _UNKNOWN_PAYLOAD,
    # HL7's v2-to-FHIR sample output: resource types the fhir format does not take, no CPR.
    "FHIR_bundle.hl7_ADT_A01.json": Refusal(
        "Bundle.entry[0].resource", "Location is not a resource type"
    ),
}
"""Corpus files the hub refuses, by file name: where, and why (see docs/formats.md)."""

EVENTS: dict[str, str] = {}
"""The event (Translation.event) an accepted corpus file must yield, where it is pinned."""


@dataclass(frozen=True, eq=True)
class CorpusFile:
    path: Path
    format: str

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def refusal(self) -> Refusal | None:
        return REFUSED.get(self.name)

    def __str__(self) -> str:
        return f"{self.path.parent.name}/{self.name}"


def corpus_files() -> list[CorpusFile]:
    """Every message in the corpus; none when it is absent (its tests are left out)."""
    files: list[CorpusFile] = []
    if not CORPUS_PRESENT:
        return files
    for directory in sorted(p for p in CORPUS.iterdir() if p.is_dir()):
        format = FORMAT_OF_DIRECTORY.get(directory.name, "")
        for path in sorted(directory.iterdir()):
            if path.suffix in MESSAGE_SUFFIXES:
                files.append(CorpusFile(path, format))
    return files


def sender_for(translations: list[Translation], sector: Sector = Sector.HOSPITAL) -> Sender:
    """A token's sender that confirms what the messages name as their sender."""
    named = {
        identity
        for translation in translations
        if translation.declared_sender is not None
        for identity in translation.declared_sender.identities
    }
    sor = sorted(name.split(":", 1)[1] for name in named if name.startswith(f"{SOR}:"))
    org = sor[0] if sor else "corpus-sender"
    aliases = frozenset(name for name in named if not name.startswith(f"{SOR}:"))
    return Sender(sector, org, "conformance", aliases)


REUSED_ID = Refusal("message id", "was already used by this sender")


def stream_outcomes(files: list[CorpusFile]) -> dict[CorpusFile, Refusal | None]:
    """What the hub answers when ``files`` arrive in this order from their senders.

    MedCom's test messages re-use MessageHeader ids across different messages; in
    one stream, every later message under a used id that says something else is
    refused as a re-used message id (a true re-send would be a duplicate).
    """
    seen: dict[tuple[str, str, str], str] = {}
    outcomes: dict[CorpusFile, Refusal | None] = {}
    for file in files:
        if file.refusal is not None:
            outcomes[file] = file.refusal
            continue
        translations = translate_file(file)
        sources = {translation.source_id for translation in translations}
        source = sources.pop() if len(sources) == 1 else None
        if source is None:
            outcomes[file] = None
            continue
        key = (file.format, sender_for(translations).org, source)
        said = fingerprint(translations)
        outcomes[file] = None if seen.setdefault(key, said) == said else REUSED_ID
    return outcomes


def translate_file(file: CorpusFile) -> list[Translation]:
    from hub.bootstrap import build_adapters
    from hub.config import Settings

    adapter = build_adapters(Settings.from_env({}))[file.format]
    return list(adapter.translate(file.path.read_bytes(), sender_for([])))


def patient_reference(patient_key: str) -> str:
    return f"Patient/{patient_resource_id(patient_key)}"
