"""GraphQL types of the pathway."""

from __future__ import annotations

import strawberry
from strawberry.scalars import JSON

from hub.domain.summaries import summarise
from hub.domain.timeline import timeline_fields
from hub.services.consent.read import Disclosure
from hub.services.offers import ReferralOffers
from hub.services.pathway import PathwayView


@strawberry.type(description="One resource on the patient's cross-sector timeline.")
class PathwayEntry:
    resource_type: str
    id: strawberry.ID
    sector: str = strawberry.field(description="The sector that wrote the resource.")
    status: str | None
    start: str | None = strawberry.field(description="ISO 8601; with a time, with an offset.")
    end: str | None = strawberry.field(description="ISO 8601; with a time, with an offset.")
    summary: str = strawberry.field(
        description=(
            'One plain line in Danish, e.g. "Indlagt på Medicinsk afd. 3, 22.11.2026 – '
            '25.11.2026 (afsluttet)"; built only from what `fhir` shows.'
        )
    )
    fhir: JSON = strawberry.field(description="The resource as FHIR R4 JSON.")
    offer_name: str | None = strawberry.field(
        default=None,
        description="A referral to an offer of the offers directory: the offer's name.",
    )

    @classmethod
    def from_disclosure(
        cls, disclosure: Disclosure, offers: ReferralOffers | None = None
    ) -> PathwayEntry:
        """The entry as the caller may see it (a notification shows only its fields);
        a referral to a known offer names it."""
        fields = timeline_fields(disclosure.content)
        named, offer_name = (
            offers.named(disclosure.content, disclosure.stored.org)
            if offers
            else (disclosure.content, None)
        )
        return cls(
            resource_type=disclosure.stored.resource_type,
            id=strawberry.ID(disclosure.stored.id),
            sector=disclosure.stored.sector,
            status=fields.status,
            start=fields.start,
            end=fields.end,
            summary=summarise(named),
            fhir=JSON(disclosure.content),
            offer_name=offer_name,
        )


@strawberry.type(description="Where a page of the pathway ends.")
class PageInfo:
    end_cursor: str | None = strawberry.field(
        description="Pass as `after` to read the next page; opaque."
    )
    has_next_page: bool


@strawberry.type(
    description=(
        "A replacement number (erstatningspersonnummer): how a patient without a CPR "
        "number is identified."
    )
)
class ReplacementNumber:
    system: str = strawberry.field(description="Under urn:oid:1.2.208.176.1.6.1.")
    value: str
    label: str = strawberry.field(description='Always "erstatningspersonnummer".')


@strawberry.input(
    description=(
        "A patient named by identifier: a replacement number (erstatningspersonnummer, "
        "a system under urn:oid:1.2.208.176.1.6.1), or a CPR number under "
        "urn:oid:1.2.208.176.1.2."
    )
)
class PatientIdentifierInput:
    system: str
    value: str


@strawberry.type(description="A patient's pathway as the caller may see it.")
class Pathway:
    cpr: str | None = strawberry.field(
        description="Null for a patient known only by a replacement number."
    )
    replacement_number: ReplacementNumber | None = strawberry.field(
        description="The replacement number the patient was looked up by, if not a CPR."
    )
    patient: JSON | None = strawberry.field(
        description="The Patient resource, when the caller may see it."
    )
    entries: list[PathwayEntry] = strawberry.field(
        description="Newest first (by start); entries without a time last."
    )
    has_more: bool = strawberry.field(description="More entries exist beyond `first`.")
    page_info: PageInfo
    linked_replacement_numbers: list[ReplacementNumber] = strawberry.field(
        default_factory=list,
        description=(
            "Replacement numbers linked to this CPR number (HL7 ADT A40/A47) whose "
            "records are among `entries`; only those the caller is shown records of."
        ),
    )

    @classmethod
    def from_view(cls, view: PathwayView, offers: ReferralOffers | None = None) -> Pathway:
        replacement = (
            ReplacementNumber(
                system=view.replacement[0],
                value=view.replacement[1],
                label="erstatningspersonnummer",
            )
            if view.replacement
            else None
        )
        return cls(
            cpr=view.cpr,
            replacement_number=replacement,
            patient=JSON(view.patient.content) if view.patient else None,
            entries=[PathwayEntry.from_disclosure(e, offers) for e in view.entries],
            has_more=view.has_more,
            page_info=PageInfo(end_cursor=view.end_cursor, has_next_page=view.has_more),
            linked_replacement_numbers=[
                ReplacementNumber(system=system, value=value, label="erstatningspersonnummer")
                for system, value in view.linked
            ],
        )
