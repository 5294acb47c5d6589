"""One-line Danish summaries of pathway resources, as Danish staff read them.

A summary is built from the content a viewer is shown and nothing else: the caller
passes the disclosed content (``hub.services.consent.read`` has already cut what the viewer may not
see), so a summary can never tell more than the resource beside it. A municipality
notified of a hospital stay is shown status, class, period and provider only, and
its summary names the hospital, never the ward or the reason.

Summaries are plain text (no markup, one line); dates are Danish (``22.11.2026``,
``kl. 10.00``) in Danish local time.

It is over 400 lines because each resource type on a pathway has its own line and its
own Danish status words, and they are kept together so every summary reads alike.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from hub.domain.identifiers import CPR_SYSTEM, SOR_SYSTEM
from hub.domain.observation_codes import FOLLOW_UP_SCREENING, TOBS
from hub.domain.pathway_codes import (
    PATHWAY_EVENTS,
    READY_FOR_DISCHARGE,
    ROUND_TABLE,
    SAFETY_PLAN,
)
from hub.domain.scores import observation_code
from hub.domain.timeline import fhir_instant
from hub.domain.translation import FhirJson

DANISH_TIME = ZoneInfo("Europe/Copenhagen")

ROUND_TABLE_CODE = ROUND_TABLE.code
"""Marks a round-table meeting (Appointment.serviceType) and its plan (CarePlan.category)."""

READY_FOR_DISCHARGE_CODE = READY_FOR_DISCHARGE.code

_MAX_TEXT = 80
_TAG = re.compile(r"<[^>]*>")
_SPACE = re.compile(r"\s+")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")

# Classes of stays at a hospital (v3-ActCode), where a patient is "indlagt".
STAY_CLASSES = frozenset({"IMP", "ACUTE", "NONAC", "EMER", "SS", "OBSENC"})
_CLASS_LABELS = {
    "IMP": "Indlagt",
    "ACUTE": "Indlagt akut",
    "NONAC": "Indlagt",
    "EMER": "Akut ophold",
    "SS": "Kortvarigt ophold",
    "OBSENC": "Observationsophold",
    "AMB": "Ambulant besøg",
    "HH": "Hjemmebesøg",
    "VR": "Virtuelt møde",
    "PRENC": "Forundersøgelse",
    "FLD": "Udebesøg",
}

_COMMON_STATUSES = {
    "active": "aktiv",
    "completed": "afsluttet",
    "revoked": "tilbagekaldt",
    "entered-in-error": "fejlregistreret",
    "draft": "kladde",
    "on-hold": "sat i bero",
    "cancelled": "annulleret",
    "inactive": "ophørt",
    "unknown": "ukendt",
}
_STATUSES: dict[str, dict[str, str]] = {
    "Encounter": {
        "planned": "planlagt",
        "arrived": "ankommet",
        "triaged": "visiteret",
        "in-progress": "igangværende",
        "onleave": "på orlov",
        "finished": "afsluttet",
        "cancelled": "aflyst",
    },
    "Task": {
        "requested": "anmodet",
        "received": "modtaget",
        "accepted": "accepteret",
        "ready": "klar",
        "in-progress": "i gang",
        "completed": "udført",
        "failed": "mislykket",
        "rejected": "afvist",
    },
    "Appointment": {
        "proposed": "foreslået",
        "pending": "afventer svar",
        "booked": "aftalt",
        "arrived": "fremmødt",
        "checked-in": "tjekket ind",
        "fulfilled": "afholdt",
        "cancelled": "aflyst",
        "noshow": "udeblevet",
        "waitlist": "venteliste",
    },
    "Communication": {
        "preparation": "under udarbejdelse",
        "in-progress": "i gang",
        "completed": "sendt",
        "not-done": "ikke sendt",
    },
    "Consent": {"active": "gældende", "proposed": "foreslået", "rejected": "afvist"},
    "Observation": {
        "registered": "registreret",
        "preliminary": "foreløbig",
        "final": "endelig",
        "amended": "ændret",
        "corrected": "rettet",
    },
}


def summarise(resource: FhirJson) -> str:
    """One plain line about ``resource`` in Danish, from its shown content only."""
    kind = str(resource.get("resourceType"))
    build = _BUILDERS.get(kind)
    line = build(resource) if build else _TYPE_NAMES.get(kind, kind)
    status = status_word(kind, resource.get("status"))
    return f"{line} ({status})" if status else line


def status_word(resource_type: str, status: Any) -> str | None:
    """The status as a Danish word; an unknown code is shown as sent."""
    if not isinstance(status, str) or not status:
        return None
    return _STATUSES.get(resource_type, {}).get(status) or _COMMON_STATUSES.get(status, status)


def plain(text: Any, limit: int = _MAX_TEXT) -> str | None:
    """Free text as one short plain line: no markup, no line breaks, at most ``limit``."""
    if not isinstance(text, str):
        return None
    cleaned = _SPACE.sub(" ", _CONTROL.sub(" ", _TAG.sub(" ", text))).strip()
    if not cleaned:
        return None
    return cleaned if len(cleaned) <= limit else cleaned[: limit - 1].rstrip() + "…"


def danish_date(value: Any) -> str | None:
    """A FHIR date or dateTime as a Danish date (``22.11.2026``), in Danish time."""
    if not isinstance(value, str) or not value:
        return None
    parts = value.split("-")
    if "T" not in value and len(parts) < 3:  # a partial date keeps its precision
        return ".".join(reversed(parts))
    instant = _local(value)
    return instant.strftime("%d.%m.%Y") if instant else None


def danish_time(value: Any) -> str | None:
    """A FHIR dateTime as a Danish date and time (``03.12.2026 kl. 10.00``)."""
    if not isinstance(value, str) or "T" not in value:
        return danish_date(value)
    instant = _local(value)
    return instant.strftime("%d.%m.%Y kl. %H.%M") if instant else None


def span(start: Any, end: Any) -> str | None:
    """A period as Danish dates: ``22.11.2026 – 25.11.2026``, ``fra 22.11.2026``."""
    first, last = danish_date(start), danish_date(end)
    if first and last:
        return f"{first} – {last}"
    if first:
        return f"fra {first}"
    if last:
        return f"til {last}"
    return None


def party_display(reference: Any) -> str | None:
    """Who a logical reference names: its display, else its SOR code; never a CPR number."""
    if not isinstance(reference, Mapping):
        return None
    shown = plain(reference.get("display"))
    if shown and shown != "withheld":
        return shown
    identifier = reference.get("identifier")
    if isinstance(identifier, Mapping) and identifier.get("system") == SOR_SYSTEM:
        value = identifier.get("value")
        return f"SOR {value}" if isinstance(value, str) and value else None
    return None


def sor_code(reference: Any) -> str | None:
    """The SOR code a logical reference names, if it names one."""
    if not isinstance(reference, Mapping):
        return None
    identifier = reference.get("identifier")
    if isinstance(identifier, Mapping) and identifier.get("system") == SOR_SYSTEM:
        value = identifier.get("value")
        return value if isinstance(value, str) and value else None
    return None


def names_patient(reference: Any) -> bool:
    """Whether a reference names the patient (``Patient/…``, or by CPR number)."""
    if not isinstance(reference, Mapping):
        return False
    literal = reference.get("reference")
    if isinstance(literal, str) and literal.startswith("Patient/"):
        return True
    identifier = reference.get("identifier")
    return isinstance(identifier, Mapping) and identifier.get("system") == CPR_SYSTEM


def concept_text(concept: Any) -> str | None:
    """What a CodeableConcept says: its text, else its first coding's display."""
    if not isinstance(concept, Mapping):
        return None
    text = plain(concept.get("text"))
    if text:
        return text
    for coding in concept.get("coding") or ():
        display = plain(coding.get("display")) if isinstance(coding, Mapping) else None
        if display:
            return display
    return None


def has_pathway_code(concepts: Any, code: str) -> bool:
    """Whether one of ``concepts`` (a CodeableConcept or a list of them) carries the
    hub's pathway-event ``code``."""
    listed = concepts if isinstance(concepts, list) else [concepts]
    return any(
        isinstance(coding, Mapping)
        and coding.get("system") == PATHWAY_EVENTS
        and coding.get("code") == code
        for concept in listed
        if isinstance(concept, Mapping)
        for coding in concept.get("coding") or ()
    )


def _local(value: str) -> datetime | None:
    try:
        instant = fhir_instant(value)
    except ValueError:
        return None
    return instant.astimezone(DANISH_TIME) if instant else None


def _joined(*parts: str | None) -> str:
    return ", ".join(part for part in parts if part)


def _first(items: Any) -> Any:
    return items[0] if isinstance(items, list) and items else None


def _encounter(resource: FhirJson) -> str:
    class_code = (resource.get("class") or {}).get("code")
    label = concept_text(_first(resource.get("type"))) or _CLASS_LABELS.get(
        str(class_code), "Kontakt"
    )
    where = encounter_place(resource)
    period = resource.get("period") or {}
    when = span(period.get("start"), period.get("end"))
    if where and (class_code in STAY_CLASSES or class_code == "AMB"):
        return _joined(f"{label} på {where}", when)
    return _joined(label, where, when)


def encounter_place(encounter: FhirJson) -> str | None:
    """Where a stay is: its ward (``_ward``), else the organisation providing it."""
    return _ward(encounter) or party_display(encounter.get("serviceProvider"))


def _ward(resource: FhirJson) -> str | None:
    """The ward the patient is (or was last) on: the active location, else the last one."""
    locations = [loc for loc in resource.get("location") or () if isinstance(loc, Mapping)]
    active = [loc for loc in locations if loc.get("status") == "active"]
    for location in (*active, *reversed(locations)):
        display = party_display(location.get("location"))
        if display:
            return display
    return None


def _service_request(resource: FhirJson) -> str:
    what = concept_text(resource.get("code")) or concept_text(_first(resource.get("category")))
    performer = party_display(_first(resource.get("performer")))
    period = resource.get("occurrencePeriod") or {}
    when = (
        span(period.get("start"), period.get("end"))
        or danish_date(resource.get("occurrenceDateTime"))
        or danish_date(resource.get("authoredOn"))
    )
    return _joined(what or "Henvisning", f"til {performer}" if performer else None, when)


def _care_plan(resource: FhirJson) -> str:
    round_table = has_pathway_code(resource.get("category"), ROUND_TABLE_CODE)
    label = "Plan fra rundbordsmøde" if round_table else "Plan"
    if has_pathway_code(resource.get("category"), SAFETY_PLAN.code):
        label = "Sikkerhedsplan fra rundbordsmøde"
    title = plain(resource.get("title")) or plain(resource.get("description"))
    tovholder = party_display(resource.get("author"))
    period = resource.get("period") or {}
    return _joined(
        f"{label}: {title}" if title else label,
        f"tovholder {tovholder}" if tovholder else None,
        span(period.get("start"), period.get("end")),
    )


def _task(resource: FhirJson) -> str:
    what = plain(resource.get("description")) or concept_text(resource.get("code"))
    owner = party_display(resource.get("owner"))
    due = danish_date(((resource.get("restriction") or {}).get("period") or {}).get("end"))
    return _joined(
        f"Opgave: {what}" if what else "Opgave",
        f"ansvarlig {owner}" if owner else None,
        f"frist {due}" if due else None,
    )


def _communication(resource: FhirJson) -> str:
    sender = party_display(resource.get("sender"))
    recipient = party_display(_first(resource.get("recipient")))
    topic = concept_text(resource.get("topic")) or concept_text(_first(resource.get("category")))
    head = "Korrespondance"
    if sender:
        head += f" fra {sender}"
    if recipient:
        head += f" til {recipient}"
    when = danish_date(resource.get("sent") or resource.get("received"))
    return _joined(f"{head}: {topic}" if topic else head, when)


def _appointment(resource: FhirJson) -> str:
    service_types = resource.get("serviceType")
    if has_pathway_code(service_types, ROUND_TABLE_CODE):
        label = "Rundbordsmøde"
    else:
        label = concept_text(_first(service_types)) or "Aftale"
    reason = concept_text(_first(resource.get("reasonCode")))
    when = danish_time(resource.get("start")) or "tid ikke fastlagt"
    return _joined(f"{label}: {reason}" if reason else label, when)


def _consent(resource: FhirJson) -> str:
    provision = resource.get("provision") or {}
    label = "Frabedt deling" if provision.get("type") == "deny" else "Samtykke til deling"
    actors = [
        _sector_actor(actor) or party_display(actor.get("reference"))
        for actor in provision.get("actor") or ()
        if isinstance(actor, Mapping)
    ]
    named = ", ".join(a for a in actors if a)
    return _joined(
        f"{label} med {named}" if named else label, danish_date(resource.get("dateTime"))
    )


_SECTOR_ROLE_SYSTEM = "urn:brobygger:codesystem:sector"  # hub.domain.consent's
_SECTOR_WORDS = {
    "hospital": "hospital",
    "psychiatry": "psykiatri",
    "municipality": "kommune",
    "gp": "almen praksis",
    "coordinator": "koordinator",
}


def _sector_actor(actor: Mapping[str, Any]) -> str | None:
    """A consent actor naming a whole sector, in Danish ("hele sektoren kommune")."""
    for coding in (actor.get("role") or {}).get("coding") or ():
        if isinstance(coding, Mapping) and coding.get("system") == _SECTOR_ROLE_SYSTEM:
            code = str(coding.get("code"))
            return f"hele sektoren {_SECTOR_WORDS.get(code, code)}"
    return None


def _flag(resource: FhirJson) -> str:
    # A flag is named by what it marks (its code); its text is often a long reason.
    code = resource.get("code") or {}
    named = next(
        (
            plain(coding.get("display"))
            for coding in code.get("coding") or ()
            if isinstance(coding, Mapping) and plain(coding.get("display"))
        ),
        None,
    )
    period = resource.get("period") or {}
    return _joined(
        named or concept_text(code) or "Markering",
        span(period.get("start"), period.get("end")),
    )


def score_text(value: float) -> str:
    """A score as Danish staff write it: ``34``, ``4,5``."""
    return str(int(value)) if float(value).is_integer() else f"{value:g}".replace(".", ",")


def _observation(resource: FhirJson) -> str:
    # "Opfølgningsscreening: 34 point", "TOBS: 5", then when it was observed.
    code = observation_code(resource)
    name = _SCORE_NAMES.get(code.code) if code else None
    label = name or concept_text(resource.get("code")) or "Måling"
    quantity = resource.get("valueQuantity")
    value = quantity.get("value") if isinstance(quantity, Mapping) else None
    if isinstance(value, int | float) and not isinstance(value, bool):
        shown = score_text(value)
        if code is not None and code.code == FOLLOW_UP_SCREENING.code:
            shown += " point"
        label = f"{label}: {shown}"
    elif plain(resource.get("valueString")):
        label = f"{label}: {plain(resource.get('valueString'))}"
    return _joined(label, danish_time(resource.get("effectiveDateTime")))


_SCORE_NAMES = {FOLLOW_UP_SCREENING.code: "Opfølgningsscreening", TOBS.code: "TOBS"}


def _care_team(resource: FhirJson) -> str:
    name = plain(resource.get("name"))
    return f"Team: {name}" if name else "Team"


_BUILDERS = {
    "Encounter": _encounter,
    "ServiceRequest": _service_request,
    "CarePlan": _care_plan,
    "Task": _task,
    "Communication": _communication,
    "Appointment": _appointment,
    "Consent": _consent,
    "Flag": _flag,
    "CareTeam": _care_team,
    "Observation": _observation,
}
_TYPE_NAMES = {
    "Patient": "Borger",
    "Goal": "Mål",
    "MessageHeader": "Kvittering",
}
