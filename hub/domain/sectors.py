"""The sectors that write to and read from the hub."""

from __future__ import annotations

from enum import StrEnum


class Sector(StrEnum):
    """A sector of the Danish health and social system.

    A token's sector says what kind of party calls (clinical or not, whose feeds are
    authoritative); what it may see is decided by its organisation and data controller
    (``hub.domain.controllers``, ``hub.domain.consent``).
    """

    HOSPITAL = "hospital"
    PSYCHIATRY = "psychiatry"
    MUNICIPALITY = "municipality"  # kommune: home care, social services, addiction centres
    GP = "gp"  # almen praksis
    COORDINATOR = "coordinator"  # fremskudt behandler, social nurse, tovholder
