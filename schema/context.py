"""What every resolver gets: the authenticated viewer and the store."""

from __future__ import annotations

from dataclasses import dataclass

from strawberry.types import Info

from hub.domain.consent import DEFAULT_POLICY, Policy
from hub.domain.costs import TariffTable
from hub.runtime.pathway_event_feed import PathwayEventFeed
from hub.services.auth import Principal
from hub.services.intake import IntakeService
from hub.services.unit_of_work import UnitOfWorkFactory
from hub.store.unit_of_work import UnitOfWork


@dataclass(frozen=True)
class HubContext:
    viewer: Principal
    intake: IntakeService
    units: UnitOfWorkFactory[UnitOfWork]  # opens a unit of work (hub.bootstrap.units_over)
    policy: Policy = DEFAULT_POLICY
    feed: PathwayEventFeed | None = None  # live pathway events (GraphQL subscriptions)
    tariffs: TariffTable | None = None  # the deployment's cost tariffs, if any


HubInfo = Info[HubContext, None]
