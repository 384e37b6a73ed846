"""Invitations (issue 19): types, inputs, payloads and the Invitation root fields.

Root fields declare; the use cases in api/resolvers/invitation.py decide.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, Self

import strawberry
from sqlalchemy import select
from strawberry import Private

from api.authz.actions import Action
from api.context import Context
from api.ids import decode_id_of
from api.resolvers import invitation as invitation_resolvers
from api.schema.connection import Connection
from api.schema.enums import MembershipRole
from api.schema.medspa import Medspa
from api.schema.node import Node, encode_global_id, node_type
from api.schema.payload import Payload
from api.schema.user import User
from db import models

Info = strawberry.Info[Context, None]


@strawberry.enum(description="Where an invitation stands.")
class InvitationStatus(StrEnum):
    PENDING = "PENDING"
    ACCEPTED = "ACCEPTED"
    REVOKED = "REVOKED"
    EXPIRED = "EXPIRED"


@strawberry.type(description="An admin or provider invited into a medspa by email.")
class Invitation(Node):
    email: str
    full_name: str | None
    roles: list[MembershipRole]
    credentials: str | None
    status: InvitationStatus
    sent_at: datetime
    expires_at: datetime
    send_count: int
    accepted_at: datetime | None
    revoked_at: datetime | None
    row: Private[models.Invitation]

    @classmethod
    def from_row(cls, row: models.Invitation) -> Invitation:
        if row.accepted_at is not None:
            status = InvitationStatus.ACCEPTED
        elif row.revoked_at is not None:
            status = InvitationStatus.REVOKED
        elif row.expires_at <= datetime.now(UTC):
            status = InvitationStatus.EXPIRED
        else:
            status = InvitationStatus.PENDING
        return cls(
            id=encode_global_id("Invitation", row.id),
            email=row.email,
            full_name=row.full_name,
            roles=invitation_resolvers.invitation_roles(row),
            credentials=row.credentials,
            status=status,
            sent_at=row.sent_at,
            expires_at=row.expires_at,
            send_count=row.send_count,
            accepted_at=row.accepted_at,
            revoked_at=row.revoked_at,
            row=row,
        )

    @strawberry.field
    async def medspa(self, info: Info) -> Medspa | None:
        row = await info.context.loaders.medspa_by_id.load(self.row.medspa_id)
        return Medspa.from_row(row) if row else None


@strawberry.input
class InviteStaffInput:
    email: str
    roles: list[MembershipRole] = strawberry.field(description="MEDSPA_ADMIN, PROVIDER or both.")
    full_name: str | None = None
    credentials: str | None = strawberry.field(
        default=None, description="A provider's credentials (MD, DO, NP, RN, PA...)."
    )
    medspa_id: strawberry.ID | None = strawberry.field(
        default=None, description="Platform admins name the medspa; admins invite into theirs."
    )


@strawberry.type
class InvitationPayload(Payload):
    invitation: Invitation | None = None
    accept_path: str | None = strawberry.field(
        default=None,
        description="The acceptance link's path (it carries the token): shown once; the"
        " invitation email carries it too.",
    )

    @classmethod
    def of(cls, result: Any) -> Self:
        return cls(
            invitation=Invitation.from_row(result.invitation), accept_path=result.accept_path
        )


@strawberry.type
class RevokeInvitationPayload(Payload):
    invitation: Invitation | None = None

    @classmethod
    def of(cls, result: Any) -> Self:
        return cls(invitation=Invitation.from_row(result))


@strawberry.type
class AcceptInvitationPayload(Payload):
    user: User | None = None
    medspa_name: str | None = None
    roles: list[MembershipRole] = strawberry.field(default_factory=list)

    @classmethod
    def of(cls, result: Any) -> Self:
        accepted: invitation_resolvers.Accepted = result
        return cls(
            user=User.from_row(accepted.user),
            medspa_name=accepted.medspa.name,
            roles=invitation_resolvers.invitation_roles(accepted.invitation),
        )


def _id(value: strawberry.ID | None, type_name: str) -> uuid.UUID | None:
    return decode_id_of(value, type_name) if value else None


@strawberry.type
class InvitationQuery:
    @strawberry.field(
        description="Invitations of your medspa (platform admins: every medspa, or the one"
        " named), newest first."
    )
    async def invitations(
        self,
        info: Info,
        medspa_id: strawberry.ID | None = None,
        outstanding_only: bool = False,
        first: int | None = None,
        after: str | None = None,
    ) -> Connection[Invitation]:
        page = await invitation_resolvers.list_invitations(
            info.context,
            medspa_id=_id(medspa_id, "Medspa"),
            outstanding_only=outstanding_only,
            first=first,
            after=after,
        )
        return Connection.from_page(page, Invitation.from_row)


@strawberry.type
class InvitationMutation:
    @strawberry.mutation(
        description="Invite an admin or a provider by email (single-use, expires in 7 days);"
        " the email goes through the notification outbox."
    )
    async def invite_staff(self, info: Info, input: InviteStaffInput) -> InvitationPayload:
        return await InvitationPayload.run(
            info,
            Action.INVITATION_MANAGE,
            lambda: invitation_resolvers.invite_staff(
                info.context,
                data=invitation_resolvers.NewInvitation(
                    email=input.email,
                    roles=tuple(models.MembershipRole(r) for r in input.roles),
                    full_name=input.full_name,
                    credentials=input.credentials,
                    medspa_id=_id(input.medspa_id, "Medspa"),
                ),
            ),
        )

    @strawberry.mutation(description="Send an invitation again with a new link and expiry.")
    async def resend_invitation(self, info: Info, id: strawberry.ID) -> InvitationPayload:
        return await InvitationPayload.run(
            info,
            Action.INVITATION_MANAGE,
            lambda: invitation_resolvers.resend_invitation(
                info.context, invitation_id=decode_id_of(id, "Invitation")
            ),
        )

    @strawberry.mutation(description="Revoke an outstanding invitation; its link stops working.")
    async def revoke_invitation(self, info: Info, id: strawberry.ID) -> RevokeInvitationPayload:
        return await RevokeInvitationPayload.run(
            info,
            Action.INVITATION_MANAGE,
            lambda: invitation_resolvers.revoke_invitation(
                info.context, invitation_id=decode_id_of(id, "Invitation")
            ),
        )

    @strawberry.mutation(
        description="Accept an invitation with its token (no sign-in needed): links the"
        " account with the invited email, or creates it (fullName required then)."
    )
    async def accept_invitation(
        self, info: Info, token: str, full_name: str | None = None
    ) -> AcceptInvitationPayload:
        return await AcceptInvitationPayload.run(
            info,
            Action.INVITATION_ACCEPT,
            lambda: invitation_resolvers.accept_invitation(
                info.context,
                data=invitation_resolvers.Acceptance(token=token, full_name=full_name),
            ),
        )


async def _fetch_invitation(ctx: Context, id_: uuid.UUID) -> Invitation | None:
    if not ctx.principal.permissions.allows(Action.INVITATION_MANAGE):
        return None
    row = (
        await ctx.session.execute(
            select(models.Invitation).where(
                models.Invitation.id == id_,
                ctx.scope(Action.INVITATION_MANAGE, invitation_resolvers.ANCHOR),
            )
        )
    ).scalar_one_or_none()
    return Invitation.from_row(row) if row else None


node_type("Invitation", _fetch_invitation)

INVITATION_TYPES = [Invitation]
