"""PCC directory, assignments, absences, coverage and the business-model transition."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Annotated, cast

import strawberry
from strawberry import Private
from strawberry.scalars import JSON

from api.context import Context
from api.ids import decode_id_of
from api.resolvers import coverage as coverage_resolvers
from api.resolvers import medspa as medspa_resolvers
from api.resolvers import pcc as pcc_resolvers
from api.schema.connection import Connection
from api.schema.enums import (
    BusinessModel,
    Channel,
    CoverageSource,
    IntegrationKind,
    IntegrationStatus,
    OooKind,
    OooReason,
    PccKind,
)
from api.schema.node import Node, encode_global_id, node_type
from api.schema.payload import UserError, run_mutation
from db import models

if TYPE_CHECKING:
    from api.schema.types import Medspa, Provider

Info = strawberry.Info[Context, None]
LazyProvider = Annotated["Provider", strawberry.lazy("api.schema.types")]
LazyMedspa = Annotated["Medspa", strawberry.lazy("api.schema.types")]


async def _provider(info: Info, provider_id: uuid.UUID) -> LazyProvider | None:
    from api.schema.types import Provider

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
        from api.schema.types import Medspa

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
class ChannelAccessGrant:
    channel: Channel
    starts_at: datetime
    ends_at: datetime
    revoked_at: datetime | None
    row: Private[models.ChannelAccessGrant]

    @strawberry.field
    async def provider(self, info: Info) -> LazyProvider | None:
        return await _provider(info, self.row.provider_id)


@strawberry.type(description="The one PCC covering an absence, for the absence's window.")
class Coverage(Node):
    source: CoverageSource
    starts_at: datetime
    ends_at: datetime
    row: Private[models.Coverage]

    @classmethod
    def from_row(cls, row: models.Coverage) -> Coverage:
        return cls(
            id=encode_global_id("Coverage", row.id),
            source=row.source,
            starts_at=row.starts_at,
            ends_at=row.ends_at,
            row=row,
        )

    @strawberry.field
    def active(self) -> bool:
        return self.starts_at <= datetime.now(UTC) < self.ends_at

    @strawberry.field(description="The covering PCC, with the hours shown beside the provider's.")
    async def covering_pcc(self, info: Info) -> Pcc | None:
        row = await info.context.loaders.pcc_by_id.load(self.row.covering_pcc_id)
        return Pcc.from_row(row) if row else None

    @strawberry.field
    async def channel_grants(self, info: Info) -> list[ChannelAccessGrant]:
        rows = await info.context.loaders.grants_by_coverage.load(self.row.id)
        return [
            ChannelAccessGrant(
                channel=r.channel,
                starts_at=r.starts_at,
                ends_at=r.ends_at,
                revoked_at=r.revoked_at,
                row=r,
            )
            for r in rows
        ]


@strawberry.type
class AffectedProvider:
    covers_own_lines: bool
    row: Private[models.OooAffectedProvider]

    @strawberry.field
    async def provider(self, info: Info) -> LazyProvider | None:
        return await _provider(info, self.row.provider_id)


@strawberry.type(description="A PCC's absence and the providers it affects.")
class OutOfOffice(Node):
    starts_at: datetime
    ends_at: datetime
    kind: OooKind
    reason: OooReason
    note: str | None
    row: Private[models.OutOfOffice]

    @classmethod
    def from_row(cls, row: models.OutOfOffice) -> OutOfOffice:
        return cls(
            id=encode_global_id("OutOfOffice", row.id),
            starts_at=row.starts_at,
            ends_at=row.ends_at,
            kind=row.kind,
            reason=row.reason,
            note=row.note,
            row=row,
        )

    @strawberry.field
    async def pcc(self, info: Info) -> Pcc | None:
        row = await info.context.loaders.pcc_by_id.load(self.row.pcc_id)
        return Pcc.from_row(row) if row else None

    @strawberry.field
    async def affected_providers(self, info: Info) -> list[AffectedProvider]:
        rows = await info.context.loaders.affected_by_ooo.load(self.row.id)
        return [AffectedProvider(covers_own_lines=r.covers_own_lines, row=r) for r in rows]

    @strawberry.field
    async def coverage(self, info: Info) -> Coverage | None:
        row = await info.context.loaders.coverage_by_ooo.load(self.row.id)
        return Coverage.from_row(row) if row else None


@strawberry.type
class PlatformHoliday:
    name: str
    starts_at: datetime
    ends_at: datetime


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


# --- payloads ---------------------------------------------------------------------------------


@strawberry.type
class PccAssignmentPayload:
    assignment: PccAssignment | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class OutOfOfficePayload:
    out_of_office: OutOfOffice | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class CoveragePayload:
    coverage: Coverage | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class PlatformHolidayPayload:
    holiday: PlatformHoliday | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class TransitionPayload:
    medspa: LazyMedspa | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


# --- root fields ----------------------------------------------------------------------------


def _holiday(row: models.PlatformHoliday) -> PlatformHoliday:
    return PlatformHoliday(name=row.name, starts_at=row.starts_at, ends_at=row.ends_at)


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

    @strawberry.field(description="Absences in the caller's coverage.read scope.")
    async def out_of_office(
        self,
        info: Info,
        pcc_id: strawberry.ID | None = None,
        current_or_upcoming: bool = True,
        first: int | None = None,
        after: str | None = None,
    ) -> Connection[OutOfOffice]:
        page = await coverage_resolvers.list_out_of_office(
            info.context,
            pcc_id=decode_id_of(pcc_id, "Pcc") if pcc_id else None,
            current_or_upcoming=current_or_upcoming,
            first=first,
            after=after,
        )
        return Connection.from_page(page, OutOfOffice.from_row)

    @strawberry.field(description="Absences a PCC could opt in to cover.")
    async def open_coverage_requests(
        self, info: Info, first: int | None = None, after: str | None = None
    ) -> Connection[OutOfOffice]:
        page = await coverage_resolvers.list_open_coverage_requests(
            info.context, first=first, after=after
        )
        return Connection.from_page(page, OutOfOffice.from_row)

    @strawberry.field
    async def platform_holidays(self, info: Info) -> list[PlatformHoliday]:
        return [_holiday(h) for h in await coverage_resolvers.list_holidays(info.context)]


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
        result = await run_mutation(
            info.context,
            "pcc_assignment.manage",
            lambda: pcc_resolvers.assign_pcc(
                info.context,
                pcc_id=decode_id_of(pcc_id, "Pcc"),
                provider_id=decode_id_of(provider_id, "Provider"),
                starts_at=starts_at,
                ends_at=ends_at,
            ),
        )
        if isinstance(result, list):
            return PccAssignmentPayload(errors=result)
        return PccAssignmentPayload(assignment=PccAssignment.from_row(result))

    @strawberry.mutation
    async def end_pcc_assignment(
        self, info: Info, assignment_id: strawberry.ID, ends_at: datetime | None = None
    ) -> PccAssignmentPayload:
        result = await run_mutation(
            info.context,
            "pcc_assignment.manage",
            lambda: pcc_resolvers.end_assignment(
                info.context,
                assignment_id=decode_id_of(assignment_id, "PccAssignment"),
                ends_at=ends_at,
            ),
        )
        if isinstance(result, list):
            return PccAssignmentPayload(errors=result)
        return PccAssignmentPayload(assignment=PccAssignment.from_row(result))

    @strawberry.mutation(description="Report a PCC's absence (yourself, or any as a PCC manager).")
    async def report_out_of_office(
        self,
        info: Info,
        starts_at: datetime,
        ends_at: datetime,
        kind: OooKind,
        reason: OooReason,
        pcc_id: strawberry.ID | None = None,
        note: str | None = None,
    ) -> OutOfOfficePayload:
        result = await run_mutation(
            info.context,
            "ooo.report",
            lambda: coverage_resolvers.report_out_of_office(
                info.context,
                pcc_id=decode_id_of(pcc_id, "Pcc") if pcc_id else None,
                starts_at=starts_at,
                ends_at=ends_at,
                kind=kind,
                reason=reason,
                note=note,
            ),
        )
        if isinstance(result, list):
            return OutOfOfficePayload(errors=result)
        return OutOfOfficePayload(out_of_office=OutOfOffice.from_row(result))

    @strawberry.mutation(description="Declare a platform holiday (Portrait closed, no coverage).")
    async def create_platform_holiday(
        self, info: Info, name: str, starts_at: datetime, ends_at: datetime
    ) -> PlatformHolidayPayload:
        result = await run_mutation(
            info.context,
            "platform_holiday.create",
            lambda: coverage_resolvers.create_holiday(
                info.context, name=name, starts_at=starts_at, ends_at=ends_at
            ),
        )
        if isinstance(result, list):
            return PlatformHolidayPayload(errors=result)
        return PlatformHolidayPayload(holiday=_holiday(result))

    @strawberry.mutation(description="Opt in to cover another PCC's full-day absence.")
    async def offer_coverage(self, info: Info, ooo_id: strawberry.ID) -> CoveragePayload:
        result = await run_mutation(
            info.context,
            "coverage.offer",
            lambda: coverage_resolvers.offer_coverage(
                info.context, ooo_id=decode_id_of(ooo_id, "OutOfOffice")
            ),
        )
        if isinstance(result, list):
            return CoveragePayload(errors=result)
        return CoveragePayload(coverage=Coverage.from_row(result))

    @strawberry.mutation(description="Name the PCC who covers an absence (PCC managers).")
    async def assign_coverage(
        self, info: Info, ooo_id: strawberry.ID, pcc_id: strawberry.ID
    ) -> CoveragePayload:
        result = await run_mutation(
            info.context,
            "coverage.assign",
            lambda: coverage_resolvers.assign_coverage(
                info.context,
                ooo_id=decode_id_of(ooo_id, "OutOfOffice"),
                pcc_id=decode_id_of(pcc_id, "Pcc"),
            ),
        )
        if isinstance(result, list):
            return CoveragePayload(errors=result)
        return CoveragePayload(coverage=Coverage.from_row(result))

    @strawberry.mutation(description="A provider covers their own lines during this absence.")
    async def cover_own_lines(
        self, info: Info, ooo_id: strawberry.ID, provider_id: strawberry.ID
    ) -> OutOfOfficePayload:
        async def use_case() -> models.OutOfOffice:
            row = await coverage_resolvers.cover_own_lines(
                info.context,
                ooo_id=decode_id_of(ooo_id, "OutOfOffice"),
                provider_id=decode_id_of(provider_id, "Provider"),
            )
            ooo = await info.context.session.get(models.OutOfOffice, row.ooo_id)
            assert ooo is not None
            return ooo

        result = await run_mutation(info.context, "coverage.cover_own_lines", use_case)
        if isinstance(result, list):
            return OutOfOfficePayload(errors=result)
        return OutOfOfficePayload(out_of_office=OutOfOffice.from_row(result))

    @strawberry.mutation(description="Move a LEGACY medspa to LAUNCH or FLEX (platform admins).")
    async def transition_business_model(
        self, info: Info, medspa_id: strawberry.ID, to: BusinessModel, keep_pcc: bool
    ) -> TransitionPayload:
        from api.schema.types import Medspa

        result = await run_mutation(
            info.context,
            "medspa.transition_model",
            lambda: medspa_resolvers.transition_business_model(
                info.context,
                medspa_id=decode_id_of(medspa_id, "Medspa"),
                to=to,
                keep_pcc=keep_pcc,
            ),
        )
        if isinstance(result, list):
            return TransitionPayload(errors=result)
        return TransitionPayload(medspa=Medspa.from_row(result))


async def _fetch_pcc(ctx: Context, id_: uuid.UUID) -> Pcc | None:
    row = await ctx.loaders.pcc_by_id.load(id_)
    return Pcc.from_row(row) if row else None


node_type("Pcc", _fetch_pcc)

PCC_TYPES = [Pcc, PccAssignment, OutOfOffice, Coverage]
