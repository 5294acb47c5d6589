"""The offers directory: finding offers, confirming one's own, flagging stale ones.

Offers (``hub.domain.offers``) are no patient data: any authenticated organisation may
search and read them, and nothing is audited. Only the owner (the organisation that
sent the HealthcareService) writes one: intake derives its hub id from the sender, and
``confirm_offer`` refuses anyone else the same way as a missing offer.

**Confirming goes through intake** like every other write (intake → outbox → bus →
projection), so a confirmation is an inbound message and an event like any change:
durable before it is answered, applied at least once, and ordered by its time, so a
replay of older messages does not roll it back. It is not sent in the ``fhir`` format,
because that format cannot name the stored offer again: the FHIR adapter derives an
offer's hub id from the sender's own handle on it (its local id, or the identifier of
a conditional update), and the hub keeps neither once it has given the resource its
hub id; it also rewrites the offer's literal references (``Organization/<id>``) as the
sender's ids, which the stored content no longer is. Sent back as FHIR, a confirmed
offer would become a second offer, or a changed one. So a confirmation is a message of
the hub's own format ``offer-confirmation`` (``OfferConfirmations``): the stored offer
under its hub id, stamped as confirmed, sent as its owner. Only this module sends it,
through ``IntakeService.accept_own``: the format is one of intake's own formats, not
one a sender may use, so no sender can submit it over HTTP or ``hub ingest`` and name
ids of its choosing; a confirmation that ends as a dead letter is replayed like any.
Ownership is checked here before sending, again by intake (a resource another
organisation owns is refused) and by the store (``NotOwner``).

``file_unconfirmed_offers`` is called by the alert scanner: an active offer whose
current version is older than the confirmation period is filed once per version to its
owner's inbox (``offer-unconfirmed``); confirming it stores a new version, so the next
period starts from then.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

import orjson

from hub import clock
from hub.domain.directory import Directory
from hub.domain.identifiers import directory_key
from hub.domain.inbox import InboxKind
from hub.domain.offers import (
    DEFAULT_CONFIRM_PERIOD,
    OFFER_TYPE,
    Offer,
    OfferSearch,
    confirmed,
    is_stale,
    named_offer,
    offer_references,
    read_offer,
    resolve_reference,
    stale_since,
)
from hub.domain.sectors import Sector
from hub.domain.translation import FhirJson, Sender, Translation, TranslationError
from hub.services.auth import Principal
from hub.services.directory import current_directory
from hub.services.inbox.filing import file_event
from hub.services.intake import IntakeService, Rejected
from hub.services.unit_of_work import ResourcesUnitOfWork, UnitOfWorkFactory
from hub.store.resources import StoredResource
from hub.store.unit_of_work import UnitOfWork

MAX_FOUND = 200
"""The most offers one search returns."""
CONFIRMATION_FORMAT = "offer-confirmation"
"""The hub's own format of an owner's confirmation (see the module docstring)."""
WAIT_SECONDS = 10.0
"""How long ``confirm_offer`` waits for the projection to store the confirmation."""


class OfferError(ValueError):
    """A request about offers the hub will not carry out; ``code`` is machine-readable."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def offer_of(stored: StoredResource, directory: Directory) -> Offer:
    """A stored HealthcareService as an offer, its owner named by the directory."""
    owner = directory.by_sor(stored.org)
    return read_offer(
        stored.content,
        owner=stored.org,
        last_updated=stored.last_updated,
        version=stored.version_id,
        owner_name=owner.name if owner else None,
        owner_kommune=owner.kommune if owner else None,
    )


async def all_offers(units: UnitOfWorkFactory[UnitOfWork]) -> list[Offer]:
    """Every offer's current version, withdrawn ones too."""
    async with units() as uow:
        stored = await uow.offers.all()
    directory = await current_directory(units)
    return [offer_of(s, directory) for s in stored]


async def find_offers(
    units: UnitOfWorkFactory[UnitOfWork], search: OfferSearch, limit: int = MAX_FOUND
) -> list[Offer]:
    """The active offers ``search`` matches, by name, at most ``limit``."""
    if not 1 <= limit <= MAX_FOUND:
        raise OfferError("bad-limit", f"limit must be between 1 and {MAX_FOUND}")
    found = [o for o in await all_offers(units) if search.matches(o)]
    found.sort(key=lambda o: (o.name.casefold(), o.owner_name.casefold(), o.id))
    return found[:limit]


async def find_offer_resources(
    units: UnitOfWorkFactory[UnitOfWork], search: OfferSearch
) -> list[tuple[Offer, FhirJson]]:
    """The active offers ``search`` matches, by name, with their FHIR content."""
    async with units() as uow:
        stored = await uow.offers.all()
    directory = await current_directory(units)
    found = [(offer_of(s, directory), s.content) for s in stored]
    found = [(o, c) for o, c in found if search.matches(o)]
    found.sort(key=lambda pair: (pair[0].name.casefold(), pair[0].owner_name.casefold()))
    return found


async def offer_resource(
    units: UnitOfWorkFactory[ResourcesUnitOfWork], offer_id: str
) -> FhirJson | None:
    """One offer's FHIR content by id (withdrawn too); None when there is none."""
    async with units() as uow:
        stored = await uow.resources.get(OFFER_TYPE, offer_id)
    return stored.content if stored is not None and stored.patient_key is None else None


async def get_offer(units: UnitOfWorkFactory[UnitOfWork], offer_id: str) -> Offer | None:
    """One offer by id (withdrawn too); None when there is none."""
    async with units() as uow:
        stored = await uow.resources.get(OFFER_TYPE, offer_id)
    if stored is None or stored.patient_key is not None:
        return None
    return offer_of(stored, await current_directory(units))


class OfferConfirmations:
    """The ``offer-confirmation`` format: ``{"resource": <the offer, confirmed>,
    "confirmedAt": <ISO 8601>}``, the offer under its hub id, about no patient (the
    sender's directory key). Only ``confirm_offer`` sends it (module docstring)."""

    format = CONFIRMATION_FORMAT

    def translate(self, raw: bytes, sender: Sender) -> Sequence[Translation]:
        try:
            message = orjson.loads(raw)
        except orjson.JSONDecodeError as error:
            raise TranslationError(f"not JSON: {error}") from None
        resource = message.get("resource") if isinstance(message, dict) else None
        if not isinstance(resource, dict) or resource.get("resourceType") != OFFER_TYPE:
            raise TranslationError("a confirmation carries one HealthcareService", "resource")
        if not isinstance(resource.get("id"), str) or not resource["id"]:
            raise TranslationError("the confirmed offer has no id", "resource.id")
        try:
            confirmed_at = datetime.fromisoformat(str(message.get("confirmedAt")))
        except ValueError:
            raise TranslationError("confirmedAt must be an ISO 8601 time", "confirmedAt") from None
        if confirmed_at.tzinfo is None:
            raise TranslationError("confirmedAt must carry an offset", "confirmedAt")
        return [
            Translation(
                patient_key=directory_key(sender.org),
                resources=[resource],
                event="offer:confirmed",
                occurred_at=confirmed_at,
                occurred_at_where="confirmedAt",
            )
        ]


async def confirm_offer(
    units: UnitOfWorkFactory[UnitOfWork],
    intake: IntakeService,
    caller: Principal,
    offer_id: str,
    *,
    wait_seconds: float = WAIT_SECONDS,
) -> Offer:
    """The caller's organisation confirms its offer is still as described: a new version,
    sent through intake as the owner (module docstring) and returned once stored.
    Another organisation's offer is answered as missing, and nothing is sent."""
    now = clock.now()
    async with units() as uow:
        stored = await uow.resources.get(OFFER_TYPE, offer_id)
    if stored is None or stored.patient_key is not None or stored.org != caller.org:
        raise OfferError("no-such-offer", f"no offer {offer_id} of yours")
    content = confirmed(stored.content, now)
    # Ordered after what is stored, even when its last message's own time ran a little
    # ahead of the hub's clock: a confirmation is never taken for a late arrival.
    at = max(now, stored.source_time) if stored.source_time is not None else now
    message = {"resource": content, "confirmedAt": at.isoformat()}
    # The record stays its owner's: written as the owner, named after the caller.
    owner = Sender(Sector(stored.sector), stored.org, caller.sub, controller=stored.controller)
    try:
        await intake.accept_own(CONFIRMATION_FORMAT, orjson.dumps(message), owner)
    except Rejected as error:
        raise OfferError("not-accepted", f"the confirmation was not accepted: {error}") from None
    stamp = content["extension"][-1]
    deadline = time.monotonic() + wait_seconds
    while True:
        async with units() as uow:
            current = await uow.resources.get(OFFER_TYPE, offer_id)
        if current is not None and stamp in (current.content.get("extension") or []):
            return offer_of(current, await current_directory(units))
        if time.monotonic() >= deadline:
            raise OfferError(
                "not-stored-yet", "the confirmation was accepted but is not stored yet"
            )
        await asyncio.sleep(0.05)


async def file_unconfirmed_offers(
    uow: UnitOfWork, now: datetime, period: timedelta = DEFAULT_CONFIRM_PERIOD
) -> int:
    """File each active offer unconfirmed for ``period`` to its owner's inbox, once per
    version. Returns how many items were filed."""
    filed = 0
    for stored in await uow.offers.confirmed_before(now - period):
        offer = read_offer(
            stored.content, owner=stored.org, last_updated=stored.last_updated, version=0
        )
        if not is_stale(offer, now, period):
            continue
        logged = await uow.pathway_events.append(
            patient_key=directory_key(stored.org),
            kind=InboxKind.OFFER_UNCONFIRMED.value,
            resource_type=OFFER_TYPE,
            resource_id=stored.id,
            version_id=stored.version_id,
            at=stale_since(offer, period),
            recorded_at=now,
            sector=stored.sector,
            org=stored.org,
            event_id=f"offer-unconfirmed:{uuid.uuid4()}",
        )
        if logged is None:
            continue  # filed for this version already
        filed += len(await file_event(uow, logged, {f"sor:{stored.org}"}, now=now))
    return filed


class ReferralOffers:
    """Names the offers referrals point to (``hub.domain.offers.resolve_reference``)."""

    def __init__(self, offers: Sequence[Offer]) -> None:
        self._offers = offers

    def named(self, content: FhirJson, author: str) -> tuple[FhirJson, str | None]:
        """A ServiceRequest with its offers displayed by name, and the first one's name;
        any other resource as it is."""
        if content.get("resourceType") != "ServiceRequest" or not self._offers:
            return content, None

        def resolve(reference: Mapping[str, Any]) -> Offer | None:
            return resolve_reference(reference, self._offers, author)

        return named_offer(content, resolve)


async def referral_offers(
    units: UnitOfWorkFactory[UnitOfWork], contents: Iterable[FhirJson]
) -> ReferralOffers:
    """What names the offers the referrals among ``contents`` point to (the offers are
    read only when one of them points to any)."""
    if not any(c.get("resourceType") == "ServiceRequest" and offer_references(c) for c in contents):
        return ReferralOffers(())
    return ReferralOffers(await all_offers(units))
