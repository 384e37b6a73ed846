"""PCC directory, assignments, absences, coverage and the business-model transition."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import TYPE_CHECKING, Annotated, Any, Self, cast

import strawberry
from strawberry import Private
from strawberry.scalars import JSON

from api.authz.actions import Action
from api.context import Context
from api.ids import decode_id_of
from api.resolvers import medspa as medspa_resolvers
from api.resolvers import pcc as pcc_resolvers
from api.schema.connection import Connection
from api.schema.enums import (
    BusinessModel,
    IntegrationKind,
    IntegrationStatus,
    PccKind,
)
from api.schema.node import Node, encode_global_id, node_type
from api.schema.payload import Payload
from db import models

if TYPE_CHECKING:
    from api.schema.medspa import Medspa
    from api.schema.provider import Provider

Info = strawberry.Info[Context, None]
LazyProvider = Annotated["Provider", strawberry.lazy("api.schema.provider")]
LazyMedspa = Annotated["Medspa", strawberry.lazy("api.schema.medspa")]


async def _provider(info: Info, provider_id: uuid.UUID) -> LazyProvider | None:
    from api.schema.provider import Provider

    row = await info.context.loaders.provider_by_id.load(provider_id)
    return Provider.from_row(row) if row else None


@strawberry.type(description="A patient care coordinator, with working hours in their zone.")
class Pcc(Node):
    kind: PccKind
    time_zone: str
    working_hours: JSON = strawberry.field(
        description='Hours per weekday in the PCC\'s zone, e.g. {"MON": [["09:00", "17:00"]]}.'
    )
    row: Private[models.Pcc]

    @classmethod
    def from_row(cls, row: models.Pcc) -> Pcc:
        return cls(
            id=encode_global_id("Pcc", row.id),
            kind=row.kind,
            time_zone=row.time_zone,
            working_hours=cast(JSON, row.working_hours),
            row=row,
        )

    @strawberry.field
    async def full_name(self, info: Info) -> str | None:
        user = await info.context.loaders.user_by_id.load(self.row.user_id)
        return user.full_name if user else None

    @strawberry.field
    async def email(self, info: Info) -> str | None:
        user = await info.context.loaders.user_by_id.load(self.row.user_id)
        return user.email if user else None

    @strawberry.field(description="The medspa a DESIGNATED PCC sits in.")
    async def designated_medspa(self, info: Info) -> LazyMedspa | None:
        from api.schema.medspa import Medspa

        if self.row.designated_medspa_id is None:
            return None
        row = await info.context.loaders.medspa_by_id.load(self.row.designated_medspa_id)
        return Medspa.from_row(row) if row else None


@strawberry.type(description="A PCC working for a provider now, and why.")
class ProviderPcc:
    relation: str = strawberry.field(description="ASSIGNED, DESIGNATED or COVERING.")
    until: datetime | None
    pcc: Pcc


@strawberry.type
class PccAssignment(Node):
    starts_at: datetime
    ends_at: datetime | None
    row: Private[models.PccAssignment]

    @classmethod
    def from_row(cls, row: models.PccAssignment) -> PccAssignment:
        return cls(
            id=encode_global_id("PccAssignment", row.id),
            starts_at=row.starts_at,
            ends_at=row.ends_at,
            row=row,
        )

    @strawberry.field
    async def pcc(self, info: Info) -> Pcc | None:
        row = await info.context.loaders.pcc_by_id.load(self.row.pcc_id)
        return Pcc.from_row(row) if row else None

    @strawberry.field
    async def provider(self, info: Info) -> LazyProvider | None:
        return await _provider(info, self.row.provider_id)


@strawberry.type
class MedspaIntegration:
    kind: IntegrationKind
    status: IntegrationStatus
    status_changed_on: date


@strawberry.type
class FeeLine:
    kind: str
    amount_cents: int
    currency: str
    period: str
    starts_on: date
    ends_on: date | None = strawberry.field(
        default=None, description="The last day billed; null while the fee runs."
    )


# --- payloads ---------------------------------------------------------------------------------


@strawberry.type
class PccAssignmentPayload(Payload):
    assignment: PccAssignment | None = None

    @classmethod
    def of(cls, result: Any) -> Self:
        return cls(assignment=PccAssignment.from_row(result))


@strawberry.type
class PccPayload(Payload):
    pcc: Pcc | None = None

    @classmethod
    def of(cls, result: Any) -> Self:
        return cls(pcc=Pcc.from_row(result))


@strawberry.type
class MedspaContractPayload(Payload):
    medspa: LazyMedspa | None = None

    @classmethod
    def of(cls, result: Any) -> Self:
        from api.schema.medspa import Medspa

        return cls(medspa=Medspa.from_row(result))


@strawberry.type
class TransitionPayload(Payload):
    medspa: LazyMedspa | None = None

    @classmethod
    def of(cls, result: Any) -> Self:
        from api.schema.medspa import Medspa

        return cls(medspa=Medspa.from_row(result))


# --- root fields ----------------------------------------------------------------------------


@strawberry.type
class PccQuery:
    @strawberry.field(description="The PCC directory, in the caller's pcc.read scope.")
    async def pccs(
        self,
        info: Info,
        kind: PccKind | None = None,
        first: int | None = None,
        after: str | None = None,
    ) -> Connection[Pcc]:
        page = await pcc_resolvers.list_pccs(info.context, kind=kind, first=first, after=after)
        return Connection.from_page(page, Pcc.from_row)

    @strawberry.field
    async def pcc_assignments(
        self,
        info: Info,
        pcc_id: strawberry.ID | None = None,
        active_only: bool = True,
        first: int | None = None,
        after: str | None = None,
    ) -> Connection[PccAssignment]:
        page = await pcc_resolvers.list_assignments(
            info.context,
            pcc_id=decode_id_of(pcc_id, "Pcc") if pcc_id else None,
            active_only=active_only,
            first=first,
            after=after,
        )
        return Connection.from_page(page, PccAssignment.from_row)


@strawberry.type
class PccMutation:
    @strawberry.mutation(description="Assign a (virtual) PCC to a provider.")
    async def assign_pcc(
        self,
        info: Info,
        pcc_id: strawberry.ID,
        provider_id: strawberry.ID,
        starts_at: datetime | None = None,
        ends_at: datetime | None = None,
    ) -> PccAssignmentPayload:
        return await PccAssignmentPayload.run(
            info,
            Action.PCC_ASSIGNMENT_MANAGE,
            lambda: pcc_resolvers.assign_pcc(
                info.context,
                pcc_id=decode_id_of(pcc_id, "Pcc"),
                provider_id=decode_id_of(provider_id, "Provider"),
                starts_at=starts_at,
                ends_at=ends_at,
            ),
        )

    @strawberry.mutation
    async def end_pcc_assignment(
        self, info: Info, assignment_id: strawberry.ID, ends_at: datetime | None = None
    ) -> PccAssignmentPayload:
        return await PccAssignmentPayload.run(
            info,
            Action.PCC_ASSIGNMENT_MANAGE,
            lambda: pcc_resolvers.end_assignment(
                info.context,
                assignment_id=decode_id_of(assignment_id, "PccAssignment"),
                ends_at=ends_at,
            ),
        )

    @strawberry.mutation(description="Move a LEGACY medspa to LAUNCH or FLEX (platform admins).")
    async def transition_business_model(
        self, info: Info, medspa_id: strawberry.ID, to: BusinessModel, keep_pcc: bool
    ) -> TransitionPayload:

        return await TransitionPayload.run(
            info,
            Action.MEDSPA_TRANSITION_MODEL,
            lambda: medspa_resolvers.transition_business_model(
                info.context,
                medspa_id=decode_id_of(medspa_id, "Medspa"),
                to=to,
                keep_pcc=keep_pcc,
            ),
        )

    @strawberry.mutation(
        description="Turn a medspa's PCC service on or off (platform admins). On LAUNCH/FLEX"
        " the 1,000 USD monthly fee line starts or ends with it; off ends every PCC assignment,"
        " coverage window and channel grant in the medspa."
    )
    async def set_pcc_service(
        self, info: Info, medspa_id: strawberry.ID, on: bool
    ) -> MedspaContractPayload:
        return await MedspaContractPayload.run(
            info,
            Action.MEDSPA_UPDATE_CONTRACT,
            lambda: medspa_resolvers.set_pcc_service(
                info.context, medspa_id=decode_id_of(medspa_id, "Medspa"), on=on
            ),
        )

    @strawberry.mutation(
        description="Record whether a medspa uses Portrait's EHR (platform admins); without"
        " it the medspa is not eligible for a PCC, so turning it off ends the PCC service."
    )
    async def set_uses_portrait_ehr(
        self, info: Info, medspa_id: strawberry.ID, uses_portrait_ehr: bool
    ) -> MedspaContractPayload:
        return await MedspaContractPayload.run(
            info,
            Action.MEDSPA_UPDATE_CONTRACT,
            lambda: medspa_resolvers.set_uses_portrait_ehr(
                info.context, medspa_id=decode_id_of(medspa_id, "Medspa"), uses=uses_portrait_ehr
            ),
        )

    @strawberry.mutation(
        description="Move a PCC between VIRTUAL and DESIGNATED (platform admins); a"
        " designated PCC names its medspa."
    )
    async def change_pcc_kind(
        self,
        info: Info,
        pcc_id: strawberry.ID,
        kind: PccKind,
        designated_medspa_id: strawberry.ID | None = None,
    ) -> PccPayload:
        return await PccPayload.run(
            info,
            Action.PCC_CHANGE_KIND,
            lambda: pcc_resolvers.change_pcc_kind(
                info.context,
                pcc_id=decode_id_of(pcc_id, "Pcc"),
                kind=kind,
                designated_medspa_id=(
                    decode_id_of(designated_medspa_id, "Medspa") if designated_medspa_id else None
                ),
            ),
        )


async def _fetch_pcc(ctx: Context, id_: uuid.UUID) -> Pcc | None:
    row = await ctx.loaders.pcc_by_id.load(id_)
    return Pcc.from_row(row) if row else None


node_type("Pcc", _fetch_pcc)

PCC_TYPES = [Pcc, PccAssignment]
