"""An owner's link from a replacement number to a CPR number, in GraphQL:
``linkReplacementNumber`` and ``unlinkReplacementNumber`` (hub.services.patient_link_record).
"""

from __future__ import annotations

from typing import Annotated

import strawberry

from hub.services.patient_link_record import (
    PatientLinkError,
    RecordedLink,
    link_replacement_number,
)
from schema.context import HubInfo
from schema.errors import refusals_as_errors
from schema.types import PatientIdentifierInput, ReplacementNumber


@strawberry.type(description="Your organisation's link of a replacement number to a CPR number.")
class ReplacementLink:
    replacement_number: ReplacementNumber
    cpr: str | None = strawberry.field(
        description="The CPR number it is linked to; null once the link is taken back."
    )
    effective: bool = strawberry.field(
        description="It was stored and the CPR number's pathway read it when the call returned."
    )

    @classmethod
    def of(cls, link: RecordedLink) -> ReplacementLink:
        return cls(
            replacement_number=ReplacementNumber(
                system=link.system, value=link.value, label="erstatningspersonnummer"
            ),
            cpr=link.cpr,
            effective=link.effective,
        )


_REPLACEMENT = strawberry.argument(
    description="The replacement number (erstatningspersonnummer): a system under "
    "urn:oid:1.2.208.176.1.6.1 and its value."
)


async def resolve_link(
    info: HubInfo,
    replacement: Annotated[PatientIdentifierInput, _REPLACEMENT],
    cpr: Annotated[str, strawberry.argument(description="The CPR number, DDMMYYSSSS.")],
) -> ReplacementLink:
    return await _set_link(info, replacement, cpr)


async def resolve_unlink(
    info: HubInfo, replacement: Annotated[PatientIdentifierInput, _REPLACEMENT]
) -> ReplacementLink:
    return await _set_link(info, replacement, None)


async def _set_link(
    info: HubInfo, replacement: PatientIdentifierInput, cpr: str | None
) -> ReplacementLink:
    """Link the replacement number to ``cpr``, or unlink it (``None``), as the viewer."""
    context = info.context
    with refusals_as_errors(PatientLinkError):
        link = await link_replacement_number(
            context.units,
            context.intake,
            context.viewer,
            replacement.system,
            replacement.value,
            cpr,
            policy=context.policy,
        )
    return ReplacementLink.of(link)


@strawberry.type
class PatientLinkMutation:
    link_replacement_number: ReplacementLink = strawberry.field(
        resolver=resolve_link,
        description=(
            "Say that the person your organisation knows by a replacement number is now "
            "known by a CPR number: the CPR number's pathway then lists the replacement "
            "number's records, each as consent allows. Only an organisation holding records "
            "under the replacement number may (extensions.code no-such-patient otherwise, "
            "as for a number the hub does not know); unknown-replacement-system, "
            "bad-replacement-number and bad-cpr name a malformed request."
        ),
    )
    unlink_replacement_number: ReplacementLink = strawberry.field(
        resolver=resolve_unlink,
        description=(
            "Take your organisation's link of a replacement number back. Links written by "
            "others (an ADT A40/A47) stay; the same refusals as linkReplacementNumber."
        ),
    )
