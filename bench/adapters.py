"""Adapter throughput: parse + map + validate, per format, on one core.

    .venv/bin/python bench/adapters.py [--seconds 5] [--only medcom] [--xml-before]

Runs each adapter in this one process (one core) over the valid corpus messages
of its format, round-robin, for a fixed time, and prints messages per second and
the mean time per message. Targets: >= 2,000 HL7 v2 ADT messages/s, >= 1,000
MedCom HospitalNotification bundles/s, and their FHIR XML rendering at least half
the rate of the same bundles as JSON (the corpus pairs, measured in the same run;
the ratio is printed). ``--xml-before`` also measures the XML with the reader the
hub had before (fhir.resources building the model from the XML, then dumping it
to JSON), for comparison; ``--only`` runs the workloads whose name contains a word.
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
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

import adapters.medcom.payload as medcom_payload  # noqa: E402
from adapters.fhirtools import xml as fhir_xml  # noqa: E402
from hub.bootstrap import build_adapters  # noqa: E402
from hub.config import Settings  # noqa: E402
from hub.domain.sectors import Sector  # noqa: E402
from hub.domain.translation import Adapter, FhirJson, Sender, TranslationError  # noqa: E402

CORPUS = REPO.parent / "shared" / "corpus"
SENDER = Sender(Sector.HOSPITAL, "100000001", "bench")


@dataclass(frozen=True)
class Workload:
    name: str
    format: str
    files: list[Path]
    target: float | None
    extra: tuple[bytes, ...] = ()
    xml_reader: Callable[[bytes], FhirJson] | None = None  # instead of the hub's


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


def xml_read_by_fhir_resources(raw: bytes) -> FhirJson:
    """FHIR XML to JSON as the hub read it before: fhir.resources builds and validates
    the model from the XML (``model_validate_xml``), which is dumped to JSON."""
    from fhir.resources.R4B import get_fhir_model_class
    from lxml import etree

    root = etree.fromstring(raw, parser=fhir_xml._parser())
    model: Any = get_fhir_model_class(etree.QName(root).localname)
    dumped: FhirJson = model.model_validate_xml(raw, xmlparser=fhir_xml._parser()).model_dump(
        mode="json", exclude_none=True
    )
    return dumped


@contextmanager
def reading_xml_with(reader: Callable[[bytes], FhirJson] | None) -> Iterator[None]:
    if reader is None:
        yield
        return
    payload: Any = medcom_payload  # the module whose reader the MedCom adapter calls
    hub_reader = payload.read_fhir_xml
    payload.read_fhir_xml = reader
    try:
        yield
    finally:
        payload.read_fhir_xml = hub_reader


XML_PAIRS_JSON = "MedCom HN (JSON, the XML's bundles)"
XML = "MedCom HospitalNotification (XML)"
XML_BEFORE = "MedCom HN (XML, the reader before)"


def workloads(xml_before: bool = False) -> list[Workload]:
    medcom = CORPUS / "medcom-hospitalnotification"
    care = CORPUS / "medcom-carecommunication"
    xml = sorted(medcom.glob("*.xml"))
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
        Workload(XML_PAIRS_JSON, "medcom", [path.with_suffix(".json") for path in xml], None),
        Workload(XML, "medcom", xml, None),
        *(
            [Workload(XML_BEFORE, "medcom", xml, None, xml_reader=xml_read_by_fhir_resources)]
            if xml_before
            else []
        ),
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


def one_slice(adapter: Adapter, payloads: list[bytes], seconds: float) -> float:
    """Messages per second translated over ``seconds``."""
    count = 0
    gc.collect()
    deadline = time.perf_counter() + seconds
    started = time.perf_counter()
    for raw in itertools.cycle(payloads):
        adapter.translate(raw, SENDER)
        count += 1
        if count % 16 == 0 and time.perf_counter() >= deadline:
            break
    return count / (time.perf_counter() - started)


def measure(runs: list[tuple[Workload, Adapter, list[bytes]]], seconds: float) -> list[list[float]]:
    """Per workload, its rate in each slice of ``seconds`` in all. Workloads measured
    together take turns slice by slice (25 slices each), so that the comparison sees
    the same load from whatever else runs on the machine; a workload alone runs five."""
    slices = 5 if len(runs) == 1 else 25
    rates: list[list[float]] = [[] for _ in runs]
    for _ in range(slices):
        for rate, (workload, adapter, payloads) in zip(rates, runs, strict=True):
            with reading_xml_with(workload.xml_reader):
                rate.append(one_slice(adapter, payloads, seconds / slices))
    return rates


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=5.0, help="time per workload")
    parser.add_argument("--only", default="", help="only workloads whose name contains this")
    parser.add_argument(
        "--xml-before",
        action="store_true",
        help="also measure FHIR XML with the reader before (fhir.resources from XML)",
    )
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})  # one core
    adapters = build_adapters(Settings.from_env({}))
    print(
        f"Adapter throughput on one core ({platform.processor() or platform.machine()}, "
        f"Python {platform.python_version()}), {args.seconds:.0f} s per workload\n"
    )
    print(f"{'workload':<38} {'files':>5} {'msg/s (median)':>15} {'best':>8} {'ms/msg':>7}  target")
    groups: list[list[Workload]] = []
    for workload in workloads(args.xml_before):
        if args.only.lower() not in workload.name.lower():
            continue
        paired = workload.name in (XML_PAIRS_JSON, XML, XML_BEFORE)
        if paired and groups and groups[-1][0].name in (XML_PAIRS_JSON, XML, XML_BEFORE):
            groups[-1].append(workload)  # the FHIR XML comparison, measured together
        else:
            groups.append([workload])
    rates: dict[str, list[float]] = {}
    for group in groups:
        runs = []
        for workload in group:
            adapter = adapters[workload.format]
            with reading_xml_with(workload.xml_reader):
                payloads = accepted(adapter, workload)
            if payloads:
                runs.append((workload, adapter, payloads))
            else:
                print(f"{workload.name:<38} no accepted corpus files")
        if not runs:
            continue
        for (workload, _, payloads), measured in zip(
            runs, measure(runs, args.seconds), strict=True
        ):
            rates[workload.name] = measured
            median = statistics.median(measured)
            verdict = ""
            if workload.target is not None:
                verdict = f">= {workload.target:,.0f}  " + (
                    "met" if median >= workload.target else "MISSED"
                )
            print(
                f"{workload.name:<38} {len(payloads):>5} {median:>15,.0f} {max(measured):>8,.0f} "
                f"{1000 / median:>7.3f}  {verdict}"
            )
    if XML in rates and XML_PAIRS_JSON in rates:
        ratio = ratio_of(rates[XML], rates[XML_PAIRS_JSON])
        print(
            f"\nFHIR XML / JSON of the same bundles (median of the slices' ratios): {ratio:.2f}"
            "  >= 0.50  " + ("met" if ratio >= 0.5 else "MISSED")
        )
        if XML_BEFORE in rates:
            before = ratio_of(rates[XML_BEFORE], rates[XML_PAIRS_JSON])
            print(
                f"  with the reader before: {before:.2f}; FHIR XML now "
                f"{ratio_of(rates[XML], rates[XML_BEFORE]):.1f} times as fast"
            )
    return 0


def ratio_of(rates: list[float], to: list[float]) -> float:
    return statistics.median(a / b for a, b in zip(rates, to, strict=True))


if __name__ == "__main__":
    sys.exit(main())
