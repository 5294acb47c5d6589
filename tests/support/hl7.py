"""HL7 v2 ADT messages for tests, shaped like a Danish hospital's ADT feed."""

from __future__ import annotations

import uuid


def adt(
    trigger: str = "A01",
    *,
    cpr: str = "0101709995",
    visit: str = "V1001",
    admitted: str = "20261101080000",
    discharged: str = "",
    patient_class: str = "I",
    control_id: str | None = None,
    name: str = "Nielsen^Bo",
    pid3: str | None = None,
    separator: str = "\r",
    recorded: str = "20261104120000",
    address: str = "",
    kommune: str = "",
    reason: str = "",
) -> bytes:
    """An ADT message; ``recorded`` is when the event was recorded (MSH-7 and EVN-2);
    ``kommune`` goes in PID-12 (county code), the patient's residence municipality."""
    pv1 = [""] * 46
    pv1[0], pv1[1], pv1[2], pv1[3] = "PV1", "1", patient_class, "MED3^^^RHR"
    pv1[19], pv1[44], pv1[45] = visit, admitted, discharged
    identifier = pid3 if pid3 is not None else f"{cpr}^^^CPR^NNDNK"
    segments = [
        f"MSH|^~\\&|ADT|RHR|BROBYGGER|HUB|{recorded}||ADT^{trigger}^ADT_A01|"
        f"{control_id or uuid.uuid4().hex[:20]}|P|2.5",
        f"EVN|{trigger}|{recorded}",
        f"PID|1||{identifier}||{name}||19700101|M|||{address}|{kommune}",
        "|".join(pv1),
        *([f"PV2|||{reason}"] if reason else []),
    ]
    return (separator.join(segments) + separator).encode()


def stay(
    cpr: str,
    visit: str,
    *,
    admitted: str,
    discharged: str,
    discharge_recorded: str | None = None,
    kommune: str = "",
    reason: str = "",
) -> tuple[bytes, bytes]:
    """One stay: its admission (A01, recorded when it happened) and its discharge (A03,
    recorded at ``discharge_recorded``, else when it happened)."""
    shared = {
        "cpr": cpr,
        "visit": visit,
        "admitted": admitted,
        "kommune": kommune,
        "reason": reason,
    }
    return (
        adt("A01", recorded=admitted, **shared),
        adt("A03", discharged=discharged, recorded=discharge_recorded or discharged, **shared),
    )
