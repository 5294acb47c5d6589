"""Danish words for what the page shows: sectors, resource types, statuses, indicators."""

from __future__ import annotations

from hub.domain.summaries import status_word

SECTORS = {
    "hospital": "Hospital",
    "psychiatry": "Psykiatri",
    "municipality": "Kommune",
    "gp": "Almen praksis",
    "coordinator": "Koordinator",
}

RESOURCE_TYPES = {
    "Encounter": "Kontakt/ophold",
    "ServiceRequest": "Henvisning/bevilling",
    "CarePlan": "Plan",
    "Task": "Opgave",
    "Communication": "Korrespondance",
    "Appointment": "Møde",
    "Consent": "Samtykke",
    "Flag": "Markering",
    "CareTeam": "Team",
}

WHEREABOUTS = {
    "admitted": "Indlagt",
    "on-leave": "På orlov fra indlæggelse",
    "at-home": "Udskrevet (hjemme)",
    "deceased": "Død",
    "unknown": "Ukendt (intet du har adgang til viser det)",
}

PURPOSES = {
    "TREAT": "Behandling",
    "HOPERAT": "Drift og kvalitet",
    "ETREAT": "Akut behandling",
    "CAREMGT": "Koordinering af forløb",
}

RESPONSES = {
    "needs-action": "Har ikke svaret",
    "accepted": "Deltager",
    "declined": "Deltager ikke",
    "tentative": "Foreslår andet tidspunkt",
}

ACTION_STATUSES = {
    "requested": "Ikke påbegyndt",
    "accepted": "Accepteret",
    "in-progress": "I gang",
    "completed": "Udført",
    "cancelled": "Annulleret",
}

INDICATORS = {
    "outreachReferrals": "Henvisninger til fremskudt behandler",
    "outreachConversationsHeld": "Samtaler med fremskudt behandler",
    "outreachConversationsDeclined": "Takkede nej til samtale",
    "outreachConversationsUnable": "Samtale ikke mulig",
    "addictionCentreReferrals": "Henvisninger til rusmiddelcenter",
    "addictionCentreContactsAchieved": "Kontakt opnået med rusmiddelcenter",
    "homeCareGranted": "Hjemmehjælp bevilget (SEL § 83)",
    "aidsGranted": "Hjælpemidler bevilget (SEL § 112)",
    "plannedAdmissions": "Planlagte indlæggelser",
    "plannedAdmissionsMeanLengthOfStay": "Gns. liggetid, planlagte indlæggelser",
    "acuteAdmissions": "Akutte indlæggelser",
    "discharges": "Udskrivninger",
    "meanLengthOfStay": "Gns. liggetid",
    "medianLengthOfStay": "Median liggetid",
    "readmissions7d": "Genindlæggelser inden 7 dage",
    "readmissions30d": "Genindlæggelser inden 30 dage",
    "dischargedWithSubstanceProblems": "Udskrevne med rusmiddelproblemer",
    "dischargedWithSubstanceProblemsOfferedSocialServices": ("Heraf tilbudt socialfaglig indsats"),
    "virtualDischargeMeetingsHeld": "Virtuelle udskrivningsmøder",
    "komGodtHjemDischarges": "Udskrivninger, Kom godt hjem",
    "receptionVisitsWithin24h": "Heraf modtagebesøg inden 24 timer",
    "faerdigbehandlingsdage": "Færdigbehandlingsdage",
    "cohortMembersFlagged": "Nye i Sammen om min vej-kohorten",
    "cohortMembersWithRoundTable": "Heraf med rundbordsmøde",
    "meanDaysFlagToRoundTable": "Gns. dage fra markering til rundbordsmøde",
    "medianDaysFlagToRoundTable": "Median dage fra markering til rundbordsmøde",
}

UNITS = {
    "referrals": "henvisninger",
    "conversations": "samtaler",
    "admissions": "indlæggelser",
    "discharges": "udskrivninger",
    "days": "dage",
    "patients": "patienter",
    "meetings": "møder",
    "grants": "bevillinger",
    "contacts": "kontakter",
}

MONTHS = (
    "jan",
    "feb",
    "mar",
    "apr",
    "maj",
    "jun",
    "jul",
    "aug",
    "sep",
    "okt",
    "nov",
    "dec",
)


def sector(code: str | None) -> str:
    return SECTORS.get(code or "", code or "Ukendt")


def resource_type(code: str) -> str:
    return RESOURCE_TYPES.get(code, code)


def status(resource_type: str, code: str | None) -> str:
    return status_word(resource_type, code) or ""


def indicator(name: str) -> str:
    return INDICATORS.get(name, name)


def unit(code: str) -> str:
    return UNITS.get(code, code)
