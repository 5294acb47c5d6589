"""Sender and Receiver blocks: who a letter says sent it, and organisation references.

A party is named by its EAN location number (``EANIdentifier``, a GLN) and by an
``Identifier`` whose kind ``IdentifierCode`` gives: ``sorkode`` (a SOR code),
``sygehusafdelingsnummer``, ``ydernummer``, ``lokationsnummer`` or
``kommunenummer``.

* The declared sender is ``gln:<EANIdentifier>`` plus ``sor:<Identifier>`` when the
  Sender's ``IdentifierCode`` is ``sorkode``; intake checks both against the token.
* An organisation reference is logical: by SOR code when the block gives one,
  else by GLN (system ``urn:oid:1.3.88``, as MedCom's FHIR standards write it),
  displayed as organisation, department and unit names.
"""

from __future__ import annotations

from typing import Any

from adapters.oioxml.document import Node
from hub.domain.identifiers import GLN_SYSTEM, SOR_SYSTEM
from hub.domain.senders import GLN, SOR, identity
from hub.domain.translation import DeclaredSender, TranslationError

SOR_IDENTIFIER_CODE = "sorkode"
IDENTIFIER_CODES = (
    "sygehusafdelingsnummer",
    "ydernummer",
    "lokationsnummer",
    "kommunenummer",
    SOR_IDENTIFIER_CODE,
)


def declared_sender(sender: Node) -> DeclaredSender:
    """The identities the Sender block names (its EAN number is mandatory)."""
    identities = [identity(GLN, sender.required_value("EANIdentifier"))]
    sor = _sor_code(sender)
    if sor:
        identities.append(identity(SOR, sor))
    return DeclaredSender(identities=tuple(identities), where=sender.path)


def organisation_reference(party: Node) -> dict[str, Any]:
    """A logical Organization reference to the party (SOR code, else GLN)."""
    sor = _sor_code(party)
    if sor:
        identifier = {"system": SOR_SYSTEM, "value": sor}
    else:
        ean = party.value("EANIdentifier")
        if not ean:
            raise TranslationError(
                f"{party.name} names neither an EANIdentifier (location number) nor a SOR "
                "code (Identifier with IdentifierCode sorkode)",
                f"{party.path}/EANIdentifier",
            )
        identifier = {"system": GLN_SYSTEM, "value": ean}
    reference: dict[str, Any] = {"type": "Organization", "identifier": identifier}
    display = organisation_display(party)
    if display:
        reference["display"] = display
    return reference


def organisation_display(party: Node) -> str:
    """Organisation, department and unit names, comma-separated ('' when none)."""
    names = (party.value(name) for name in ("OrganisationName", "DepartmentName", "UnitName"))
    # MedCom writes "_" for an organisation name it has to fill but does not know.
    return ", ".join(name for name in names if name and name != "_")


def _sor_code(party: Node) -> str:
    code = party.coded_value("IdentifierCode", IDENTIFIER_CODES, "a MedCom identifier kind")
    if code != SOR_IDENTIFIER_CODE:
        return ""
    return party.required_value("Identifier")
