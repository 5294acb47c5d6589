"""Rundbordsmøder (round-table meetings): convening, answering, moving, cancelling,
holding, planning and reading.

**Writes** go through intake like any message (see ``hub.services.consent.record``): each
change is made into the meeting's FHIR resources (``hub.domain.round_table``), sent as a
FHIR transaction Bundle with PUT by identifier, and the call returns once the projection
has stored it, so the caller's next read sees it. Every resource of a meeting is
written as the organisation that convened it — whoever acts — because visibility
follows authorship and the fhir format gives each sender its own ids: a response or
an action update is a new version of the convener's resource made on the acting
participant's behalf. The acting participant is named in the resource (its own
participant status; a Task note) and in the audit trail (the token's subject,
sector and organisation), and the intake record keeps its subject as sender name.

Changes to one meeting are made one at a time in this process (each is a read,
a change and a whole-resource write), so two answers arriving together cannot undo
each other. GraphQL is served by ``hub serve`` alone; several ``hub serve``
processes would need a lock in the database instead.

**Reads** go through ``hub.services.consent.read`` and are audited: a participant whose
organisation the patient's consent covers sees the meeting and its plan; one it does
not cover sees only the invitation (rule 9 of ``hub.domain.consent``). Cover is
decided at every read from the consents in force then, never frozen at convening.

The modules: ``meetings`` (convene, answer, move, cancel, hold), ``plans`` (the plan),
``safety_plans`` (the sikkerhedsplan beside it, ``hub.domain.safety_plan``),
``actions`` (an action's status), ``read`` (reading, audited) and ``shared`` (the
requests and views, the write path and the per-meeting lock).
"""

from hub.services.round_table.actions import update_action
from hub.services.round_table.meetings import (
    cancel,
    convene,
    mark_held,
    move_to_proposal,
    reschedule,
    respond,
    set_place,
)
from hub.services.round_table.plans import record_plan
from hub.services.round_table.read import round_tables
from hub.services.round_table.safety_plans import SafetyPlanRequest, record_safety_plan
from hub.services.round_table.shared import (
    BASIS_FREE_TYPES,
    ActionRequest,
    ConveneRequest,
    ParticipantRequest,
    PlanView,
    RelativeRequest,
    RoundTableView,
    holds_data,
)

__all__ = [
    "BASIS_FREE_TYPES",
    "ActionRequest",
    "ConveneRequest",
    "ParticipantRequest",
    "PlanView",
    "RelativeRequest",
    "RoundTableView",
    "SafetyPlanRequest",
    "cancel",
    "convene",
    "holds_data",
    "mark_held",
    "move_to_proposal",
    "record_plan",
    "record_safety_plan",
    "reschedule",
    "respond",
    "round_tables",
    "set_place",
    "update_action",
]
