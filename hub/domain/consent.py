"""Who may see what about a patient: the consent policy, as pure rules.

The hub records the patient's consents and refusals as FHIR R4 Consent resources
(scope ``patient-privacy``). This module reads them and decides, for one viewer and
one stored resource, whether the viewer sees it whole, sees only the fields of a
hospital notification, or does not see it at all. ``hub.services.consent.read`` applies the
decision on every read path; nothing else decides visibility.

The rules, in order (the first that applies decides):

1. **Own organisation.** An organisation always sees what it wrote itself.
2. **Emergency override** (værdispring): asserted with a reason by a clinician (the
   service checks who may), it shows the resource for that one request; audited.
3. **Refusal wins.** A deny provision that matches (the patient's refusal, a block
   of a named organisation, sector or period in the manner of "Min Spærring")
   hides the resource, whatever any other rule says. Anyone may record one on the
   patient's behalf: it only ever narrows.
4. **Own data controller.** A viewer sees what its data controller holds (the
   region for its hospitals and psychiatry, each kommune, each general practice:
   ``hub.domain.controllers``), except that psychiatry-labelled data is shown to a
   region's somatic units only under a consent that names psychiatry (rule 7).
5. **Addressed.** A message addressed to the viewer's organisation (a referral's
   performer, a letter's recipient, a task's owner or recipient) is a disclosure by
   its sender: the addressee sees it. A message addressed to a kommune by its DK
   Core municipality code reaches every organisation of that kommune.
   A deferred referral is shown from the date it is deferred to.
6. **Relatives.** A Patient's contacts (relatives) are shown outside their author's
   controller only under a permit that names relatives explicitly (class
   ``RelatedPerson``); otherwise they are cut from the Patient shown, as relatives
   taking part in a rundbordsmøde are cut from its Appointment.
7. **Consent.** A permit provision matching the viewer (organisation by SOR code,
   or sector), the purpose, the data (resource types or named resources) and
   period, and in force now, shows the resource — if the permit may disclose it:
   a permit covers the data of its custodian only (the controller that recorded
   it), or everything when the patient recorded it themself. Psychiatry-labelled
   data needs a permit that names psychiatry (``securityLabel`` PSY) recorded by
   the patient or by psychiatry of the controller that holds the data.
8. **Notification basis.** The patient's residence municipality — or the municipal
   organisation the hospital addressed its notification to — sees the hospital
   notification fields (status, class, period, provider) of somatic hospital stays;
   psychiatry stays only where the policy enables it.
9. **Invitation.** An organisation invited to a rundbordsmøde (a participant, by
   SOR code, of a round-table Appointment) that is not shown the meeting by the
   rules above sees the invitation: when, how long, its status and the
   participating organisations with their answers — never the patient, the reason
   or any note (``INVITATION_FIELDS``). A refusal that covers it hides it too.
10. Otherwise the resource is hidden.

It is over 400 lines because it is the whole consent table (docs/consent.md) in one
place: the rules, the provisions they read and the policy, to be read side by side
with the table.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import Enum
from typing import Any

from hub.domain.controllers import PATIENT, default_controller, organisation_controller
from hub.domain.identifiers import GLN_SYSTEMS, SOR_SYSTEM
from hub.domain.pathway_codes import PATHWAY_EVENTS, ROUND_TABLE
from hub.domain.sectors import Sector
from hub.domain.sensitivity import is_psychiatric
from hub.domain.timeline import fhir_instant
from hub.domain.translation import FhirJson

SECTOR_ROLE_SYSTEM = "urn:brobygger:codesystem:sector"
"""Consent.provision.actor.role codes naming a whole sector (``municipality`` …)."""

RESOURCE_TYPE_SYSTEM = "http://hl7.org/fhir/resource-types"
PURPOSE_SYSTEM = "http://terminology.hl7.org/CodeSystem/v3-ActReason"
RELATIVES_CLASS = "RelatedPerson"
PSYCHIATRY_LABEL = "PSY"
DEFAULT_PURPOSE = "TREAT"

NOTIFIED_EXTENSION = "urn:brobygger:extension:notified-organisation"
"""On an Encounter: an organisation (by SOR code) the hospital notified of the stay, e.g.
the municipality a MedCom HospitalNotification was addressed to."""

NOTIFICATION_FIELDS = ("resourceType", "id", "status", "class", "period", "serviceProvider")
"""What a hospital notification (MedCom HospitalNotification) tells the municipality."""

INVITATION_FIELDS = (
    "resourceType",
    "id",
    "status",
    "start",
    "end",
    "minutesDuration",
    "serviceType",
)
"""What an invitation to a rundbordsmøde shows, besides the organisation participants."""

PROPOSED_START_EXTENSION = "urn:brobygger:extension:proposed-start"
"""On a rundbordsmøde participant: the other time it proposed."""

SOR_IDENTITY = "sor"
GLN_IDENTITY = "gln"
KOMMUNE_IDENTITY = "kommune"
MUNICIPALITY_SYSTEM = "http://hl7.dk/fhir/core/CodeSystem/dk-core-municipality-codes"
"""DK Core's municipality codes (four digits, ``0730``): a message addressed to a
kommune by its code reaches every organisation of that kommune."""
_ADDRESS_SYSTEMS = {
    SOR_SYSTEM: SOR_IDENTITY,
    **dict.fromkeys(GLN_SYSTEMS, GLN_IDENTITY),
    MUNICIPALITY_SYSTEM: KOMMUNE_IDENTITY,
}


class Visibility(Enum):
    HIDDEN = "hidden"
    NOTIFICATION = "notification"  # only NOTIFICATION_FIELDS
    INVITATION = "invitation"  # only INVITATION_FIELDS and the organisations taking part
    ADDRESSED = "addressed"  # whole: a message addressed to the viewer (rule 5)
    FULL = "full"

    @property
    def whole(self) -> bool:
        """Whether the resource is shown whole (not cut to notification or invitation)."""
        return self in (Visibility.FULL, Visibility.ADDRESSED)


@dataclass(frozen=True)
class Viewer:
    """Who asks, as their token says, and why."""

    sector: Sector
    org: str
    kommune: str | None = None
    purpose: str = DEFAULT_PURPOSE
    override_reason: str | None = None
    controller: str = ""  # default: hub.domain.controllers.default_controller
    aliases: frozenset[str] = frozenset()  # further identities ("gln:…") it is addressed by

    def __post_init__(self) -> None:
        if not self.controller:
            default = default_controller(self.sector, self.org, self.kommune)
            object.__setattr__(self, "controller", default)

    @property
    def addresses(self) -> frozenset[str]:
        """The identities a message may be addressed to the viewer by."""
        own = {f"{SOR_IDENTITY}:{self.org}", *self.aliases}
        if self.sector is Sector.MUNICIPALITY and self.kommune:
            own.add(f"{KOMMUNE_IDENTITY}:{self.kommune}")
        return frozenset(own)


@dataclass(frozen=True)
class Item:
    """A stored resource, as the policy needs to see it."""

    resource_type: str
    id: str
    sector: str  # the authoring sector
    org: str
    content: FhirJson
    start: datetime | None = None
    end: datetime | None = None
    controller: str = ""  # the author's data controller; default: its organisation

    def __post_init__(self) -> None:
        if not self.controller:
            object.__setattr__(self, "controller", organisation_controller(self.org))

    @property
    def reference(self) -> str:
        return f"{self.resource_type}/{self.id}"


@dataclass(frozen=True)
class Period:
    start: datetime | None = None
    end: datetime | None = None

    def holds(self, at: datetime) -> bool:
        return (self.start is None or self.start <= at) and (self.end is None or at <= self.end)

    def overlaps(self, start: datetime | None, end: datetime | None) -> bool:
        """Whether [start, end] meets this period; a resource with no time meets none."""
        if start is None and end is None:
            return False
        first, last = start or end, end or start
        assert first is not None
        assert last is not None
        return (self.end is None or first <= self.end) and (
            self.start is None or self.start <= last
        )


@dataclass(frozen=True)
class Provision:
    """One (possibly nested) rule of a Consent; its conditions include its ancestors'."""

    type: str  # permit, deny, or "" for a root that only groups its exceptions
    actors: frozenset[str] = frozenset()  # "sor:<code>", "sector:<sector>"; empty = anyone
    purposes: frozenset[str] = frozenset()  # empty = any purpose
    classes: frozenset[str] = frozenset()  # resource types; empty = any
    data: frozenset[str] = frozenset()  # "Type/id"; empty = any
    labels: frozenset[str] = frozenset()  # security labels named (PSY)
    period: Period = field(default_factory=Period)  # when the rule is in force
    data_period: Period | None = None  # which data (by its time) the rule covers
    children: tuple[Provision, ...] = ()

    def applies(self, viewer: Viewer, item: Item | None, now: datetime) -> bool:
        if not self.period.holds(now):
            return False
        if self.actors and not self.actors & viewer_identities(viewer):
            return False
        if self.purposes and viewer.purpose not in self.purposes:
            return False
        if item is None:
            return True
        if self.classes and item.resource_type not in self.classes:
            return False
        if self.data and item.reference not in self.data:
            return False
        return self.data_period is None or self.data_period.overlaps(item.start, item.end)


@dataclass(frozen=True)
class PatientConsent:
    """A patient's Consent as the policy reads it."""

    id: str
    active: bool
    root: Provision
    # Whose data its permits may disclose: the recorder's controller, or PATIENT when
    # the patient recorded it themself (then every controller's).
    custodian: str = ""  # unknown: its permits disclose nothing
    recorder_sector: str = ""

    def may_disclose(self, item: Item, psychiatric: bool) -> bool:
        """Whether this consent's permits may disclose ``item`` (rule 7)."""
        if self.custodian == PATIENT:
            return True
        if self.custodian != item.controller:
            return False
        return not psychiatric or self.recorder_sector == Sector.PSYCHIATRY.value


@dataclass(frozen=True)
class Policy:
    """The defaults a policy file may change (not the mechanism)."""

    psychiatry_notifications: bool = False
    notification_types: frozenset[str] = frozenset({"Encounter"})
    # Whose Patient records may say where the patient lives and that they died: facts
    # that grant access (the residence municipality's notification basis) or end a
    # pathway. By default the hospital and psychiatry feeds (ADT, MedCom), which carry
    # the CPR register's address; never the municipality that would gain by it.
    authoritative_sectors: frozenset[str] = frozenset({"hospital", "psychiatry"})
    authoritative_organisations: frozenset[str] = frozenset()

    def is_authoritative(self, sector: str, org: str) -> bool:
        """Whether a Patient record from ``org`` (of ``sector``) may set residence and death."""
        return sector in self.authoritative_sectors or org in self.authoritative_organisations


DEFAULT_POLICY = Policy()


def viewer_identities(viewer: Viewer) -> frozenset[str]:
    return frozenset({f"sor:{viewer.org}", f"sector:{viewer.sector.value}"})


@dataclass(frozen=True)
class Verdicts:
    permits: tuple[tuple[Provision, PatientConsent], ...]
    denied: bool


def is_refused(
    consents: Sequence[PatientConsent], viewer: Viewer, item: Item, now: datetime
) -> bool:
    """Whether a refusal among ``consents`` covers ``item`` for ``viewer`` now."""
    return _verdicts(consents, viewer, item, now).denied


def _verdicts(
    consents: Sequence[PatientConsent], viewer: Viewer, item: Item, now: datetime
) -> Verdicts:
    """The provisions that decide ``item`` for ``viewer`` under each consent in force.

    Within a consent the most specific matching provision decides (nested
    provisions are exceptions to their parent). A root ``deny`` with exceptions is
    the consent's base ("share nothing but …"), not a refusal; a root ``deny``
    without exceptions refuses everything it covers.
    """
    permits: list[tuple[Provision, PatientConsent]] = []
    denied = False
    for consent in consents:
        if not consent.active:
            continue
        decisive = _most_specific(consent.root, viewer, item, now)
        if decisive is None:
            continue
        provision, depth = decisive
        if provision.type == "permit":
            permits.append((provision, consent))
        elif provision.type == "deny" and (depth > 0 or not consent.root.children):
            denied = True
    return Verdicts(tuple(permits), denied)


def _most_specific(
    provision: Provision, viewer: Viewer, item: Item, now: datetime, depth: int = 0
) -> tuple[Provision, int] | None:
    if not provision.applies(viewer, item, now):
        return None
    deepest: tuple[Provision, int] = (provision, depth)
    for child in provision.children:
        found = _most_specific(child, viewer, item, now, depth + 1)
        if found is not None and found[1] > deepest[1]:
            deepest = found
        elif found is not None and found[1] == deepest[1] and found[0].type == "deny":
            deepest = found  # between equally specific rules, the refusal wins
    return deepest


def decide(
    viewer: Viewer,
    item: Item,
    consents: Sequence[PatientConsent],
    *,
    patient_kommune: str | None,
    now: datetime,
    policy: Policy = DEFAULT_POLICY,
) -> Visibility:
    """How much of ``item`` ``viewer`` may see (see the module docstring for the rules)."""
    if item.org == viewer.org:
        return Visibility.FULL
    if viewer.override_reason:
        return Visibility.FULL
    verdicts = _verdicts(consents, viewer, item, now)
    if verdicts.denied:
        return Visibility.HIDDEN
    if own_data(viewer, item):
        return Visibility.FULL
    psychiatric = is_psychiatric(item.content) or item.sector == Sector.PSYCHIATRY.value
    permits = [
        provision
        for provision, consent in verdicts.permits
        if consent.may_disclose(item, psychiatric)
        and (not psychiatric or PSYCHIATRY_LABEL in provision.labels)
    ]
    if permits:
        return Visibility.FULL
    if addressed_to(viewer, item, now):
        return Visibility.ADDRESSED
    if _notification_basis(viewer, item, patient_kommune, psychiatric, policy):
        return Visibility.NOTIFICATION
    if viewer.org in invited_organisations(item):
        return Visibility.INVITATION
    return Visibility.HIDDEN


def own_data(viewer: Viewer, item: Item) -> bool:
    """Whether ``item`` is the viewer's own organisation's, or its controller's and not
    psychiatry's kept from a somatic unit (rules 1, 4)."""
    if item.org == viewer.org:
        return True
    psychiatric = is_psychiatric(item.content) or item.sector == Sector.PSYCHIATRY.value
    return item.controller == viewer.controller and (
        not psychiatric or viewer.sector is Sector.PSYCHIATRY
    )


def _notification_basis(
    viewer: Viewer, item: Item, kommune: str | None, psychiatric: bool, policy: Policy
) -> bool:
    if viewer.sector is not Sector.MUNICIPALITY:
        return False
    resident = kommune is not None and viewer.kommune == kommune
    if not (resident or viewer.org in notified_organisations(item.content)):
        return False
    if item.resource_type not in policy.notification_types:
        return False
    if item.sector not in (Sector.HOSPITAL.value, Sector.PSYCHIATRY.value):
        return False  # hospital stays only: nothing a kommune, a GP or a coordinator wrote
    return not psychiatric or policy.psychiatry_notifications


def addressees(item: Item) -> frozenset[str]:
    """Identities (``sor:…``, ``gln:…``) of the organisations ``item`` is addressed to:
    a referral's performer, a letter's recipient, a task's owner and recipients.

    A rundbordsmøde is not among them: its convener is told which participants the
    patient's consent does not cover and that they are invited without patient data
    (rule 9), so accepting does not show them the patient."""
    content = item.content
    references: list[Any] = []
    if item.resource_type == "ServiceRequest":
        references = list(content.get("performer") or [])
    elif item.resource_type == "Communication":
        references = list(content.get("recipient") or [])
    elif item.resource_type == "Task":
        restriction = content.get("restriction") or {}
        references = [content.get("owner"), *(restriction.get("recipient") or [])]
    return frozenset(
        identity for reference in references if (identity := _address(reference)) is not None
    )


def _address(reference: Any) -> str | None:
    if not isinstance(reference, dict):
        return None
    identifier = reference.get("identifier") or {}
    kind = _ADDRESS_SYSTEMS.get(str(identifier.get("system")))
    value = identifier.get("value")
    if not (kind and isinstance(value, str) and value):
        return None
    if kind == KOMMUNE_IDENTITY:
        # DK Core writes 0730, the hub's kommune codes are 730.
        value = value[1:] if len(value) == 4 and value.startswith("0") else value
        if not (len(value) == 3 and value.isdigit()):
            return None
    return f"{kind}:{value}"


def addressed_to(viewer: Viewer, item: Item, now: datetime) -> bool:
    """Whether ``item`` is addressed to the viewer and due to be shown (rule 5): a
    deferred referral ("call the citizen in three months") from the date it names."""
    if not viewer.addresses & addressees(item):
        return False
    if item.resource_type == "ServiceRequest":
        deferred_to = fhir_instant(
            (item.content.get("occurrencePeriod") or {}).get("start")
            or item.content.get("occurrenceDateTime")
        )
        if deferred_to is not None and deferred_to > now:
            return False
    return True


def notified_organisations(content: FhirJson) -> frozenset[str]:
    """SOR codes of the organisations the author notified of this resource."""
    return frozenset(
        str(extension["valueIdentifier"]["value"])
        for extension in content.get("extension") or []
        if extension.get("url") == NOTIFIED_EXTENSION
        and (extension.get("valueIdentifier") or {}).get("system") == SOR_SYSTEM
        and (extension.get("valueIdentifier") or {}).get("value")
    )


def invited_organisations(item: Item) -> frozenset[str]:
    """SOR codes of the organisations ``item`` invites, when it is a rundbordsmøde."""
    if item.resource_type != "Appointment" or not _is_round_table(item.content):
        return frozenset()
    return frozenset(
        str(p["actor"]["identifier"]["value"]) for p in _organisation_participants(item.content)
    )


def _is_round_table(content: FhirJson) -> bool:
    return any(
        coding.get("system") == PATHWAY_EVENTS and coding.get("code") == ROUND_TABLE.code
        for concept in content.get("serviceType") or []
        for coding in concept.get("coding") or []
    )


def _organisation_participants(content: FhirJson) -> list[FhirJson]:
    """The participants that are organisations by SOR code (never the patient)."""
    return [
        participant
        for participant in content.get("participant") or []
        if ((participant.get("actor") or {}).get("identifier") or {}).get("system") == SOR_SYSTEM
        and participant["actor"]["identifier"].get("value")
    ]


def _invited(participant: FhirJson) -> FhirJson:
    """A participant as the invitation shows it: the organisation, its role and answer
    (and a time it proposed), nothing else a sender may have put there."""
    actor = participant["actor"]
    shown_participant: FhirJson = {
        "actor": {k: v for k, v in actor.items() if k in ("identifier", "display")},
        **{k: v for k, v in participant.items() if k in ("type", "required", "status")},
    }
    proposals = [
        extension
        for extension in participant.get("extension") or []
        if extension.get("url") == PROPOSED_START_EXTENSION
    ]
    if proposals:
        shown_participant["extension"] = proposals
    return shown_participant


def shown(
    viewer: Viewer,
    item: Item,
    visibility: Visibility,
    consents: Sequence[PatientConsent],
    now: datetime,
) -> FhirJson | None:
    """The content ``viewer`` is shown of ``item`` at ``visibility`` (None when hidden)."""
    if visibility is Visibility.HIDDEN:
        return None
    if visibility is Visibility.NOTIFICATION:
        return {k: v for k, v in item.content.items() if k in NOTIFICATION_FIELDS}
    if visibility is Visibility.INVITATION:
        invitation = {k: v for k, v in item.content.items() if k in INVITATION_FIELDS}
        invitation["participant"] = [
            _invited(participant) for participant in _organisation_participants(item.content)
        ]
        return invitation
    content = item.content
    if (
        item.resource_type == "Patient"
        and "contact" in content
        and not own_data(viewer, item)
        and not viewer.override_reason
        and not _relatives_permitted(viewer, item, consents, now)
    ):
        content = {k: v for k, v in content.items() if k != "contact"}
    if (
        item.resource_type == "Appointment"
        and any(_is_relative(p) for p in content.get("participant") or [])
        and not own_data(viewer, item)
        and not viewer.override_reason
        and not _relatives_permitted(viewer, item, consents, now)
    ):
        participants = [p for p in content["participant"] if not _is_relative(p)]
        content = {**content, "participant": participants}
    return content


def _is_relative(participant: Any) -> bool:
    """A relative taking part in a rundbordsmøde (rule 6, as for a Patient's contacts)."""
    return isinstance(participant, dict) and (participant.get("actor") or {}).get("type") == (
        RELATIVES_CLASS
    )


def relatives_permitted(
    viewer: Viewer, item: Item, consents: Sequence[PatientConsent], now: datetime
) -> bool:
    """Whether ``viewer`` may be shown the relatives ``item`` names (rule 6)."""
    return own_data(viewer, item) or _relatives_permitted(viewer, item, consents, now)


def _relatives_permitted(
    viewer: Viewer, patient: Item, consents: Sequence[PatientConsent], now: datetime
) -> bool:
    """Whether a permit that names relatives, and may disclose ``patient``'s record, covers
    the viewer."""
    relatives = Item(RELATIVES_CLASS, "-", "-", "-", {}, controller=patient.controller)
    psychiatric = is_psychiatric(patient.content) or patient.sector == Sector.PSYCHIATRY.value
    verdicts = _verdicts(consents, viewer, relatives, now)
    return not verdicts.denied and any(
        RELATIVES_CLASS in provision.classes
        and consent.may_disclose(relatives, psychiatric)
        and (not psychiatric or PSYCHIATRY_LABEL in provision.labels)
        for provision, consent in verdicts.permits
    )


# --- reading FHIR Consent ---------------------------------------------------------------


def read_consent(
    resource: FhirJson, *, custodian: str = "", recorder_sector: str = ""
) -> PatientConsent:
    """A stored FHIR Consent as the policy reads it.

    Active means status ``active``; the Consent's provision tree keeps its nesting.
    ``custodian`` is the controller that recorded it (from its token, never from the
    Consent's own ``organization``), or PATIENT for one the patient recorded.
    """
    root = resource.get("provision") or {}
    return PatientConsent(
        id=str(resource.get("id")),
        active=resource.get("status") == "active",
        root=_provision(root, default_type=""),
        custodian=custodian,
        recorder_sector=recorder_sector,
    )


def _provision(element: Mapping[str, Any], default_type: str) -> Provision:
    """A provision; a nested one without a type is a permit, a root without one groups."""
    return Provision(
        type=str(element.get("type") or default_type),
        actors=frozenset(_actors(element.get("actor") or [])),
        purposes=frozenset(c.get("code") for c in element.get("purpose") or [] if c.get("code")),
        classes=frozenset(c.get("code") for c in element.get("class") or [] if c.get("code")),
        data=frozenset(
            str(d["reference"]["reference"])
            for d in element.get("data") or []
            if (d.get("reference") or {}).get("reference")
        ),
        labels=frozenset(
            c.get("code") for c in element.get("securityLabel") or [] if c.get("code")
        ),
        period=_period(element.get("period")),
        data_period=_period(element["dataPeriod"]) if element.get("dataPeriod") else None,
        children=tuple(_provision(child, "permit") for child in element.get("provision") or []),
    )


def _actors(actors: Iterable[Mapping[str, Any]]) -> Iterable[str]:
    for actor in actors:
        identifier = (actor.get("reference") or {}).get("identifier") or {}
        if identifier.get("system") == SOR_SYSTEM and identifier.get("value"):
            yield f"sor:{identifier['value']}"
        for coding in (actor.get("role") or {}).get("coding") or []:
            if coding.get("system") == SECTOR_ROLE_SYSTEM and coding.get("code"):
                yield f"sector:{coding['code']}"


def _period(element: Mapping[str, Any] | None) -> Period:
    if not element:
        return Period()
    return Period(fhir_instant(element.get("start")), _end_instant(element.get("end")))


def _end_instant(value: str | None) -> datetime | None:
    """The last moment of a period's end (a date ``2026-12-31`` covers that whole day)."""
    instant = fhir_instant(value)
    if instant is None or value is None or "T" in value:
        return instant
    precision = len(value)
    if precision == 4:
        return instant.replace(year=instant.year + 1) - timedelta(microseconds=1)
    if precision == 7:
        month = instant.month % 12 + 1
        year = instant.year + (instant.month == 12)
        return instant.replace(year=year, month=month) - timedelta(microseconds=1)
    return instant + timedelta(days=1) - timedelta(microseconds=1)


DK_MUNICIPALITY_EXTENSION = "http://hl7.dk/fhir/core/StructureDefinition/dk-core-municipalityCodes"


def residence_kommune(patient: FhirJson | None) -> str | None:
    """The patient's residence municipality (3-digit kommune code), if the Patient says.

    Read from DK Core's municipality-code extension on the home address, else from an
    address district that is a kommune code. Unknown residence gives no notification
    basis: the hub does not guess whom to notify.
    """
    if not patient:
        return None
    addresses = patient.get("address") or []
    homes = [a for a in addresses if a.get("use") in (None, "home")] or addresses
    for address in homes:
        for extension in address.get("extension") or []:
            if extension.get("url") == DK_MUNICIPALITY_EXTENSION:
                code = (extension.get("valueCodeableConcept") or {}).get("coding") or []
                for coding in code:
                    if str(coding.get("code", "")).isdigit():
                        return str(coding["code"]).zfill(3)
        district = str(address.get("district") or "")
        if len(district) == 3 and district.isdigit():
            return district
    return None
