"""Adapter throughput: parse + map + validate, per format, on one core.

    .venv/bin/python bench/adapters.py [--seconds 3]

Runs each adapter in this one process (one core) over the valid corpus messages
of its format, round-robin, for a fixed time, and prints messages per second and
the mean time per message. Targets: >= 2,000 HL7 v2 ADT messages/s and >= 1,000
MedCom HospitalNotification bundles/s.
"""

from __future__ import annotations

import argparse
import gc
import itertools
import os
import platform
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from hub.bootstrap import build_adapters  # noqa: E402
from hub.config import Settings  # noqa: E402
from hub.domain.sectors import Sector  # noqa: E402
from hub.domain.translation import Adapter, Sender, TranslationError  # noqa: E402

CORPUS = REPO.parent / "shared" / "corpus"
SENDER = Sender(Sector.HOSPITAL, "100000001", "bench")


@dataclass(frozen=True)
class Workload:
    name: str
    format: str
    files: list[Path]
    target: float | None
    extra: tuple[bytes, ...] = ()


def danish_adt_feed(count: int = 40) -> tuple[bytes, ...]:
    """Admissions and discharges as a Danish hospital's ADT feed sends them (CPR, visit
    number, ward, admit and discharge times): the common case, next to the corpus's."""
    messages = []
    for n in range(count):
        cpr = f"{(n % 28) + 1:02d}{(n % 12) + 1:02d}70{9990 + n % 10:04d}"
        trigger, end = ("A03", "20261104113000") if n % 2 else ("A01", "")
        messages.append(
            (
                f"MSH|^~\\&|ADT|RHR|HUB|HUB|20261104120000||ADT^{trigger}^ADT_A01|B{n}|P|2.5\r"
                f"EVN|{trigger}|20261104120000\r"
                f"PID|1||{cpr}^^^CPR^NNDNK||Nielsen^Bo^Ærø||19700101|M|||"
                "Vestergade 1^^Randers^^8900\r"
                f"PV1|1|I|MED3^101^1^RHR||||||||||||||||V{n}|||||||||||||||||||||||||"
                f"20261101080000|{end}\r"
            ).encode()
        )
    return tuple(messages)


def workloads() -> list[Workload]:
    medcom = CORPUS / "medcom-hospitalnotification"
    care = CORPUS / "medcom-carecommunication"
    return [
        Workload(
            "HL7 v2 ADT (corpus + Danish feed)",
            "hl7v2",
            sorted((CORPUS / "hl7v2").glob("*.hl7")),
            2000,
            danish_adt_feed(),
        ),
        Workload(
            "MedCom HospitalNotification (JSON)", "medcom", sorted(medcom.glob("*.json")), 1000
        ),
        Workload("MedCom HospitalNotification (XML)", "medcom", sorted(medcom.glob("*.xml")), None),
        Workload(
            "MedCom CareCommunication (JSON)",
            "medcom",
            sorted(p for p in care.glob("Bundle-*.json") if "-inv-" not in p.name),
            None,
        ),
        Workload("OIOXML", "oioxml", sorted((CORPUS / "medcom-oioxml").glob("*.xml")), None),
    ]


def accepted(adapter: Adapter, workload: Workload) -> list[bytes]:
    payloads = []
    for raw in [*(path.read_bytes() for path in workload.files), *workload.extra]:
        try:
            adapter.translate(raw, SENDER)
        except TranslationError:
            continue
        payloads.append(raw)
    return payloads


def measure(adapter: Adapter, payloads: list[bytes], seconds: float) -> tuple[float, float]:
    """Messages per second over ``seconds``, and the best of five 1/5 runs (for noise)."""
    rates = []
    for _ in range(5):
        count = 0
        gc.collect()
        deadline = time.perf_counter() + seconds / 5
        started = time.perf_counter()
        for raw in itertools.cycle(payloads):
            adapter.translate(raw, SENDER)
            count += 1
            if count % 16 == 0 and time.perf_counter() >= deadline:
                break
        rates.append(count / (time.perf_counter() - started))
    return statistics.median(rates), max(rates)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=5.0, help="time per workload")
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})  # one core
    adapters = build_adapters(Settings.from_env({}))
    print(
        f"Adapter throughput on one core ({platform.processor() or platform.machine()}, "
        f"Python {platform.python_version()}), {args.seconds:.0f} s per workload\n"
    )
    print(f"{'workload':<38} {'files':>5} {'msg/s (median)':>15} {'best':>8} {'ms/msg':>7}  target")
    for workload in workloads():
        adapter = adapters[workload.format]
        payloads = accepted(adapter, workload)
        if not payloads:
            print(f"{workload.name:<38} no accepted corpus files")
            continue
        median, best = measure(adapter, payloads, args.seconds)
        verdict = ""
        if workload.target is not None:
            verdict = f">= {workload.target:,.0f}  " + (
                "met" if median >= workload.target else "MISSED"
            )
        print(
            f"{workload.name:<38} {len(payloads):>5} {median:>15,.0f} {best:>8,.0f} "
            f"{1000 / median:>7.3f}  {verdict}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
