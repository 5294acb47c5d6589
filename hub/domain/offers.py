"""The offers directory (tilbudskort), as pure rules: what an offer is, how a search
matches it, when it is stale, and which offer a referral names.

An offer is a FHIR ``HealthcareService`` an organisation sends about itself (intake
keys it ``directory:<SOR code>``; its hub id is derived from the sender, so nobody else
can write it). What the hub reads of it:

* ``name``; ``comment`` and ``extraDetails`` (the description);
* ``category`` and ``type`` (the category: codes and texts);
* ``characteristic`` and ``eligibility`` (the target group);
* ``telecom`` (the contact points), and a contained ``Location``'s ``address`` and
  ``telecom`` (``location`` or ``coverageArea`` referencing ``#id``);
* the kommune: a ``coverageArea`` that names a kommune by DK Core's municipality code
  (``identifier`` with ``MUNICIPALITY_SYSTEM``), else a contained Location's address
  (the DK Core municipality extension, or a ``district`` of three digits), else the
  owning organisation's kommune in the organisation directory;
* ``active``: ``false`` withdraws the offer.

The owner is the sending organisation; its name comes from the organisation directory.
An offer was last confirmed when its owner's latest version was stored
(``meta.lastUpdated``): sending it again with changes, or confirming it, stores a new
version.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from hub.domain.consent import DK_MUNICIPALITY_EXTENSION, MUNICIPALITY_SYSTEM
from hub.domain.translation import FhirJson

OFFER_TYPE = "HealthcareService"
CONFIRMED_EXTENSION = "urn:brobygger:extension:offer-confirmed"
"""On an offer: when its owner last confirmed it through the hub (``confirmOffer``)."""
DEFAULT_CONFIRM_PERIOD = timedelta(days=183)
"""An offer not confirmed for this long (about six months) is flagged to its owner."""
MAX_TEXT = 200

_LITERAL = re.compile(r"(?:^|/)HealthcareService/([A-Za-z0-9\-.]{1,64})(?:/_history/[^/]+)?$")


@dataclass(frozen=True)
class Contact:
    system: str  # phone, email, url …
    value: str


@dataclass(frozen=True)
class Offer:
    """One offer as anyone may see it."""

    id: str
    owner: str  # the owning organisation's SOR code
    owner_name: str
    name: str
    description: str | None
    categories: tuple[str, ...]  # texts (else codes) of category and type
    category_codes: tuple[str, ...]
    target_group: tuple[str, ...]
    kommune: str | None  # 3 digits
    address: str | None  # one line
    contacts: tuple[Contact, ...]
    active: bool
    identifiers: tuple[str, ...]  # "system|value"
    last_confirmed: datetime
    version: int
    searchable: str = field(default="", repr=False)  # casefolded text the search reads


@dataclass(frozen=True)
class OfferSearch:
    """What a search asks for; every given part must hold."""

    kommune: str | None = None
    category: str | None = None
    text: str | None = None

    def matches(self, offer: Offer) -> bool:
        if not offer.active:
            return False
        kommune = kommune_code(self.kommune) if self.kommune else None
        if self.kommune and offer.kommune != kommune:
            return False
        if self.category and not category_matches(offer, self.category):
            return False
        words = (self.text or "").casefold().split()
        return all(word in offer.searchable for word in words)


def kommune_code(value: str | None) -> str | None:
    """A kommune code as the hub writes it (``0730`` is ``730``); None if it is none."""
    text = (value or "").strip()
    if len(text) == 4 and text.startswith("0"):
        text = text[1:]
    return text if len(text) == 3 and text.isdigit() else None


def category_matches(offer: Offer, category: str) -> bool:
    """A code equal to ``category``, or a category text holding it (any case)."""
    wanted = category.strip().casefold()
    if not wanted:
        return True
    return any(code.casefold() == wanted for code in offer.category_codes) or any(
        wanted in text.casefold() for text in offer.categories
    )


def is_stale(offer: Offer, now: datetime, period: timedelta = DEFAULT_CONFIRM_PERIOD) -> bool:
    """Whether an active offer has gone unconfirmed for ``period`` by ``now``."""
    return offer.active and offer.last_confirmed + period <= now


def stale_since(offer: Offer, period: timedelta) -> datetime:
    return offer.last_confirmed + period


# --- reading a HealthcareService ------------------------------------------------------------


def read_offer(
    content: FhirJson,
    *,
    owner: str,
    last_updated: datetime,
    version: int,
    owner_name: str | None = None,
    owner_kommune: str | None = None,
) -> Offer:
    """The offer ``content`` (a stored HealthcareService of ``owner``) describes."""
    contained = {
        str(r.get("id")): r
        for r in _list(content.get("contained"))
        if isinstance(r, Mapping) and r.get("resourceType") == "Location"
    }
    locations = [
        contained[ref[1:]]
        for ref in _references(content.get("location"))
        if ref.startswith("#") and ref[1:] in contained
    ]
    areas = _list(content.get("coverageArea"))
    area_locations = [
        contained[ref[1:]]
        for ref in _references(areas)
        if ref.startswith("#") and ref[1:] in contained
    ]
    concepts = [*_list(content.get("category")), *_list(content.get("type"))]
    categories = tuple(t for t in (_concept_text(c) for c in concepts) if t)
    codes = tuple(
        str(coding["code"])
        for concept in concepts
        if isinstance(concept, Mapping)
        for coding in _list(concept.get("coding"))
        if isinstance(coding, Mapping) and coding.get("code")
    )
    target = [_concept_text(c) for c in _list(content.get("characteristic"))]
    for eligibility in _list(content.get("eligibility")):
        if isinstance(eligibility, Mapping):
            target += [_concept_text(eligibility.get("code")), _plain(eligibility.get("comment"))]
    target_group = tuple(dict.fromkeys(t for t in target if t))
    description = " ".join(
        t for t in (_plain(content.get("comment")), _plain(content.get("extraDetails"))) if t
    )
    kommune = (
        _area_kommune(areas)
        or next((k for k in map(_location_kommune, [*area_locations, *locations]) if k), None)
        or kommune_code(owner_kommune)
    )
    contacts = tuple(
        dict.fromkeys(
            c
            for c in (
                _contact(t)
                for source in (content, *locations)
                for t in _list(source.get("telecom"))
            )
            if c
        )
    )
    address = next((a for a in map(_address_line, locations) if a), None)
    name = _plain(content.get("name")) or "Tilbud uden navn"
    shown_owner = owner_name or _plain((content.get("providedBy") or {}).get("display"))
    owner_label = shown_owner or f"SOR {owner}"
    identifiers = tuple(
        f"{i.get('system', '')}|{i['value']}"
        for i in _list(content.get("identifier"))
        if isinstance(i, Mapping) and i.get("value")
    )
    searchable = " ".join([name, description, *categories, *target_group, owner_label]).casefold()
    return Offer(
        id=str(content.get("id") or ""),
        owner=owner,
        owner_name=owner_label,
        name=name,
        description=description or None,
        categories=categories,
        category_codes=codes,
        target_group=target_group,
        kommune=kommune,
        address=address,
        contacts=contacts,
        active=content.get("active") is not False,
        identifiers=identifiers,
        last_confirmed=last_updated,
        version=version,
        searchable=searchable,
    )


def confirmed(content: FhirJson, now: datetime) -> FhirJson:
    """``content`` marked as confirmed by its owner ``now`` (a new version to store)."""
    kept = [
        e
        for e in _list(content.get("extension"))
        if not (isinstance(e, Mapping) and e.get("url") == CONFIRMED_EXTENSION)
    ]
    stamp = {"url": CONFIRMED_EXTENSION, "valueDateTime": now.isoformat(timespec="seconds")}
    return {**content, "extension": [*kept, stamp]}


# --- referrals that name an offer -----------------------------------------------------------


def offer_references(service_request: FhirJson) -> list[Mapping[str, Any]]:
    """The references of a ServiceRequest (``performer``, ``locationReference``) that
    may name an offer: ``HealthcareService/<id>`` (also as an absolute URL) or a logical
    reference of type HealthcareService by identifier."""
    found: list[Mapping[str, Any]] = []
    for element in ("performer", "locationReference"):
        for reference in _list(service_request.get(element)):
            if isinstance(reference, Mapping) and (
                _literal_id(reference) is not None
                or (reference.get("type") == OFFER_TYPE and _identifier(reference))
            ):
                found.append(reference)
    return found


def resolve_reference(
    reference: Mapping[str, Any], offers: Sequence[Offer], author: str
) -> Offer | None:
    """The offer ``reference`` names: by hub id; else by identifier, when exactly one
    owner's offer carries it (the referring organisation's own offer first). An
    identifier two organisations use for their offers names neither: the hub does not
    guess whose offer a referral meant."""
    literal = _literal_id(reference)
    if literal is not None:
        found = next((o for o in offers if o.id == literal), None)
        if found is not None:
            return found
    identifier = _identifier(reference)
    if identifier is None:
        return None
    carrying = [o for o in offers if identifier in o.identifiers]
    own = [o for o in carrying if o.owner == author]
    if len(own) == 1:
        return own[0]
    return carrying[0] if len(carrying) == 1 else None


def named_offer(
    service_request: FhirJson, resolve: Callable[[Mapping[str, Any]], Offer | None]
) -> tuple[FhirJson, str | None]:
    """The ServiceRequest with each reference to a known offer displayed by the offer's
    name (for its summary), and the first offer's name."""
    first: str | None = None
    named = dict(service_request)
    for element in ("performer", "locationReference"):
        references = _list(service_request.get(element))
        if not references:
            continue
        shown = []
        for reference in references:
            offer = resolve(reference) if isinstance(reference, Mapping) else None
            if offer is None:
                shown.append(reference)
                continue
            first = first or offer.name
            shown.append({**reference, "display": offer.name})
        named[element] = shown
    return named, first


# --- helpers --------------------------------------------------------------------------------


def _list(value: Any) -> list[Any]:
    if isinstance(value, list):
        return value
    return [] if value is None else [value]


def _plain(value: Any) -> str | None:
    if not isinstance(value, str):
        return None
    text = " ".join(value.split())
    return text[:MAX_TEXT] if text else None


def _concept_text(concept: Any) -> str | None:
    if not isinstance(concept, Mapping):
        return None
    text = _plain(concept.get("text"))
    if text:
        return text
    for coding in _list(concept.get("coding")):
        if isinstance(coding, Mapping):
            shown = _plain(coding.get("display")) or _plain(coding.get("code"))
            if shown:
                return shown
    return None


def _references(values: Any) -> list[str]:
    return [
        str(v["reference"])
        for v in _list(values)
        if isinstance(v, Mapping) and isinstance(v.get("reference"), str)
    ]


def _area_kommune(areas: list[Any]) -> str | None:
    for area in areas:
        identifier = area.get("identifier") if isinstance(area, Mapping) else None
        if isinstance(identifier, Mapping) and identifier.get("system") == MUNICIPALITY_SYSTEM:
            code = kommune_code(str(identifier.get("value") or ""))
            if code:
                return code
    return None


def _location_kommune(location: Mapping[str, Any]) -> str | None:
    address = location.get("address")
    if not isinstance(address, Mapping):
        return None
    for extension in _list(address.get("extension")):
        if isinstance(extension, Mapping) and extension.get("url") == DK_MUNICIPALITY_EXTENSION:
            concept = extension.get("valueCodeableConcept") or {}
            for coding in _list(concept.get("coding")):
                code = kommune_code(str(coding.get("code") or "").zfill(3))
                if code:
                    return code
    return kommune_code(str(address.get("district") or ""))


def _address_line(location: Mapping[str, Any]) -> str | None:
    address = location.get("address")
    if not isinstance(address, Mapping):
        return None
    if _plain(address.get("text")):
        return _plain(address.get("text"))
    lines = [t for t in (_plain(line) for line in _list(address.get("line"))) if t]
    town = " ".join(
        t for t in (_plain(address.get("postalCode")), _plain(address.get("city"))) if t
    )
    parts = [*lines, town] if town else lines
    return ", ".join(parts) or None


def _contact(telecom: Any) -> Contact | None:
    if not isinstance(telecom, Mapping):
        return None
    value = _plain(telecom.get("value"))
    if not value:
        return None
    return Contact(str(telecom.get("system") or "other"), value)


def _literal_id(reference: Mapping[str, Any]) -> str | None:
    literal = reference.get("reference")
    if not isinstance(literal, str):
        return None
    match = _LITERAL.search(literal)
    return match.group(1) if match else None


def _identifier(reference: Mapping[str, Any]) -> str | None:
    identifier = reference.get("identifier")
    if isinstance(identifier, Mapping) and identifier.get("value"):
        return f"{identifier.get('system', '')}|{identifier['value']}"
    return None
