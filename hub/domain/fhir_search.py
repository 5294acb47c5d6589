"""FHIR R4 search, as pure rules: which parameters the hub supports, how their values
are read and how a resource matches them.

Definitions follow the R4 specification (search.html and each resource's search
parameters): a parameter has a type (token, date, reference), reads named elements of
the resource, and its values combine as the spec says: values separated by commas are
alternatives (OR), a parameter repeated must hold each time (AND).

* **token** ``[system]|[code]``: ``code`` in any system, ``system|code`` exactly,
  ``|code`` a code with no system, ``system|`` any code of the system. Matches a code,
  a Coding, a CodeableConcept or an Identifier. ``:not`` negates.
* **date** with a prefix ``eq`` (the default), ``ne``, ``gt``, ``lt``, ``ge``, ``le``,
  ``sa``, ``eb``. A value is the range its precision implies (``2026-11`` is the whole
  month); a target is the range its precision implies, a Period runs from its start to
  its end (with no end it is still going on). Values without an offset are in the hub's
  local time zone.
* **reference**: ``Type/id``, ``id`` or an absolute URL; ``:Type`` names the type;
  ``:identifier`` takes a token matched against the Reference's logical identifier
  (the hub refers to organisations by SOR code or GLN that way).

``patient`` and ``subject`` name the patient the resource is about: the hub holds every
resource under its patient, so these select by that (see ``hub.services.fhir_search``),
whether the resource refers to the Patient by id or by CPR. Every match here is decided
on what the viewer is shown of a resource, never on what the consent rules cut away.

It is over 400 lines because it is the whole search grammar the REST interface speaks
in one place: the parameter table, the three value types, the prefixes and the result
parameters (``_count``, ``_sort``, ``_include``, ``_summary``), read side by side with
the R4 search page.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from typing import Any, Literal

from hub.domain.translation import FhirJson

DEFAULT_COUNT = 50
MAX_COUNT = 500

ParameterType = Literal["token", "date", "reference"]

_SPEC = "http://hl7.org/fhir/SearchParameter/"

NEVER_BEFORE = datetime.min.replace(tzinfo=UTC)
NEVER_AFTER = datetime.max.replace(tzinfo=UTC)


class SearchError(ValueError):
    """A search the hub will not run as asked; ``code`` is the OperationOutcome issue code."""

    def __init__(self, message: str, code: str = "invalid") -> None:
        super().__init__(message)
        self.code = code


# --- what a parameter reads ---------------------------------------------------------------


def _elements(*names: str) -> Callable[[FhirJson], list[Any]]:
    """The values of top-level elements ``names`` (a list element gives each item)."""

    def read(resource: FhirJson) -> list[Any]:
        found: list[Any] = []
        for name in names:
            value = resource.get(name)
            if isinstance(value, list):
                found.extend(value)
            elif value is not None:
                found.append(value)
        return found

    return read


def _last_updated(resource: FhirJson) -> list[Any]:
    meta = resource.get("meta")
    value = meta.get("lastUpdated") if isinstance(meta, dict) else None
    return [value] if value else []


def _id(resource: FhirJson) -> list[Any]:
    return [resource["id"]] if resource.get("id") else []


def _participant_actors(resource: FhirJson) -> list[Any]:
    return [
        p["actor"]
        for p in resource.get("participant") or []
        if isinstance(p, dict) and isinstance(p.get("actor"), dict)
    ]


@dataclass(frozen=True)
class Parameter:
    """One search parameter of one resource type, as R4 defines it."""

    name: str
    type: ParameterType
    expression: str  # R4's FHIRPath, for the CapabilityStatement's documentation
    definition: str  # the canonical URL of R4's SearchParameter
    read: Callable[[FhirJson], list[Any]] = field(compare=False)
    # patient/subject: selects by the patient the hub holds the resource under.
    compartment: bool = False
    # May bound a search across patients (a worklist: Task?owner=…).
    bounds: bool = False


def _p(
    name: str,
    kind: ParameterType,
    expression: str,
    definition: str,
    read: Callable[[FhirJson], list[Any]],
    **flags: bool,
) -> Parameter:
    return Parameter(name, kind, expression, _SPEC + definition, read, **flags)


def _patient(resource_type: str, element: str, definition: str = "clinical-patient") -> Parameter:
    return _p(
        "patient",
        "reference",
        f"{resource_type}.{element}.where(resolve() is Patient)",
        definition,
        _elements(element),
        compartment=True,
    )


def _subject(resource_type: str, element: str = "subject") -> Parameter:
    return _p(
        "subject",
        "reference",
        f"{resource_type}.{element}",
        f"{resource_type}-subject",
        _elements(element),
        compartment=True,
    )


def _status(resource_type: str) -> Parameter:
    return _p(
        "status",
        "token",
        f"{resource_type}.status",
        f"{resource_type}-status",
        _elements("status"),
    )


COMMON = (
    _p("_id", "token", "Resource.id", "Resource-id", _id),
    _p("_lastUpdated", "date", "Resource.meta.lastUpdated", "Resource-lastUpdated", _last_updated),
)

PARAMETERS: dict[str, tuple[Parameter, ...]] = {
    "Patient": (
        _p(
            "identifier",
            "token",
            "Patient.identifier",
            "Patient-identifier",
            _elements("identifier"),
        ),
    ),
    "Encounter": (
        _patient("Encounter", "subject"),
        _subject("Encounter"),
        _status("Encounter"),
        _p("date", "date", "Encounter.period", "clinical-date", _elements("period")),
        _p("class", "token", "Encounter.class", "Encounter-class", _elements("class")),
    ),
    "ServiceRequest": (
        _patient("ServiceRequest", "subject"),
        _subject("ServiceRequest"),
        _status("ServiceRequest"),
        _p(
            "performer",
            "reference",
            "ServiceRequest.performer",
            "ServiceRequest-performer",
            _elements("performer"),
            bounds=True,
        ),
    ),
    "CarePlan": (
        _patient("CarePlan", "subject"),
        _subject("CarePlan"),
        _status("CarePlan"),
        _p("date", "date", "CarePlan.period", "clinical-date", _elements("period")),
    ),
    "Consent": (
        _patient("Consent", "patient"),
        _status("Consent"),
        _p("date", "date", "Consent.dateTime", "clinical-date", _elements("dateTime")),
    ),
    "Appointment": (
        Parameter(
            "patient",
            "reference",
            "Appointment.participant.actor.where(resolve() is Patient)",
            _SPEC + "Appointment-patient",
            _participant_actors,
            compartment=True,
        ),
        _status("Appointment"),
        _p("date", "date", "Appointment.start", "Appointment-date", _elements("start")),
    ),
    "Communication": (
        _patient("Communication", "subject", "Communication-patient"),
        _subject("Communication"),
        _status("Communication"),
        _p(
            "recipient",
            "reference",
            "Communication.recipient",
            "Communication-recipient",
            _elements("recipient"),
            bounds=True,
        ),
    ),
    "Task": (
        _patient("Task", "for", "Task-patient"),
        _subject("Task", "for"),
        _status("Task"),
        _p("owner", "reference", "Task.owner", "Task-owner", _elements("owner"), bounds=True),
    ),
    "Flag": (
        _patient("Flag", "subject"),
        _subject("Flag"),
        _status("Flag"),
        _p("date", "date", "Flag.period", "clinical-date", _elements("period")),
    ),
    "CareTeam": (
        _patient("CareTeam", "subject"),
        _subject("CareTeam"),
        _status("CareTeam"),
        _p("date", "date", "CareTeam.period", "clinical-date", _elements("period")),
    ),
    "Observation": (
        _patient("Observation", "subject"),
        _subject("Observation"),
        _status("Observation"),
        _p(
            "date",
            "date",
            "Observation.effective",
            "clinical-date",
            _elements("effectiveDateTime", "effectivePeriod"),
        ),
    ),
}
"""The search parameters of every type the REST interface serves, ``_id`` and
``_lastUpdated`` aside (every type has those)."""

RESOURCE_TYPES = tuple(PARAMETERS)

_SORTABLE = ("date", "_lastUpdated")


def parameters_of(resource_type: str) -> dict[str, Parameter]:
    return {p.name: p for p in (*COMMON, *PARAMETERS.get(resource_type, ()))}


# --- values -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Token:
    system: str | None  # None: any system; "": no system
    code: str | None  # None: any code of the system


@dataclass(frozen=True)
class DateRange:
    prefix: str
    start: datetime
    end: datetime  # exclusive


@dataclass(frozen=True)
class ReferenceValue:
    """A literal reference (``type``/``id`` or ``url``), or a logical one (``identifier``)."""

    type: str | None = None
    id: str | None = None
    url: str | None = None
    identifier: Token | None = None


Value = Token | DateRange | ReferenceValue

_PREFIXES = ("eq", "ne", "gt", "lt", "ge", "le", "sa", "eb")
_DATE = re.compile(
    r"^(\d{4})(?:-(\d{2})(?:-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?"
    r"(Z|[+-]\d{2}:\d{2})?)?)?)?$"
)
_TYPE = re.compile(r"^[A-Z][A-Za-z]+$")


def split_values(text: str) -> list[str]:
    """A parameter's comma-separated alternatives, ``\\,`` being a comma within one."""
    parts, current, escaped = [], [], False
    for char in text:
        if escaped:
            current.append(char if char in ",$\\" else "\\" + char)
            escaped = False
        elif char == "\\":
            escaped = True
        elif char == ",":
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
    parts.append("".join(current) + ("\\" if escaped else ""))
    return parts


def parse_token(text: str) -> Token:
    system, bar, code = _split_bar(text)
    if not bar:
        return Token(None, _unescaped(text) or None)
    return Token(_unescaped(system), _unescaped(code) or None)


def _split_bar(text: str) -> tuple[str, bool, str]:
    """``text`` split at its first bar that is not escaped (``\\|``)."""
    for at, char in enumerate(text):
        if char == "|" and (at == 0 or text[at - 1] != "\\"):
            return text[:at], True, text[at + 1 :]
    return text, False, ""


def _unescaped(text: str) -> str:
    return text.replace("\\|", "|")


def time_range(text: str, zone: tzinfo) -> tuple[datetime, datetime]:
    """The range [start, end) a FHIR date, dateTime or instant stands for."""
    match = _DATE.match(text)
    if match is None:
        raise SearchError(f"{text!r} is not a FHIR date or dateTime (e.g. 2026-11-22)")
    year, month, day, hour, minute, second, fraction, offset = match.groups()
    where = zone if offset is None else _offset(offset)
    try:
        start = datetime(
            int(year),
            int(month or 1),
            int(day or 1),
            int(hour or 0),
            int(minute or 0),
            int(second or 0),
            int((fraction or "0")[:6].ljust(6, "0")),
            tzinfo=where,
        )
    except ValueError as error:
        raise SearchError(f"{text!r} is not a date: {error}") from None
    if fraction is not None:
        end = start + timedelta(microseconds=max(1, 10 ** (6 - min(len(fraction), 6))))
    elif second is not None:
        end = start + timedelta(seconds=1)
    elif minute is not None:
        end = start + timedelta(minutes=1)
    elif day is not None:
        end = _wall(start, days=1)
    elif month is not None:
        end = _wall(start.replace(day=28), days=4).replace(day=1)
    else:
        end = start.replace(year=start.year + 1) if start.year < 9999 else NEVER_AFTER
    return start.astimezone(UTC), end.astimezone(UTC)


def _wall(moment: datetime, *, days: int) -> datetime:
    """``moment`` plus ``days`` calendar days on its own wall clock (a day may be 23 hours)."""
    return (moment.replace(tzinfo=None) + timedelta(days=days)).replace(tzinfo=moment.tzinfo)


def _offset(text: str) -> tzinfo:
    if text == "Z":
        return UTC
    sign = -1 if text[0] == "-" else 1
    hours, minutes = int(text[1:3]), int(text[4:6])
    return timezone(sign * timedelta(hours=hours, minutes=minutes))


def parse_date(text: str, zone: tzinfo) -> DateRange:
    prefix = text[:2] if text[:2] in _PREFIXES or text[:2] == "ap" else "eq"
    if text[:2] == prefix:
        text = text[2:]
    if prefix == "ap":
        raise SearchError("the date prefix ap (approximately) is not supported", "not-supported")
    start, end = time_range(text, zone)
    return DateRange(prefix, start, end)


def parse_reference(text: str, modifier: str | None) -> ReferenceValue:
    if modifier == "identifier":
        return ReferenceValue(identifier=parse_token(text))
    if "://" in text:
        parts = text.rstrip("/").split("/")
        if len(parts) >= 2 and _TYPE.match(parts[-2]):
            return ReferenceValue(type=parts[-2], id=parts[-1], url=text)
        return ReferenceValue(url=text)
    kind, slash, ident = text.rpartition("/")
    if slash:
        return ReferenceValue(type=kind, id=ident)
    return ReferenceValue(type=modifier, id=text)


# --- matching -----------------------------------------------------------------------------


_IMPLIED = "\x00implied"
"""The system of a plain code (a status): implied by its element, so any system named
in the search is taken to be it."""


def _token_pairs(value: Any) -> Iterable[tuple[str, str | None]]:
    """(system, code) of a code, Coding, CodeableConcept or Identifier; "" for no system."""
    if isinstance(value, str):
        yield _IMPLIED, value
    elif isinstance(value, dict):
        if "coding" in value:
            for coding in value.get("coding") or []:
                yield from _token_pairs(coding)
        elif "code" in value:
            yield value.get("system") or "", value.get("code")
        elif "value" in value:
            yield value.get("system") or "", value.get("value")


def token_matches(token: Token, target: Any) -> bool:
    for system, code in _token_pairs(target):
        if token.system is not None and system != _IMPLIED and token.system != system:
            continue
        if token.code is not None and token.code != code:
            continue
        return True
    return False


def target_range(value: Any, zone: tzinfo) -> tuple[datetime, datetime] | None:
    """The range a date, dateTime, instant or Period of a resource stands for."""
    try:
        if isinstance(value, str):
            return time_range(value, zone)
        if isinstance(value, dict) and (value.get("start") or value.get("end")):
            start = time_range(value["start"], zone)[0] if value.get("start") else NEVER_BEFORE
            end = time_range(value["end"], zone)[1] if value.get("end") else NEVER_AFTER
            return start, end
    except SearchError:
        return None
    return None


def date_matches(searched: DateRange, target: tuple[datetime, datetime]) -> bool:
    """The R4 prefix rules: ranges [start, end), the search value's against the target's."""
    s, e = searched.start, searched.end
    ts, te = target
    contains = s <= ts and te <= e
    return {
        "eq": contains,
        "ne": not contains,
        "gt": te > e,
        "lt": ts < s,
        "ge": te > e or contains,
        "le": ts < s or contains,
        "sa": ts >= e,
        "eb": te <= s,
    }[searched.prefix]


def reference_matches(searched: ReferenceValue, target: Any) -> bool:
    if not isinstance(target, dict):
        return False
    if searched.identifier is not None:
        identifier = target.get("identifier")
        return isinstance(identifier, dict) and token_matches(searched.identifier, identifier)
    literal = target.get("reference")
    if not isinstance(literal, str):
        return False
    if searched.url is not None and literal == searched.url:
        return True
    kind, _, ident = literal.rstrip("/").rpartition("/")
    kind = kind.rpartition("/")[2]
    return ident == searched.id and (searched.type is None or kind == searched.type)


# --- a request ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Criterion:
    """One parameter as given: its values are alternatives."""

    parameter: Parameter
    modifier: str | None
    values: tuple[Value, ...]
    given: tuple[str, str]  # (name[:modifier], value) as the caller wrote it

    def matches(self, resource: FhirJson, zone: tzinfo) -> bool:
        if self.parameter.compartment:
            return True  # selected by the patient the resource is held under
        targets = self.parameter.read(resource)
        found = any(
            _value_matches(value, target, zone) for value in self.values for target in targets
        )
        return not found if self.modifier == "not" else found


def _value_matches(value: Value, target: Any, zone: tzinfo) -> bool:
    if isinstance(value, Token):
        return token_matches(value, target)
    if isinstance(value, DateRange):
        span = target_range(target, zone)
        return span is not None and date_matches(value, span)
    return reference_matches(value, target)


@dataclass(frozen=True)
class SortKey:
    parameter: str  # "date" or "_lastUpdated"
    descending: bool


@dataclass(frozen=True)
class SearchRequest:
    resource_type: str
    criteria: tuple[Criterion, ...] = ()
    count: int = DEFAULT_COUNT
    offset: int = 0
    sort: tuple[SortKey, ...] = ()
    include_patient: bool = False  # _include of the subject/patient reference
    summary_count: bool = False  # _summary=count: the total only
    ignored: tuple[str, ...] = ()  # parameters left out under lenient handling
    used: tuple[tuple[str, str], ...] = ()  # what the search ran on, for its self link

    def compartment(self) -> list[Criterion]:
        return [c for c in self.criteria if c.parameter.compartment]

    def by_name(self, name: str) -> list[Criterion]:
        return [c for c in self.criteria if c.parameter.name == name]

    def matches(self, resource: FhirJson, zone: tzinfo) -> bool:
        return all(c.matches(resource, zone) for c in self.criteria)

    def sort_instant(self, resource: FhirJson, key: SortKey, zone: tzinfo) -> datetime | None:
        parameter = parameters_of(self.resource_type).get(key.parameter)
        if parameter is None:
            return None
        spans = [s for s in (target_range(v, zone) for v in parameter.read(resource)) if s]
        return min(s[0] for s in spans) if spans else None


_MODIFIERS: dict[ParameterType, frozenset[str]] = {
    "token": frozenset({"not"}),
    "date": frozenset(),
    "reference": frozenset({"identifier"}),
}


def parse_search(
    resource_type: str,
    pairs: Sequence[tuple[str, str]],
    *,
    strict: bool,
    zone: tzinfo,
) -> SearchRequest:
    """A search of ``resource_type`` from its query parameters, in the order given.

    An unknown or unsupported parameter (or modifier, or ``_include``) is an error under
    strict handling and is left out (named in ``ignored``) under lenient handling; a
    value a supported parameter cannot read is an error either way.
    """
    known = parameters_of(resource_type)
    criteria: list[Criterion] = []
    used: list[tuple[str, str]] = []
    ignored: list[str] = []
    count, offset = DEFAULT_COUNT, 0
    sort: tuple[SortKey, ...] = ()
    include_patient = summary_count = False

    def unsupported(name: str, why: str) -> None:
        if strict:
            raise SearchError(why, "not-supported")
        ignored.append(name)

    for name, value in pairs:
        base, _, modifier = name.partition(":")
        if base in ("_format", "_pretty", "_total"):
            continue  # shape the answer only; every total is exact
        if base == "_count" and not modifier:
            count = _integer(name, value, 0, MAX_COUNT)
            used.append((name, value))
        elif base == "_offset" and not modifier:
            offset = _integer(name, value, 0, None)
        elif base == "_sort" and not modifier:
            keys: list[SortKey] = []
            for part in value.split(","):
                wanted = part.removeprefix("-")
                if wanted not in _SORTABLE or wanted not in known:
                    unsupported(name, f"_sort by {part!r} is not supported for {resource_type}")
                    keys = []
                    break
                keys.append(SortKey(wanted, part.startswith("-")))
            if keys:
                sort = tuple(keys)
                used.append((name, value))
        elif base == "_include" and not modifier:
            if _includes_patient(resource_type, value, known):
                include_patient = True
                used.append((name, value))
            else:
                unsupported(name, f"_include={value} is not supported")
        elif base == "_summary" and not modifier:
            if value == "count":
                summary_count = True
                used.append((name, value))
            elif value != "false":
                unsupported(name, f"_summary={value} is not supported (count is)")
        elif base in known:
            parameter = known[base]
            allowed = _MODIFIERS[parameter.type]
            type_modifier = parameter.type == "reference" and bool(_TYPE.match(modifier))
            if modifier and modifier not in allowed and not type_modifier:
                unsupported(name, f"the modifier :{modifier} is not supported on {base}")
                continue
            criteria.append(
                Criterion(
                    parameter,
                    modifier or None,
                    tuple(
                        _value(parameter, v, modifier or None, zone) for v in split_values(value)
                    ),
                    (name, value),
                )
            )
            used.append((name, value))
        else:
            unsupported(
                name, f"{name} is not a search parameter the hub supports on {resource_type}"
            )
    return SearchRequest(
        resource_type,
        tuple(criteria),
        count,
        offset,
        sort,
        include_patient,
        summary_count,
        tuple(ignored),
        tuple(used),
    )


def _value(parameter: Parameter, text: str, modifier: str | None, zone: tzinfo) -> Value:
    if not text:
        raise SearchError(f"{parameter.name} has an empty value")
    if parameter.type == "token":
        return parse_token(text)
    if parameter.type == "date":
        return parse_date(text, zone)
    return parse_reference(text, modifier)


def _integer(name: str, text: str, lowest: int, highest: int | None) -> int:
    try:
        number = int(text)
    except ValueError:
        number = -1
    if number < lowest or (highest is not None and number > highest):
        most = f" and {highest}" if highest is not None else ""
        raise SearchError(f"{name} must be a whole number between {lowest}{most}, got {text!r}")
    return number


def _includes_patient(resource_type: str, value: str, known: dict[str, Parameter]) -> bool:
    """Whether ``_include=value`` names this type's patient or subject reference."""
    parts = value.split(":")
    if len(parts) not in (2, 3) or parts[0] != resource_type:
        return False
    parameter = known.get(parts[1])
    return (
        parameter is not None
        and parameter.compartment
        and (len(parts) == 2 or parts[2] == "Patient")
    )


def include_values(resource_type: str) -> list[str]:
    """The ``_include`` values a search of ``resource_type`` takes."""
    return [f"{resource_type}:{p.name}" for p in PARAMETERS.get(resource_type, ()) if p.compartment]
