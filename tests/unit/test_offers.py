"""The offers directory's rules: what an offer says, how a search matches it, when it
is stale, which offer a referral names, and that only its owner's versions count."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import orjson

from adapters.fhir import FhirAdapter
from hub.domain.consent import MUNICIPALITY_SYSTEM
from hub.domain.inbox import InboxKind, title
from hub.domain.offers import (
    OfferSearch,
    confirmed,
    is_stale,
    named_offer,
    offer_references,
    read_offer,
    resolve_reference,
)
from hub.domain.sectors import Sector
from hub.domain.summaries import summarise
from hub.domain.translation import Sender

CONFIRMED = datetime(2026, 1, 10, 9, 0, tzinfo=UTC)
KOMMUNE_ORG = "478941000016003"
HOSPITAL_ORG = "100000001"
IDENTIFIER = {"system": "urn:randers:tilbud", "value": "alkohol-1"}


def service(**changes: Any) -> dict[str, Any]:
    resource: dict[str, Any] = {
        "resourceType": "HealthcareService",
        "id": "hs-alkohol",
        "identifier": [IDENTIFIER],
        "active": True,
        "name": "Ambulant alkoholbehandling",
        "comment": "Samtaler og medicinsk behandling uden ventetid",
        "category": [{"coding": [{"code": "rusmiddel", "display": "Rusmiddelbehandling"}]}],
        "characteristic": [{"text": "Borgere over 18 med alkoholproblemer"}],
        "telecom": [{"system": "phone", "value": "89 15 00 00"}],
        "contained": [
            {
                "resourceType": "Location",
                "id": "sted",
                "address": {"line": ["Østervold 42"], "postalCode": "8900", "city": "Randers"},
            }
        ],
        "location": [{"reference": "#sted"}],
        "coverageArea": [{"identifier": {"system": MUNICIPALITY_SYSTEM, "value": "0730"}}],
    }
    resource.update(changes)
    return resource


def offer_of(content: dict[str, Any], owner: str = KOMMUNE_ORG, **kwargs: Any) -> Any:
    return read_offer(
        content,
        owner=owner,
        last_updated=kwargs.get("at", CONFIRMED),
        version=1,
        owner_name=kwargs.get("owner_name", "Randers Kommune, Sundhed og Omsorg"),
        owner_kommune=kwargs.get("owner_kommune"),
    )


def test_an_offer_reads_its_address_contact_target_group_kommune_and_owner() -> None:
    offer = offer_of(service())
    assert offer.name == "Ambulant alkoholbehandling"
    assert offer.kommune == "730"
    assert offer.address == "Østervold 42, 8900 Randers"
    assert [c.value for c in offer.contacts] == ["89 15 00 00"]
    assert offer.target_group == ("Borgere over 18 med alkoholproblemer",)
    assert offer.categories == ("Rusmiddelbehandling",)
    assert offer.owner_name == "Randers Kommune, Sundhed og Omsorg"


def test_without_a_coverage_area_the_kommune_is_the_owners_in_the_directory() -> None:
    offer = offer_of(service(coverageArea=None, contained=None), owner_kommune="707")
    assert offer.kommune == "707"


def test_a_search_matches_kommune_category_and_every_word_of_the_text() -> None:
    offer = offer_of(service())
    assert OfferSearch(kommune="730").matches(offer)
    assert OfferSearch(kommune="0730", category="rusmiddel").matches(offer)
    assert OfferSearch(category="rusmiddelbehandling").matches(offer)
    assert OfferSearch(text="ALKOHOL over 18").matches(offer)
    assert OfferSearch(text="randers kommune").matches(offer)  # the owner's name
    assert not OfferSearch(kommune="707").matches(offer)
    assert not OfferSearch(category="bostøtte").matches(offer)
    assert not OfferSearch(text="alkohol hash").matches(offer)


def test_a_withdrawn_offer_is_found_by_no_search() -> None:
    assert not OfferSearch(kommune="730").matches(offer_of(service(active=False)))


def test_an_offer_is_stale_once_unconfirmed_for_the_period() -> None:
    offer = offer_of(service())
    period = timedelta(days=183)
    assert not is_stale(offer, CONFIRMED + period - timedelta(seconds=1), period)
    assert is_stale(offer, CONFIRMED + period, period)
    assert not is_stale(offer_of(service(active=False)), CONFIRMED + 2 * period, period)


def test_confirming_makes_a_new_content_with_one_confirmation() -> None:
    once = confirmed(service(), CONFIRMED)
    twice = confirmed(once, CONFIRMED + timedelta(days=1))
    assert once != service()
    assert len(twice["extension"]) == 1
    assert twice["extension"][0]["valueDateTime"].startswith("2026-01-11")


def test_the_unconfirmed_item_has_a_danish_title() -> None:
    heading = title(InboxKind.OFFER_UNCONFIRMED, service())
    assert heading == "Tilbud ikke bekræftet i lang tid: Ambulant alkoholbehandling"


def referral(*performer: dict[str, Any]) -> dict[str, Any]:
    return {
        "resourceType": "ServiceRequest",
        "status": "active",
        "intent": "order",
        "code": {"text": "Henvisning til rusmiddelbehandling"},
        "performer": list(performer),
    }


def test_a_referral_names_an_offer_by_id_and_its_summary_shows_the_name() -> None:
    offer = offer_of(service())
    request = referral({"reference": "https://hub.example/fhir/HealthcareService/hs-alkohol"})
    assert offer_references(request)
    named, name = named_offer(request, lambda r: resolve_reference(r, [offer], HOSPITAL_ORG))
    assert name == "Ambulant alkoholbehandling"
    assert "til Ambulant alkoholbehandling" in summarise(named)


def test_an_identifier_two_owners_use_names_neither_offer() -> None:
    """An organisation that sends a HealthcareService with the owner's identifier gets
    an offer of its own (its own hub id), and a referral by that identifier is not
    taken to mean the impostor's offer."""
    genuine = offer_of(service())
    impostor = offer_of(service(id="hs-other", name="Falsk tilbud"), owner="999999999")
    by_identifier = {"type": "HealthcareService", "identifier": IDENTIFIER}
    assert resolve_reference(by_identifier, [genuine], HOSPITAL_ORG) is genuine
    assert resolve_reference(by_identifier, [genuine, impostor], HOSPITAL_ORG) is None
    # The owner's own referral means its own offer.
    assert resolve_reference(by_identifier, [genuine, impostor], KOMMUNE_ORG) is genuine


def test_another_organisations_healthcareservice_with_the_same_id_is_another_offer() -> None:
    """Intake derives an offer's hub id from its sender: the same id or identifier sent
    by someone else never reaches the owner's offer."""
    payload = {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {
                "resource": service(name="Falsk tilbud"),
                "request": {
                    "method": "PUT",
                    "url": f"HealthcareService?identifier={IDENTIFIER['system']}|alkohol-1",
                },
            }
        ],
    }
    raw = orjson.dumps(payload)
    owner = FhirAdapter().translate(raw, Sender(Sector.MUNICIPALITY, KOMMUNE_ORG, "sys"))
    other = FhirAdapter().translate(raw, Sender(Sector.MUNICIPALITY, "999999999", "sys"))
    assert owner[0].resources[0]["id"] != other[0].resources[0]["id"]
