"""The OIOXML adapter: the project's sample letters and the MedCom corpus letters,
character sets, hostile XML and refusals.

Tests that edit a letter start from the samples under ``tests/samples/oioxml``
(windows-1252, like the letters MedCom publishes), so they run without the published
corpus; tests about the published letters themselves are marked ``corpus``.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from adapters.oioxml import OioxmlAdapter
from hub.domain.consent import Item, addressees
from hub.domain.identifiers import (
    CPR_SYSTEM,
    SOR_SYSTEM,
    cpr_patient_key,
    patient_resource_id,
    resource_id,
)
from hub.domain.sectors import Sector
from hub.domain.senders import check_declared_sender
from hub.domain.translation import Adapter, Sender, Translation, TranslationError
from tests.conftest import CORPUS, CORPUS_PRESENT
from tests.samples import sample, sample_names
from tests.support.adapter_contract import outcome

OIOXML_CORPUS = CORPUS / "medcom-oioxml"
CORPUS_FILES = sorted(path.name for path in OIOXML_CORPUS.glob("*.xml"))
ORG = "265161000016000"
SENDER = Sender(sector=Sector.HOSPITAL, org=ORG, sub="sygehus-epj")
COPENHAGEN = ZoneInfo("Europe/Copenhagen")
GLN = "urn:oid:1.3.88"
SKS = "urn:oid:1.2.208.176.2.4"

# The samples: Testsygehus Nord admits and discharges Ane Marie Østergaard and writes
# to her GP (Lægerne Søndergade), who refers Jørgen Bøgh to the hospital.
DIS20 = "oioxml/xdis20-indlaeggelsesadvis.xml"
DIS17 = "oioxml/xdis17-udskrivningsadvis.xml"
DIS91 = "oioxml/xdis91-korrespondance.xml"
REF01 = "oioxml/xref01-sygehushenvisning.xml"
DIS01 = "oioxml/xdis01-udskrivningsepikrise.xml"
DIS90 = "oioxml/xdis90-administrativ-email.xml"
DIS91_REPLACEMENT = "oioxml/xdis91-erstatningspersonnummer.xml"  # Tomasz Novak, no CPR
SAMPLE_FILES = sample_names("oioxml")
HOSPITAL_GLN = "5790000503148"  # Testsygehus Nord, Medicinsk Afdeling
GP_GLN = "5790000503131"  # Lægerne Søndergade
CPR = "0703481236"  # Ane Marie Østergaard
REFERRED_CPR = "1811671234"  # Jørgen Bøgh
STAY = "ADV0311017"  # the notice identifier both notices of her stay carry

ADAPTER = OioxmlAdapter()

ADMISSION = "/Emessage/NotificationOfAdmission"
DISCHARGE = "/Emessage/NotificationOfDischarge"
EMAIL = "/Emessage/ClinicalEmail"
REFERRAL = "/Emessage/HospitalReferral"


# --- helpers ------------------------------------------------------------------------


def corpus(name: str) -> bytes:
    return (OIOXML_CORPUS / name).read_bytes()


def corpus_text(name: str) -> str:
    """A corpus file as text (the files are windows-1252)."""
    return corpus(name).decode("cp1252")


def sample_text(name: str) -> str:
    """A sample letter as text (the samples are windows-1252)."""
    return sample(name).decode("cp1252")


def edited(name: str, *replacements: tuple[str, str]) -> bytes:
    """A sample letter with each ``old`` replaced by ``new`` exactly once, as windows-1252."""
    text = sample_text(name)
    for old, new in replacements:
        assert text.count(old) == 1, f"{old!r} occurs {text.count(old)} times in {name}"
        text = text.replace(old, new)
    return text.encode("cp1252")


def without(name: str, pattern: str) -> bytes:
    """A sample letter with the one match of the regular expression ``pattern`` removed."""
    text = sample_text(name)
    new, count = re.subn(pattern, "", text, flags=re.DOTALL)
    assert count == 1, f"{pattern!r} matched {count} times in {name}"
    return new.encode("cp1252")


def translate_one(raw: bytes, sender: Sender = SENDER) -> Translation:
    translations = ADAPTER.translate(raw, sender)
    assert len(translations) == 1
    return translations[0]


def resource(translation: Translation, kind: str) -> dict[str, Any]:
    found = [r for r in translation.resources if r["resourceType"] == kind]
    assert len(found) == 1, f"expected one {kind}, got {len(found)}"
    return found[0]


def refusal(raw: bytes, sender: Sender = SENDER) -> TranslationError:
    with pytest.raises(TranslationError) as info:
        ADAPTER.translate(raw, sender)
    return info.value


def patient_reference(cpr: str) -> str:
    return f"Patient/{patient_resource_id(cpr_patient_key(cpr))}"


def assert_accepted_twice(raw: bytes) -> None:
    """``raw`` is accepted, the same way twice, each letter about its one patient."""
    first = ADAPTER.translate(raw, SENDER)
    assert first == ADAPTER.translate(raw, SENDER)
    for translation in first:
        assert translation.facts["charset"] == "windows-1252"
        reference = f"Patient/{translation.resources[0]['id']}"
        assert all(r["subject"]["reference"] == reference for r in translation.resources[1:])


# --- the adapter --------------------------------------------------------------------


def test_satisfies_the_adapter_protocol() -> None:
    adapter: Adapter = ADAPTER
    assert adapter.format == "oioxml"


def test_unknown_timezone_is_a_configuration_error() -> None:
    with pytest.raises(ValueError, match="Mars/Olympus"):
        OioxmlAdapter(local_timezone="Mars/Olympus")


# --- samples: XDIS20 / XDIS17 -------------------------------------------------------------


def test_admission_notice() -> None:
    translation = translate_one(sample(DIS20))
    assert translation.event == "DIS20"
    assert translation.patient_key == f"cpr:{CPR}"
    assert translation.source_id == f"XDIS20:{STAY}"
    assert translation.facts["envelope_identifier"] == "NORD0311A"
    assert translation.occurred_at == datetime(2024, 3, 11, 9, 41, 37, tzinfo=COPENHAGEN)
    assert translation.declared_sender is not None
    assert translation.declared_sender.identities == (f"gln:{HOSPITAL_GLN}",)
    assert translation.declared_sender.where == f"{ADMISSION}/Sender"
    assert translation.facts["letter_status"] == "nytbrev"
    assert translation.facts["episode_of_care_status"] == "indlagt"
    assert [r["resourceType"] for r in translation.resources] == ["Patient", "Encounter"]
    patient = resource(translation, "Patient")
    assert patient["id"] == patient_resource_id(f"cpr:{CPR}")
    assert patient["identifier"] == [{"system": CPR_SYSTEM, "value": CPR}]
    assert "name" not in patient  # a notice names the patient by CPR only
    encounter = resource(translation, "Encounter")
    assert encounter["status"] == "in-progress"
    assert encounter["class"]["code"] == "IMP"
    assert encounter["period"] == {"start": "2024-03-11T08:55:00+01:00"}
    assert encounter["subject"] == {"reference": patient_reference(CPR)}
    assert encounter["serviceProvider"] == {
        "identifier": {"system": SOR_SYSTEM, "value": ORG},
        "display": "Testsygehus Nord, Medicinsk Afdeling, M2",
    }
    assert encounter["id"] == resource_id("Encounter", ORG, "medcom-notification", STAY)
    assert encounter["identifier"][0]["value"] == STAY


def test_discharge_notice_finishes_the_admission_notices_encounter() -> None:
    admission = resource(translate_one(sample(DIS20)), "Encounter")
    translation = translate_one(sample(DIS17))
    assert translation.event == "DIS17"
    assert translation.source_id == "XDIS17:UDS0315004"
    encounter = resource(translation, "Encounter")
    assert encounter["id"] == admission["id"]
    assert encounter["status"] == "finished"
    assert encounter["period"] == {"end": "2024-03-15T13:20:00+01:00"}
    assert encounter["hospitalization"]["dischargeDisposition"] == {
        "coding": [
            {
                "system": "http://terminology.hl7.org/CodeSystem/discharge-disposition",
                "code": "home",
                "display": "Home",
            }
        ],
        "text": "udskrevet_til_hjemmet",
    }
    assert translation.facts["episode_of_care_status"] == "udskrevet_til_hjemmet"


def test_discharge_status_not_stated_gives_no_disposition() -> None:
    raw = edited(
        DIS17,
        ("<EpisodeOfCareStatusCode>udskrevet_til_hjemmet<", "<EpisodeOfCareStatusCode>uoplyst<"),
    )
    translation = translate_one(raw)
    # "uoplyst" (not stated) gives no discharge disposition.
    assert "hospitalization" not in resource(translation, "Encounter")
    assert translation.facts["episode_of_care_status"] == "uoplyst"


# --- corpus: DIS20 / DIS17 ------------------------------------------------------------


@pytest.mark.corpus
def test_corpus_dis20_admission_notice() -> None:
    translation = translate_one(corpus("DIS20_1.xml"))
    assert translation.event == "DIS20"
    assert translation.patient_key == "cpr:2505544849"
    assert translation.source_id == "XDIS20:24681012"
    assert translation.facts["envelope_identifier"] == "123456789"
    assert translation.occurred_at == datetime(2000, 1, 24, 21, 30, tzinfo=COPENHAGEN)
    assert translation.declared_sender is not None
    assert translation.declared_sender.identities == ("gln:5790000143054",)
    assert translation.declared_sender.where == f"{ADMISSION}/Sender"
    assert translation.facts["letter_status"] == "nytbrev"
    assert translation.facts["episode_of_care_status"] == "indlagt"
    assert [r["resourceType"] for r in translation.resources] == ["Patient", "Encounter"]
    patient = resource(translation, "Patient")
    assert patient["id"] == patient_resource_id("cpr:2505544849")
    assert patient["identifier"] == [{"system": CPR_SYSTEM, "value": "2505544849"}]
    encounter = resource(translation, "Encounter")
    assert encounter["status"] == "in-progress"
    assert encounter["class"]["code"] == "IMP"
    assert encounter["period"] == {"start": "2000-01-24T21:15:00+01:00"}
    assert encounter["subject"] == {"reference": patient_reference("2505544849")}
    assert encounter["serviceProvider"] == {
        "identifier": {"system": SOR_SYSTEM, "value": ORG},
        "display": "Odense Universitetshospital, Medicinsk Afdeling, C4",
    }
    assert encounter["id"] == resource_id("Encounter", ORG, "medcom-notification", "24681012")
    assert encounter["identifier"][0]["value"] == "24681012"


@pytest.mark.corpus
def test_corpus_dis17_discharge_notice_finishes_the_dis20_encounter() -> None:
    admission = resource(translate_one(corpus("DIS20_1.xml")), "Encounter")
    translation = translate_one(corpus("DIS17_1.xml"))
    assert translation.event == "DIS17"
    assert translation.source_id == "XDIS17:24681012"
    encounter = resource(translation, "Encounter")
    assert encounter["id"] == admission["id"]
    assert encounter["status"] == "finished"
    assert encounter["period"] == {"end": "2000-01-24T21:15:00+01:00"}
    # "uoplyst" (not stated) gives no discharge disposition.
    assert "hospitalization" not in encounter
    assert translation.facts["episode_of_care_status"] == "uoplyst"


# --- admission and discharge notices -------------------------------------------------------


def test_admission_and_discharge_of_one_stay_share_the_encounter_and_others_do_not() -> None:
    """A pair built from the samples: the notice identifier links the two notices."""
    stay = (f"<NotificationIdentifier>{STAY}<", "<NotificationIdentifier>STAY-0042<")
    admission = edited(
        DIS20, stay, (f"<Identifier>{STAY}</Identifier>", "<Identifier>L1</Identifier>")
    )
    discharge = edited(
        DIS17,
        stay,
        ("<Identifier>UDS0315004</Identifier>", "<Identifier>L2</Identifier>"),
        (
            "<Date>2024-03-15</Date><Time>13:20</Time></Discharge>",
            "<Date>2024-03-19</Date><Time>10:05</Time></Discharge>",
        ),
    )
    other_stay = edited(
        DIS17, (f"<NotificationIdentifier>{STAY}<", "<NotificationIdentifier>STAY-0043<")
    )
    admitted = resource(translate_one(admission), "Encounter")
    discharged = resource(translate_one(discharge), "Encounter")
    assert (
        admitted["id"]
        == discharged["id"]
        == resource_id("Encounter", ORG, "medcom-notification", "STAY-0042")
    )
    assert (admitted["status"], discharged["status"]) == ("in-progress", "finished")
    assert discharged["period"] == {"end": "2024-03-19T10:05:00+01:00"}
    assert resource(translate_one(other_stay), "Encounter")["id"] != admitted["id"]
    # The notice identifier is unique per sender only: another organisation's stay is another.
    elsewhere = Sender(sector=Sector.HOSPITAL, org="12345678901", sub="andet-sygehus")
    assert resource(translate_one(admission, elsewhere), "Encounter")["id"] != admitted["id"]


@pytest.mark.parametrize(
    ("status", "code", "deceased"),
    [
        ("udskrevet_til_hjemmet", "home", False),
        ("udskrevet_til_andet", "oth", False),
        ("flyttet_til_sygehus", "other-hcf", False),
        ("flyttet_til_sygehusafd", "other-hcf", False),
        ("doed", "exp", True),
    ],
)
def test_discharge_status_becomes_the_disposition(status: str, code: str, deceased: bool) -> None:
    raw = edited(
        DIS17,
        (
            "<EpisodeOfCareStatusCode>udskrevet_til_hjemmet<",
            f"<EpisodeOfCareStatusCode>{status}<",
        ),
    )
    translation = translate_one(raw)
    disposition = resource(translation, "Encounter")["hospitalization"]["dischargeDisposition"]
    assert disposition["coding"][0]["code"] == code
    assert disposition["text"] == status
    assert resource(translation, "Patient").get("deceasedBoolean", False) is deceased


def test_admission_notice_reporting_a_death() -> None:
    raw = edited(DIS20, ("<EpisodeOfCareStatusCode>indlagt<", "<EpisodeOfCareStatusCode>doed<"))
    translation = translate_one(raw)
    assert resource(translation, "Patient")["deceasedBoolean"] is True
    assert resource(translation, "Encounter")["status"] == "finished"


def test_admission_notice_without_episode_status_is_inpatient() -> None:
    translation = translate_one(
        without(DIS20, r"<EpisodeOfCareStatusCode>indlagt</EpisodeOfCareStatusCode>")
    )
    encounter = resource(translation, "Encounter")
    assert (encounter["status"], encounter["class"]["code"]) == ("in-progress", "IMP")


def test_cancelled_admission_notice_is_entered_in_error() -> None:
    raw = edited(DIS20, ("<StatusCode>nytbrev<", "<StatusCode>annulleretbrev<"))
    translation = translate_one(raw)
    assert resource(translation, "Encounter")["status"] == "entered-in-error"
    assert translation.facts["letter_status"] == "annulleretbrev"


def test_cancelled_discharge_notice_reopens_the_stay() -> None:
    raw = edited(DIS17, ("<StatusCode>nytbrev<", "<StatusCode>annulleretbrev<"))
    encounter = resource(translate_one(raw), "Encounter")
    assert encounter["status"] == "in-progress"
    assert "period" not in encounter


def test_summer_time_and_configurable_zone() -> None:
    raw = edited(
        DIS20, ("<Admission><Date>2024-03-11</Date>", "<Admission><Date>2024-07-01</Date>")
    )
    assert (
        resource(translate_one(raw), "Encounter")["period"]["start"] == "2024-07-01T08:55:00+02:00"
    )
    new_york = OioxmlAdapter(local_timezone="America/New_York").translate(raw, SENDER)[0]
    assert resource(new_york, "Encounter")["period"]["start"] == "2024-07-01T08:55:00-04:00"


def test_sor_coded_sender_is_declared_and_referenced_by_sor() -> None:
    raw = edited(
        DIS91,
        (
            "<Identifier>5501230</Identifier><IdentifierCode>sygehusafdelingsnummer<",
            f"<Identifier>{ORG}</Identifier><IdentifierCode>sorkode<",
        ),
    )
    translation = translate_one(raw)
    assert translation.declared_sender is not None
    assert translation.declared_sender.identities == (f"gln:{HOSPITAL_GLN}", f"sor:{ORG}")
    sender = resource(translation, "Communication")["sender"]
    assert sender["identifier"] == {"system": SOR_SYSTEM, "value": ORG}


def test_declared_sender_is_checked_by_intake_rules() -> None:
    """The declared GLN is what a token alias must carry for intake to accept the letter."""
    declared = translate_one(sample(DIS20)).declared_sender
    allowed = Sender(
        sector=Sector.HOSPITAL, org=ORG, sub="x", aliases=frozenset({f"gln:{HOSPITAL_GLN}"})
    )
    check_declared_sender(declared, allowed)
    with pytest.raises(TranslationError) as info:
        check_declared_sender(declared, SENDER)
    assert info.value.where == f"{ADMISSION}/Sender"


# --- samples: XDIS91 / XREF01 -------------------------------------------------------------


def test_correspondence() -> None:
    translation = translate_one(sample(DIS91))
    assert translation.event == "DIS91"
    assert translation.source_id == "XDIS91:BREV55120"
    assert translation.facts["envelope_identifier"] == "KUV88213"
    assert translation.facts["episode_of_care_identifier"] == "9f1c2ab4e07d4c3a8b65d2e1f0a93c47"
    assert translation.occurred_at == datetime(2024, 5, 6, 13, 58, tzinfo=COPENHAGEN)
    patient = resource(translation, "Patient")
    assert patient["name"] == [{"family": "Østergaard", "given": ["Ane", "Marie"]}]
    assert patient["address"][0] == {
        "use": "home",
        "line": ["Åvej 7, 1. th"],
        "city": "Randers NØ",
        "postalCode": "8930",
    }
    communication = resource(translation, "Communication")
    assert communication["id"] == resource_id("Communication", ORG, "XDIS91", "BREV55120")
    assert communication["identifier"] == [
        {"system": f"urn:brobygger:medcom-letter:{ORG}", "value": "BREV55120"}
    ]
    assert communication["status"] == "completed"
    assert communication["sent"] == "2024-05-06T14:05:00+02:00"
    assert communication["priority"] == "urgent"
    assert communication["topic"] == {"text": "Opfølgning på blodtryk"}
    assert communication["subject"] == {"reference": patient_reference(CPR)}
    assert communication["sender"] == {
        "type": "Organization",
        "identifier": {"system": GLN, "value": HOSPITAL_GLN},
        "display": "TESTSYGEHUS NORD, MEDICINSK AFD. M2",
    }
    assert communication["recipient"][0]["identifier"] == {"system": GLN, "value": GP_GLN}
    assert communication["recipient"][0]["display"] == "Lægerne Søndergade, Læge, Peter Lund"
    [payload] = communication["payload"]
    text = payload["contentString"]
    assert text.startswith("Patienten har været til ambulant kontrol i dag.\nBlodtrykket")
    assert "Kalium og kreatinin om 14 dage\n\nVed spørgsmål" in text
    assert text.endswith("overlæge M. Kjær\n06.05.2024")


def test_routine_correspondence_without_episode() -> None:
    raw = without(DIS91, r"<EpisodeOfCareIdentifier>[^<]*</EpisodeOfCareIdentifier>")
    raw = raw.replace("<Priority>høj_prioritet<".encode("cp1252"), b"<Priority>rutine<")
    translation = translate_one(raw)
    assert resource(translation, "Communication")["priority"] == "routine"
    assert "episode_of_care_identifier" not in translation.facts


def test_referral() -> None:
    translation = translate_one(sample(REF01))
    assert translation.event == "REF01"
    assert translation.source_id == "XREF01:HEN7731"
    assert translation.facts["envelope_identifier"] == "KUV4410"
    assert translation.occurred_at == datetime(2024, 9, 2, 11, 40, tzinfo=COPENHAGEN)
    assert translation.declared_sender is not None
    assert translation.declared_sender.identities == (f"gln:{GP_GLN}",)
    request = resource(translation, "ServiceRequest")
    assert (request["status"], request["intent"], request["priority"]) == (
        "active",
        "order",
        "routine",
    )
    assert request["code"] == {"text": "Sygehushenvisning"}
    assert request["category"] == [{"text": "ambulant"}]
    assert request["authoredOn"] == "2024-09-02T11:40:00+02:00"
    assert request["subject"] == {"reference": patient_reference(REFERRED_CPR)}
    assert request["requester"] == {
        "type": "Organization",
        "identifier": {"system": GLN, "value": GP_GLN},
        "display": "Lægerne Søndergade",
    }
    assert request["performer"] == [
        {
            "type": "Organization",
            "identifier": {"system": GLN, "value": HOSPITAL_GLN},
            "display": "Testsygehus Nord, Medicinsk Afdeling M2",
        }
    ]
    reasons = request["reasonCode"]
    assert reasons[0]["coding"] == [
        {"system": SKS, "code": "DI509", "display": "Hjerteinsufficiens UNS"}
    ]
    assert reasons[1]["coding"][0]["code"] == "DE119"
    assert reasons[1]["text"] == "Type 2-diabetes uden komplikationer (tillaegsdiagnose)"
    assert reasons[2] == {"text": "Udredning for åndenød og hævede ankler, mistanke om hjertesvigt"}
    notes = [note["text"] for note in request["note"]]
    assert notes[:3] == [
        "Henviser: Peter Lund, Praktiserende læge",
        "Transport: ingen",
        "Supplerende oplysninger:\nPatienten er bortrejst i uge 38.",
    ]
    assert "CAVE:\nIngen kendte lægemiddelallergier" in notes
    assert any(n.startswith("Anamnese:\nGennem 3 måneder tiltagende åndenød") for n in notes)
    assert any(n.startswith("Undersøgelser:\nBT 148/92") for n in notes)
    assert any(n.startswith("Aktuel medicin:\nTabl. Metformin") for n in notes)
    patient = resource(translation, "Patient")
    assert patient["name"] == [{"family": "Bøgh", "given": ["Jørgen"]}]
    assert patient["telecom"] == [
        {"system": "phone", "value": "86491122", "use": "home"},
        {"system": "phone", "value": "31415926", "use": "mobile"},
        {"system": "email", "value": "jorgen.bogh@eksempel.dk"},
    ]
    assert patient["contact"] == [
        {"relationship": [{"text": "aegtefaelle"}], "name": {"family": "Bøgh", "given": ["Hanne"]}}
    ]


@pytest.mark.parametrize("name", SAMPLE_FILES)
def test_every_sample_is_accepted_and_translates_identically_twice(name: str) -> None:
    assert_accepted_twice(sample(name))


def test_the_samples_are_what_these_tests_expect() -> None:
    assert sorted([DIS01, DIS17, DIS20, DIS90, DIS91, DIS91_REPLACEMENT, REF01]) == SAMPLE_FILES


def test_the_replacement_number_sample_keys_its_patient_by_the_senders_system() -> None:
    translation = translate_one(sample(DIS91_REPLACEMENT))
    assert translation.patient_key == f"urn:brobygger:alternative-identifier:{ORG}|1103901VK2"


# --- corpus: DIS91 / REF01 --------------------------------------------------------------


@pytest.mark.corpus
def test_corpus_dis91_correspondence() -> None:
    translation = translate_one(corpus("DIS91_1.xml"))
    assert translation.event == "DIS91"
    assert translation.source_id == "XDIS91:BrevNr00129"
    assert translation.facts["envelope_identifier"] == "KuvertNr012234"
    assert translation.occurred_at == datetime(1998, 12, 13, 12, 2, tzinfo=COPENHAGEN)
    patient = resource(translation, "Patient")
    assert patient["name"] == [{"family": "Mosebryggersen", "given": ["Knut", "Odvar"]}]
    assert patient["address"][0] == {
        "use": "home",
        "line": ["Grusgraven 3, 3 tv"],
        "city": "Hillerød",
        "postalCode": "3400",
    }
    communication = resource(translation, "Communication")
    assert communication["id"] == resource_id("Communication", ORG, "XDIS91", "BrevNr00129")
    assert communication["status"] == "completed"
    assert communication["sent"] == "1998-12-13T12:10:00+01:00"
    assert communication["priority"] == "urgent"
    assert communication["topic"] == {"text": "Forundersøgelse"}
    assert communication["subject"] == {"reference": patient_reference("1502824933")}
    assert communication["sender"] == {
        "type": "Organization",
        "identifier": {"system": GLN, "value": "5790000120400"},
        "display": "HILLERØD SYGEHUS, KIRURGISK AFD. A",
    }
    assert communication["recipient"][0]["identifier"] == {"system": GLN, "value": "5790000128700"}
    assert communication["recipient"][0]["display"] == "Lægehuset, Læge, Else Nielsen"
    text = communication["payload"][0]["contentString"]
    assert text.startswith(
        "Afdeling A har modtaget en henvisning på ovenstående patient.\nForinden"
    )
    assert (
        "Røntgen af hofte i to planer.\nBlodtryksresultat\nSænkningsresultat\n\nResultaterne"
        in text
    )
    assert text.endswith("overlæge K. Petersen\n15.01.1999")


@pytest.mark.corpus
def test_corpus_dis91_variant() -> None:
    translation = translate_one(corpus("DIS91_2.xml"))
    communication = resource(translation, "Communication")
    assert communication["priority"] == "routine"
    assert (
        communication["topic"]["text"] == "Undtagelsesredegørelse - fortsat individuel behandling"
    )
    assert resource(translation, "Patient")["address"][0]["line"] == ["Park Allé 48"]
    assert translation.facts["episode_of_care_identifier"] == "65528acda12c4d85b7016f4b12eec2bc"


@pytest.mark.corpus
def test_corpus_ref01_referral() -> None:
    translation = translate_one(corpus("REF01_1.xml"))
    assert translation.event == "REF01"
    assert translation.source_id == "XREF01:Brv5678"
    assert translation.occurred_at == datetime(2005, 1, 14, 10, 10, tzinfo=COPENHAGEN)
    request = resource(translation, "ServiceRequest")
    assert (request["status"], request["intent"], request["priority"]) == (
        "active",
        "order",
        "routine",
    )
    assert request["authoredOn"] == "2005-01-14T10:10:00+01:00"
    assert request["subject"] == {"reference": patient_reference("2406444917")}
    assert request["requester"] == {
        "type": "Organization",
        "identifier": {"system": GLN, "value": "5790000121526"},
        "display": "Lægehuset",
    }
    assert request["performer"][0]["display"] == "Hillerød Sygehus, Medicinsk afd. B"
    reasons = request["reasonCode"]
    assert reasons[0]["coding"] == [
        {"system": SKS, "code": "DI10", "display": "Blodtryksforhøjelse af ukendt årsag."}
    ]
    assert reasons[1]["coding"][0]["code"] == "DE659"
    assert reasons[1]["text"] == "Fedme u. spec (tillaegsdiagnose)"
    assert reasons[2] == {
        "text": "Hypertensionsudredning + behandling samt diætvejledning vedrørende overvægt"
    }
    notes = [note["text"] for note in request["note"]]
    assert "Henviser: Hans Jensen, Uddannelsesamanuensis" in notes
    assert any(n.startswith("Anamnese:\n1995 indlagt Køge Sygehus") for n in notes)
    assert any(n.startswith("CAVE:\nFenoxymetylpenicillin") for n in notes)
    assert any(n.startswith("Aktuel medicin:\nTabl Triatec") for n in notes)
    patient = resource(translation, "Patient")
    assert {"system": "phone", "value": "20222324", "use": "mobile"} in patient["telecom"]
    assert patient["contact"] == [
        {"relationship": [{"text": "mor"}], "name": {"family": "Berggren", "given": ["Anni"]}}
    ]


@pytest.mark.corpus
@pytest.mark.parametrize("name", CORPUS_FILES)
def test_every_corpus_file_is_accepted_and_translates_identically_twice(name: str) -> None:
    assert_accepted_twice(corpus(name))


@pytest.mark.corpus
def test_the_corpus_is_what_these_tests_expect() -> None:
    assert CORPUS_FILES == [
        "DIS17_1.xml",
        "DIS20_1.xml",
        "DIS91_1.xml",
        "DIS91_2.xml",
        "REF01_1.xml",
    ]


# --- character sets ---------------------------------------------------------------------


def test_danish_letters_from_windows_1252_bytes() -> None:
    """The referral writes æ/ø/å as raw windows-1252 bytes (not character references)."""
    raw = sample(REF01)
    assert b"L\xe6gerne S\xf8ndergade" in raw
    request = resource(translate_one(raw), "ServiceRequest")
    assert request["requester"]["display"] == "Lægerne Søndergade"
    assert request["performer"][0]["display"] == "Testsygehus Nord, Medicinsk Afdeling M2"
    assert "åndenød og hævede ankler" in request["reasonCode"][2]["text"]


@pytest.mark.corpus
def test_corpus_danish_letters_from_windows_1252_bytes() -> None:
    """REF01 writes æ/ø/å as raw windows-1252 bytes (not character references)."""
    raw = corpus("REF01_1.xml")
    assert b"L\xe6gehuset" in raw
    request = resource(translate_one(raw), "ServiceRequest")
    assert request["requester"]["display"] == "Lægehuset"
    assert request["performer"][0]["display"] == "Hillerød Sygehus, Medicinsk afd. B"
    assert "vedrørende overvægt" in request["reasonCode"][2]["text"]


def test_windows_1252_without_declaration_is_read_as_windows_1252() -> None:
    raw = sample(REF01)
    declaration = b'<?xml version="1.0" encoding="windows-1252"?>'
    assert raw.startswith(declaration)
    translation = translate_one(raw[len(declaration) :])
    assert resource(translation, "ServiceRequest")["requester"]["display"] == "Lægerne Søndergade"
    assert (translation.facts["charset"], translation.facts["charset_declared"]) == (
        "windows-1252",
        "none",
    )
    assert translation.resources == translate_one(raw).resources


def test_windows_1252_declared_as_utf8_is_refused() -> None:
    raw = sample(REF01).replace(b'encoding="windows-1252"', b'encoding="UTF-8"', 1)
    error = refusal(raw)
    assert error.where == "XML declaration"
    assert "not valid UTF-8" in error.what
    assert "windows-1252" in error.what


def test_utf8_declared_as_windows_1252_is_read_as_utf8() -> None:
    raw = sample_text(REF01).encode("utf-8")
    assert b'encoding="windows-1252"' in raw
    translation = translate_one(raw)
    assert resource(translation, "ServiceRequest")["requester"]["display"] == "Lægerne Søndergade"
    assert translation.facts["charset"] == "utf-8"
    assert translation.facts["charset_declared"] == "windows-1252"


def test_utf8_with_declaration_and_byte_order_mark() -> None:
    text = sample_text(REF01).replace('encoding="windows-1252"', 'encoding="UTF-8"')
    translation = translate_one(b"\xef\xbb\xbf" + text.encode("utf-8"))
    assert resource(translation, "ServiceRequest")["requester"]["display"] == "Lægerne Søndergade"
    assert "charset_declared" not in translation.facts


def test_iso_8859_1_label_reads_windows_1252_punctuation() -> None:
    raw = edited(
        DIS91,
        ('encoding="windows-1252"', 'encoding="ISO-8859-1"'),
        (
            "<Subject>Opfølgning på blodtryk</Subject>",
            "<Subject>\u201cOpf\u00f8lgning p\u00e5 blodtryk\u201d</Subject>",
        ),
    )
    assert b"\x93" in raw
    communication = resource(translate_one(raw), "Communication")
    assert communication["topic"]["text"] == "\u201cOpfølgning på blodtryk\u201d"


@pytest.mark.parametrize("encoding", ["Shift_JIS", "no-such-charset"])
def test_unsupported_declared_encoding(encoding: str) -> None:
    raw = sample(DIS20).replace(b"windows-1252", encoding.encode(), 1)
    error = refusal(raw)
    assert error.where == "XML declaration"
    assert encoding in error.what


def test_utf16_is_refused() -> None:
    error = refusal(b"\xff\xfe" + sample_text(DIS20).encode("utf-16-le"))
    assert (error.where, "UTF-16" in error.what) == ("payload", True)


# --- hostile XML --------------------------------------------------------------------------


def test_external_entity_is_refused_and_never_read() -> None:
    raw = edited(
        DIS91,
        (
            '<?xml version="1.0" encoding="windows-1252"?>',
            '<?xml version="1.0" encoding="windows-1252"?>\n<!DOCTYPE Emessage [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>',
        ),
        ("<Subject>Opfølgning på blodtryk</Subject>", "<Subject>&xxe;</Subject>"),
    )
    error = refusal(raw)
    assert error.where == "DOCTYPE"
    assert "root:" not in error.what


def test_entity_expansion_bomb_is_refused() -> None:
    entities = '<!ENTITY a0 "boom">' + "".join(
        f'<!ENTITY a{n} "{f"&a{n - 1};" * 10}">' for n in range(1, 10)
    )
    raw = edited(
        DIS91,
        (
            '<?xml version="1.0" encoding="windows-1252"?>',
            f'<?xml version="1.0" encoding="windows-1252"?>\n<!DOCTYPE Emessage [{entities}]>',
        ),
        ("<Subject>Opfølgning på blodtryk</Subject>", "<Subject>&a9;</Subject>"),
    )
    assert refusal(raw).where == "DOCTYPE"


def test_not_well_formed() -> None:
    raw = sample(REF01).replace(b"</Envelope>", b"</Envelop>", 1)
    error = refusal(raw)
    assert error.where == "line 10"
    assert "not well-formed" in error.what


@pytest.mark.parametrize("payload", [b"", b"   \r\n", b"\xef\xbb\xbf"])
def test_empty_payload(payload: bytes) -> None:
    assert refusal(payload).where == "payload"


# --- refusals: what and where ------------------------------------------------------------------


def test_unknown_root_names_what_is_accepted() -> None:
    error = refusal(b'<Bundle xmlns="http://hl7.org/fhir"><id value="x"/></Bundle>')
    assert error.where == "/Bundle"
    assert "Emessage" in error.what


def test_emessage_outside_the_medcom_namespace() -> None:
    raw = sample(DIS20).replace(
        b"http://rep.oio.dk/sundcom.dk/medcom.dk/xml/schemas/2005/08/07/", b"urn:example", 1
    )
    assert refusal(raw).where == "/Emessage"


def test_unknown_letter_type_names_the_accepted_ones() -> None:
    raw = sample(DIS91).replace(b"ClinicalEmail>", b"LaboratoryReport>")
    error = refusal(raw)
    assert error.where == "/Emessage/LaboratoryReport"
    assert "LaboratoryReport letters are not accepted" in error.what
    for accepted in (
        "NotificationOfAdmission (XDIS20)",
        "NotificationOfDischarge (XDIS17)",
        "ClinicalEmail (XDIS91)",
        "HospitalReferral (XREF01)",
        "DischargeLetter (XDIS01)",
        "AdministrativeEmail (XDIS90)",
    ):
        assert accepted in error.what


def test_emessage_without_letters() -> None:
    error = refusal(without(DIS20, r"<NotificationOfAdmission>.*</NotificationOfAdmission>"))
    assert "holds no letter" in error.what


@pytest.mark.parametrize(
    ("name", "pattern", "where"),
    [
        (
            DIS20,
            rf"<CivilRegistrationNumber>{CPR}</CivilRegistrationNumber>",
            f"{ADMISSION}/Patient/CivilRegistrationNumber",
        ),
        (DIS20, r"<Patient>.*</Patient>", f"{ADMISSION}/Patient"),
        (DIS20, r"<Admission>.*</Admission>", f"{ADMISSION}/Admission"),
        (
            DIS20,
            rf"<NotificationIdentifier>{STAY}</NotificationIdentifier>",
            f"{ADMISSION}/Letter/NotificationIdentifier",
        ),
        (DIS20, r"<Letter>.*</Letter>", f"{ADMISSION}/Letter"),
        (DIS20, r"<Sender>.*</Sender>", f"{ADMISSION}/Sender"),
        (
            DIS20,
            rf"<EANIdentifier>{HOSPITAL_GLN}</EANIdentifier>(?=<Identifier>)",
            f"{ADMISSION}/Sender/EANIdentifier",
        ),
        (DIS20, r"<Envelope>.*</Envelope>", "/Emessage/Envelope"),
        (DIS17, r"<Discharge>.*</Discharge>", f"{DISCHARGE}/Discharge"),
        (
            DIS17,
            rf"<NotificationIdentifier>{STAY}</NotificationIdentifier>",
            f"{DISCHARGE}/Letter/NotificationIdentifier",
        ),
        (
            DIS17,
            r"<TimeWithSec>13:24:10</TimeWithSec>",
            f"{DISCHARGE}/Letter/Authorisation/Time",
        ),
        (DIS91, r"<Receiver>.*</Receiver>", f"{EMAIL}/Receiver"),
        (DIS91, r"<Identifier>BREV55120</Identifier>", f"{EMAIL}/Letter/Identifier"),
        (DIS91, r"<TypeCode>XDIS91</TypeCode>", f"{EMAIL}/Letter/TypeCode"),
        (REF01, r"<Receiver>.*</Receiver>", f"{REFERRAL}/Receiver"),
        (REF01, r"<Date>2024-09-02</Date>", f"{REFERRAL}/Letter/Authorisation/Date"),
    ],
)
def test_missing_mandatory_element(name: str, pattern: str, where: str) -> None:
    error = refusal(without(name, pattern))
    assert error.where == where
    assert "missing" in error.what


def test_empty_mandatory_element() -> None:
    raw = edited(DIS20, (f"<NotificationIdentifier>{STAY}<", "<NotificationIdentifier> <"))
    error = refusal(raw)
    assert (error.where, "empty" in error.what) == (
        f"{ADMISSION}/Letter/NotificationIdentifier",
        True,
    )


def test_bad_cpr_is_not_echoed() -> None:
    raw = edited(
        DIS20, (f"<CivilRegistrationNumber>{CPR}<", "<CivilRegistrationNumber>3903481236<")
    )
    error = refusal(raw)
    assert error.where == f"{ADMISSION}/Patient/CivilRegistrationNumber"
    assert "3903481236" not in error.what


def test_cpr_and_replacement_number_together_are_refused() -> None:
    raw = edited(
        DIS91,
        (
            "<PersonSurnameName>",
            "<AlternativeIdentifier>X123456789</AlternativeIdentifier><PersonSurnameName>",
        ),
    )
    assert refusal(raw).where == f"{EMAIL}/Patient/AlternativeIdentifier"


def test_replacement_number_keys_a_patient_without_cpr() -> None:
    raw = edited(
        REF01,
        (
            f"<CivilRegistrationNumber>{REFERRED_CPR}</CivilRegistrationNumber>",
            "<AlternativeIdentifier>1811RX0042</AlternativeIdentifier>",
        ),
    )
    translation = translate_one(raw)
    system = f"urn:brobygger:alternative-identifier:{ORG}"
    assert translation.patient_key == f"{system}|1811RX0042"
    assert resource(translation, "Patient")["identifier"] == [
        {"system": system, "value": "1811RX0042"}
    ]


def test_a_replacement_number_that_could_not_key_a_patient_is_refused() -> None:
    raw = edited(
        REF01,
        (
            f"<CivilRegistrationNumber>{REFERRED_CPR}</CivilRegistrationNumber>",
            "<AlternativeIdentifier>1811|X0042</AlternativeIdentifier>",
        ),
    )
    error = refusal(raw)
    assert error.where is not None and error.where.endswith("/Patient/AlternativeIdentifier")
    assert "1811" not in error.what


def test_repeated_single_element() -> None:
    raw = edited(
        DIS20,
        (
            f"<CivilRegistrationNumber>{CPR}</CivilRegistrationNumber>",
            f"<CivilRegistrationNumber>{CPR}</CivilRegistrationNumber><CivilRegistrationNumber>0101709995</CivilRegistrationNumber>",
        ),
    )
    assert refusal(raw).where == f"{ADMISSION}/Patient/CivilRegistrationNumber[2]"


@pytest.mark.parametrize(
    ("old", "new", "where"),
    [
        (
            "<Admission><Date>2024-03-11<",
            "<Admission><Date>2024-02-30<",
            f"{ADMISSION}/Admission/Date",
        ),
        (
            "<Admission><Date>2024-03-11<",
            "<Admission><Date>11.03.2024<",
            f"{ADMISSION}/Admission/Date",
        ),
        (
            "<Time>08:55</Time></Admission>",
            "<Time>25:55</Time></Admission>",
            f"{ADMISSION}/Admission/Time",
        ),
        (
            "<Time>08:55</Time></Admission>",
            "<Time>0855</Time></Admission>",
            f"{ADMISSION}/Admission/Time",
        ),
    ],
)
def test_bad_date_or_time(old: str, new: str, where: str) -> None:
    assert refusal(edited(DIS20, (old, new))).where == where


def test_type_code_must_match_the_letter() -> None:
    error = refusal(edited(DIS20, ("<TypeCode>XDIS20<", "<TypeCode>XDIS17<")))
    assert error.where == f"{ADMISSION}/Letter/TypeCode"
    assert "XDIS20" in error.what


def test_correspondence_cannot_be_cancelled() -> None:
    error = refusal(edited(DIS91, ("<StatusCode>nytbrev<", "<StatusCode>annulleretbrev<")))
    assert error.where == f"{EMAIL}/Letter/StatusCode"


@pytest.mark.parametrize(
    ("name", "old", "new", "where"),
    [
        (
            DIS20,
            "<EpisodeOfCareStatusCode>indlagt<",
            "<EpisodeOfCareStatusCode>ambulant<",
            f"{ADMISSION}/Patient/EpisodeOfCareStatusCode",
        ),
        (
            DIS17,
            "<EpisodeOfCareStatusCode>udskrevet_til_hjemmet<",
            "<EpisodeOfCareStatusCode>indlagt<",
            f"{DISCHARGE}/Patient/EpisodeOfCareStatusCode",
        ),
        (
            DIS91,
            "<Priority>høj_prioritet<",
            "<Priority>akut<",
            f"{EMAIL}/AdditionalInformation/Priority",
        ),
        (
            REF01,
            "<Priority>elektiv<",
            "<Priority>snarest<",
            f"{REFERRAL}/AdditionalInformation/Priority",
        ),
        (
            REF01,
            "SKSdiagnosekode</DiagnoseTypeCode>\n                <DiagnoseText>Hjerte",
            "ICD10</DiagnoseTypeCode>\n                <DiagnoseText>Hjerte",
            f"{REFERRAL}/Referral/Refer/DiagnoseTypeCode",
        ),
        (
            DIS91,
            "<IdentifierCode>ydernummer<",
            "<IdentifierCode>cvr<",
            f"{EMAIL}/Receiver/IdentifierCode",
        ),
    ],
)
def test_value_outside_its_code_list(name: str, old: str, new: str, where: str) -> None:
    error = refusal(edited(name, (old, new)))
    assert error.where == where
    assert "expected one of" in error.what


def test_referral_special_circumstances_priority_is_kept_as_a_note() -> None:
    request = resource(
        translate_one(edited(REF01, ("<Priority>elektiv<", "<Priority>saerlige_forhold<"))),
        "ServiceRequest",
    )
    assert "priority" not in request
    assert {"text": "Prioritet: saerlige_forhold"} in request["note"]


# --- several letters in one Emessage ----------------------------------------------------------


def _two_letters(second: str) -> bytes:
    """The correspondence sample with ``second`` as a further letter after its ClinicalEmail."""
    text = sample_text(DIS91)
    return text.replace("</ClinicalEmail>", "</ClinicalEmail>" + second, 1).encode("cp1252")


def test_two_letters_in_one_emessage() -> None:
    letter = re.search(r"<ClinicalEmail>.*</ClinicalEmail>", sample_text(DIS91), flags=re.DOTALL)
    assert letter is not None
    translations = ADAPTER.translate(
        _two_letters(letter.group().replace("BREV55120", "BREV55121")), SENDER
    )
    assert [t.source_id for t in translations] == ["XDIS91:BREV55120", "XDIS91:BREV55121"]
    assert {t.facts["envelope_identifier"] for t in translations} == {"KUV88213"}


def test_a_bad_second_letter_refuses_the_whole_emessage() -> None:
    letter = re.search(r"<ClinicalEmail>.*</ClinicalEmail>", sample_text(DIS91), flags=re.DOTALL)
    assert letter is not None
    second = letter.group().replace(f"<CivilRegistrationNumber>{CPR}</CivilRegistrationNumber>", "")
    error = refusal(_two_letters(second))
    assert error.where == f"{EMAIL}[2]/Patient/CivilRegistrationNumber"
    assert error.what.startswith("letter 2 of 2 in the Emessage")


# --- properties ------------------------------------------------------------------------


PROPERTY_SETTINGS = settings(
    max_examples=150,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)


def _outcome(raw: bytes) -> None:
    """The contract (tests/support/adapter_contract.py), and a letter's Patient first."""
    for translation in outcome(ADAPTER, raw, SENDER) or ():
        assert translation.resources[0]["resourceType"] == "Patient"


# Seeds for mutation: the samples, and the corpus letters when the corpus is present.
_SEED_BYTES = [sample(name) for name in SAMPLE_FILES] + (
    [corpus(name) for name in CORPUS_FILES] if CORPUS_PRESENT else []
)


@PROPERTY_SETTINGS
@given(st.data())
def test_mutated_letters(data: st.DataObject) -> None:
    raw = bytearray(data.draw(st.sampled_from(_SEED_BYTES)))
    for _ in range(data.draw(st.integers(1, 4))):
        position = data.draw(st.integers(0, len(raw) - 1))
        action = data.draw(st.sampled_from(["flip", "delete", "insert"]))
        if action == "flip":
            raw[position] = data.draw(st.integers(0, 255))
        elif action == "delete":
            del raw[position : position + data.draw(st.integers(1, 40))]
        else:
            raw[position:position] = data.draw(
                st.sampled_from(
                    [
                        b"<",
                        b">",
                        b"&",
                        b"&#0;",
                        b"<Break/>",
                        b"\xe6",
                        b"\xc3",
                        b"</Patient>",
                        b"<!DOCTYPE x>",
                        b"<Letter>",
                        b"-",
                    ]
                )
            )
        if not raw:
            break
    _outcome(bytes(raw))


@PROPERTY_SETTINGS
@given(st.data())
def test_letters_with_an_element_removed_or_its_text_replaced(data: st.DataObject) -> None:
    text = data.draw(st.sampled_from(_SEED_BYTES)).decode("cp1252")
    elements = list(re.finditer(r"<([A-Za-z0-9_]+)>([^<]*)</\1>", text))
    match = data.draw(st.sampled_from(elements))
    replacement = data.draw(
        st.one_of(
            st.just(""),
            st.text(max_size=30).map(lambda s: f"<{match.group(1)}>{s}</{match.group(1)}>"),
        )
    )
    mutated = text[: match.start()] + replacement + text[match.end() :]
    _outcome(mutated.encode("utf-8"))


# --- DIS01 discharge letter and DIS90 administrative email --------------------------------

GP = {"type": "Organization", "identifier": {"system": "urn:oid:1.3.88", "value": "5790000503131"}}
HOME_CARE = {
    "type": "Organization",
    "identifier": {"system": "urn:oid:1.3.88", "value": "5790000503155"},
}


def test_sample_dis01_is_a_discharge_letter_addressed_to_the_gp_and_home_care() -> None:
    translation = translate_one(sample(DIS01))
    assert translation.event == "DIS01"
    assert translation.source_id == "XDIS01:EPI0409021"
    patient, letter = translation.resources
    assert patient["resourceType"] == "Patient"
    assert letter["resourceType"] == "Communication"
    assert letter["id"] == resource_id("Communication", ORG, "XDIS01", "EPI0409021")
    assert letter["category"][0]["coding"][0]["code"] == "18842-5"
    assert letter["category"][0]["text"] == "Udskrivningsepikrise"
    assert [{k: r[k] for k in ("type", "identifier")} for r in letter["recipient"]] == [
        GP,
        HOME_CARE,
    ]
    assert letter["recipient"][1]["display"] == "Randers Kommune, Hjemmeplejen"
    assert [concept["text"] for concept in letter["reasonCode"]] == [
        "Urinvejsinfektion",
        "Delirium ved demens",
    ]
    [text] = [part["contentString"] for part in letter["payload"]]
    assert text.startswith("Indlagt akut fra plejebolig med feber og forvirring.\n")
    assert "Hjemmeplejen: væskeskema i 3 dage" in text  # windows-1252 read as declared
    assert translation.facts["admission"] == "2024-04-02T03:10:00+02:00"
    assert translation.facts["discharge"] == "2024-04-09T11:15:00+02:00"
    assert translation.facts["charset"] == "windows-1252"


def test_the_discharge_letter_reaches_the_organisations_it_is_addressed_to() -> None:
    letter = translate_one(sample(DIS01)).resources[1]
    item = Item("Communication", letter["id"], "hospital", ORG, letter)
    assert addressees(item) == {"gln:5790000503131", "gln:5790000503155"}


def test_sample_dis90_is_an_administrative_communication_to_the_kommune() -> None:
    translation = translate_one(sample(DIS90))
    assert translation.event == "DIS90"
    _, email = translation.resources
    assert email["resourceType"] == "Communication"
    assert email["category"] == [{"text": "Administrativ e-mail"}]
    assert email["topic"] == {"text": "Forventet udskrivelse tirsdag"}
    assert email["priority"] == "routine"
    assert [{k: r[k] for k in ("type", "identifier")} for r in email["recipient"]] == [HOME_CARE]
    assert "Plejecentret bedes være klar" in email["payload"][0]["contentString"]


@pytest.mark.parametrize("name", [DIS01, DIS90])
def test_letters_declared_iso_8859_1_read_the_same(name: str) -> None:
    raw = sample(name)
    latin1 = raw.replace(b'encoding="windows-1252"', b'encoding="ISO-8859-1"', 1)
    assert translate_one(latin1).resources == translate_one(raw).resources


def test_a_discharge_letter_without_a_receiver_is_refused() -> None:
    raw = re.sub(rb"<Receiver>.*?</Receiver>", b"", sample(DIS01), count=1)
    assert refusal(raw).where == "/Emessage/DischargeLetter/Receiver"
