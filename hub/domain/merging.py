"""How a partial resource combines with the version already stored."""

from __future__ import annotations

from hub.domain.translation import FhirJson

# Elements whose parts are reported separately: an admission gives period.start, a
# discharge period.end.
_MERGED_BY_PART = ("period",)


_OPEN_ENCOUNTER = frozenset({"planned", "arrived", "triaged", "in-progress", "onleave"})


def reference(resource: FhirJson) -> str:
    return f"{resource['resourceType']}/{resource['id']}"


def merge_partial(stored: FhirJson, partial: FhirJson) -> FhirJson:
    """``stored`` updated with what ``partial`` says; what it omits is kept.

    Top-level elements of ``partial`` replace the stored ones; a period is merged
    part by part. A partial resource cannot remove an element, only state one, with
    one exception: an Encounter it reopens (a cancelled discharge) loses its end.
    """
    merged = {key: value for key, value in stored.items() if key != "meta"}
    for key, value in partial.items():
        if key in _MERGED_BY_PART and isinstance(merged.get(key), dict) and isinstance(value, dict):
            merged[key] = {**merged[key], **value}
        else:
            merged[key] = value
    reopened = merged.get("status") in _OPEN_ENCOUNTER and "end" not in (
        partial.get("period") or {}
    )
    if merged.get("resourceType") == "Encounter" and reopened and "period" in merged:
        period = {part: at for part, at in merged["period"].items() if part != "end"}
        if period:
            merged["period"] = period
        else:
            del merged["period"]
    return merged


def fill_gaps(stored: FhirJson, late: FhirJson) -> FhirJson:
    """``stored`` with what a late partial resource knows and it does not.

    A late message cannot change what is known, but a discharge notice that was
    processed first still lacks the admission time its late admission notice brings.
    """
    merged = {key: value for key, value in stored.items() if key != "meta"}
    for key, value in late.items():
        if key not in merged:
            merged[key] = value
        elif key in _MERGED_BY_PART and isinstance(merged[key], dict) and isinstance(value, dict):
            merged[key] = {**value, **merged[key]}
    return merged
