"""The MedCom message Bundle: its structure, its entries and the references between them.

Every MedCom FHIR message (MedComMessagingMessage) is a Bundle of type
``message`` whose first entry is the MessageHeader; the other entries are
unordered. Entries refer to each other by relative reference (``Patient/123``),
by absolute URL ending in ``Type/id`` or by the entry's ``fullUrl``
(``urn:uuid:…``); all three resolve here.

Error locations: elements of the MessageHeader are named ``MessageHeader.…``
(it is always the first entry); elements of other entries
``Bundle.entry[i].resource(Type).…``.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass

from adapters.medcom.elements import (
    JsonObject,
    items,
    objects,
    optional_object,
    optional_text,
    required_object,
    required_text,
)
from hub.domain.translation import TranslationError

_REFERENCE = re.compile(
    r"(?:^|/)(?P<type>[A-Z][A-Za-z]+)/(?P<id>[A-Za-z0-9\-.]{1,64})"
    r"(?:/_history/[A-Za-z0-9\-.]{1,64})?$"
)


@dataclass(frozen=True)
class Entry:
    """One resource of the Bundle, with the place it sits at."""

    index: int
    resource: JsonObject
    type: str
    id: str | None

    @property
    def path(self) -> str:
        """The FHIR path of the resource, the prefix of every error inside it."""
        if self.index == 0:
            return self.type
        return f"Bundle.entry[{self.index}].resource({self.type})"


class MessageBundle:
    """A Bundle checked to be a message with a MessageHeader first."""

    def __init__(self, bundle: JsonObject) -> None:
        bundle_type = optional_text(bundle.get("type"), "Bundle.type")
        if bundle_type != "message":
            raise TranslationError(
                f"Bundle.type is {bundle_type!r}; a MedCom message is a Bundle of type 'message'",
                "Bundle.type",
            )
        self.id = required_text(bundle.get("id"), "Bundle.id", "the Bundle id")
        self.entries: list[Entry] = []
        self._by_url: dict[str, Entry] = {}
        self._by_key: dict[tuple[str, str], list[Entry]] = defaultdict(list)
        for index, entry in objects(bundle.get("entry"), "Bundle.entry"):
            where = f"Bundle.entry[{index}].resource"
            resource = required_object(entry.get("resource"), where, "the entry's resource")
            kind = required_text(
                resource.get("resourceType"), f"{where}.resourceType", "the resource type"
            )
            resource_id = optional_text(resource.get("id"), f"{where}.id")
            found = Entry(index, resource, kind, resource_id)
            self.entries.append(found)
            url = optional_text(entry.get("fullUrl"), f"Bundle.entry[{index}].fullUrl")
            if url is not None:
                self._by_url.setdefault(url, found)
            if resource_id is not None:
                self._by_key[(kind, resource_id)].append(found)
        if not self.entries or self.entries[0].type != "MessageHeader":
            first = self.entries[0].type if self.entries else "nothing"
            raise TranslationError(
                f"the first entry of a MedCom message must be its MessageHeader, found {first}",
                "Bundle.entry[0].resource",
            )
        self.header = self.entries[0]
        self.header_id = required_text(
            self.header.resource.get("id"), "MessageHeader.id", "the MessageHeader id"
        )

    def of_type(self, kind: str) -> list[Entry]:
        return [entry for entry in self.entries if entry.type == kind]

    def focus(self, kind: str, standard: str) -> Entry:
        """What the message is about: MessageHeader.focus, else the Bundle's only ``kind``."""
        focus = items(self.header.resource.get("focus"), "MessageHeader.focus")
        if focus:
            return self.resolve(focus[0], "MessageHeader.focus[0]", kind)
        found = self.of_type(kind)
        if len(found) != 1:
            raise TranslationError(
                f"a {standard} is about one {kind} (MessageHeader.focus); the message has "
                f"no focus and {len(found)} {kind}s",
                "MessageHeader.focus",
            )
        return found[0]

    def target(self, reference: object, where: str) -> tuple[str, str] | None:
        """The (type, id) a Reference points at, whether or not it is in the Bundle."""
        holder = optional_object(reference, where)
        if holder is None:
            return None
        text = optional_text(holder.get("reference"), f"{where}.reference")
        if text is None:
            return None
        entry = self._by_url.get(text)
        if entry is not None and entry.id is not None:
            return entry.type, entry.id
        match = _REFERENCE.search(text)
        return (match["type"], match["id"]) if match else None

    def find(self, reference: object, where: str) -> Entry | None:
        """The one entry a Reference points at, or None when it is not in the Bundle."""
        key = self.target(reference, where)
        found = self._by_key.get(key, []) if key else []
        return found[0] if len(found) == 1 else None

    def resolve(self, reference: object, where: str, expected: str) -> Entry:
        """The entry of type ``expected`` that the Reference at ``where`` points at."""
        holder = required_object(reference, where, f"the reference to the {expected}")
        text = required_text(
            holder.get("reference"), f"{where}.reference", f"the reference to the {expected}"
        )
        key = self.target(holder, where)
        found = self._by_key.get(key, []) if key else []
        if not found:
            raise TranslationError(
                f"{text!r} does not resolve to a resource in the Bundle", f"{where}.reference"
            )
        if len(found) > 1:
            raise TranslationError(
                f"{text!r} is ambiguous: {len(found)} entries are {found[0].type}/{found[0].id}",
                f"{where}.reference",
            )
        entry = found[0]
        if entry.type != expected:
            raise TranslationError(
                f"{text!r} must point at a {expected}, it points at a {entry.type}",
                f"{where}.reference",
            )
        return entry

    def provenances_of(self, header_id: str) -> list[Entry]:
        """The Provenances whose target is the MessageHeader ``header_id``."""
        found = []
        for entry in self.of_type("Provenance"):
            for index, target in objects(entry.resource.get("target"), f"{entry.path}.target"):
                if self.target(target, f"{entry.path}.target[{index}]") == (
                    "MessageHeader",
                    header_id,
                ):
                    found.append(entry)
                    break
        return found

    def current_provenance(self) -> Entry:
        """The Provenance of this message: the one whose target is its MessageHeader.

        A MedCom message carries the Provenance of every earlier message in its
        history too; those target the earlier MessageHeaders.
        """
        provenances = self.of_type("Provenance")
        if not provenances:
            raise TranslationError(
                "the message carries no Provenance; every MedCom message needs one naming "
                "its activity (MedComMessagingProvenance)",
                "Bundle.entry",
            )
        current = self.provenances_of(self.header_id)
        if not current:
            raise TranslationError(
                f"no Provenance targets this message's MessageHeader/{self.header_id}; "
                "the Provenance of the current message must have it as target",
                f"{provenances[0].path}.target",
            )
        if len(current) > 1:
            raise TranslationError(
                f"{len(current)} Provenances target MessageHeader/{self.header_id}; "
                "a message has exactly one Provenance of its own",
                f"{current[1].path}.target",
            )
        return current[0]
