"""Which HospitalNotification (advis om sygehusophold) a message is, after MedCom's code table.

The event (STIN, STAA, …) is not coded anywhere in the message. MedCom's table
"Overview of HospitalNotification codes and HL7 FHIR resources" derives it from
the current Provenance.activity together with Encounter.class, Encounter.status
and Patient.deceased:

=========  ===================================  =========  ============================
event      Provenance.activity                  class      Encounter.status
=========  ===================================  =========  ============================
STAA       admit-emergency                      EMER       in-progress
STIN       admit-inpatient                      IMP        in-progress
STOR       start-leave-inpatient                IMP        onleave
SLOR       end-leave-inpatient                  IMP        in-progress
SLHJ       discharge-{emergency,inpatient}-home EMER/IMP   finished
RE_x       revise-<activity of x>               as x       as x
AN_STAA    cancel-admit-emergency               EMER       entered-in-error
AN_STIN    cancel-admit-inpatient               IMP        entered-in-error
AN_STOR    cancel-start-leave-inpatient         IMP        in-progress
AN_SLOR    cancel-end-leave-inpatient           IMP        onleave
AN_SLHJ    cancel-discharge-*-home              EMER/IMP   in-progress
MORS       the activity of the previous message EMER/IMP   finished, Patient.deceased
AN_MORS    the activity of the previous message EMER/IMP   the previous status,
                                                           Patient.deceased = false
=========  ===================================  =========  ============================

The table gives AN_STAA and AN_STIN "cancelled/entered-in-error"; the
HospitalNotification Encounter's status value set holds only entered-in-error.
A cancelled leave or discharge is not a cancelled stay: AN_STOR, AN_SLOR and
AN_SLHJ put the stay back where it was, as the table says.

RE_MORS repeats MORS's signals exactly and cannot be told from it; it is
reported as MORS. AN_MORS is recognised by ``deceasedBoolean = false`` on a
message that revises an earlier one (its Provenance has a ``revision`` entity)
with a non-revise, non-cancel activity.

Two readings go beyond the table (MedCom's own test fixtures send them):

* a message reporting the patient deceased whose Encounter still says
  ``in-progress`` or ``onleave`` (fixture MORS_J) is MORS, and the stay is
  recorded as ``finished``: a stay ends with the patient's death;
* a discharge (SLHJ, RE_SLHJ) whose Encounter still says ``onleave`` but
  carries the discharge time in ``period.end`` (fixture SLHJ_I: discharged
  straight from leave) is recorded as ``finished``.

The status as sent is then kept in the fact ``encounter_status_sent``.
"""

from __future__ import annotations

from dataclasses import dataclass

from hub.domain.translation import TranslationError

IN_PROGRESS = "in-progress"
ONLEAVE = "onleave"
FINISHED = "finished"
ENTERED_IN_ERROR = "entered-in-error"
STATUSES = (IN_PROGRESS, ONLEAVE, FINISHED, ENTERED_IN_ERROR)

EMER = "EMER"
IMP = "IMP"


@dataclass(frozen=True)
class Row:
    event: str
    encounter_class: str
    status: str


TABLE: dict[str, Row] = {
    "admit-emergency": Row("STAA", EMER, IN_PROGRESS),
    "revise-admit-emergency": Row("RE_STAA", EMER, IN_PROGRESS),
    "cancel-admit-emergency": Row("AN_STAA", EMER, ENTERED_IN_ERROR),
    "admit-inpatient": Row("STIN", IMP, IN_PROGRESS),
    "revise-admit-inpatient": Row("RE_STIN", IMP, IN_PROGRESS),
    "cancel-admit-inpatient": Row("AN_STIN", IMP, ENTERED_IN_ERROR),
    "start-leave-inpatient": Row("STOR", IMP, ONLEAVE),
    "revise-start-leave-inpatient": Row("RE_STOR", IMP, ONLEAVE),
    "cancel-start-leave-inpatient": Row("AN_STOR", IMP, IN_PROGRESS),
    "end-leave-inpatient": Row("SLOR", IMP, IN_PROGRESS),
    "revise-end-leave-inpatient": Row("RE_SLOR", IMP, IN_PROGRESS),
    "cancel-end-leave-inpatient": Row("AN_SLOR", IMP, ONLEAVE),
    "discharge-emergency-home": Row("SLHJ", EMER, FINISHED),
    "discharge-inpatient-home": Row("SLHJ", IMP, FINISHED),
    "revise-discharge-emergency-home": Row("RE_SLHJ", EMER, FINISHED),
    "revise-discharge-inpatient-home": Row("RE_SLHJ", IMP, FINISHED),
    "cancel-discharge-emergency-home": Row("AN_SLHJ", EMER, IN_PROGRESS),
    "cancel-discharge-inpatient-home": Row("AN_SLHJ", IMP, IN_PROGRESS),
}


@dataclass(frozen=True)
class Situation:
    """What the message says, read from its Provenance, Encounter and Patient."""

    activity: str
    activity_where: str
    encounter_class: str
    class_where: str
    status: str
    status_where: str
    deceased: bool | None
    deceased_where: str
    revises_earlier: bool  # the Provenance has a revision entity
    has_end: bool  # Encounter.period.end is given


@dataclass(frozen=True)
class Notification:
    """The derived event and the Encounter status the hub records for it."""

    event: str
    status: str
    status_sent: str


def derive(situation: Situation) -> Notification:
    """The HospitalNotification ``situation`` is, or TranslationError when the message
    contradicts MedCom's code table."""
    row = TABLE.get(situation.activity)
    if row is None:
        raise TranslationError(
            f"activity {situation.activity!r} is not a HospitalNotification activity "
            f"(expected one of {', '.join(TABLE)})",
            situation.activity_where,
        )
    if situation.encounter_class != row.encounter_class:
        raise TranslationError(
            f"activity {situation.activity} ({row.event}) is for Encounter.class "
            f"{row.encounter_class}, the Encounter's class is {situation.encounter_class}",
            situation.class_where,
        )
    sent = situation.status
    if sent not in STATUSES:
        raise TranslationError(
            f"Encounter.status {sent!r} is not a HospitalNotification status "
            f"(expected one of {', '.join(STATUSES)})",
            situation.status_where,
        )
    if situation.deceased:
        return _deceased(situation, row)
    if (
        situation.deceased is False
        and situation.revises_earlier
        and not situation.activity.startswith(("revise-", "cancel-"))
    ):
        if sent == ENTERED_IN_ERROR:
            raise TranslationError(
                "a cancellation of a death notification (AN_MORS) restores the earlier "
                "status; entered-in-error is not one",
                situation.status_where,
            )
        return Notification("AN_MORS", sent, sent)
    if sent == row.status:
        return Notification(row.event, sent, sent)
    if row.event in ("SLHJ", "RE_SLHJ") and sent == ONLEAVE and situation.has_end:
        return Notification(row.event, FINISHED, sent)
    raise TranslationError(
        f"activity {situation.activity} ({row.event}) requires Encounter.status "
        f"{row.status} (MedCom's HospitalNotification code table); the message says {sent}",
        situation.status_where,
    )


def _deceased(situation: Situation, row: Row) -> Notification:
    if situation.activity.startswith("cancel-"):
        raise TranslationError(
            f"a cancellation ({row.event}) cannot report the patient deceased; a death is "
            "reported with the activity of the previous message (MORS)",
            situation.deceased_where,
        )
    if situation.status == ENTERED_IN_ERROR:
        raise TranslationError(
            "the patient is reported deceased (MORS) but the Encounter is entered-in-error; "
            "MORS requires Encounter.status finished",
            situation.status_where,
        )
    return Notification("MORS", FINISHED, situation.status)
