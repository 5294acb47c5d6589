"""The indicators the hub computes: name, unit and the definition shown to users."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta

from hub.domain.indicators.facts import (
    ADDICTION_CONTACT,
    ADDICTION_REFERRAL,
    AID_GRANTED,
    HOME_CARE_GRANTED,
    OUTREACH_CONVERSATION,
    OUTREACH_DECLINED,
    OUTREACH_REFERRAL,
    OUTREACH_UNABLE,
    VIRTUAL_MEETING,
)

READMISSION_WINDOWS = (7, 30)
SOCIAL_SERVICES_AFTER_DISCHARGE = timedelta(days=30)
RECEPTION_VISIT_WITHIN = timedelta(hours=24)


@dataclass(frozen=True)
class Definition:
    name: str
    unit: str
    definition: str


DEFINITIONS: tuple[Definition, ...] = (
    Definition(
        "outreachReferrals",
        "referrals",
        "ServiceRequests with category fremskudt-behandler-henvisning, authoredOn in the period.",
    ),
    Definition(
        "outreachConversationsHeld",
        "conversations",
        "Encounters with type "
        "fremskudt-behandler-samtale-afholdt, not planned, starting in the period.",
    ),
    Definition(
        "outreachConversationsDeclined",
        "patients",
        "Tasks with code "
        "fremskudt-behandler-samtale-afslaaet, completed (executionPeriod, else authoredOn) "
        "in the period.",
    ),
    Definition(
        "outreachConversationsUnable",
        "patients",
        "Tasks with code fremskudt-behandler-samtale-ikke-mulig, completed in the period.",
    ),
    Definition(
        "addictionCentreReferrals",
        "referrals",
        "ServiceRequests with category rusmiddelcenter-henvisning, authoredOn in the period.",
    ),
    Definition(
        "addictionCentreContactsAchieved",
        "contacts",
        "Encounters with type rusmiddelcenter-kontakt-opnaaet, starting in the period.",
    ),
    Definition(
        "homeCareGranted",
        "grants",
        "ServiceRequests with category hjemmehjaelp-sel83-bevilget, authoredOn in the period.",
    ),
    Definition(
        "aidsGranted",
        "grants",
        "ServiceRequests with category hjaelpemiddel-sel112-bevilget, authoredOn in the period.",
    ),
    Definition(
        "plannedAdmissions",
        "admissions",
        "Hospital stays starting in the period that were "
        "planned (an earlier version had status planned, or priority EL) and have begun.",
    ),
    Definition(
        "plannedAdmissionsMeanLengthOfStay",
        "days",
        "Mean of (period.end − period.start) over planned hospital stays finished in the period.",
    ),
    Definition(
        "acuteAdmissions",
        "admissions",
        "Hospital stays starting in the period with class "
        "EMER or ACUTE (or priority EM) that have begun.",
    ),
    Definition(
        "discharges",
        "discharges",
        "Hospital stays finished (status finished) with period.end in the period.",
    ),
    Definition(
        "meanLengthOfStay", "days", "Mean of (period.end − period.start) over the discharges."
    ),
    Definition(
        "medianLengthOfStay", "days", "Median of (period.end − period.start) over the discharges."
    ),
    Definition(
        "readmissions7d",
        "discharges",
        "Discharges followed by an acute hospital stay of the "
        "same patient starting within 7 days after period.end.",
    ),
    Definition(
        "readmissions30d",
        "discharges",
        "Discharges followed by an acute hospital stay of the "
        "same patient starting within 30 days after period.end.",
    ),
    Definition(
        "dischargedWithSubstanceProblems",
        "patients",
        "Patients discharged in the period "
        "from a stay during which they were referred to the outreach counsellor or the "
        "addiction centre, or held a conversation with the counsellor.",
    ),
    Definition(
        "dischargedWithSubstanceProblemsOfferedSocialServices",
        "patients",
        "Of those, the "
        "patients with a ServiceRequest with category socialfaglig-indsats-tilbudt "
        "authoredOn between admission and 30 days after discharge.",
    ),
    Definition(
        "virtualDischargeMeetingsHeld",
        "meetings",
        "Encounters with type virtuelt-udskrivningsmoede-afholdt, starting in the period.",
    ),
    Definition(
        "komGodtHjemDischarges",
        "discharges",
        "Discharges in the period from a stay during "
        "which a virtual discharge meeting was held, or whose latest follow-up screening "
        "score (Observation kom-godt-hjem-screening) is over HUB_KOM_GODT_HJEM_SCORE, "
        'default 31 (the "Kom godt hjem" patients).',
    ),
    Definition(
        "receptionVisitsWithin24h",
        "discharges",
        "Of those, discharges followed by an "
        "Encounter with type kom-godt-hjem-modtagebesoeg starting within 24 hours after "
        "period.end of the stay the hub holds.",
    ),
    Definition(
        "faerdigbehandlingsdage",
        "days",
        "Per residence municipality: the days in the "
        "period between period.start and period.end (today while open) of Flags with code "
        "faerdigbehandlet.",
    ),
    Definition(
        "cohortMembersFlagged",
        "patients",
        "Patients flagged in the period (Flag with code "
        "sammen-om-min-vej-kohorte, period.start in the period).",
    ),
    Definition(
        "cohortMembersWithRoundTable",
        "patients",
        "Of those, patients with a rundbordsmøde "
        "held after the flag (Encounter type rundbordsmoede-afholdt, or Appointment with "
        "serviceType rundbordsmoede and status fulfilled).",
    ),
    Definition(
        "meanDaysFlagToRoundTable",
        "days",
        "Mean days from the flag to the first rundbordsmøde held after it, over those patients.",
    ),
    Definition(
        "medianDaysFlagToRoundTable",
        "days",
        "Median days from the flag to the first rundbordsmøde held after it, over those patients.",
    ),
    Definition(
        "careHomeAdmissions",
        "admissions",
        "Per residence municipality: hospital stays starting in the period that have begun "
        "and whose hospitalization.admitSource is nursing (admit-source: from a care home or "
        "a residential institution).",
    ),
    Definition(
        "careHomeAdmissionsByDiagnosisGroup",
        "admissions",
        "Of those, per residence municipality and diagnosis group: the ICD-10 letter and two "
        "digits (J44) of the stay's reasonCode and of the contained Conditions its diagnosis "
        "references, coded in ICD-10 or SKS (DJ441 is J44). A stay with several groups counts "
        "in each; one with none only in careHomeAdmissions.",
    ),
)
DEFINITION_BY_NAME: Mapping[str, Definition] = {d.name: d for d in DEFINITIONS}

COUNTED_KINDS: Mapping[str, str] = {
    "outreachReferrals": OUTREACH_REFERRAL,
    "outreachConversationsHeld": OUTREACH_CONVERSATION,
    "outreachConversationsDeclined": OUTREACH_DECLINED,
    "outreachConversationsUnable": OUTREACH_UNABLE,
    "addictionCentreReferrals": ADDICTION_REFERRAL,
    "addictionCentreContactsAchieved": ADDICTION_CONTACT,
    "homeCareGranted": HOME_CARE_GRANTED,
    "aidsGranted": AID_GRANTED,
    "virtualDischargeMeetingsHeld": VIRTUAL_MEETING,
}
"""Indicators that are a plain count of one kind of fact in the period (SQL COUNT)."""

SUBSTANCE_MARKERS = frozenset({OUTREACH_REFERRAL, ADDICTION_REFERRAL, OUTREACH_CONVERSATION})
