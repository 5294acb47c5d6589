"""MedCom Organizations (MedComMessagingOrganization): their SOR and GLN identities.

A messaging Organization carries its SOR code (system ``urn:oid:1.2.208.176.1.1``)
and its GLN/EAN location number, which arrives under any of three systems
(``GLN_SYSTEMS``). The hub keeps no Organization resources of its own from a
message; it refers to an organisation logically, by identifier, with its name
as display.
"""

from __future__ import annotations

from typing import Any

from adapters.medcom.bundle import Entry
from adapters.medcom.elements import objects, optional_text
from hub.domain.identifiers import GLN_SYSTEMS, SOR_SYSTEM
from hub.domain.senders import GLN, SOR, identity


def _identifiers(organisation: Entry) -> list[tuple[str, str]]:
    where = f"{organisation.path}.identifier"
    found = []
    for index, identifier in objects(organisation.resource.get("identifier"), where):
        system = optional_text(identifier.get("system"), f"{where}[{index}].system")
        value = optional_text(identifier.get("value"), f"{where}[{index}].value")
        if system is not None and value is not None:
            found.append((system, value.strip()))
    return found


def sor_code(organisation: Entry) -> str | None:
    return next(
        (value for system, value in _identifiers(organisation) if system == SOR_SYSTEM), None
    )


def identities(organisation: Entry) -> tuple[str, ...]:
    """The organisation's identities as ``sor:<code>`` and ``gln:<number>``, in message order."""
    found: list[str] = []
    for system, value in _identifiers(organisation):
        if system == SOR_SYSTEM:
            name = identity(SOR, value)
        elif system in GLN_SYSTEMS:
            name = identity(GLN, value)
        else:
            continue
        if name not in found:
            found.append(name)
    return tuple(found)


def logical_reference(organisation: Entry) -> dict[str, Any] | None:
    """A Reference to the organisation by SOR code (else GLN), or None if it has neither."""
    chosen: dict[str, str] | None = None
    for system, value in _identifiers(organisation):
        if system == SOR_SYSTEM:
            chosen = {"system": system, "value": value}
            break
        if system in GLN_SYSTEMS and chosen is None:
            chosen = {"system": system, "value": value}
    if chosen is None:
        return None
    reference: dict[str, Any] = {"type": "Organization", "identifier": chosen}
    name = optional_text(organisation.resource.get("name"), f"{organisation.path}.name")
    if name is not None:
        reference["display"] = name
    return reference
