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
    "Observation": "Score",
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
    "careHomeAdmissions": "Indlæggelser fra plejebolig eller botilbud",
    "careHomeAdmissionsByDiagnosisGroup": "Indlæggelser fra plejebolig eller botilbud",
    # An organisation's own rundbordsmøder (hub.domain.own_figures)
    "roundTablesConvened": "Rundbordsmøder indkaldt",
    "roundTablePlansRecorded": "Planer registreret",
    "roundTableActionsAgreed": "Handlinger aftalt",
    "roundTableActionsCompleted": "Heraf udført",
    "roundTableActionsOverdue": "Heraf overskredet nu",
}

UNITS = {  # (one, several)
    "referrals": ("henvisning", "henvisninger"),
    "conversations": ("samtale", "samtaler"),
    "admissions": ("indlæggelse", "indlæggelser"),
    "discharges": ("udskrivning", "udskrivninger"),
    "days": ("dag", "dage"),
    "patients": ("patient", "patienter"),
    "meetings": ("møde", "møder"),
    "grants": ("bevilling", "bevillinger"),
    "contacts": ("kontakt", "kontakter"),
    "plans": ("plan", "planer"),
    "actions": ("handling", "handlinger"),
}

# What each indicator counts, in plain Danish (the API's ``definition`` is the
# developers' English one, naming FHIR fields).
DEFINITIONS = {
    "outreachReferrals": "Henvisninger til fremskudt behandler, oprettet i perioden.",
    "outreachConversationsHeld": (
        "Afholdte samtaler med fremskudt behandler (ikke kun planlagte), der begyndte i perioden."
    ),
    "outreachConversationsDeclined": (
        "Patienter, der takkede nej til samtale med fremskudt behandler; opgaven afsluttet "
        "i perioden."
    ),
    "outreachConversationsUnable": (
        "Patienter, hvor samtale med fremskudt behandler ikke var mulig; opgaven afsluttet "
        "i perioden."
    ),
    "addictionCentreReferrals": "Henvisninger til rusmiddelcenter, oprettet i perioden.",
    "addictionCentreContactsAchieved": (
        "Kontakter, hvor rusmiddelcentret opnåede kontakt med patienten, i perioden."
    ),
    "homeCareGranted": "Bevillinger af hjemmehjælp efter servicelovens § 83 i perioden.",
    "aidsGranted": "Bevillinger af hjælpemidler efter servicelovens § 112 i perioden.",
    "plannedAdmissions": (
        "Hospitalsophold, der begyndte i perioden og var planlagte (elektive), ikke akutte."
    ),
    "plannedAdmissionsMeanLengthOfStay": (
        "Gennemsnitlig varighed i dage af de planlagte ophold, der sluttede i perioden."
    ),
    "acuteAdmissions": (
        "Hospitalsophold, der begyndte i perioden som akutte indlæggelser eller akut prioritet."
    ),
    "discharges": "Hospitalsophold, der sluttede med udskrivning i perioden.",
    "meanLengthOfStay": "Gennemsnitlig varighed i dage af opholdene bag udskrivningerne.",
    "medianLengthOfStay": "Medianvarigheden i dage af opholdene bag udskrivningerne.",
    "readmissions7d": ("Udskrivninger, hvor samme patient blev indlagt akut igen inden 7 dage."),
    "readmissions30d": ("Udskrivninger, hvor samme patient blev indlagt akut igen inden 30 dage."),
    "dischargedWithSubstanceProblems": (
        "Patienter udskrevet i perioden efter et ophold, hvor de blev henvist til fremskudt "
        "behandler eller rusmiddelcenter eller havde samtale med fremskudt behandler."
    ),
    "dischargedWithSubstanceProblemsOfferedSocialServices": (
        "Heraf de patienter, der fik tilbudt en socialfaglig indsats fra indlæggelsen til "
        "30 dage efter udskrivningen."
    ),
    "virtualDischargeMeetingsHeld": "Afholdte virtuelle udskrivningsmøder i perioden.",
    "komGodtHjemDischarges": (
        "Udskrivninger i perioden efter et ophold med virtuelt udskrivningsmøde eller en "
        "opfølgningsscreening over tærsklen (Kom godt hjem-patienterne)."
    ),
    "receptionVisitsWithin24h": (
        "Heraf udskrivninger, der blev fulgt af et modtagebesøg inden 24 timer."
    ),
    "faerdigbehandlingsdage": (
        "Pr. bopælskommune: dage i perioden, hvor patienter var færdigbehandlede men stadig "
        "indlagt (til i dag, mens det står på)."
    ),
    "cohortMembersFlagged": "Patienter, der blev markeret til Sammen om min vej i perioden.",
    "cohortMembersWithRoundTable": (
        "Heraf patienter, der har haft et afholdt rundbordsmøde efter markeringen."
    ),
    "meanDaysFlagToRoundTable": (
        "Gennemsnitligt antal dage fra markeringen til det første afholdte rundbordsmøde."
    ),
    "medianDaysFlagToRoundTable": (
        "Medianantal dage fra markeringen til det første afholdte rundbordsmøde."
    ),
    "careHomeAdmissions": (
        "Pr. bopælskommune: hospitalsophold, der begyndte i perioden, hvor patienten kom fra "
        "en plejebolig, et plejehjem eller et botilbud (indlæggelsens kilde: admitSource "
        "nursing)."
    ),
    "careHomeAdmissionsByDiagnosisGroup": (
        "Heraf pr. bopælskommune og diagnosegruppe: ICD-10-kodens bogstav og to cifre "
        "(fx J44), når opholdet har en diagnose. Et ophold med flere grupper tælles i hver; "
        "et ophold uden diagnose kun i det samlede tal."
    ),
    "roundTablesConvened": "Rundbordsmøder, din organisation indkaldte til i perioden.",
    "roundTablePlansRecorded": (
        "Planer fra din organisations rundbordsmøder, registreret første gang i perioden."
    ),
    "roundTableActionsAgreed": (
        "Handlinger i planerne, aftalt i perioden (ikke dem, der siden er annulleret)."
    ),
    "roundTableActionsCompleted": "Af de aftalte handlinger: dem, der er udført.",
    "roundTableActionsOverdue": (
        "Af de aftalte handlinger: dem, der ikke er udført, og hvis frist er overskredet nu."
    ),
}

MONTH_NAMES = (
    "januar",
    "februar",
    "marts",
    "april",
    "maj",
    "juni",
    "juli",
    "august",
    "september",
    "oktober",
    "november",
    "december",
)

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


def unit(code: str, value: float | None = None) -> str:
    """The unit in Danish, singular for exactly 1 ("1 udskrivning", "2 udskrivninger")."""
    one, several = UNITS.get(code, (code, code))
    return one if value == 1 else several


def counted(value: int, code: str) -> str:
    """A count with its unit: "1 handling", "3 handlinger"."""
    return f"{value} {unit(code, value)}"


def number(value: float) -> str:
    """A figure as Danish writes it: whole numbers as they are, else one decimal, with a
    decimal comma ("3,5")."""
    if value == int(value):
        return str(int(value))
    return f"{value:.1f}".replace(".", ",")


def definition(name: str) -> str:
    return DEFINITIONS.get(name, "")
