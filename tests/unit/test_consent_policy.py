"""The consent rules, scenario by scenario (the workflows of ../shared/domain.md)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from hub.domain.consent import (
    DEFAULT_POLICY,
    PSYCHIATRY_LABEL,
    SECTOR_ROLE_SYSTEM,
    Item,
    PatientConsent,
    Policy,
    Viewer,
    Visibility,
    decide,
    read_consent,
    residence_kommune,
    shown,
)
from hub.domain.identifiers import SOR_SYSTEM
from hub.domain.sectors import Sector
from hub.domain.sensitivity import PSYCHIATRY_LABEL as PSY_CODING

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
RANDERS = "730"
RUSMIDDELCENTER = "111111111"  # the municipal addiction centre
SOCIALCENTER = "222222222"  # municipal social services
HOME_CARE = "333333333"

MUNICIPAL_ADDICTION = Viewer(Sector.MUNICIPALITY, RUSMIDDELCENTER, RANDERS)
MUNICIPAL_SOCIAL = Viewer(Sector.MUNICIPALITY, SOCIALCENTER, RANDERS)
MUNICIPAL_HOME_CARE = Viewer(Sector.MUNICIPALITY, HOME_CARE, RANDERS)
OTHER_KOMMUNE = Viewer(Sector.MUNICIPALITY, "444444444", "707")
GP = Viewer(Sector.GP, "555555555")


def stay(sector: str = "hospital", **content: Any) -> Item:
    encounter = {
        "resourceType": "Encounter",
        "id": "e1",
        "status": "finished",
        "class": {"code": "IMP"},
        "period": {"start": "2026-11-01T08:00:00+01:00", "end": "2026-11-04T12:00:00+01:00"},
        "serviceProvider": {"identifier": {"system": SOR_SYSTEM, "value": "100000001"}},
        "reasonCode": [{"text": "alcohol withdrawal"}],
        "subject": {"reference": "Patient/p"},
        **content,
    }
    if sector == "psychiatry":
        encounter["meta"] = {"security": [dict(PSY_CODING)]}
    return Item(
        "Encounter",
        "e1",
        sector,
        "100000001",
        encounter,
        start=datetime(2026, 11, 1, 7, tzinfo=UTC),
        end=datetime(2026, 11, 4, 11, tzinfo=UTC),
    )


HOSPITAL_CONTROLLER = "sor:100000001"  # the hospital of stay(), its own controller here


def consent(
    provision: dict[str, Any],
    status: str = "active",
    *,
    custodian: str = HOSPITAL_CONTROLLER,
    recorder: str = "hospital",
) -> PatientConsent:
    """A Consent recorded (by default) by the hospital that holds the stay."""
    return read_consent(
        {"resourceType": "Consent", "id": "c", "status": status, "provision": provision},
        custodian=custodian,
        recorder_sector=recorder,
    )


def to_org(sor: str) -> dict[str, Any]:
    return {"reference": {"identifier": {"system": SOR_SYSTEM, "value": sor}}}


def to_sector(sector: str) -> dict[str, Any]:
    return {"role": {"coding": [{"system": SECTOR_ROLE_SYSTEM, "code": sector}]}}


def see(
    viewer: Viewer,
    item: Item,
    *consents: PatientConsent,
    kommune: str | None = None,
    policy: Policy = DEFAULT_POLICY,
) -> Visibility:
    return decide(viewer, item, list(consents), patient_kommune=kommune, now=NOW, policy=policy)


def test_an_organisation_always_sees_what_it_wrote() -> None:
    refusal = consent({"type": "deny"})
    assert see(Viewer(Sector.HOSPITAL, "100000001"), stay(), refusal) is Visibility.FULL


def test_another_hospital_sees_nothing_without_a_shared_controller_or_consent() -> None:
    assert see(Viewer(Sector.HOSPITAL, "999"), stay()) is Visibility.HIDDEN
    region = Viewer(Sector.HOSPITAL, "999", controller=HOSPITAL_CONTROLLER)
    assert see(region, stay()) is Visibility.FULL


def test_without_consent_another_sector_sees_nothing() -> None:
    assert see(GP, stay()) is Visibility.HIDDEN
    assert see(MUNICIPAL_HOME_CARE, stay()) is Visibility.HIDDEN


def test_the_residence_municipality_sees_only_the_notification_fields() -> None:
    item = stay()
    visibility = see(MUNICIPAL_HOME_CARE, item, kommune=RANDERS)
    assert visibility is Visibility.NOTIFICATION
    content = shown(MUNICIPAL_HOME_CARE, item, visibility, [], NOW)
    assert content is not None
    assert set(content) == {"resourceType", "id", "status", "class", "period", "serviceProvider"}
    assert "alcohol" not in str(content)
    assert see(OTHER_KOMMUNE, item, kommune=RANDERS) is Visibility.HIDDEN
    assert see(MUNICIPAL_HOME_CARE, item, kommune=None) is Visibility.HIDDEN


def test_a_refusal_overrides_the_notification_basis_and_every_permit() -> None:
    permit = consent({"type": "permit", "actor": [to_sector("municipality")]})
    refusal = consent({"type": "deny", "actor": [to_sector("municipality")]})
    assert see(MUNICIPAL_HOME_CARE, stay(), permit, kommune=RANDERS) is Visibility.FULL
    assert see(MUNICIPAL_HOME_CARE, stay(), permit, refusal, kommune=RANDERS) is Visibility.HIDDEN


def test_the_psychiatry_stay_is_hidden_from_the_municipality() -> None:
    psychiatric = stay("psychiatry")
    general = consent({"type": "permit", "actor": [to_sector("municipality")]})
    assert see(MUNICIPAL_HOME_CARE, psychiatric, kommune=RANDERS) is Visibility.HIDDEN
    assert see(MUNICIPAL_HOME_CARE, psychiatric, general, kommune=RANDERS) is Visibility.HIDDEN
    naming_psychiatry = {
        "type": "permit",
        "actor": [to_sector("municipality")],
        "securityLabel": [{"code": PSYCHIATRY_LABEL}],
    }
    named = consent(naming_psychiatry, recorder="psychiatry")
    assert see(MUNICIPAL_HOME_CARE, psychiatric, named) is Visibility.FULL
    # Only psychiatry of the controller that holds it (or the patient) may open it.
    by_somatics = consent(naming_psychiatry, recorder="hospital")
    assert see(MUNICIPAL_HOME_CARE, psychiatric, by_somatics) is Visibility.HIDDEN
    notified = Policy(psychiatry_notifications=True)
    assert (
        see(MUNICIPAL_HOME_CARE, psychiatric, kommune=RANDERS, policy=notified)
        is Visibility.NOTIFICATION
    )


def test_the_outreach_counsellor_bridges_only_to_partners_the_patient_accepted() -> None:
    """The patient accepts the addiction centre, not social services."""
    accepted = consent({"type": "permit", "actor": [to_org(RUSMIDDELCENTER)]})
    assert see(MUNICIPAL_ADDICTION, stay(), accepted) is Visibility.FULL
    assert see(MUNICIPAL_SOCIAL, stay(), accepted) is Visibility.HIDDEN


def test_a_block_of_one_organisation_leaves_the_others_their_permit() -> None:
    """Min Spærring: everyone in the municipality may see, except one organisation."""
    permit = consent({"type": "permit", "actor": [to_sector("municipality")]})
    block = consent({"type": "deny", "actor": [to_org(SOCIALCENTER)]})
    assert see(MUNICIPAL_ADDICTION, stay(), permit, block) is Visibility.FULL
    assert see(MUNICIPAL_SOCIAL, stay(), permit, block) is Visibility.HIDDEN


PATIENT_WITH_A_RELATIVE = Item(
    "Patient",
    "p",
    "hospital",
    "100000001",
    {"resourceType": "Patient", "id": "p", "contact": [{"name": {"family": "Sister"}}]},
)


def test_relatives_are_cut_from_the_patient_unless_named() -> None:
    patient = PATIENT_WITH_A_RELATIVE
    permit = consent({"type": "permit", "actor": [to_org(GP.org)]})
    visibility = see(GP, patient, permit)
    assert visibility is Visibility.FULL
    assert "contact" not in (shown(GP, patient, visibility, [permit], NOW) or {})
    relatives = consent(
        {"type": "permit", "actor": [to_org(GP.org)], "class": [{"code": "RelatedPerson"}]}
    )
    assert "contact" in (shown(GP, patient, visibility, [permit, relatives], NOW) or {})


def test_nested_provisions_are_exceptions_to_their_parent() -> None:
    """Share nothing but stays with the GP; and of those, not the one in 2025."""
    nested = consent(
        {
            "type": "deny",
            "provision": [
                {
                    "type": "permit",
                    "actor": [to_org(GP.org)],
                    "class": [{"code": "Encounter"}],
                    "provision": [
                        {"type": "deny", "dataPeriod": {"start": "2025-01-01", "end": "2025-12-31"}}
                    ],
                }
            ],
        }
    )
    other = consent({"type": "permit", "actor": [to_org(HOME_CARE)]})
    assert see(GP, stay(), nested) is Visibility.FULL
    old = Item(
        "Encounter",
        "e0",
        "hospital",
        "1",
        {},
        start=datetime(2025, 3, 1, tzinfo=UTC),
        end=datetime(2025, 3, 2, tzinfo=UTC),
    )
    assert see(GP, old, nested) is Visibility.HIDDEN
    # The base "share nothing" is no refusal: another consent's permit still counts.
    assert see(MUNICIPAL_HOME_CARE, stay(), nested, other) is Visibility.FULL


def test_periods_purposes_and_revocation() -> None:
    expired = consent(
        {"type": "permit", "actor": [to_org(GP.org)], "period": {"end": "2026-06-30"}}
    )
    research_only = consent(
        {"type": "permit", "actor": [to_org(GP.org)], "purpose": [{"code": "HRESCH"}]}
    )
    revoked = consent({"type": "permit", "actor": [to_org(GP.org)]}, status="inactive")
    for useless in (expired, research_only, revoked):
        assert see(GP, stay(), useless) is Visibility.HIDDEN
    until_end_of_month = consent(  # NOW is 22 November
        {"type": "permit", "actor": [to_org(GP.org)], "period": {"end": "2026-11-30"}}
    )
    assert see(GP, stay(), until_end_of_month) is Visibility.FULL


def test_an_emergency_override_shows_everything_for_that_request() -> None:
    refusal = consent({"type": "deny"})
    emergency = Viewer(Sector.GP, GP.org, override_reason="unconscious, needs medication history")
    assert see(emergency, stay("psychiatry"), refusal) is Visibility.FULL


@pytest.mark.parametrize(
    ("address", "kommune"),
    [
        ({"district": "730"}, "730"),
        (
            {
                "extension": [
                    {
                        "url": "http://hl7.dk/fhir/core/StructureDefinition/dk-core-municipalityCodes",
                        "valueCodeableConcept": {"coding": [{"code": "707"}]},
                    }
                ]
            },
            "707",
        ),
        ({"district": "Randers"}, None),
    ],
)
def test_the_residence_municipality_is_read_from_the_address(
    address: dict[str, Any], kommune: str | None
) -> None:
    assert residence_kommune({"resourceType": "Patient", "address": [address]}) == kommune


def test_the_municipality_a_notification_was_addressed_to_is_notified() -> None:
    """MedCom HospitalNotifications carry no address, but name their receiver."""
    addressed = stay(
        extension=[
            {
                "url": "urn:brobygger:extension:notified-organisation",
                "valueIdentifier": {"system": SOR_SYSTEM, "value": HOME_CARE},
            }
        ]
    )
    visibility = see(MUNICIPAL_HOME_CARE, addressed, kommune=None)
    assert visibility is Visibility.NOTIFICATION
    content = shown(MUNICIPAL_HOME_CARE, addressed, visibility, [], NOW)
    assert content is not None and "extension" not in content
    assert see(MUNICIPAL_SOCIAL, addressed, kommune=None) is Visibility.HIDDEN
    assert see(GP, addressed) is Visibility.HIDDEN
    refusal = consent({"type": "deny"})
    assert see(MUNICIPAL_HOME_CARE, addressed, refusal) is Visibility.HIDDEN


def test_an_emergency_override_shows_the_relatives_too() -> None:
    patient = PATIENT_WITH_A_RELATIVE
    emergency = Viewer(Sector.GP, GP.org, override_reason="unconscious, next of kin needed")
    visibility = see(emergency, patient)
    assert "contact" in (shown(emergency, patient, visibility, [], NOW) or {})
