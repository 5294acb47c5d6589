"""The project's own sample messages (``tests/samples``): what each one is, that the
hub's adapter for its format takes it as intended, and that they stay the project's own.

The adapter tests use the samples in detail; this catalogue checks them as a set, with
or without the published corpus beside the project.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from hub.bootstrap import build_adapters
from hub.config import Settings
from hub.domain.sectors import Sector
from hub.domain.translation import Sender, TranslationError
from tests.conftest import CORPUS
from tests.samples import SAMPLES, sample, sample_names
from tests.support.date_literals import future_dates

ADAPTERS = build_adapters(Settings.from_env({}))
SENDER = Sender(sector=Sector.HOSPITAL, org="265161000016000", sub="samples")

# sample -> the events of its translations, in order, or the element it is refused at
CATALOGUE: dict[str, list[str] | str] = {
    "fhir/transaction-adt-a01.json": "Bundle.entry[0].resource",
    "fhir/transaction-erstatningspersonnummer.json": ["fhir:transaction"],
    "hl7v2/adt-a01-akut-indlaeggelse.hl7": ["ADT^A01"],
    "hl7v2/adt-a01-erstatningspersonnummer.hl7": ["ADT^A01"],
    "hl7v2/adt-a01-indlaeggelse.hl7": ["ADT^A01"],
    "hl7v2/adt-a03-udskrivning-plejebolig.hl7": ["ADT^A03"],
    "hl7v2/adt-a03-udskrivning.hl7": ["ADT^A03"],
    "hl7v2/adt-a04-batch.hl7": ["ADT^A04", "ADT^A04"],
    "hl7v2/adt-a08-opdatering.hl7": ["ADT^A08"],
    "hl7v2/oru-r01-scorer.hl7": ["ORU^R01"],
    "medcom/acknowledgement-fatal-error.json": ["acknowledgement"],
    "medcom/acknowledgement-ok.xml": ["acknowledgement"],
    "medcom/carecommunication-erstatningspersonnummer.json": ["care-communication"],
    "medcom/carecommunication-forward.json": ["care-communication"],
    "medcom/carecommunication-new.json": ["care-communication"],
    "medcom/carecommunication-reply.xml": ["care-communication"],
    "medcom/hospitalnotification-re-stin.json": ["RE_STIN"],
    "medcom/hospitalnotification-slhj.json": ["SLHJ"],
    "medcom/hospitalnotification-staa.json": ["STAA"],
    "medcom/hospitalnotification-stin.json": ["STIN"],
    "medcom/hospitalnotification-stin.xml": ["STIN"],
    "medcom/hospitalnotification-stor.json": ["STOR"],
    "oioxml/xdis01-udskrivningsepikrise.xml": ["DIS01"],
    "oioxml/xdis17-udskrivningsadvis.xml": ["DIS17"],
    "oioxml/xdis20-indlaeggelsesadvis.xml": ["DIS20"],
    "oioxml/xdis90-administrativ-email.xml": ["DIS90"],
    "oioxml/xdis91-erstatningspersonnummer.xml": ["DIS91"],
    "oioxml/xdis91-korrespondance.xml": ["DIS91"],
    "oioxml/xref01-sygehushenvisning.xml": ["REF01"],
}
FOLDERS = ("fhir", "hl7v2", "medcom", "oioxml")


def test_every_sample_is_in_the_catalogue() -> None:
    folders = sorted(path.name for path in SAMPLES.iterdir() if path.is_dir())
    assert [folder for folder in folders if not folder.startswith(("_", "."))] == list(FOLDERS)
    assert [name for folder in FOLDERS for name in sample_names(folder)] == sorted(CATALOGUE)


def test_every_format_has_samples() -> None:
    assert {name.split("/")[0] for name in CATALOGUE} == set(ADAPTERS) == set(FOLDERS)
    # Plain FHIR that is accepted is mostly the municipal worked examples (docs/examples).
    for folder in ("hl7v2", "medcom", "oioxml"):
        assert all(isinstance(CATALOGUE[name], list) for name in sample_names(folder))


@pytest.mark.parametrize("name", sorted(CATALOGUE))
def test_the_adapter_of_its_format_takes_the_sample_as_intended(name: str) -> None:
    adapter = ADAPTERS[name.split("/")[0]]
    expected = CATALOGUE[name]
    if isinstance(expected, str):
        with pytest.raises(TranslationError) as caught:
            adapter.translate(sample(name), SENDER)
        assert caught.value.where == expected
        return
    translations = adapter.translate(sample(name), SENDER)
    assert [translation.event for translation in translations] == expected
    assert adapter.translate(sample(name), SENDER) == translations
    for translation in translations:
        assert translation.occurred_at is not None
        assert translation.occurred_at < datetime(2025, 1, 1, tzinfo=UTC)
        # Plain FHIR names no sender of its own: the token's is the only one.
        assert (translation.declared_sender is None) == name.startswith("fhir/")


@pytest.mark.parametrize("name", sorted(CATALOGUE))
def test_no_sample_names_a_date_still_to_come(name: str) -> None:
    raw = sample(name)
    text = raw.decode("cp1252") if name.startswith("oioxml/") else raw.decode("utf-8", "replace")
    assert future_dates(text, datetime.now(UTC).date()) == []


@pytest.mark.parametrize("name", sample_names("oioxml"))
def test_oioxml_samples_are_windows_1252_as_medcom_letters_are(name: str) -> None:
    raw = sample(name)
    assert raw.startswith(b'<?xml version="1.0" encoding="windows-1252"?>')
    raw.decode("cp1252")


@pytest.mark.corpus
def test_no_sample_is_a_copy_of_a_corpus_file() -> None:
    published = {path.read_bytes() for path in CORPUS.rglob("*") if path.is_file()}
    assert published
    copies = [name for name in CATALOGUE if sample(name) in published]
    assert copies == []
