"""The services' refusals in Danish, by their machine code.

A service refuses with an English message for developers and logs, and a stable code
(``RoundTableError.code``, ``ConsentError.code``, ``IndicatorQueryError.code``; GraphQL
gives it as ``extensions.code``). The page words each code here; a code it does not know
gets a general Danish sentence, never the English message or an API field name.
"""

from __future__ import annotations

from collections.abc import Callable

from hub.domain.round_table import (
    MAX_ACTIONS,
    MAX_GOALS,
    MAX_PARTICIPANTS,
    MAX_RELATIVES,
    MAX_TEXT,
)
from hub.domain.safety_plan import MAX_ENTRIES, MAX_REVIEWS
from hub.services.intake import Rejected

ROUND_TABLE = {
    "text-too-long": f"Teksten er for lang: højst {MAX_TEXT} tegn i hvert felt.",
    "unknown-answer": "Vælg et svar: deltager, deltager ikke eller foreslår andet tidspunkt.",
    "proposed-time-missing": "Skriv det tidspunkt, du foreslår i stedet.",
    "proposed-time-in-past": "Det foreslåede tidspunkt er overstået. Vælg et senere tidspunkt.",
    "bad-time": "Tidspunktet kunne ikke læses. Skriv dato og klokkeslæt, fx 24.11.2026 10:00.",
    "meeting-in-past": "Tidspunktet er overstået. Et rundbordsmøde skal ligge i fremtiden.",
    "bad-due": "Fristen kunne ikke læses. Skriv en dato, fx 24.11.2026.",
    "reason-missing": "Skriv årsagen til rundbordsmødet.",
    "no-participants": "Vælg mindst én anden organisation, der skal deltage.",
    "too-many-participants": f"Der kan højst inviteres {MAX_PARTICIPANTS} organisationer.",
    "participant-twice": "Hver organisation kan kun deltage én gang (også din egen).",
    "bad-duration": "Varigheden skal være mellem 1 minut og 24 timer.",
    "not-convened-here": (
        "Mødet er ikke indkaldt gennem Brobygger. Svar i indkalderens eget system."
    ),
    "bad-cpr": "CPR-nummeret kunne ikke læses. Søg patienten frem igen.",
    "no-basis": (
        "Din organisations dataansvarlige har ingen oplysninger om patienten. Kun en part "
        "i forløbet kan indkalde til rundbordsmøde om patienten."
    ),
    "no-such-meeting": "Mødet findes ikke, eller din organisation deltager ikke i det.",
    "meeting-closed": "Mødet er afholdt eller aflyst og kan ikke ændres.",
    "not-convener": "Kun den, der har indkaldt, kan flytte, aflyse eller afslutte mødet.",
    "no-proposal": "{orgs} har ikke foreslået et andet tidspunkt.",
    "cancel-reason-missing": "Skriv, hvorfor mødet aflyses.",
    "decisions-missing": "Skriv, hvad der blev besluttet på mødet.",
    "attendance-missing": "Markér, hvem der deltog i mødet.",
    "meeting-without-time": "Mødet har intet tidspunkt og kan ikke være afholdt.",
    "bad-video-link": "Videolinket skal være en https://-adresse.",
    "relative-name-missing": "Hver pårørende skal have et navn.",
    "too-many-relatives": f"Der kan højst deltage {MAX_RELATIVES} pårørende.",
    "relative-twice": "Hver pårørende kan kun deltage én gang.",
    "relatives-not-consented": (
        "Patientens samtykke nævner ikke pårørende for {orgs}. Pårørende kan kun deltage, "
        "når samtykket omfatter pårørende for alle inviterede organisationer."
    ),
    "goal-missing": "Skriv mindst ét mål for planen.",
    "plan-too-large": f"En plan kan højst have {MAX_GOALS} mål og {MAX_ACTIONS} handlinger.",
    "action-description-missing": "Hver handling skal have en beskrivelse.",
    "action-due-missing": "Hver handling skal have en frist.",
    "not-planner": "Kun den, der har indkaldt, eller planens tovholder kan registrere planen.",
    "unknown-action-status": "Vælg en status for handlingen.",
    "no-such-action": "Handlingen findes ikke, eller du har ikke adgang til den.",
    "not-action-updater": (
        "Kun den ansvarlige for handlingen, den der har indkaldt, eller tovholderen kan ændre den."
    ),
    "not-stored-yet": "Ændringen er modtaget, men ikke gemt endnu. Hent siden igen om lidt.",
    "not-participant": "{orgs} deltager ikke i mødet.",
    "consent-does-not-cover": (
        "Patientens samtykke dækker ikke deling af mødet med {orgs}. Registrér samtykket "
        "først; en organisation, der ikke kan se planen, kan ikke udføre den."
    ),
    "unknown-sector": "Vælg sektoren for hver deltager.",
    "sector-missing": "Vælg sektoren for {orgs}: organisationsregistret angiver ingen.",
    "participant-org-missing": "Hver deltager skal have en SOR-kode.",
    "safety-plan-incomplete": (
        "Skriv mindst ét advarselstegn og én ting, den unge selv kan gøre, i sikkerhedsplanen."
    ),
    "safety-plan-too-large": (
        f"Et afsnit af sikkerhedsplanen kan højst have {MAX_ENTRIES} punkter, og planen "
        f"højst {MAX_REVIEWS} opfølgningsdatoer."
    ),
    "tovholder-missing": "Vælg en tovholder for planen.",
    "review-date-missing": "Skriv mindst én dato for opfølgning på sikkerhedsplanen.",
    "review-date-in-past": "En opfølgningsdato er overstået. Vælg i dag eller en senere dato.",
    "bad-review-date": "Opfølgningsdatoen kunne ikke læses. Skriv en dato, fx 24.11.2026.",
}

CONSENT = {
    "bad-cpr": "CPR-nummeret kunne ikke læses. Søg patienten frem igen.",
    "unknown-decision": "Vælg, om patienten giver samtykke eller frabeder sig deling.",
    "unknown-sector": "Vælg en af de viste sektorer.",
    "period-reversed": "Perioden slutter, før den begynder. Ret datoerne.",
    "period-past": "Perioden er allerede slut, så samtykket ville aldrig gælde. Ret datoerne.",
    "data-period-reversed": "Dataperioden slutter, før den begynder. Ret datoerne.",
    "bad-date": "En dato kunne ikke læses. Skriv datoen som dd.mm.åååå.",
    "no-such-consent": "Samtykket findes ikke, eller det er ikke din organisation, der har "
    "registreret det.",
    "not-custodian": (
        "Din organisations dataansvarlige har ingen oplysninger om patienten, som samtykket "
        "kan dække. Kun den, der har oplysningerne, eller patienten selv kan give samtykke "
        "til at videregive dem."
    ),
    "psychiatry-recorder": (
        "Kun patienten selv eller psykiatrien kan registrere samtykke til at videregive "
        "psykiatriske oplysninger."
    ),
}

INDICATORS = {
    "aggregate-role-missing": "Tal for alle sektorer kræver adgang til samlede tal.",
    "bad-kommune": "Kommunekoden skal være 3 cifre, fx 730.",
    "period-reversed": "Til-datoen ligger før fra-datoen. Ret datoerne.",
    "period-too-long": "Perioden må højst være 5 år.",
    "bad-date": "En dato kunne ikke læses. Skriv datoen som dd.mm.åååå.",
    "bad-first": "Der kan højst vises 500 ad gangen.",
    "unknown-indicator": "Indikatoren findes ikke. Vælg den fra siden med indikatorer.",
}

GENERAL = "Ændringen kunne ikke gennemføres. Tjek det, du har skrevet, og prøv igen."
NOT_RECEIVED = (
    "Brobygger kunne ikke modtage ændringen. Intet er gemt; prøv igen om lidt. Varer det "
    "ved, så kontakt driften."
)


def in_danish(
    error: Exception,
    words: dict[str, str],
    *,
    name_of: Callable[[str], str] | None = None,
) -> str:
    """``error`` as the page says it: its code's Danish words, with the organisations
    it names (``orgs``) named by ``name_of``."""
    if isinstance(error, Rejected):
        return NOT_RECEIVED
    code = getattr(error, "code", None)
    text = words.get(code) if isinstance(code, str) else None
    if text is None:
        return GENERAL
    orgs = [str(o) for o in getattr(error, "orgs", ())]
    named = ", ".join(name_of(o) if name_of else f"SOR {o}" for o in orgs)
    return text.replace("{orgs}", named or "en organisation")
