"""References rewritten from the sender's ids to the hub's.

A reference to a patient resolves to ``Patient/<hub id>`` (derived from the CPR
number, or for a person without one the replacement number, a system under
``urn:oid:1.2.208.176.1.6.1``) from any of:

* a literal reference to a Patient of the payload (``Patient/123``, or its
  ``fullUrl`` such as ``urn:uuid:…``);
* a logical reference by CPR: ``{"identifier": {"system": "urn:oid:1.2.208.176.1.2",
  "value": "…"}}`` (with ``type`` Patient or no ``type``), or by replacement number;
* a conditional reference ``Patient?identifier=urn:oid:1.2.208.176.1.2|…`` (or a
  replacement number's system and value).

A reference to a patient that does not resolve to a CPR number (``Patient/123`` when
the payload has no such Patient, a logical reference by a local identifier, an
absolute URL to another server) is refused at its path: the hub cannot tell who it is.

Other references:

* to a resource of the payload (by ``fullUrl`` or ``Type/id``): ``Type/<its hub id>``;
* ``Type/id`` not in the payload: the sender's own resource, sent earlier or later:
  ``Type/<resource_id(Type, sender org, id)>``, the id that resource gets when it is
  sent (a version suffix ``/_history/n`` is dropped: the hub keeps its own versions);
* ``Type?identifier=system|value``: the payload's resource of that type carrying that
  identifier, if there is exactly one; else ``Type/<resource_id(Type, sender org,
  "identifier", "system|value")>`` — the id the hub gives the sender's resource created
  or updated by that same conditional request — and the identifier is kept beside it
  (``Reference.identifier``), so a reader can still find, say, an organisation by its
  SOR code. Any other search is refused;
* ``urn:uuid:…``/``urn:oid:…`` must be the ``fullUrl`` of an entry, else refused;
* an absolute URL not in the payload is another server's resource and is kept;
* ``#id`` (a contained resource) and logical references by other identifiers are kept.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from adapters.fhir.identity import (
    RESTFUL,
    identified_id,
    identifier_search,
    patient_key_by_identifier,
    referenced_id,
)
from hub.domain.identifiers import CPR_SYSTEM, is_replacement_system, patient_resource_id
from hub.domain.translation import Sender, TranslationError

MAX_DEPTH = 48  # FHIR resources nest a dozen levels deep; more is not a resource


@dataclass(frozen=True)
class Target:
    """A resource of the payload as a reference target."""

    resource_type: str
    hub_id: str
    patient_key: str | None  # for a Patient


@dataclass
class PayloadIndex:
    """The payload's resources by every handle a reference may use."""

    sender: Sender
    by_handle: dict[str, Target] = field(default_factory=dict)
    by_identifier: dict[tuple[str, str, str], list[Target]] = field(default_factory=dict)

    def add(self, target: Target, handles: Sequence[str], identifiers: Any) -> None:
        for handle in handles:
            self.by_handle.setdefault(handle, target)
        for identifier in identifiers if isinstance(identifiers, list) else ():
            if not isinstance(identifier, dict):
                continue
            system, value = identifier.get("system"), identifier.get("value")
            if isinstance(system, str) and isinstance(value, str):
                key = (target.resource_type, system, value)
                targets = self.by_identifier.setdefault(key, [])
                if target not in targets:
                    targets.append(target)


@dataclass
class Rewritten:
    """A resource with its references rewritten, and the patients it references."""

    resource: dict[str, Any]
    patients: list[tuple[str, str]]  # (patient key, path of the reference), in order


class ReferenceRewriter:
    def __init__(self, index: PayloadIndex) -> None:
        self._index = index
        self._sender = index.sender

    def rewrite(self, resource: dict[str, Any], where: str) -> Rewritten:
        """A copy of ``resource`` (at path ``where``) with every reference rewritten."""
        patients: list[tuple[str, str]] = []
        copied = self._walk(resource, where, patients, depth=0, root=True)
        assert isinstance(copied, dict)
        return Rewritten(copied, patients)

    def _walk(
        self,
        node: Any,
        path: str,
        patients: list[tuple[str, str]],
        depth: int,
        root: bool = False,
    ) -> Any:
        if depth > MAX_DEPTH:
            raise TranslationError(f"elements nest more than {MAX_DEPTH} levels deep", path)
        if isinstance(node, list):
            return [
                self._walk(item, f"{path}[{position}]", patients, depth + 1)
                for position, item in enumerate(node)
            ]
        if not isinstance(node, dict):
            return node
        if not root and "resourceType" not in node and _is_reference(node):
            return self._reference(node, path, patients)
        return {
            key: self._walk(value, f"{path}.{key}", patients, depth + 1)
            for key, value in node.items()
        }

    def _reference(
        self, node: dict[str, Any], path: str, patients: list[tuple[str, str]]
    ) -> dict[str, Any]:
        literal = node.get("reference")
        declared_type = node.get("type")
        if literal is None:
            return self._logical(node, path, patients)
        if not isinstance(literal, str) or not literal:
            raise TranslationError("a reference must be a non-empty string", f"{path}.reference")
        where = f"{path}.reference"
        rewritten = dict(node)
        if literal.startswith("#"):
            return rewritten
        kind, reference, patient_key, identifier = self._resolve(literal, where)
        if isinstance(declared_type, str) and kind is not None and declared_type != kind:
            raise TranslationError(
                f"Reference.type says {declared_type} but {literal!r} is a {kind}", f"{path}.type"
            )
        rewritten["reference"] = reference
        if patient_key is not None:
            logical = node.get("identifier")
            named = (
                patient_key_by_identifier(
                    logical.get("system"), logical.get("value"), f"{path}.identifier.value"
                )
                if isinstance(logical, dict)
                else None
            )
            if named is not None:
                if named != patient_key:
                    raise TranslationError(
                        f"the CPR or replacement number in the identifier is not that of "
                        f"{literal!r}",
                        f"{path}.identifier.value",
                    )
                del rewritten["identifier"]
            patients.append((patient_key, path))
        elif identifier is not None and "identifier" not in node:
            rewritten["identifier"] = identifier
        return rewritten

    def _logical(
        self, node: dict[str, Any], path: str, patients: list[tuple[str, str]]
    ) -> dict[str, Any]:
        identifier = node["identifier"]
        declared_type = node.get("type")
        system = identifier.get("system")
        is_person = system == CPR_SYSTEM or (
            isinstance(system, str) and is_replacement_system(system)
        )
        if declared_type == "Patient" or (declared_type is None and is_person):
            patient_key = patient_key_by_identifier(
                system, identifier.get("value"), f"{path}.identifier.value"
            )
            if patient_key is None:
                raise TranslationError(
                    f"a patient must be referenced by CPR (identifier system {CPR_SYSTEM}) or "
                    "replacement number, a Patient of the payload or "
                    "Patient?identifier=<CPR system>|<CPR>; this identifier cannot be resolved "
                    "to a CPR number",
                    f"{path}.identifier",
                )
            rewritten = {key: value for key, value in node.items() if key != "identifier"}
            rewritten["reference"] = f"Patient/{patient_resource_id(patient_key)}"
            patients.append((patient_key, path))
            return rewritten
        return dict(node)

    def _resolve(
        self, literal: str, where: str
    ) -> tuple[str | None, str, str | None, dict[str, str] | None]:
        """(target type, rewritten reference, patient key, identifier to keep)."""
        target = self._index.by_handle.get(literal)
        if target is not None:
            return _to(target)
        if "?" in literal and not literal.startswith(("http:", "https:", "urn:")):
            return self._conditional(literal, where)
        if literal.startswith("urn:"):
            raise TranslationError(
                f"{literal!r} is not the fullUrl of any entry of the payload", where
            )
        restful = RESTFUL.search(literal)
        absolute = literal.startswith(("http:", "https:"))
        if restful is not None and not absolute:
            kind, local_id = restful.group(1), restful.group(2)
            target = self._index.by_handle.get(f"{kind}/{local_id}")
            if target is not None:
                return _to(target)
            if kind == "Patient":
                raise _unknown_patient(literal, where)
            if literal != f"{kind}/{local_id}" and not literal.startswith(f"{kind}/{local_id}/"):
                raise TranslationError(f"{literal!r} is not a FHIR reference", where)
            return kind, f"{kind}/{referenced_id(kind, self._sender, local_id)}", None, None
        if absolute:
            kind = restful.group(1) if restful is not None else None
            if kind == "Patient":
                raise _unknown_patient(literal, where)
            return kind, literal, None, None
        raise TranslationError(
            f"{literal!r} is not a FHIR reference (expected Type/id, a fullUrl of the "
            "payload, Type?identifier=system|value or #id)",
            where,
        )

    def _conditional(
        self, literal: str, where: str
    ) -> tuple[str, str, str | None, dict[str, str] | None]:
        kind, _, query = literal.partition("?")
        if RESTFUL.fullmatch(f"{kind}/x") is None:
            raise TranslationError(f"{literal!r} does not start with a resource type", where)
        system, value = identifier_search(query, where)
        if kind == "Patient":
            patient_key = patient_key_by_identifier(system, value, where)
            if patient_key is None:
                raise TranslationError(
                    f"patients are identified by CPR: expected Patient?identifier={CPR_SYSTEM}|"
                    "<CPR number> (or a replacement number's system and value); this "
                    "identifier cannot be resolved to a CPR number",
                    where,
                )
            return "Patient", f"Patient/{patient_resource_id(patient_key)}", patient_key, None
        targets = self._index.by_identifier.get((kind, system, value), [])
        if len(targets) > 1:
            raise TranslationError(
                f"{literal!r} matches {len(targets)} resources of the payload; it must match one",
                where,
            )
        if targets:
            return _to(targets[0])
        hub = identified_id(kind, self._sender, system, value)
        return kind, f"{kind}/{hub}", None, {"system": system, "value": value}


def _to(target: Target) -> tuple[str, str, str | None, None]:
    return (
        target.resource_type,
        f"{target.resource_type}/{target.hub_id}",
        target.patient_key,
        None,
    )


def _unknown_patient(literal: str, where: str) -> TranslationError:
    return TranslationError(
        f"the patient {literal!r} is not in the payload, so the hub cannot tell their CPR "
        "number: include the Patient (with its CPR or replacement number), or reference the "
        f"patient by CPR (identifier system {CPR_SYSTEM}, or Patient?identifier={CPR_SYSTEM}|"
        "<CPR>)",
        where,
    )


def _is_reference(node: dict[str, Any]) -> bool:
    """Whether an element is a FHIR Reference (``reference`` is a string only there;
    a single ``identifier`` object, rather than a list, only in Reference)."""
    return isinstance(node.get("reference"), str) or isinstance(node.get("identifier"), dict)
