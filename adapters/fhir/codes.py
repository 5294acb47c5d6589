"""The hub's own codes inside a resource: pathway events and observations.

A coding of the hub's pathway-event CodeSystem (hub.domain.pathway_codes) with a code
the hub does not know would never be counted, silently; it is refused instead, so the
sender hears of the typo. An Observation must carry a code of the hub's observation
CodeSystem (hub.domain.observation_codes, the scores HL7 v2 ORU^R01 results map to);
any other Observation is refused at its ``code``, naming the accepted codes.
"""

from __future__ import annotations

from typing import Any

from hub.domain.observation_codes import OBSERVATION_CODES, OBSERVATIONS
from hub.domain.pathway_codes import PATHWAY_EVENT_BY_CODE, PATHWAY_EVENTS
from hub.domain.translation import TranslationError


def pathway_events(resource: dict[str, Any], where: str) -> list[str]:
    """The pathway-event codes anywhere in ``resource``, in order of appearance."""
    found: list[str] = []
    _collect(resource, where, found)
    return found


def _collect(node: Any, path: str, found: list[str]) -> None:
    if isinstance(node, list):
        for position, item in enumerate(node):
            _collect(item, f"{path}[{position}]", found)
        return
    if not isinstance(node, dict):
        return
    if node.get("system") == PATHWAY_EVENTS and "code" in node:
        code = node["code"]
        if not isinstance(code, str) or code not in PATHWAY_EVENT_BY_CODE:
            raise TranslationError(
                f"{code!r} is not a code of the hub's pathway-event CodeSystem "
                f"{PATHWAY_EVENTS} (its codes: {', '.join(PATHWAY_EVENT_BY_CODE)})",
                f"{path}.code",
            )
        if code not in found:
            found.append(code)
        return
    for key, value in node.items():
        if isinstance(value, dict | list):
            _collect(value, f"{path}.{key}", found)


def check_observation_code(observation: dict[str, Any], where: str) -> None:
    """Refuse an Observation that carries no accepted code of the hub's observation
    CodeSystem, at the coding (or the ``code``) at fault."""
    accepted = f"{OBSERVATIONS} codes: {', '.join(OBSERVATION_CODES)}"
    concept = observation.get("code")
    codings = concept.get("coding") if isinstance(concept, dict) else None
    found = False
    for position, coding in enumerate(codings if isinstance(codings, list) else []):
        if not isinstance(coding, dict) or coding.get("system") != OBSERVATIONS:
            continue
        code = coding.get("code")
        if not isinstance(code, str) or code not in OBSERVATION_CODES:
            raise TranslationError(
                f"{code!r} is not a code of the hub's observation CodeSystem ({accepted})",
                f"{where}.code.coding[{position}].code",
            )
        found = True
    if not found:
        raise TranslationError(
            "this Observation is not one the hub reads: its code names none of the "
            f"accepted scores ({accepted}); TOBS and the Kom godt hjem follow-up screening "
            "have no LOINC code",
            f"{where}.code",
        )
