"""Replacement numbers (erstatningspersonnumre): which systems are theirs, and how a
person or client names such a patient."""

from __future__ import annotations

import pytest

from hub.domain.identifiers import (
    cpr_patient_key,
    is_replacement_system,
    lookup_patient_key,
    replacement_of,
)


@pytest.mark.parametrize(
    ("system", "family"),
    [
        ("urn:oid:1.2.208.176.1.6.1.1", True),
        ("urn:oid:1.2.208.176.1.6.1.3.177", True),
        ("urn:oid:1.2.208.176.1.6.1", False),  # the family's root, not a system in it
        ("urn:oid:1.2.208.176.1.6.10.1", False),
        ("urn:oid:1.2.208.176.1.6.2.1", False),
        ("urn:oid:1.2.208.176.1.2", False),
        ("urn:oid:1.2.208.176.1.6.1.1.", False),
    ],
)
def test_the_replacement_systems_are_the_oids_under_the_family(system: str, family: bool) -> None:
    assert is_replacement_system(system) is family


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("010170-9995", cpr_patient_key("0101709995")),
        ("urn:oid:1.2.208.176.1.6.1.1|0703921VJ5", "urn:oid:1.2.208.176.1.6.1.1|0703921VJ5"),
        (
            "urn:brobygger:alternative-identifier:123|X1",
            "urn:brobygger:alternative-identifier:123|X1",
        ),
        ("urn:oid:1.2.3|0703921VJ5", None),  # a hospital's own number names no one here
        ("urn:oid:1.2.208.176.1.6.1.1|", None),
        ("urn:oid:1.2.208.176.1.6.1.1|07|03", None),
        ("0703921VJ5", None),
    ],
)
def test_a_patient_is_looked_up_by_cpr_or_replacement_number(text: str, key: str | None) -> None:
    assert lookup_patient_key(text) == key


def test_only_replacement_keys_name_a_replacement_number() -> None:
    assert replacement_of("urn:oid:1.2.208.176.1.6.1.1|0703921VJ5") == (
        "urn:oid:1.2.208.176.1.6.1.1",
        "0703921VJ5",
    )
    assert replacement_of(cpr_patient_key("0101709995")) is None
    assert replacement_of("urn:brobygger:patient-id:123|P7") is None
    assert replacement_of("message:abc") is None
