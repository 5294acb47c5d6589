"""Data controllers: the unit of "own data".

Danish law makes each region, each kommune and each general practice its own data
controller (dataansvarlig). A viewer sees what its own controller holds; another
controller's data needs a legal basis (``hub.domain.consent``).

A controller is written ``kind:value``:

* ``kommune:<3-digit code>``: a kommune, for every municipal organisation;
* ``sor:<SOR code>``: the institution owner at the root of the organisation's SOR
  hierarchy (a region, a general practice, a private hospital), or the organisation
  itself when nothing better is known;
* ``region:<code>``, ``cvr:<CVR number>``, ``ydernummer:<number>``: as an identity
  provider may name them in a token's ``controller`` claim.

Where a token names no controller, it is the kommune for a municipal caller, else
what the organisation directory says (the SOR institution owner), else the
organisation itself: when nothing says two organisations share a controller, they
do not.
"""

from __future__ import annotations

import re

from hub.domain.sectors import Sector

KOMMUNE = "kommune"
SOR = "sor"
KINDS = (KOMMUNE, SOR, "region", "cvr", "ydernummer")

_CONTROLLER = re.compile(
    r"^(kommune:\d{3}|sor:\d{1,20}|region:\d{4}|cvr:\d{8}|ydernummer:\d{1,10})$"
)

PATIENT = "patient"
"""The custodian of a Consent the patient recorded themself: it covers every
controller's data. Never a token's controller; only the hub sets it."""


class ControllerError(ValueError):
    """A controller the hub cannot accept."""


def kommune_controller(kommune: str) -> str:
    return f"{KOMMUNE}:{kommune}"


def organisation_controller(org: str) -> str:
    """The organisation as its own controller (nothing better known)."""
    return f"{SOR}:{org}"


def default_controller(sector: Sector, org: str, kommune: str | None) -> str:
    """The controller of a caller whose token names none and the directory does not know."""
    if sector is Sector.MUNICIPALITY and kommune:
        return kommune_controller(kommune)
    return organisation_controller(org)


def checked_controller(claim: str, sector: Sector, kommune: str | None) -> str:
    """A token's ``controller`` claim, checked: its form, and for a municipal caller
    that it is the caller's own kommune."""
    if not _CONTROLLER.match(claim):
        raise ControllerError(
            "controller must be one of kommune:<3 digits>, sor:<SOR code>, region:<4 digits>, "
            "cvr:<8 digits> or ydernummer:<number>"
        )
    if sector is Sector.MUNICIPALITY and claim != kommune_controller(kommune or ""):
        raise ControllerError("a municipal caller's controller is its own kommune")
    if sector in (Sector.HOSPITAL, Sector.PSYCHIATRY, Sector.GP) and claim.startswith(
        f"{KOMMUNE}:"
    ):
        # A region's or a practice's data is never a kommune's; a coordinator may be
        # employed by one.
        raise ControllerError("a hospital, psychiatry or GP caller's controller is no kommune")
    return claim
