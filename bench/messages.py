"""The HL7 v2 ADT messages the benchmarks send: one stay per patient number ``n``."""

from __future__ import annotations

from datetime import datetime, timedelta


def cpr(n: int) -> str:
    """The CPR number of the benchmark's patient ``n``."""
    day, month = n % 28 + 1, (n // 28) % 12 + 1
    return f"{day:02d}{month:02d}{60 + (n // 336) % 40:02d}{n % 10000:04d}"


def adt(trigger: str, n: int, recorded: datetime, kommune: str = "730") -> bytes:
    """Patient ``n``'s ADT message (a stay of three days, living in ``kommune``)."""
    stamp = recorded.strftime("%Y%m%d%H%M%S")
    admitted = (recorded - timedelta(days=3 if trigger == "A03" else 0)).strftime("%Y%m%d%H%M%S")
    discharged = stamp if trigger == "A03" else ""
    pv1 = ["PV1", "1", "I", "MED3^101^1^RHR"] + [""] * 15 + [f"V{n}"] + [""] * 24
    pv1 += [admitted, discharged]
    return (
        f"MSH|^~\\&|ADT|RHR|HUB|HUB|{stamp}||ADT^{trigger}^ADT_A01|B{n}-{trigger}|P|2.5\r"
        f"EVN|{trigger}|{stamp}\r"
        f"PID|1||{cpr(n)}^^^CPR^NNDNK||Nielsen^Bo||19700101|M|||Vestergade 1^^Randers|{kommune}\r"
        + "|".join(pv1)
        + "\r"
    ).encode()
