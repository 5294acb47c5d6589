"""A patient known first by a national replacement number (erstatningspersonnummer), later
linked to a CPR number."""

from __future__ import annotations

SYSTEM = "urn:oid:1.2.208.176.1.6.1.1"
NUMBER = "0703921VJ5"
KEY = f"{SYSTEM}|{NUMBER}"
PID3 = f"{NUMBER}^^^&1.2.208.176.1.6.1.1&ISO^PN"
CPR = "0703921234"
