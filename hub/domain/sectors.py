"""The sectors that write to and read from the hub."""

from __future__ import annotations

from enum import StrEnum


class Sector(StrEnum):
    """A sector of the Danish health and social system.

    The sector of a token decides what it may see: a sector always sees what it
    wrote itself (see ``hub.services.consent.read``).
    """

    HOSPITAL = "hospital"
    PSYCHIATRY = "psychiatry"
    MUNICIPALITY = "municipality"  # kommune: home care, social services, addiction centres
    GP = "gp"  # almen praksis
    COORDINATOR = "coordinator"  # fremskudt behandler, social nurse, tovholder
