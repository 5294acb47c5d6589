"""The adapter contract, checked the same way for every intake format.

``hub.domain.translation.Adapter`` promises: raw bytes in, and either translations
the rest of the hub can rely on, or a ``TranslationError`` that names what is wrong
and where, and was raised by the adapter's own checks (not the catch-all that turns
an unexpected exception into a refusal, which is a gap in those checks).

``tests/unit/test_adapter_contract.py`` runs this for every adapter over its samples,
arbitrary bytes and byte-mutated samples; each adapter's own test module calls
``outcome`` from its format-aware mutations (JSON elements, XML elements, HL7 fields).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from hub.domain.identifiers import is_patient_key, patient_resource_id
from hub.domain.translation import Adapter, Sender, Translation, TranslationError

CATCH_ALL = "the message could not be read"
"""How ``refusing_the_unexpected`` words a refusal no check of the adapter made."""

FHIR_ID = re.compile(r"[A-Za-z0-9\-.]{1,64}")


def check_translation(translation: Translation) -> None:
    """What every translation gives the hub: one bus key, an event, identified resources."""
    assert isinstance(translation, Translation)
    assert translation.patient_key and translation.patient_key == translation.patient_key.strip()
    assert translation.event
    assert translation.resources
    seen: set[tuple[str, str]] = set()
    for resource in translation.resources:
        kind, rid = resource.get("resourceType"), resource.get("id")
        assert isinstance(kind, str) and kind[:1].isupper(), resource
        assert isinstance(rid, str) and FHIR_ID.fullmatch(rid), (kind, rid)
        assert (kind, rid) not in seen, f"{kind}/{rid} twice in one translation"
        seen.add((kind, rid))
        if kind == "Patient":
            # The hub's Patient of a message is the one its bus key names.
            assert is_patient_key(translation.patient_key), translation.patient_key
            assert rid == patient_resource_id(translation.patient_key), (rid, translation)
    if translation.occurred_at is not None:
        assert translation.occurred_at.tzinfo is not None, translation.occurred_at
    for partial in translation.partial:
        assert tuple(partial.split("/", 1)) in seen, partial


def check_refusal(error: TranslationError) -> None:
    """A refusal says what is wrong and where, from the adapter's own checks."""
    assert error.what
    assert error.where
    assert not error.what.startswith(CATCH_ALL), error.what


def outcome(adapter: Adapter, raw: bytes, sender: Sender) -> Sequence[Translation] | None:
    """Translate ``raw`` under the contract: the translations, or None for a refusal."""
    try:
        translations = adapter.translate(raw, sender)
    except TranslationError as error:
        check_refusal(error)
        return None
    assert translations, "an accepted payload gives at least one translation"
    for translation in translations:
        check_translation(translation)
    return translations
