"""The consent rules by data controller, with two controllers of every kind.

Two regions (each a somatic hospital and psychiatry), two kommuner (each two units),
two general practices. Scenarios from ../shared/domain.md: what each party sees of
another's data, addressed messages, and who may open what with a consent.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from hub.domain.consent import (
    PSYCHIATRY_LABEL,
    Item,
    PatientConsent,
    Viewer,
    Visibility,
    decide,
    read_consent,
    shown,
)
from hub.domain.controllers import (
    PATIENT,
    ControllerError,
    checked_controller,
    default_controller,
)
from hub.domain.identifiers import SOR_SYSTEM
from hub.domain.sectors import Sector
from hub.domain.sensitivity import PSYCHIATRY_LABEL as PSY_CODING
from hub.services.auth import Principal
from hub.services.consent.read import viewer_of

NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)

MIDT = "sor:1000001"  # Region Midtjylland
SJAELLAND = "sor:2000001"  # Region Sjælland

RANDERS_HOSPITAL = Viewer(Sector.HOSPITAL, "1000011", controller=MIDT)
RANDERS_PSYCHIATRY = Viewer(Sector.PSYCHIATRY, "1000021", controller=MIDT)
HOLBAEK_HOSPITAL = Viewer(Sector.HOSPITAL, "2000011", controller=SJAELLAND)
RANDERS_HOME_CARE = Viewer(Sector.MUNICIPALITY, "7300001", "730")
RANDERS_ADDICTION = Viewer(Sector.MUNICIPALITY, "7300002", "730")
NORDDJURS_HOME_CARE = Viewer(Sector.MUNICIPALITY, "7070001", "707")
PRACTICE_A = Viewer(Sector.GP, "3000001")
PRACTICE_B = Viewer(Sector.GP, "3000002")


def item(author: Viewer, resource_type: str = "Encounter", **content: Any) -> Item:
    resource = {"resourceType": resource_type, "id": f"{author.org}-1", **content}
    if author.sector is Sector.PSYCHIATRY:
        resource["meta"] = {"security": [dict(PSY_CODING)]}
    return Item(
        resource_type,
        f"{author.org}-1",
        author.sector.value,
        author.org,
        resource,
        start=NOW - timedelta(days=3),
        end=NOW - timedelta(days=1),
        controller=author.controller,
    )


def permit(recorder: Viewer | None, *names: Viewer, **provision: Any) -> PatientConsent:
    """A permit naming ``names``, recorded by ``recorder`` (None: by the patient)."""
    actors = [{"reference": {"identifier": {"system": SOR_SYSTEM, "value": v.org}}} for v in names]
    return read_consent(
        {
            "resourceType": "Consent",
            "id": "c",
            "status": "active",
            "provision": {"type": "permit", "actor": actors, **provision},
        },
        custodian=recorder.controller if recorder else PATIENT,
        recorder_sector=recorder.sector.value if recorder else "",
    )


def refusal(recorder: Viewer, *names: Viewer) -> PatientConsent:
    actors = [{"reference": {"identifier": {"system": SOR_SYSTEM, "value": v.org}}} for v in names]
    return read_consent(
        {
            "resourceType": "Consent",
            "id": "r",
            "status": "active",
            "provision": {"type": "deny", **({"actor": actors} if actors else {})},
        },
        custodian=recorder.controller,
        recorder_sector=recorder.sector.value,
    )


def see(
    viewer: Viewer, thing: Item, *consents: PatientConsent, kommune: str | None = None
) -> Visibility:
    return decide(viewer, thing, list(consents), patient_kommune=kommune, now=NOW)


def test_a_kommune_sees_its_own_units_and_never_another_kommunes() -> None:
    grant = item(RANDERS_HOME_CARE, "ServiceRequest", status="active")
    assert see(RANDERS_ADDICTION, grant) is Visibility.FULL
    assert see(NORDDJURS_HOME_CARE, grant) is Visibility.HIDDEN
    # Not even as the patient's (claimed) residence municipality.
    assert see(NORDDJURS_HOME_CARE, grant, kommune="707") is Visibility.HIDDEN


def test_a_practice_never_sees_another_practices_records() -> None:
    referral = item(PRACTICE_A, "ServiceRequest", status="active")
    assert see(PRACTICE_A, referral) is Visibility.FULL
    assert see(PRACTICE_B, referral) is Visibility.HIDDEN


def test_a_region_sees_its_hospitals_but_somatics_not_its_psychiatry() -> None:
    stay = item(RANDERS_HOSPITAL)
    psychiatric_stay = item(RANDERS_PSYCHIATRY)
    other_ward = Viewer(Sector.HOSPITAL, "1000012", controller=MIDT)
    assert see(other_ward, stay) is Visibility.FULL
    assert see(RANDERS_PSYCHIATRY, stay) is Visibility.FULL
    assert see(other_ward, psychiatric_stay) is Visibility.HIDDEN
    assert see(HOLBAEK_HOSPITAL, stay) is Visibility.HIDDEN


def test_a_permit_discloses_only_its_custodians_data() -> None:
    """The GP records a consent naming itself: it opens nothing the GP does not hold."""
    stay = item(RANDERS_HOSPITAL)
    self_granted = permit(PRACTICE_A, PRACTICE_A)
    assert see(PRACTICE_A, stay, self_granted) is Visibility.HIDDEN
    by_the_hospital = permit(RANDERS_HOSPITAL, PRACTICE_A)
    assert see(PRACTICE_A, stay, by_the_hospital) is Visibility.FULL
    # The region's consent covers its own data only, not another region's.
    assert see(PRACTICE_A, item(HOLBAEK_HOSPITAL), by_the_hospital) is Visibility.HIDDEN


def test_the_patients_own_consent_covers_every_controllers_data() -> None:
    by_the_patient = permit(None, PRACTICE_A)
    assert see(PRACTICE_A, item(RANDERS_HOSPITAL), by_the_patient) is Visibility.FULL
    assert see(PRACTICE_A, item(NORDDJURS_HOME_CARE), by_the_patient) is Visibility.FULL
    # Psychiatry still needs the patient to name it.
    psychiatric_stay = item(RANDERS_PSYCHIATRY)
    assert see(PRACTICE_A, psychiatric_stay, by_the_patient) is Visibility.HIDDEN
    naming = permit(None, PRACTICE_A, securityLabel=[{"code": PSYCHIATRY_LABEL}])
    assert see(PRACTICE_A, psychiatric_stay, naming) is Visibility.FULL


@pytest.mark.parametrize(
    "recorder",
    [PRACTICE_A, RANDERS_HOSPITAL, HOLBAEK_HOSPITAL, RANDERS_HOME_CARE],
    ids=["the GP", "the region's somatic ward", "another region", "the kommune"],
)
def test_only_psychiatry_of_the_holding_controller_opens_psychiatry_data(recorder: Viewer) -> None:
    psychiatric_stay = item(RANDERS_PSYCHIATRY)
    psychiatry = {"securityLabel": [{"code": PSYCHIATRY_LABEL}]}
    forged = permit(recorder, PRACTICE_A, RANDERS_HOSPITAL, **psychiatry)
    assert see(PRACTICE_A, psychiatric_stay, forged) is Visibility.HIDDEN
    assert see(RANDERS_HOSPITAL, psychiatric_stay, forged) is Visibility.HIDDEN
    proper = permit(RANDERS_PSYCHIATRY, PRACTICE_A, **psychiatry)
    assert see(PRACTICE_A, psychiatric_stay, proper) is Visibility.FULL


def test_a_referral_reaches_its_addressee_and_nobody_else() -> None:
    to_addiction_centre = {"identifier": {"system": SOR_SYSTEM, "value": RANDERS_ADDICTION.org}}
    referral = item(RANDERS_HOSPITAL, "ServiceRequest", performer=[to_addiction_centre])
    assert see(RANDERS_ADDICTION, referral) is Visibility.ADDRESSED
    content = shown(RANDERS_ADDICTION, referral, Visibility.ADDRESSED, [], NOW)
    assert content == referral.content
    assert see(NORDDJURS_HOME_CARE, referral) is Visibility.HIDDEN
    # The rest of the pathway is not shown by it.
    assert see(Viewer(Sector.MUNICIPALITY, "7300002", "707"), item(RANDERS_HOSPITAL)) is (
        Visibility.HIDDEN
    )
    # A refusal hides it from the addressee too.
    assert see(RANDERS_ADDICTION, referral, refusal(RANDERS_HOME_CARE)) is Visibility.HIDDEN


def test_a_deferred_referral_is_shown_from_the_date_it_is_deferred_to() -> None:
    """Psychiatry refers to smoking cessation but asks the kommune to wait three months."""
    cessation = {"identifier": {"system": SOR_SYSTEM, "value": RANDERS_HOME_CARE.org}}
    later = (NOW + timedelta(days=90)).isoformat()
    referral = item(
        RANDERS_PSYCHIATRY,
        "ServiceRequest",
        performer=[cessation],
        occurrencePeriod={"start": later},
    )
    assert see(RANDERS_HOME_CARE, referral) is Visibility.HIDDEN
    due = decide(
        RANDERS_HOME_CARE, referral, [], patient_kommune=None, now=NOW + timedelta(days=91)
    )
    assert due is Visibility.ADDRESSED


@pytest.mark.parametrize(
    ("resource_type", "element"),
    [
        (
            "Communication",
            {"recipient": [{"identifier": {"system": SOR_SYSTEM, "value": "3000001"}}]},
        ),
        ("Task", {"owner": {"identifier": {"system": SOR_SYSTEM, "value": "3000001"}}}),
        (
            "Task",
            {
                "restriction": {
                    "recipient": [{"identifier": {"system": SOR_SYSTEM, "value": "3000001"}}]
                }
            },
        ),
        (
            "Communication",
            {"recipient": [{"identifier": {"system": "urn:oid:1.3.88", "value": "5790000123456"}}]},
        ),
    ],
    ids=["letter", "task owner", "cohort proposal", "letter by GLN"],
)
def test_letters_and_tasks_reach_their_addressee(
    resource_type: str, element: dict[str, Any]
) -> None:
    letter = item(RANDERS_HOSPITAL, resource_type, **element)
    practice = Viewer(Sector.GP, "3000001", aliases=frozenset({"gln:5790000123456"}))
    assert see(practice, letter) is Visibility.ADDRESSED
    assert see(PRACTICE_B, letter) is Visibility.HIDDEN


def test_relatives_follow_the_custodian_of_the_patient_record() -> None:
    patient = item(RANDERS_HOSPITAL, "Patient", contact=[{"name": {"family": "Søster"}}])
    everything = permit(RANDERS_HOSPITAL, PRACTICE_A)
    relatives = permit(PRACTICE_A, PRACTICE_A, **{"class": [{"code": "RelatedPerson"}]})
    visibility = see(PRACTICE_A, patient, everything, relatives)
    assert visibility is Visibility.FULL
    content = shown(PRACTICE_A, patient, visibility, [everything, relatives], NOW)
    assert content is not None and "contact" not in content  # the GP cannot open them
    named = permit(RANDERS_HOSPITAL, PRACTICE_A, **{"class": [{"code": "RelatedPerson"}]})
    content = shown(PRACTICE_A, patient, visibility, [everything, named], NOW)
    assert content is not None and "contact" in content


def test_a_tokens_controller_is_checked_and_defaults_safely() -> None:
    assert default_controller(Sector.MUNICIPALITY, "7300001", "730") == "kommune:730"
    assert default_controller(Sector.HOSPITAL, "1000011", None) == "sor:1000011"
    assert checked_controller("sor:1000001", Sector.HOSPITAL, None) == "sor:1000001"
    # A fremskudt behandler employed by the kommune.
    assert checked_controller("kommune:730", Sector.COORDINATOR, None) == "kommune:730"
    for bad, sector, kommune in (
        ("kommune:707", Sector.MUNICIPALITY, "730"),  # not its own kommune
        ("patient", Sector.GP, None),  # only the hub writes the patient's custodian
        ("kommune:730", Sector.GP, None),  # a practice's data is never a kommune's
        ("sor:1; drop", Sector.GP, None),
    ):
        with pytest.raises(ControllerError, match="controller"):
            checked_controller(bad, sector, kommune)


def test_a_letter_addressed_by_a_location_number_the_directory_knows_reaches_its_holder() -> None:
    """The token names no GLN; the directory says the practice is located at one."""
    practice = Principal("læge", Sector.GP, "3000001", located_at=frozenset({"gln:5790000123456"}))
    by_gln = {"recipient": [{"identifier": {"system": "urn:oid:1.3.88", "value": "5790000123456"}}]}
    letter = item(RANDERS_HOSPITAL, "Communication", **by_gln)
    assert see(viewer_of(practice), letter) is Visibility.ADDRESSED
    assert see(viewer_of(Principal("læge", Sector.GP, "3000001")), letter) is Visibility.HIDDEN
