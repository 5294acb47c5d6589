"""The offers directory (tilbudskort) in GraphQL: ``offers``, ``offer``, ``confirmOffer``.

Offers are HealthcareService resources organisations send about their own services
(``hub.domain.offers``). They are no patient data: any authenticated caller may search
them, and nothing is audited. Only the owner may confirm one.
"""

from __future__ import annotations

from typing import Annotated

import strawberry

from hub.domain import offers as domain
from hub.services.offers import MAX_FOUND, OfferError, confirm_offer, find_offers, get_offer
from schema.context import HubInfo
from schema.errors import refusals_as_errors


@strawberry.type(description="A contact point of an offer.")
class OfferContact:
    system: str = strawberry.field(description="phone, email, url …")
    value: str


@strawberry.type(description="An offer (municipal or regional service) from the offers directory.")
class Offer:
    id: strawberry.ID = strawberry.field(description="The HealthcareService's id.")
    name: str
    description: str | None
    categories: list[str]
    target_group: list[str] = strawberry.field(
        description="Whom it is for (characteristic, eligibility)."
    )
    kommune: str | None = strawberry.field(description="The kommune it serves (3 digits).")
    address: str | None
    contacts: list[OfferContact]
    owner: str = strawberry.field(description="The owning organisation's SOR code.")
    owner_name: str = strawberry.field(description="Its name, from the organisation directory.")
    active: bool = strawberry.field(description="False: withdrawn by its owner.")
    last_confirmed: str = strawberry.field(
        description="When its owner last sent a changed version or confirmed it (ISO 8601)."
    )

    @classmethod
    def of(cls, offer: domain.Offer) -> Offer:
        return cls(
            id=strawberry.ID(offer.id),
            name=offer.name,
            description=offer.description,
            categories=list(offer.categories),
            target_group=list(offer.target_group),
            kommune=offer.kommune,
            address=offer.address,
            contacts=[OfferContact(system=c.system, value=c.value) for c in offer.contacts],
            owner=offer.owner,
            owner_name=offer.owner_name,
            active=offer.active,
            last_confirmed=offer.last_confirmed.isoformat(),
        )


async def resolve_offers(
    info: HubInfo,
    kommune: Annotated[
        str | None, strawberry.argument(description="The kommune served (730 or 0730).")
    ] = None,
    category: Annotated[
        str | None, strawberry.argument(description="A category code, or words of its text.")
    ] = None,
    text: Annotated[
        str | None,
        strawberry.argument(
            description="Words every one of which the name, description, category, target "
            "group or owner holds (any case)."
        ),
    ] = None,
    limit: Annotated[int, strawberry.argument(description=f"At most (1–{MAX_FOUND}).")] = 50,
) -> list[Offer]:
    search = domain.OfferSearch(kommune=kommune, category=category, text=text)
    with refusals_as_errors(OfferError):
        found = await find_offers(info.context.units, search, limit)
    return [Offer.of(o) for o in found]


async def resolve_offer(info: HubInfo, id: strawberry.ID) -> Offer | None:
    found = await get_offer(info.context.units, str(id))
    return Offer.of(found) if found else None


async def resolve_confirm_offer(info: HubInfo, id: strawberry.ID) -> Offer:
    with refusals_as_errors(OfferError):
        confirmed = await confirm_offer(
            info.context.units, info.context.intake, info.context.viewer, str(id)
        )
    return Offer.of(confirmed)


@strawberry.type
class OfferQuery:
    offers: list[Offer] = strawberry.field(
        resolver=resolve_offers,
        description=("Active offers matching every given part (kommune, category, text), by name."),
    )
    offer: Offer | None = strawberry.field(
        resolver=resolve_offer, description="One offer by id (withdrawn too); null if none."
    )


@strawberry.type
class OfferMutation:
    confirm_offer: Offer = strawberry.field(
        resolver=resolve_confirm_offer,
        description=(
            "Confirm that your organisation's offer is still as described: its "
            "lastConfirmed becomes now. Another organisation's offer is answered as missing."
        ),
    )
