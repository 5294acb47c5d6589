"""A typed, read-only view of one parsed HL7 v2 message.

python-hl7 returns an untyped tree whose depth varies with the separators a
field happens to contain. This module turns it into a regular shape -- segment,
field, repetition, component, subcomponent -- with escape sequences resolved, so
the mapping code can ask for ``PID-3`` repetition 2 component 4 without caring
how the sender wrote it.

Values are stripped of surrounding whitespace, and the HL7 null ``""`` reads as
no value: to the hub an explicit "delete this value" is the same as absent.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from hub.domain.translation import TranslationError

HL7_NULL = '""'

# Highlighting escapes (\H\ and \N\) carry no text; python-hl7 would turn them into "_".
_ESCAPE_OVERRIDES = {"H": "", "N": ""}
# C0 control characters other than tab and CR (\.br\ unescapes to CR) have no place in
# a FHIR string, and NUL breaks JSON storage downstream.
_CONTROL = re.compile(r"[\x00-\x08\x0a-\x0c\x0e-\x1f\x7f]")


def _clean(value: str) -> str:
    value = value.strip()
    return "" if value == HL7_NULL else value


@dataclass(frozen=True)
class Repetition:
    """One repetition of a field: components, each a tuple of subcomponents."""

    components: tuple[tuple[str, ...], ...]

    def component(self, number: int, sub: int = 1) -> str:
        """Component ``number`` (1-based), subcomponent ``sub``; "" when absent."""
        if number > len(self.components):
            return ""
        subs = self.components[number - 1]
        return _clean(subs[sub - 1]) if sub <= len(subs) else ""

    def subcomponents(self, number: int) -> tuple[str, ...]:
        """Every valued subcomponent of component ``number``."""
        if number > len(self.components):
            return ()
        return tuple(value for value in map(_clean, self.components[number - 1]) if value)

    @property
    def is_empty(self) -> bool:
        """True when no component holds a value."""
        return not any(_clean(sub) for subs in self.components for sub in subs)


EMPTY = Repetition(())


@dataclass(frozen=True)
class Segment:
    """One segment; ``fields[0]`` is field 1 (for MSH: the field separator)."""

    name: str
    fields: tuple[tuple[Repetition, ...], ...]

    def repetitions(self, number: int) -> tuple[Repetition, ...]:
        """The valued repetitions of field ``number``."""
        if number > len(self.fields):
            return ()
        return tuple(rep for rep in self.fields[number - 1] if not rep.is_empty)

    def first(self, number: int) -> Repetition:
        """The first valued repetition of field ``number``, or an empty one."""
        reps = self.repetitions(number)
        return reps[0] if reps else EMPTY

    def value(self, number: int, component: int = 1, sub: int = 1) -> str:
        """A single value of the first valued repetition of field ``number``."""
        return self.first(number).component(component, sub)


@dataclass(frozen=True)
class V2Message:
    """One HL7 v2 message; the first segment is MSH."""

    segments: tuple[Segment, ...]

    @property
    def msh(self) -> Segment:
        """The message header (always the first segment)."""
        return self.segments[0]

    def segment(self, name: str) -> Segment | None:
        """The first segment called ``name``, if any."""
        return next((segment for segment in self.segments if segment.name == name), None)


def from_python_hl7(parsed: Any) -> V2Message:
    """Convert a ``hl7.Message`` (raises TranslationError on unusable values)."""
    segments: list[Segment] = []
    for parsed_segment in parsed:
        name = str(parsed_segment[0][0])
        fields: list[tuple[Repetition, ...]] = []
        for number, parsed_field in enumerate(parsed_segment[1:], start=1):
            if name == "MSH" and number <= 2:  # the separator and the encoding characters
                fields.append((Repetition(((str(parsed_field[0]),),)),))
                continue
            fields.append(_field(parsed, parsed_field, f"{name}-{number}"))
        segments.append(Segment(name=name, fields=tuple(fields)))
    return V2Message(segments=tuple(segments))


def _field(parsed: Any, node: Any, where: str) -> tuple[Repetition, ...]:
    # A field is a list of repetitions; a repetition is a str (no components) or a
    # list of components; a component is a str or a list of subcomponent strs.
    return tuple(
        Repetition(
            tuple(
                tuple(_leaf(parsed, sub, where) for sub in _children(component))
                for component in _children(repetition)
            )
        )
        for repetition in _children(node)
    )


def _children(node: Any) -> list[Any]:
    return list(node) if isinstance(node, list) else [node]


def _leaf(parsed: Any, value: Any, where: str) -> str:
    try:
        text = str(parsed.unescape(str(value), _ESCAPE_OVERRIDES))
    except Exception as exc:  # python-hl7 raises ValueError, IndexError … on bad escapes
        raise TranslationError(
            f"the field holds an escape sequence that cannot be resolved ({exc})", where
        ) from exc
    bad = _CONTROL.search(text)
    if bad is not None:
        raise TranslationError(
            f"the field contains the control character U+{ord(bad.group()):04X}, "
            "which is not allowed in a value",
            where,
        )
    return text
