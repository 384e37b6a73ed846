"""Support tickets (issue 19): types, inputs, payloads, and the SupportTicket root fields."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any, Self

import strawberry
from strawberry import Private

from api.authz.actions import Action
from api.context import Context
from api.ids import decode_id_of
from api.resolvers import support_ticket as tickets
from api.schema.connection import Connection
from api.schema.node import Node, encode_global_id, node_type
from api.schema.payload import Payload
from db import models
from db.models import SupportTicketKind, SupportTicketStatus

if TYPE_CHECKING:
    from api.schema.medspa import Medspa
    from api.schema.pcc import Pcc
    from api.schema.user import User

Info = strawberry.Info[Context, None]
LazyUser = Annotated["User", strawberry.lazy("api.schema.user")]
LazyMedspa = Annotated["Medspa", strawberry.lazy("api.schema.medspa")]
LazyPcc = Annotated["Pcc", strawberry.lazy("api.schema.pcc")]

strawberry.enum(SupportTicketKind, description="What a support ticket asks of Portrait.")
strawberry.enum(SupportTicketStatus)


def _named(value: strawberry.ID | None, type_name: str) -> uuid.UUID | None:
    """The id an optional argument names; a malformed one names nothing that exists."""
    if value is None:
        return None
    return decode_id_of(value, type_name) or uuid.UUID(int=0)


async def _user(info: Info, user_id: uuid.UUID | None) -> LazyUser | None:
    from api.schema.user import User

    row = await info.context.loaders.user_by_id.load(user_id) if user_id else None
    return User.from_row(row) if row else None


@strawberry.type(description="A comment on a support ticket.")
class SupportTicketComment:
    body: str
    created_at: datetime
    author_user_id: Private[uuid.UUID]

    @strawberry.field
    async def author(self, info: Info) -> LazyUser | None:
        return await _user(info, self.author_user_id)


@strawberry.type(description="A ticket a medspa opened with Portrait's support centre.")
class SupportTicket(Node):
    kind: SupportTicketKind
    status: SupportTicketStatus
    subject: str
    body: str
    resolution: str | None
    created_at: datetime
    resolved_at: datetime | None
    row: Private[models.SupportTicket]

    @classmethod
    def from_row(cls, row: models.SupportTicket) -> SupportTicket:
        return cls(
            id=encode_global_id("SupportTicket", row.id),
            kind=row.kind,
            status=row.status,
            subject=row.subject,
            body=row.body,
            resolution=row.resolution,
            created_at=row.created_at,
            resolved_at=row.resolved_at,
            row=row,
        )

    @strawberry.field
    async def medspa(self, info: Info) -> LazyMedspa | None:
        from api.schema.medspa import Medspa

        row = await info.context.loaders.medspa_by_id.load(self.row.medspa_id)
        return Medspa.from_row(row) if row else None

    @strawberry.field
    async def opened_by(self, info: Info) -> LazyUser | None:
        return await _user(info, self.row.opened_by_user_id)

    @strawberry.field(description="The Portrait staff member working the ticket.")
    async def assignee(self, info: Info) -> LazyUser | None:
        return await _user(info, self.row.assignee_user_id)

    @strawberry.field(description="PCC_UPGRADE: the PCC asked for, then the one moved in office.")
    async def pcc(self, info: Info) -> LazyPcc | None:
        from api.schema.pcc import Pcc

        pcc_id = self.row.pcc_id
        row = await info.context.loaders.pcc_by_id.load(pcc_id) if pcc_id else None
        return Pcc.from_row(row) if row else None

    @strawberry.field(description="The conversation, oldest first.")
    async def comments(self, info: Info) -> list[SupportTicketComment]:
        rows = await info.context.loaders.comments_by_ticket.load(self.row.id)
        return [
            SupportTicketComment(
                body=r.body, created_at=r.created_at, author_user_id=r.author_user_id
            )
            for r in rows
        ]


@strawberry.type
class SupportTicketPayload(Payload):
    ticket: SupportTicket | None = None

    @classmethod
    def of(cls, result: Any) -> Self:
        return cls(ticket=SupportTicket.from_row(result))


@strawberry.input(
    description="PRICING_CORRECTION: the supplier product whose price the medspa's business"
    " model pays is corrected."
)
class PriceCorrectionInput:
    supplier_product_id: strawberry.ID
    price_cents: int = strawberry.field(description="The corrected price, in cents.")


@strawberry.input(
    description="MEDICAL_DIRECTOR_PHYSICIAN_USER: the physician Portrait invites as a provider."
)
class PhysicianUserInput:
    email: str
    full_name: str
    credentials: str = strawberry.field(description="MD or DO.")


@strawberry.input
class OpenSupportTicketInput:
    kind: SupportTicketKind
    subject: str = strawberry.field(description="At most 200 characters.")
    body: str = strawberry.field(description="At most 5,000 characters.")
    pcc_id: strawberry.ID | None = strawberry.field(
        default=None, description="PCC_UPGRADE: the medspa's PCC to have in office."
    )


@strawberry.type
class SupportTicketQuery:
    @strawberry.field(description="Support tickets in the caller's support_ticket.read scope.")
    async def support_tickets(
        self,
        info: Info,
        status: SupportTicketStatus | None = None,
        kind: SupportTicketKind | None = None,
        first: int | None = None,
        after: str | None = None,
    ) -> Connection[SupportTicket]:
        page = await tickets.list_support_tickets(
            info.context, status=status, kind=kind, first=first, after=after
        )
        return Connection.from_page(page, SupportTicket.from_row)


@strawberry.type
class SupportTicketMutation:
    @strawberry.mutation(description="Open a support ticket for your medspa.")
    async def open_support_ticket(
        self, info: Info, input: OpenSupportTicketInput
    ) -> SupportTicketPayload:
        return await SupportTicketPayload.run(
            info,
            Action.SUPPORT_TICKET_OPEN,
            lambda: tickets.open_support_ticket(
                info.context,
                kind=input.kind,
                subject=input.subject,
                body=input.body,
                pcc_id=_named(input.pcc_id, "Pcc"),
            ),
        )

    @strawberry.mutation(description="Comment on a support ticket.")
    async def comment_on_support_ticket(
        self, info: Info, id: strawberry.ID, body: str
    ) -> SupportTicketPayload:
        return await SupportTicketPayload.run(
            info,
            Action.SUPPORT_TICKET_COMMENT,
            lambda: tickets.comment_on_support_ticket(
                info.context, ticket_id=decode_id_of(id, "SupportTicket"), body=body
            ),
        )

    @strawberry.mutation(description="Give a ticket to a platform admin (yourself by default).")
    async def assign_support_ticket(
        self, info: Info, id: strawberry.ID, assignee_id: strawberry.ID | None = None
    ) -> SupportTicketPayload:
        return await SupportTicketPayload.run(
            info,
            Action.SUPPORT_TICKET_WORK,
            lambda: tickets.assign_support_ticket(
                info.context,
                ticket_id=decode_id_of(id, "SupportTicket"),
                assignee_user_id=_named(assignee_id, "User"),
            ),
        )

    @strawberry.mutation(
        description="Resolve a ticket, applying its effect: a PCC_UPGRADE makes the PCC"
        " (pccId, else the one the ticket names) the medspa's DESIGNATED PCC."
    )
    async def resolve_support_ticket(
        self,
        info: Info,
        id: strawberry.ID,
        resolution: str,
        pcc_id: strawberry.ID | None = None,
        physician: PhysicianUserInput | None = None,
        price_correction: PriceCorrectionInput | None = None,
    ) -> SupportTicketPayload:
        return await SupportTicketPayload.run(
            info,
            Action.SUPPORT_TICKET_WORK,
            lambda: tickets.resolve_support_ticket(
                info.context,
                ticket_id=decode_id_of(id, "SupportTicket"),
                resolution=resolution,
                pcc_id=_named(pcc_id, "Pcc"),
                physician=tickets.PhysicianUser(
                    email=physician.email,
                    full_name=physician.full_name,
                    credentials=physician.credentials,
                )
                if physician
                else None,
                price_correction=tickets.PriceCorrection(
                    supplier_product_id=_named(
                        price_correction.supplier_product_id, "SupplierProduct"
                    ),
                    price_cents=price_correction.price_cents,
                )
                if price_correction
                else None,
            ),
        )


async def _fetch_ticket(ctx: Context, id_: uuid.UUID) -> SupportTicket | None:
    rows = await tickets.tickets_by_ids(ctx, [id_])
    return SupportTicket.from_row(rows[0]) if rows[0] else None


node_type("SupportTicket", _fetch_ticket)

SUPPORT_TICKET_TYPES = [SupportTicket]
