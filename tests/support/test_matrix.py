"""Role x tenant matrix for the support-ticket fields and mutations, written from the policy:
medspa users open tickets; a provider reads and comments on the tickets they opened, an admin
on the medspa's; platform admins read, comment on, assign and resolve any; nobody else has a
grant. The target is a Glow ticket opened by Nina; refusals change nothing and are audited."""

from __future__ import annotations

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from db.seed.demo import DemoIds
from tests.conftest import ALL_CALLERS, Audit, Gql, Principals
from tests.matrix import expect
from tests.scheduling.helpers import OK, assert_matrix_answer, snapshot
from tests.support.helpers import ASSIGN, COMMENT, OPEN, RESOLVE, TICKETS, gid, ticket_row

WATCHED = ("support_ticket", "support_ticket_comment", "pcc")
NO_GRANT = {
    "maria@portrait.example": "FORBIDDEN",
    "vera@portrait.example": "FORBIDDEN",
    "dean@portrait.example": "FORBIDDEN",
    "cody@portrait.example": "FORBIDDEN",
    "sam@portrait.example": "FORBIDDEN",
    "covering": "FORBIDDEN",
    "api_key": "FORBIDDEN",
    "api_key:APPOINTMENTS_READ": "FORBIDDEN",
    "api_key:APPOINTMENTS_WRITE": "FORBIDDEN",
    "api_key:PATIENTS_READ": "FORBIDDEN",
    "api_key:CATALOG_READ": "FORBIDDEN",
    "anonymous": "UNAUTHENTICATED",
}

# Tickets each caller lists: one Glow ticket opened by Nina, one Radiance ticket by Ruth.
LISTED = expect(
    {
        **NO_GRANT,
        "ops@portrait.example": 2,
        "dana@glow.example": 1,
        "dana@glow.example:PROVIDER": 0,  # as a provider: only tickets she opened
        "nina@glow.example": 1,
        "omar@glow.example": 0,
        "masquerade": 1,  # Dana as Nina
        "ruth@radiance.example": 1,
        "lee@radiance.example": 0,
        "lena@legacy.example": 0,
        "kim@legacy.example": 0,
    }
)
MEDSPA_USERS = (
    "dana@glow.example",
    "dana@glow.example:PROVIDER",
    "nina@glow.example",
    "omar@glow.example",
    "masquerade",
    "ruth@radiance.example",
    "lee@radiance.example",
    "lena@legacy.example",
    "kim@legacy.example",
)
OPENERS = expect(
    {**NO_GRANT, "ops@portrait.example": "FORBIDDEN", **dict.fromkeys(MEDSPA_USERS, OK)}
)
COMMENTERS = expect(
    {
        **NO_GRANT,
        "ops@portrait.example": OK,
        "dana@glow.example": OK,
        "nina@glow.example": OK,
        "masquerade": OK,
        # Outside their read scope: absent.
        "dana@glow.example:PROVIDER": "NOT_FOUND",
        "omar@glow.example": "NOT_FOUND",
        "ruth@radiance.example": "NOT_FOUND",
        "lee@radiance.example": "NOT_FOUND",
        "lena@legacy.example": "NOT_FOUND",
        "kim@legacy.example": "NOT_FOUND",
    }
)
WORKERS = expect(
    {
        **NO_GRANT,
        "ops@portrait.example": OK,
        **dict.fromkeys(MEDSPA_USERS, "FORBIDDEN"),
    }
)


@pytest.mark.parametrize("who", ALL_CALLERS)
async def test_support_tickets(
    gql: Gql, demo: DemoIds, principals: Principals, owner_engine: AsyncEngine, who: str
) -> None:
    await ticket_row(
        owner_engine, medspa_id=demo.medspas["glow"], opened_by=demo.users["nina@glow.example"]
    )
    await ticket_row(
        owner_engine,
        medspa_id=demo.medspas["radiance"],
        opened_by=demo.users["ruth@radiance.example"],
    )
    answer = await gql(TICKETS, {}, bearer=await principals.bearer(who))
    expected = LISTED[who]
    if isinstance(expected, int):
        assert answer.errors == [], answer.body
        assert len(answer.data["supportTickets"]["edges"]) == expected
    else:
        assert answer.codes == [expected], answer.body


@pytest.mark.parametrize("who", ALL_CALLERS)
async def test_open_support_ticket(
    gql: Gql, principals: Principals, audit: Audit, owner_engine: AsyncEngine, who: str
) -> None:
    before = await snapshot(owner_engine, *WATCHED)
    answer = await gql(
        OPEN,
        {"input": {"kind": "QUESTION", "subject": "Help", "body": "How do I export?"}},
        bearer=await principals.bearer(who),
    )
    await assert_matrix_answer(
        answer=answer,
        expected=OPENERS[who],
        field="openSupportTicket",
        audit=audit,
        before=before,
        engine=owner_engine,
    )


MUTATIONS = {
    "commentOnSupportTicket": (COMMENT, {"body": "Any news?"}, COMMENTERS),
    "assignSupportTicket": (ASSIGN, {}, WORKERS),
    "resolveSupportTicket": (RESOLVE, {"r": "Answered."}, WORKERS),
}


@pytest.mark.parametrize("field", sorted(MUTATIONS))
@pytest.mark.parametrize("who", ALL_CALLERS)
async def test_ticket_mutations(
    gql: Gql,
    demo: DemoIds,
    principals: Principals,
    audit: Audit,
    owner_engine: AsyncEngine,
    who: str,
    field: str,
) -> None:
    document, variables, table = MUTATIONS[field]
    ticket = await ticket_row(
        owner_engine, medspa_id=demo.medspas["glow"], opened_by=demo.users["nina@glow.example"]
    )
    before = await snapshot(owner_engine, *WATCHED)
    answer = await gql(
        document,
        {"id": gid("SupportTicket", ticket), **variables},
        bearer=await principals.bearer(who),
    )
    await assert_matrix_answer(
        answer=answer,
        expected=table[who],
        field=field,
        audit=audit,
        before=before,
        engine=owner_engine,
    )
