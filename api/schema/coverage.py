"""Out-of-office periods, platform holidays and coverage in the schema (DESIGN §3): their types,
payloads, root fields and mutations.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Self

import strawberry
from strawberry import Private

from api.authz.actions import Action
from api.ids import decode_id_of
from api.resolvers import coverage as coverage_resolvers
from api.resolvers import coverage_window
from api.schema.connection import Connection
from api.schema.enums import (
    Channel,
    CoverageSource,
    OooKind,
    OooReason,
)
from api.schema.node import Node, encode_global_id
from api.schema.payload import Payload
from api.schema.pcc import Info, LazyProvider, Pcc, _provider
from db import models

if TYPE_CHECKING:
    pass


@strawberry.type
class ChannelAccessGrant:
    channel: Channel
    starts_at: datetime
    ends_at: datetime
    revoked_at: datetime | None
    row: Private[models.ChannelAccessGrant]
    provider_row: Private[models.Provider | None]

    @strawberry.field(description="Whose line or chat the grant opens (read with the grant).")
    def provider(self) -> LazyProvider | None:
        from api.schema.provider import Provider

        return Provider.from_row(self.provider_row) if self.provider_row else None


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

    @strawberry.field(
        description="The absent PCC whose lines are covered: name, time zone and working"
        " hours (the covering PCC reads them)."
    )
    async def absent_pcc(self, info: Info) -> Pcc | None:
        # The absence is in the session already (the coverage was read or made from it).
        ooo = await info.context.session.get(models.OutOfOffice, self.row.ooo_id)
        if ooo is None:
            return None
        row = await info.context.loaders.pcc_by_id.load(ooo.pcc_id)
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
                provider_row=provider,
            )
            for r, provider in rows
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
class OutOfOfficePayload(Payload):
    out_of_office: OutOfOffice | None = None

    @classmethod
    def of(cls, result: Any) -> Self:
        return cls(out_of_office=OutOfOffice.from_row(result))


@strawberry.type
class CoveragePayload(Payload):
    coverage: Coverage | None = None

    @classmethod
    def of(cls, result: Any) -> Self:
        return cls(coverage=Coverage.from_row(result))


@strawberry.type
class PlatformHolidayPayload(Payload):
    holiday: PlatformHoliday | None = None

    @classmethod
    def of(cls, result: Any) -> Self:
        return cls(holiday=_holiday(result))


def _holiday(row: models.PlatformHoliday) -> PlatformHoliday:
    return PlatformHoliday(name=row.name, starts_at=row.starts_at, ends_at=row.ends_at)


@strawberry.type
class CoverageQuery:
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
class CoverageMutation:
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
        return await OutOfOfficePayload.run(
            info,
            Action.OOO_REPORT,
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

    @strawberry.mutation(description="Declare a platform holiday (Portrait closed, no coverage).")
    async def create_platform_holiday(
        self, info: Info, name: str, starts_at: datetime, ends_at: datetime
    ) -> PlatformHolidayPayload:
        return await PlatformHolidayPayload.run(
            info,
            Action.PLATFORM_HOLIDAY_CREATE,
            lambda: coverage_resolvers.create_holiday(
                info.context, name=name, starts_at=starts_at, ends_at=ends_at
            ),
        )

    @strawberry.mutation(description="Opt in to cover another PCC's full-day absence.")
    async def offer_coverage(self, info: Info, ooo_id: strawberry.ID) -> CoveragePayload:
        return await CoveragePayload.run(
            info,
            Action.COVERAGE_OFFER,
            lambda: coverage_window.offer_coverage(
                info.context, ooo_id=decode_id_of(ooo_id, "OutOfOffice")
            ),
        )

    @strawberry.mutation(description="Name the PCC who covers an absence (PCC managers).")
    async def assign_coverage(
        self, info: Info, ooo_id: strawberry.ID, pcc_id: strawberry.ID
    ) -> CoveragePayload:
        return await CoveragePayload.run(
            info,
            Action.COVERAGE_ASSIGN,
            lambda: coverage_window.assign_coverage(
                info.context,
                ooo_id=decode_id_of(ooo_id, "OutOfOffice"),
                pcc_id=decode_id_of(pcc_id, "Pcc"),
            ),
        )

    @strawberry.mutation(description="A provider covers their own lines during this absence.")
    async def cover_own_lines(
        self, info: Info, ooo_id: strawberry.ID, provider_id: strawberry.ID
    ) -> OutOfOfficePayload:
        async def use_case() -> models.OutOfOffice:
            row = await coverage_window.cover_own_lines(
                info.context,
                ooo_id=decode_id_of(ooo_id, "OutOfOffice"),
                provider_id=decode_id_of(provider_id, "Provider"),
            )
            ooo = await info.context.session.get(models.OutOfOffice, row.ooo_id)
            assert ooo is not None
            return ooo

        return await OutOfOfficePayload.run(
            info,
            Action.COVERAGE_COVER_OWN_LINES,
            use_case,
        )


COVERAGE_TYPES = [OutOfOffice, Coverage]
