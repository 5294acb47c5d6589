"""Episode-of-care identifiers: the handle on one hospital stay across messages.

A MedCom Encounter carries ``episodeOfCare.identifier``: a locally defined UUID
for the stay, under a system naming the hospital (MedCom recommends its SOR
endpoint, ``https://sor2.sum.dsdn.dk/#id=<SOR>``), and/or the stay's LPR3
identifier (system ``https://www.esundhed.dk/Registre/Landspatientregisteret``).
MedCom's governance for episode-of-care identifiers: every following message
returns the identifier of the first message; when a message carried several,
the locally defined one is returned. So the local identifier, else the LPR3 one,
names the stay.

The hub Encounter's id is ``resource_id("Encounter", <sending organisation>,
"episode-of-care", system, value)``, with the value compared without ``urn:uuid:``
prefix, hyphens or case (MedCom has hospitals keep track of UUIDs with and without
hyphens, as OIOXML carries them without). Admission, leave, discharge, their
revisions (RE_*) and cancellations (AN_*) of one stay all land on this id. The
sending organisation is part of it: every record has one owner, so another
organisation that sends the same episode-of-care identifier (a re-sent bundle under
its own sender) writes a record of its own and never touches the hospital's. A
CareCommunication refers to the stay under its own sender's id, and carries the
episode-of-care identifier on the reference too.
"""

from __future__ import annotations

import re
from typing import Any

from adapters.medcom.bundle import Entry
from adapters.medcom.elements import objects, optional_object, optional_text
from hub.domain.identifiers import resource_id
from hub.domain.translation import TranslationError

LPR3_SYSTEM = "https://www.esundhed.dk/Registre/Landspatientregisteret"

_UUID = re.compile(r"[0-9a-f]{32}")


def episode_identifiers(encounter: Entry) -> list[dict[str, str]]:
    """The Encounter's episode-of-care identifiers as ``{system, value}``, in message order."""
    where = f"{encounter.path}.episodeOfCare"
    found = []
    for index, episode in objects(encounter.resource.get("episodeOfCare"), where):
        identifier = optional_object(episode.get("identifier"), f"{where}[{index}].identifier")
        if identifier is None:
            continue
        system = optional_text(identifier.get("system"), f"{where}[{index}].identifier.system")
        value = optional_text(identifier.get("value"), f"{where}[{index}].identifier.value")
        if value is None:
            continue
        if system is None:
            raise TranslationError(
                "the episode-of-care identifier has no system; MedCom requires the hospital's "
                "SOR endpoint (or the LPR3 system) to tell whose identifier it is",
                f"{where}[{index}].identifier.system",
            )
        found.append({"system": system, "value": value.strip()})
    if not found:
        raise TranslationError(
            "the Encounter carries no episode-of-care identifier, so the stay cannot be "
            "identified across messages",
            where,
        )
    return found


def stay_identifier(identifiers: list[dict[str, str]]) -> dict[str, str]:
    """The identifier that names the stay: the locally defined one, else the LPR3 one."""
    local = [identifier for identifier in identifiers if identifier["system"] != LPR3_SYSTEM]
    return (local or identifiers)[0]


def encounter_id(identifier: dict[str, str], org: str) -> str:
    """The hub's Encounter id for ``org``'s record of the stay ``identifier`` names."""
    return resource_id(
        "Encounter", org, "episode-of-care", identifier["system"], _comparable(identifier["value"])
    )


def encounter_reference(identifier: dict[str, str], org: str) -> dict[str, Any]:
    """A Reference to the hub Encounter of the stay, carrying its identifier too."""
    return {
        "reference": f"Encounter/{encounter_id(identifier, org)}",
        "type": "Encounter",
        "identifier": dict(identifier),
    }


def _comparable(value: str) -> str:
    bare = value.strip().lower().removeprefix("urn:uuid:")
    compact = bare.replace("-", "")
    return compact if _UUID.fullmatch(compact) else bare
