"""One-line Danish summaries of pathway entries, as Danish staff read them."""

from __future__ import annotations

from hub.domain.consent import NOTIFICATION_FIELDS
from hub.domain.identifiers import CPR_SYSTEM, SOR_SYSTEM
from hub.domain.pathway_codes import PATHWAY_EVENTS
from hub.domain.summaries import danish_date, summarise

ROUND_TABLE = {"coding": [{"system": PATHWAY_EVENTS, "code": "rundbordsmoede"}]}
STAY = {
    "resourceType": "Encounter",
    "id": "e1",
    "status": "finished",
    "class": {"code": "IMP"},
    "type": [{"text": "Alkoholabstinens"}],
    "reasonCode": [{"text": "delirium tremens"}],
    "period": {"start": "2026-11-22T08:00:00+01:00", "end": "2026-11-25T11:30:00+01:00"},
    "location": [{"location": {"display": "Medicinsk afd. 3"}, "status": "completed"}],
    "serviceProvider": {
        "identifier": {"system": SOR_SYSTEM, "value": "100000001"},
        "display": "Regionshospitalet Randers",
    },
}


def test_a_finished_stay_reads_as_staff_say_it() -> None:
    plain_stay = {k: v for k, v in STAY.items() if k != "type"}
    assert (
        summarise(plain_stay) == "Indlagt på Medicinsk afd. 3, 22.11.2026 – 25.11.2026 (afsluttet)"
    )


def test_a_current_stay_and_a_leave() -> None:
    current = {**STAY, "type": [], "status": "in-progress", "period": {"start": "2026-11-22"}}
    assert summarise(current) == "Indlagt på Medicinsk afd. 3, fra 22.11.2026 (igangværende)"
    assert summarise({**current, "status": "onleave"}).endswith("(på orlov)")


def test_a_notified_municipality_reads_the_hospital_never_the_ward_or_reason() -> None:
    notified = {k: v for k, v in STAY.items() if k in NOTIFICATION_FIELDS}
    line = summarise(notified)
    assert line == "Indlagt på Regionshospitalet Randers, 22.11.2026 – 25.11.2026 (afsluttet)"
    for hidden in ("Medicinsk", "Alkohol", "delirium"):
        assert hidden not in line


def test_a_provider_without_a_name_is_named_by_its_sor_code() -> None:
    bare = {
        "resourceType": "Encounter",
        "status": "in-progress",
        "class": {"code": "EMER"},
        "period": {"start": "2026-11-22T23:30:00Z"},
        "serviceProvider": {"identifier": {"system": SOR_SYSTEM, "value": "100000001"}},
    }
    # 23:30 UTC is past midnight in Denmark.
    assert summarise(bare) == "Akut ophold på SOR 100000001, fra 23.11.2026 (igangværende)"


def test_a_referral_names_what_to_whom_and_when() -> None:
    referral = {
        "resourceType": "ServiceRequest",
        "status": "active",
        "code": {"text": "Henvisning til kommunalt rygestopforløb"},
        "occurrencePeriod": {"start": "2025-06-10"},
        "authoredOn": "2025-03-10T11:05:00+01:00",
        "performer": [{"display": "Randers Kommune, Rygestop"}],
        "note": [{"text": "Ring først i juni"}],
    }
    assert summarise(referral) == (
        "Henvisning til kommunalt rygestopforløb, til Randers Kommune, Rygestop, "
        "fra 10.06.2025 (aktiv)"
    )


def test_a_round_table_meeting_its_plan_and_an_action() -> None:
    meeting = {
        "resourceType": "Appointment",
        "status": "booked",
        "serviceType": [ROUND_TABLE],
        "reasonCode": [{"text": "Tre akutte indlæggelser på et halvt år"}],
        "start": "2026-12-03T09:00:00Z",
    }
    assert summarise(meeting) == (
        "Rundbordsmøde: Tre akutte indlæggelser på et halvt år, 03.12.2026 kl. 10.00 (aftalt)"
    )
    unscheduled = {**meeting, "status": "proposed", "reasonCode": []}
    del unscheduled["start"]
    assert summarise(unscheduled) == "Rundbordsmøde, tid ikke fastlagt (foreslået)"
    plan = {
        "resourceType": "CarePlan",
        "status": "active",
        "category": [ROUND_TABLE],
        "title": "Fælles plan",
        "author": {"identifier": {"system": SOR_SYSTEM, "value": "730"}, "display": "Randers"},
    }
    assert summarise(plan) == "Plan fra rundbordsmøde: Fælles plan, tovholder Randers (aktiv)"
    task = {
        "resourceType": "Task",
        "status": "requested",
        "description": "Bolig\n<b>anvist</b>",
        "owner": {"display": "Boligsocialt team"},
        "restriction": {"period": {"end": "2026-12-01"}},
    }
    assert summarise(task) == (
        "Opgave: Bolig anvist, ansvarlig Boligsocialt team, frist 01.12.2026 (anmodet)"
    )


def test_correspondence_consent_and_flag() -> None:
    letter = {
        "resourceType": "Communication",
        "status": "completed",
        "sender": {"display": "Medicinsk afd. 3"},
        "recipient": [{"display": "Randers Kommune"}],
        "topic": {"text": "Udskrivelse"},
        "sent": "2026-11-24T10:00:00+01:00",
        "payload": [{"contentString": "Patienten har det godt"}],
    }
    assert summarise(letter) == (
        "Korrespondance fra Medicinsk afd. 3 til Randers Kommune: Udskrivelse, 24.11.2026 (sendt)"
    )
    consent = {
        "resourceType": "Consent",
        "status": "active",
        "dateTime": "2026-11-22T09:00:00+01:00",
        "provision": {
            "type": "permit",
            "actor": [{"reference": {"identifier": {"system": SOR_SYSTEM, "value": "555"}}}],
        },
    }
    assert summarise(consent) == "Samtykke til deling med SOR 555, 22.11.2026 (gældende)"
    flag = {
        "resourceType": "Flag",
        "status": "active",
        "code": {
            "coding": [
                {"system": PATHWAY_EVENTS, "code": "faerdigbehandlet", "display": "Færdigbehandlet"}
            ]
        },
        "period": {"start": "2026-11-24"},
    }
    assert summarise(flag) == "Færdigbehandlet, fra 24.11.2026 (aktiv)"
    # A flag is named by what it marks, not by the reason in its text.
    flag["code"] = {**flag["code"], "text": "Venter på botilbud siden mandag"}
    assert summarise(flag) == "Færdigbehandlet, fra 24.11.2026 (aktiv)"


def test_a_summary_never_names_a_person_by_cpr_nor_a_withheld_reference() -> None:
    task = {
        "resourceType": "Task",
        "status": "requested",
        "owner": {"identifier": {"system": CPR_SYSTEM, "value": "0101709995"}},
        "basedOn": [{"display": "withheld"}],
    }
    line = summarise(task)
    assert "0101709995" not in line and "withheld" not in line
    assert summarise({**task, "owner": {"display": "withheld"}}) == "Opgave (anmodet)"


def test_partial_dates_keep_their_precision() -> None:
    assert danish_date("2013") == "2013"
    assert danish_date("2013-05") == "05.2013"
    assert danish_date("2013-05-23") == "23.05.2013"
