"""Documents of support-ticket tests: open, comment, assign, resolve, list."""

from __future__ import annotations

import uuid

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from api.ids import encode_global_id

OPEN = """mutation($input: OpenSupportTicketInput!) { openSupportTicket(input: $input) {
  ticket { id kind status subject pcc { id } medspa { slug } openedBy { email } }
  errors { code field message } } }"""
COMMENT = """mutation($id: ID!, $body: String!) { commentOnSupportTicket(id: $id, body: $body) {
  ticket { id comments { body author { email } } } errors { code field } } }"""
ASSIGN = """mutation($id: ID!, $a: ID) { assignSupportTicket(id: $id, assigneeId: $a) {
  ticket { id status assignee { email } } errors { code field } } }"""
RESOLVE = """mutation($id: ID!, $r: String!, $p: ID) {
  resolveSupportTicket(id: $id, resolution: $r, pccId: $p) {
  ticket { id status resolution resolvedAt pcc { id kind designatedMedspa { slug } } }
  errors { code field message } } }"""
TICKETS = """query($status: SupportTicketStatus) { supportTickets(status: $status, first: 100) {
  edges { node { id kind status subject medspa { slug } } } } }"""


async def ticket_row(
    engine: AsyncEngine,
    *,
    medspa_id: uuid.UUID,
    opened_by: uuid.UUID,
    kind: str = "QUESTION",
    pcc_id: uuid.UUID | None = None,
) -> uuid.UUID:
    """A ticket written as the owner (arranging a test), its id."""
    ticket_id = uuid.uuid4()
    async with engine.begin() as conn:
        await conn.execute(
            text(
                "INSERT INTO support_ticket (id, medspa_id, kind, status, subject, body,"
                " opened_by_user_id, pcc_id) VALUES (:id, :m, CAST(:k AS support_ticket_kind),"
                " 'OPEN', 'Subject', 'Body', :u, :p)"
            ),
            {"id": ticket_id, "m": medspa_id, "k": kind, "u": opened_by, "p": pcc_id},
        )
    return ticket_id


def gid(type_name: str, id_: uuid.UUID) -> str:
    return encode_global_id(type_name, id_)
