"""The codes the hub counts for its pathway indicators.

The regional and municipal projects count their indicators by hand (see the domain
description: referrals to the outreach counsellor, conversations held and declined,
contact achieved with the addiction centre, home care and aids granted at discharge,
"Kom godt hjem" discharge meetings and reception visits, færdigbehandlingsdage …). The
hub computes them from the events its senders report, and these are the codes it
counts.

Two kinds of code:

* **National codes where one clearly exists.** Home care under Serviceloven § 83 is
  coded in FSIII (Fælles Sprog III, KL's common language for municipal health and
  care; CodeSystem ``urn:oid:1.2.208.176.2.21``, published in KL Terminologi): the
  groups H1 (personal help and care, § 83 stk. 1 nr. 1), H1b (practical help, nr. 2)
  and H1c (meal service, nr. 3) and their interventions. A sender carries the FSIII
  code of what it granted in ``ServiceRequest.code``.
* **The hub's own CodeSystem** ``PATHWAY_EVENTS`` for the events no national code
  system covers: the outreach counsellor's referrals and conversations, contact
  achieved with the addiction centre, a grant *as an event* (FSIII says what was
  granted, not that a grant was made), aids under § 112 (granted aids are classified
  by ISO 9999, which has no FHIR code system URI; senders name the aid in
  ``ServiceRequest.code.text``), the "Kom godt hjem" meeting and visit,
  færdigbehandlet and the rundbordsmøde.

Where each code is carried (the element that says what a resource is):

=====================  ==============================================================
``ServiceRequest``     ``category``: referrals and grants (``code`` keeps the national
                       or specific code of what was referred to or granted)
``Encounter``          ``type``: conversations, contacts, meetings and visits held
``Task``               ``code``: outcomes recorded without a meeting (declined, unable)
``Flag``               ``code``: færdigbehandlet; ``period`` is the days it lasted
``Appointment``        ``serviceType``: a rundbordsmøde convened through the hub
``CarePlan``           ``category``: the plan a rundbordsmøde agreed on, or its
                       sikkerhedsplan (safety plan)
=====================  ==============================================================

A resource counts while its status is not ``entered-in-error``, ``cancelled`` or
``revoked``. Codes are lower-case ASCII with hyphens (Danish words, æ/ø/å written
ae/oe/aa) so they travel safely through every format; the displays are Danish.
"""

from __future__ import annotations

from dataclasses import dataclass

PATHWAY_EVENTS = "urn:brobygger:codesystem:pathway-event"
"""The hub's CodeSystem of pathway events (canonical URL).

A URN in the hub's own namespace, like its other identifier systems: it claims no
web domain and is the same in every deployment.
"""

FSIII = "urn:oid:1.2.208.176.2.21"
"""FSIII (Fælles Sprog III), KL's national CodeSystem for municipal health and care."""


@dataclass(frozen=True)
class PathwayCode:
    """One code: its CodeSystem, the code itself and its Danish display."""

    system: str
    code: str
    display: str

    def coding(self) -> dict[str, str]:
        """The code as a FHIR Coding."""
        return {"system": self.system, "code": self.code, "display": self.display}


# --- Workflow 1: the outreach addiction counsellor (fremskudt behandler) -------------

OUTREACH_REFERRAL = PathwayCode(
    PATHWAY_EVENTS, "fremskudt-behandler-henvisning", "Henvist til fremskudt behandler"
)
"""Hospital staff referred the patient to a conversation with the outreach counsellor.

Carried in ``ServiceRequest.category`` (performer: the counsellor's organisation).
"""

OUTREACH_CONVERSATION_HELD = PathwayCode(
    PATHWAY_EVENTS,
    "fremskudt-behandler-samtale-afholdt",
    "Samtale med fremskudt behandler afholdt",
)
"""The outreach counsellor held the conversation. Carried in ``Encounter.type``."""

OUTREACH_CONVERSATION_DECLINED = PathwayCode(
    PATHWAY_EVENTS,
    "fremskudt-behandler-samtale-afslaaet",
    "Borgeren takkede nej til samtale med fremskudt behandler",
)
"""The patient declined the conversation. Carried in ``Task.code`` (status completed)."""

OUTREACH_CONVERSATION_UNABLE = PathwayCode(
    PATHWAY_EVENTS,
    "fremskudt-behandler-samtale-ikke-mulig",
    "Samtale med fremskudt behandler ikke mulig",
)
"""The conversation could not take place (the patient was unable, e.g. too ill or
discharged first). Carried in ``Task.code`` (status completed)."""

ADDICTION_CENTRE_REFERRAL = PathwayCode(
    PATHWAY_EVENTS, "rusmiddelcenter-henvisning", "Henvist til rusmiddelcenter"
)
"""The counsellor (or another party) referred the patient to the municipal addiction
centre. Carried in ``ServiceRequest.category``; only sent to partners the patient
consented to."""

ADDICTION_CENTRE_CONTACT = PathwayCode(
    PATHWAY_EVENTS, "rusmiddelcenter-kontakt-opnaaet", "Kontakt med rusmiddelcenter opnået"
)
"""The addiction centre (rusmiddelcenter) confirms contact with the citizen.

Carried in ``Encounter.type`` of the centre's first contact (``period.start`` is when
contact was achieved, ``serviceProvider`` the centre).
"""

# --- Workflow 3: discharge coordination with a social focus --------------------------

HOME_CARE_GRANTED_SEL83 = PathwayCode(
    PATHWAY_EVENTS,
    "hjemmehjaelp-sel83-bevilget",
    "Hjemmehjælp bevilget efter serviceloven § 83",
)
"""The municipality granted home care under Serviceloven § 83.

Carried in ``ServiceRequest.category`` (status active, intent order, ``authoredOn``
the date of the decision, ``occurrencePeriod`` when the help runs); ``code`` carries
the FSIII code of what was granted (see ``FSIII_SEL83_HOME_CARE``).
"""

AID_GRANTED_SEL112 = PathwayCode(
    PATHWAY_EVENTS,
    "hjaelpemiddel-sel112-bevilget",
    "Hjælpemiddel bevilget efter serviceloven § 112",
)
"""The municipality granted an aid (hjælpemiddel) under Serviceloven § 112.

Carried in ``ServiceRequest.category`` (status active, intent order, ``authoredOn``
the decision); ``code.text`` names the aid, preferably with its ISO 9999 class.
"""

SOCIAL_SERVICES_OFFERED = PathwayCode(
    PATHWAY_EVENTS, "socialfaglig-indsats-tilbudt", "Socialfaglig indsats tilbudt"
)
"""A patient discharged with substance problems was offered social services.
Carried in ``ServiceRequest.category``."""

# --- Workflow 4: "Kom godt hjem" -------------------------------------------------------

VIRTUAL_DISCHARGE_MEETING = PathwayCode(
    PATHWAY_EVENTS,
    "virtuelt-udskrivningsmoede-afholdt",
    "Virtuelt udskrivningsmøde afholdt",
)
"""The virtual discharge meeting (patient, relatives, municipality and hospital) was
held before discharge. Carried in ``Encounter.type`` (class ``VR``, virtual)."""

RECEPTION_VISIT = PathwayCode(
    PATHWAY_EVENTS,
    "kom-godt-hjem-modtagebesoeg",
    "Modtagebesøg efter udskrivning (Kom godt hjem)",
)
"""A municipal nurse's reception visit in the citizen's home after discharge.

Carried in ``Encounter.type`` (class ``HH``, home health; ``period.start`` the time of
the visit). The sender reports the visit; the hub decides "within 24 hours" itself by
comparing ``period.start`` with the end of the hospital stay it already holds, so a
late visit is counted as late rather than trusted as on time.
"""

# --- Workflow 5: færdigbehandlingsdage ------------------------------------------------

READY_FOR_DISCHARGE = PathwayCode(PATHWAY_EVENTS, "faerdigbehandlet", "Færdigbehandlet")
"""The patient is ready for discharge (færdigbehandlet) but waits for the
municipality's offer. Carried in ``Flag.code``: ``period.start`` is the day the patient
was declared færdigbehandlet, ``period.end`` the day the wait ended; each day between
counts against the municipality."""

# --- Workflow 6: rundbordsmøde ----------------------------------------------------------

ROUND_TABLE_MEETING = PathwayCode(PATHWAY_EVENTS, "rundbordsmoede-afholdt", "Rundbordsmøde afholdt")
"""A round-table meeting with all parties was held (its plan is a CarePlan).
Carried in ``Encounter.type``; counted for cohort members with the time from their
cohort flag to the meeting."""

# --- Workflow 7: "Sammen om min vej" ----------------------------------------------------

COHORT_MEMBER = PathwayCode(
    PATHWAY_EVENTS, "sammen-om-min-vej-kohorte", "Sammen om min vej: borger i målgruppen"
)
"""The patient meets the cohort rule of "Sammen om min vej" (aged 18–70 with repeated
acute admissions; see ``hub.domain.cohort``). Carried in ``Flag.code``, written by the
hub itself: ``period.start`` is when the patient met the rule, ``code.text`` the reason."""

ROUND_TABLE = PathwayCode(PATHWAY_EVENTS, "rundbordsmoede", "Rundbordsmøde")
"""A round-table meeting convened and answered through the hub (``hub.services.round_table``).

Carried in ``Appointment.serviceType`` (the meeting, its participants and their
answers) and ``CarePlan.category`` (its plan, whose actions are Tasks); the shapes
are in ``hub.domain.round_table``."""

SAFETY_PLAN = PathwayCode(PATHWAY_EVENTS, "sikkerhedsplan", "Sikkerhedsplan")
"""The safety plan of a self-harming young person, written at a rundbordsmøde before
discharge. Carried in ``CarePlan.category`` (beside the meeting's generic plan); its
sections and review dates are in ``hub.domain.safety_plan``."""

PATHWAY_EVENT_CODES: tuple[PathwayCode, ...] = (
    OUTREACH_REFERRAL,
    OUTREACH_CONVERSATION_HELD,
    OUTREACH_CONVERSATION_DECLINED,
    OUTREACH_CONVERSATION_UNABLE,
    ADDICTION_CENTRE_REFERRAL,
    ADDICTION_CENTRE_CONTACT,
    HOME_CARE_GRANTED_SEL83,
    AID_GRANTED_SEL112,
    SOCIAL_SERVICES_OFFERED,
    VIRTUAL_DISCHARGE_MEETING,
    RECEPTION_VISIT,
    READY_FOR_DISCHARGE,
    ROUND_TABLE_MEETING,
    COHORT_MEMBER,
    ROUND_TABLE,
    SAFETY_PLAN,
)
"""Every code of ``PATHWAY_EVENTS``; a code of that system not listed here is refused."""

PATHWAY_EVENT_BY_CODE: dict[str, PathwayCode] = {code.code: code for code in PATHWAY_EVENT_CODES}
"""``PATHWAY_EVENT_CODES`` by code."""

# --- National: FSIII home care under Serviceloven § 83 ---------------------------------

FSIII_PERSONAL_CARE = PathwayCode(FSIII, "H1", "Hjemmehjælp - Personlig hjælp og pleje")
"""FSIII group H1: personal help and care (§ 83 stk. 1 nr. 1)."""

FSIII_PRACTICAL_HELP = PathwayCode(FSIII, "H1b", "Hjemmehjælp - Praktisk hjælp og støtte")
"""FSIII group H1b: help with necessary practical tasks in the home (§ 83 stk. 1 nr. 2)."""

FSIII_MEAL_SERVICE = PathwayCode(FSIII, "H1c", "Madservice")
"""FSIII group H1c: meal service (§ 83 stk. 1 nr. 3)."""

FSIII_SEL83_HOME_CARE: frozenset[str] = frozenset(
    {
        # H1 personal help and care, and its interventions
        *("H1", "H1.1", "H1.2", "H1.3", "H1.4", "H1.5", "H1.6"),
        # H1b practical help, and its interventions
        *("H1b", "H1.7", "H1.8", "H1.9", "H1.10", "H1.12"),
        # H1c meal service
        *("H1c", "H1.11"),
    }
)
"""FSIII codes (system ``FSIII``) of home care granted under Serviceloven § 83.

Rehabilitation courses (H2, § 83 a) and temporary stays (H4) are deliberately not
included: they are other grants.
"""
