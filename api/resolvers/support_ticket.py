"""Support tickets (issue 19): a medspa's users open typed tickets, Portrait's platform admins
assign, comment on and resolve them. Resolving applies the effects the platform models, through
their own use cases (a PCC upgrade changes the PCC's kind through `pcc.change_kind`), in the
resolving mutation's savepoint: if the effect is refused, the ticket stays open."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from sqlalchemy import false, select

from api.authz.actions import Action
from api.authz.principal import Principal
from api.authz.scopes import Anchor, register
from api.errors import DomainErrorCode, invalid
from api.resolvers import pcc as pcc_resolvers
from api.resolvers import supplier_catalogue
from api.resolvers.batching import many_per_key
from api.resolvers.invitation import NewInvitation, invite_staff
from api.resolvers.pagination import Page, SortKey, paginate
from api.resolvers.staff import PHYSICIANS
from db.models import (
    BusinessModel,
    Medspa,
    MembershipRole,
    Pcc,
    PccKind,
    StaffMember,
    StaffRole,
    SupplierProduct,
    SupportTicket,
    SupportTicketComment,
    SupportTicketKind,
    SupportTicketStatus,
)

if TYPE_CHECKING:
    from sqlalchemy import ColumnElement

    from api.context import Context

MAX_SUBJECT = 200
MAX_BODY = 5000


def _opened_by_me(principal: Principal) -> ColumnElement[bool]:
    # OWN for a provider: the tickets they opened (as themselves, or masqueraded as).
    if principal.user_id is None:
        return false()
    return SupportTicket.opened_by_user_id == principal.user_id


ANCHOR = register(
    SupportTicket,
    Anchor(medspa=SupportTicket.medspa_id, own=_opened_by_me),
    read=Action.SUPPORT_TICKET_READ,
)
# Newest first: the support queue reads from the top.
SORT = SortKey((SupportTicket.created_at, SupportTicket.id), ("created_at", "id"), descending=True)


def _text(field: str, value: str | None, *, limit: int, required: bool = True) -> str:
    cleaned = (value or "").strip()
    if required and not cleaned:
        raise invalid(field, "Required.")
    if len(cleaned) > limit:
        raise invalid(field, f"At most {limit} characters.")
    return cleaned


async def list_support_tickets(
    ctx: Context,
    *,
    status: SupportTicketStatus | None,
    kind: SupportTicketKind | None,
    first: int | None,
    after: str | None,
) -> Page[SupportTicket]:
    ctx.authorize(Action.SUPPORT_TICKET_READ)
    stmt = select(SupportTicket).where(ctx.scope(Action.SUPPORT_TICKET_READ, ANCHOR))
    if status is not None:
        stmt = stmt.where(SupportTicket.status == status)
    if kind is not None:
        stmt = stmt.where(SupportTicket.kind == kind)
    return await paginate(ctx.session, stmt, sort=SORT, first=first, after=after)


async def tickets_by_ids(ctx: Context, ids: Sequence[uuid.UUID]) -> list[SupportTicket | None]:
    rows = (
        await ctx.session.execute(
            select(SupportTicket).where(
                SupportTicket.id.in_(ids), ctx.scope(Action.SUPPORT_TICKET_READ, ANCHOR)
            )
        )
    ).scalars()
    found = {row.id: row for row in rows}
    return [found.get(i) for i in ids]


async def comments_by_ticket(
    ctx: Context, ticket_ids: Sequence[uuid.UUID]
) -> list[list[SupportTicketComment]]:
    """Each ticket's comments, oldest first, in key order (one statement)."""
    visible = select(SupportTicket.id).where(ctx.scope(Action.SUPPORT_TICKET_READ, ANCHOR))
    rows = (
        await ctx.session.execute(
            select(SupportTicketComment)
            .where(
                SupportTicketComment.ticket_id.in_(ticket_ids),
                SupportTicketComment.ticket_id.in_(visible),
            )
            .order_by(SupportTicketComment.created_at, SupportTicketComment.id)
        )
    ).scalars()
    return many_per_key(ticket_ids, rows, lambda row: row.ticket_id)


async def open_support_ticket(
    ctx: Context,
    *,
    kind: SupportTicketKind,
    subject: str | None,
    body: str | None,
    pcc_id: uuid.UUID | None,
) -> SupportTicket:
    """Open a ticket for the caller's medspa (the tenant is the principal's, never input)."""
    medspa_id = ctx.principal.medspa_id
    user_id = ctx.principal.user_id
    assert medspa_id is not None and user_id is not None, "support_ticket.open is TENANT"
    clean_subject = _text("subject", subject, limit=MAX_SUBJECT)
    clean_body = _text("body", body, limit=MAX_BODY)
    if pcc_id is not None:
        if kind is not SupportTicketKind.PCC_UPGRADE:
            raise invalid("pccId", "Only a PCC upgrade names a PCC.")
        # The PCC must be one the caller sees (their medspa's); any other is absent.
        visible = (
            await ctx.session.execute(
                select(Pcc.id).where(
                    Pcc.id == pcc_id, ctx.scope(Action.PCC_READ, pcc_resolvers.ANCHOR)
                )
            )
        ).first()
        if visible is None:
            raise invalid("pccId", "No such PCC.", DomainErrorCode.NOT_FOUND)
    ticket = SupportTicket(
        id=uuid.uuid4(),
        medspa_id=medspa_id,
        kind=kind,
        status=SupportTicketStatus.OPEN,
        subject=clean_subject,
        body=clean_body,
        opened_by_user_id=user_id,
        opened_by_actor_user_id=ctx.principal.actor_user_id,
        pcc_id=pcc_id,
    )
    ctx.session.add(ticket)
    await ctx.session.flush()
    # The audit names the kind only: subjects and bodies may carry patient data.
    ctx.allowed(
        Action.SUPPORT_TICKET_OPEN,
        resource_type="SupportTicket",
        resource_id=ticket.id,
        medspa_id=medspa_id,
        detail={"kind": kind.value},
    )
    return ticket


async def comment_on_support_ticket(
    ctx: Context, *, ticket_id: uuid.UUID | None, body: str | None
) -> SupportTicket:
    ticket = await ctx.find(SupportTicket, ticket_id, Action.SUPPORT_TICKET_COMMENT)
    user_id = ctx.principal.user_id
    assert user_id is not None, "only users hold support_ticket.comment"
    comment = SupportTicketComment(
        id=uuid.uuid4(),
        medspa_id=ticket.medspa_id,
        ticket_id=ticket.id,
        author_user_id=user_id,
        author_actor_user_id=ctx.principal.actor_user_id,
        body=_text("body", body, limit=MAX_BODY),
    )
    ctx.session.add(comment)
    await ctx.session.flush()
    ctx.allowed(
        Action.SUPPORT_TICKET_COMMENT,
        resource_type="SupportTicket",
        resource_id=ticket.id,
        medspa_id=ticket.medspa_id,
        detail={"commentId": str(comment.id)},
    )
    return ticket


async def assign_support_ticket(
    ctx: Context, *, ticket_id: uuid.UUID | None, assignee_user_id: uuid.UUID | None
) -> SupportTicket:
    """Give a ticket to a platform admin (the caller by default); it is then in progress."""
    ticket = await ctx.find(SupportTicket, ticket_id, Action.SUPPORT_TICKET_WORK, for_update=True)
    if ticket.status is SupportTicketStatus.RESOLVED:
        raise invalid("id", "This ticket is resolved.", DomainErrorCode.INVALID_TRANSITION)
    assignee = assignee_user_id or ctx.principal.user_id
    staff = (
        await ctx.session.execute(select(StaffMember.role).where(StaffMember.user_id == assignee))
    ).scalar_one_or_none()
    if staff is not StaffRole.PLATFORM_ADMIN:
        raise invalid("assigneeId", "Tickets are worked by Portrait's platform admins.")
    ticket.assignee_user_id = assignee
    ticket.status = SupportTicketStatus.IN_PROGRESS
    await ctx.session.flush()
    ctx.allowed(
        Action.SUPPORT_TICKET_WORK,
        resource_type="SupportTicket",
        resource_id=ticket.id,
        medspa_id=ticket.medspa_id,
        detail={"operation": "assign", "assigneeId": str(assignee)},
    )
    return ticket


@dataclass(frozen=True)
class PriceCorrection:
    supplier_product_id: uuid.UUID | None
    price_cents: int


# The supplier-catalogue price each business model pays, as a change to the product.
MODEL_PRICE: dict[BusinessModel, Callable[[int], supplier_catalogue.ProductChanges]] = {
    BusinessModel.LEGACY: lambda c: supplier_catalogue.ProductChanges(legacy_price_cents=c),
    BusinessModel.LAUNCH: lambda c: supplier_catalogue.ProductChanges(launch_price_cents=c),
    BusinessModel.FLEX: lambda c: supplier_catalogue.ProductChanges(flex_price_cents=c),
}


@dataclass(frozen=True)
class PhysicianUser:
    email: str
    full_name: str
    credentials: str


async def resolve_support_ticket(
    ctx: Context,
    *,
    ticket_id: uuid.UUID | None,
    resolution: str | None,
    pcc_id: uuid.UUID | None,
    physician: PhysicianUser | None = None,
    price_correction: PriceCorrection | None = None,
) -> SupportTicket:
    """Resolve a ticket and apply its modelled effect, through the effect's own use case
    (which checks its own action and audits it).

    PCC_UPGRADE: the PCC (`pcc_id`, else the one the ticket names) becomes the medspa's
    DESIGNATED PCC through `change_pcc_kind`, which checks `pcc.change_kind` and the medspa's
    eligibility. MEDICAL_DIRECTOR_PHYSICIAN_USER: the physician (MD or DO) is invited into the
    medspa as a provider through `invite_staff` (`invitation.manage`); the medspa's admin names
    them medical director once they accept. PRICING_CORRECTION: the supplier-catalogue price
    the medspa's business model pays for a product is corrected through
    `update_supplier_product` (`supplier_product.manage`). The other kinds have no effect the
    platform models (integrations and Autopilot are handled outside the API); resolving
    records the resolution.
    """
    ticket = await ctx.find(SupportTicket, ticket_id, Action.SUPPORT_TICKET_WORK, for_update=True)
    if ticket.status is SupportTicketStatus.RESOLVED:
        raise invalid("id", "This ticket is already resolved.", DomainErrorCode.INVALID_TRANSITION)
    text_ = _text("resolution", resolution, limit=MAX_BODY)
    effect: dict[str, str] = {}
    if ticket.kind is SupportTicketKind.PCC_UPGRADE:
        target = pcc_id or ticket.pcc_id
        if target is None:
            raise invalid("pccId", "Name the PCC who moves in office.")
        pcc = await pcc_resolvers.change_pcc_kind(
            ctx, pcc_id=target, kind=PccKind.DESIGNATED, designated_medspa_id=ticket.medspa_id
        )
        ticket.pcc_id = pcc.id
        effect = {"action": Action.PCC_CHANGE_KIND.value, "pccId": str(pcc.id)}
    elif pcc_id is not None:
        raise invalid("pccId", "Only a PCC upgrade names a PCC.")
    if ticket.kind is SupportTicketKind.MEDICAL_DIRECTOR_PHYSICIAN_USER:
        if physician is None:
            raise invalid("physician", "Name the physician to invite.")
        if (physician.credentials or "").strip().upper() not in PHYSICIANS:
            raise invalid("physician.credentials", "A medical director is an MD or a DO.")
        sent = await invite_staff(
            ctx,
            data=NewInvitation(
                email=physician.email,
                roles=(MembershipRole.PROVIDER,),
                full_name=physician.full_name,
                credentials=physician.credentials,
                medspa_id=ticket.medspa_id,
            ),
        )
        effect = {
            "action": Action.INVITATION_MANAGE.value,
            "invitationId": str(sent.invitation.id),
        }
    elif physician is not None:
        raise invalid("physician", "Only a physician-user ticket names a physician.")
    if ticket.kind is SupportTicketKind.PRICING_CORRECTION:
        if price_correction is None:
            raise invalid("priceCorrection", "Name the product and its corrected price.")
        ctx.authorize(
            Action.SUPPLIER_PRODUCT_MANAGE,
            resource_type="SupplierProduct",
            resource_id=price_correction.supplier_product_id,
        )
        cents = price_correction.price_cents
        if not 0 <= cents <= supplier_catalogue.MAX_PRICE_CENTS:
            raise invalid(
                "priceCorrection.priceCents",
                f"A price is 0 to {supplier_catalogue.MAX_PRICE_CENTS} cents.",
            )
        product_id = price_correction.supplier_product_id
        if product_id is None or await ctx.session.get(SupplierProduct, product_id) is None:
            raise invalid(
                "priceCorrection.supplierProductId", "No such product.", DomainErrorCode.NOT_FOUND
            )
        medspa = await ctx.session.get(Medspa, ticket.medspa_id)
        assert medspa is not None
        product = await supplier_catalogue.update_supplier_product(
            ctx, product_id=product_id, changes=MODEL_PRICE[medspa.business_model](cents)
        )
        effect = {
            "action": Action.SUPPLIER_PRODUCT_MANAGE.value,
            "supplierProductId": str(product.id),
            "businessModel": medspa.business_model.value,
            "priceCents": str(price_correction.price_cents),
        }
    elif price_correction is not None:
        raise invalid("priceCorrection", "Only a pricing-correction ticket corrects a price.")
    user_id = ctx.principal.user_id
    ticket.status = SupportTicketStatus.RESOLVED
    ticket.resolution = text_
    ticket.resolved_by_user_id = user_id
    ticket.resolved_at = datetime.now(UTC)
    ticket.assignee_user_id = ticket.assignee_user_id or user_id
    await ctx.session.flush()
    ctx.allowed(
        Action.SUPPORT_TICKET_WORK,
        resource_type="SupportTicket",
        resource_id=ticket.id,
        medspa_id=ticket.medspa_id,
        detail={"operation": "resolve", "kind": ticket.kind.value, "effect": effect or None},
    )
    return ticket
