"""A typed, read-only view of one HL7 v2 message, parsed lazily.

The mapping code asks for ``PID-3`` repetition 2 component 4 without caring how
the sender wrote it: segment, field, repetition, component, subcomponent, with
escape sequences resolved (see ``escapes``). A field is split and unescaped the
first time it is read, so the many segments and fields the hub does not use
(IN1, DG1, NK1 …) cost next to nothing -- parsing everything up front was the
largest single cost per message.

Values are stripped of surrounding whitespace, and the HL7 null ``""`` reads as
no value: to the hub an explicit "delete this value" is the same as absent.
"""

from __future__ import annotations

from adapters.hl7v2.escapes import CONTROL, Delimiters, control_character, unescape

HL7_NULL = '""'


def _clean(value: str) -> str:
    value = value.strip()
    return "" if value == HL7_NULL else value


class Repetition:
    """One repetition of a field: components, each a tuple of (cleaned) subcomponents."""

    __slots__ = ("components", "is_empty")

    def __init__(self, components: tuple[tuple[str, ...], ...]) -> None:
        self.components = components
        # True when no component holds a value.
        self.is_empty = not any(map(any, components))

    def component(self, number: int, sub: int = 1) -> str:
        """Component ``number`` (1-based), subcomponent ``sub``; "" when absent."""
        if number > len(self.components):
            return ""
        subs = self.components[number - 1]
        return subs[sub - 1] if sub <= len(subs) else ""

    def subcomponents(self, number: int) -> tuple[str, ...]:
        """Every valued subcomponent of component ``number``."""
        if number > len(self.components):
            return ()
        return tuple(value for value in self.components[number - 1] if value)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Repetition) and other.components == self.components

    def __hash__(self) -> int:
        return hash(self.components)

    def __repr__(self) -> str:
        return f"Repetition({self.components!r})"


EMPTY = Repetition(())
_NOTHING: tuple[tuple[Repetition, ...], Repetition] = ((), EMPTY)


class Segment:
    """One segment; field ``n`` is ``raw[n - 1]`` (for MSH, field 1 is the separator)."""

    __slots__ = ("_delimiters", "_parsed", "name", "raw")

    def __init__(self, name: str, raw: tuple[str, ...], delimiters: Delimiters) -> None:
        self.name = name
        self.raw = raw
        self._delimiters = delimiters
        # field number -> (every repetition, the first valued one)
        self._parsed: dict[int, tuple[tuple[Repetition, ...], Repetition]] = {}

    def field(self, number: int) -> tuple[Repetition, ...]:
        """Every repetition of field ``number``, empty ones included (positions matter)."""
        return self._field(number)[0]

    def repetitions(self, number: int) -> tuple[Repetition, ...]:
        """The valued repetitions of field ``number``."""
        return tuple(rep for rep in self._field(number)[0] if not rep.is_empty)

    def first(self, number: int) -> Repetition:
        """The first valued repetition of field ``number``, or an empty one."""
        return self._field(number)[1]

    def value(self, number: int, component: int = 1, sub: int = 1) -> str:
        """A single value of the first valued repetition of field ``number``."""
        return self._field(number)[1].component(component, sub)

    def _field(self, number: int) -> tuple[tuple[Repetition, ...], Repetition]:
        parsed = self._parsed.get(number)
        if parsed is None:
            if number > len(self.raw) or not self.raw[number - 1]:
                parsed = _NOTHING
            else:
                repetitions = self._parse(number, self.raw[number - 1])
                first = next((rep for rep in repetitions if not rep.is_empty), EMPTY)
                parsed = (repetitions, first)
            self._parsed[number] = parsed
        return parsed

    def _parse(self, number: int, text: str) -> tuple[Repetition, ...]:
        if self.name == "MSH" and number <= 2:  # the separator and the encoding characters
            return (Repetition(((text,),)),)
        d = self._delimiters
        if (
            d.repetition not in text
            and d.component not in text
            and d.subcomponent not in text
            and d.escape not in text
        ):
            return (Repetition(((_clean(text),),)),)
        where = f"{self.name}-{number}"
        escaped = d.escape in text
        repetitions = []
        for repetition in text.split(d.repetition):
            components = []
            for component in repetition.split(d.component):
                if escaped or d.subcomponent in component:
                    components.append(
                        tuple(
                            _clean(unescape(sub, d, where) if d.escape in sub else sub)
                            for sub in component.split(d.subcomponent)
                        )
                    )
                else:
                    components.append((_clean(component),))
            repetitions.append(Repetition(tuple(components)))
        return tuple(repetitions)


class V2Message:
    """One HL7 v2 message; the first segment is MSH."""

    __slots__ = ("_index", "segments")

    def __init__(self, segments: tuple[Segment, ...]) -> None:
        self.segments = segments
        index: dict[str, Segment] = {}
        for segment in segments:
            index.setdefault(segment.name, segment)
        self._index = index

    @property
    def msh(self) -> Segment:
        """The message header (always the first segment)."""
        return self.segments[0]

    def segment(self, name: str) -> Segment | None:
        """The first segment called ``name``, if any."""
        return self._index.get(name)


def build_message(lines: list[str], delimiters: Delimiters) -> V2Message:
    """The message of ``lines`` (its MSH first), split into segments and raw fields.

    A control character anywhere in the message is refused here, with the field it
    is in, even in a segment the hub does not read: such a message was damaged on
    its way (escaped control characters are caught when their field is read).
    """
    segments = []
    for line in lines:
        parts = line.split(delimiters.field)
        name = parts[0]
        # MSH-1 is the field separator itself, so MSH-n is parts[n - 1].
        raw = (delimiters.field, *parts[1:]) if name == "MSH" else tuple(parts[1:])
        bad = CONTROL.search(line)
        if bad is not None:
            number = line.count(delimiters.field, 0, bad.start()) + (name == "MSH")
            raise control_character(bad.group(), f"{name}-{number}" if number else name)
        segments.append(Segment(name, raw, delimiters))
    return V2Message(tuple(segments))
