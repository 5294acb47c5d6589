"""The observations the hub accepts: scores that steer a patient's pathway.

Hospitals send two scores about the patients the hub follows, as HL7 v2 ORU^R01 or as
plain FHIR Observations:

* the follow-up screening of "Kom godt hjem" (opfølgningsscreening): the score that
  decides whether a discharged patient is offered the follow-up course;
* TOBS (tidlig opsporing af begyndende sygdom): the Danish early-warning score of
  vital signs.

Neither has a LOINC code (LOINC's early-warning codes are for NEWS/NEWS2, whose
parameters and weights TOBS does not share, and the screening is a local instrument),
so both are coded in the hub's own CodeSystem :data:`OBSERVATIONS`. An Observation with
any other code is refused: the hub would store it and never read it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

OBSERVATIONS = "urn:brobygger:codesystem:observation"
"""The hub's CodeSystem of accepted observation codes."""


@dataclass(frozen=True)
class ObservationCode:
    code: str
    display: str  # Danish: a coding's display is what a page shows of it


FOLLOW_UP_SCREENING = ObservationCode(
    "kom-godt-hjem-screening", "Kom godt hjem: opfølgningsscreening"
)
TOBS = ObservationCode("tobs", "TOBS-score")

OBSERVATION_CODES: Mapping[str, ObservationCode] = {
    code.code: code for code in (FOLLOW_UP_SCREENING, TOBS)
}
"""The accepted observation codes, by code."""
