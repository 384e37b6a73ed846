"""The one mutation runner (`Payload.run`) and the one object look-up (`Context.find`).

Expectations come from DESIGN §6: a write checks its declared action first (denials audited
DENIED, as a top-level error); a domain refusal changes nothing and is audited FAILED under
the same action with its typed problems; "not yours" and "does not exist" answer alike.
"""

from __future__ import annotations

import uuid

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from api.schema.node import encode_global_id
from db.seed.demo import DemoIds
from tests.conftest import Audit, Gql

CANCEL = """mutation($id: ID!, $reason: String!) { cancelAppointment(id: $id, reason: $reason) {
    appointment { status } errors { code field } } }"""
STATUS = """mutation($id: ID!, $status: AppointmentStatus!) {
    setAppointmentStatus(id: $id, status: $status) { appointment { status } errors { code } } }"""
HOLIDAY = """mutation { createPlatformHoliday(name: "Closed", startsAt: "2031-01-01T00:00:00Z",
    endsAt: "2031-01-02T00:00:00Z") { holiday { name } errors { code } } }"""


async def _appointment(engine: AsyncEngine, **where: uuid.UUID) -> uuid.UUID:
    clauses = " AND ".join(f"{k} = :{k}" for k in where)
    async with engine.connect() as conn:
        found = (
            await conn.execute(
                text(f"SELECT id FROM appointment WHERE status = 'BOOKED' AND {clauses} LIMIT 1"),  # noqa: S608
                {k: str(v) for k, v in where.items()},
            )
        ).scalar_one()
    return uuid.UUID(str(found))


async def _status_of(engine: AsyncEngine, appointment_id: uuid.UUID) -> str:
    async with engine.connect() as conn:
        return str(
            (
                await conn.execute(
                    text("SELECT status FROM appointment WHERE id = :id"), {"id": appointment_id}
                )
            ).scalar_one()
        )


async def test_another_tenants_row_answers_like_a_missing_one(
    gql: Gql, demo: DemoIds, audit: Audit, owner_engine: AsyncEngine
) -> None:
    theirs = await _appointment(owner_engine, medspa_id=demo.medspas["radiance"])
    answers = [
        await gql(
            CANCEL,
            {"id": encode_global_id("Appointment", target), "reason": "no"},
            as_="dana@glow.example",
        )
        for target in (theirs, uuid.uuid4())
    ]
    assert [a.codes for a in answers] == [["NOT_FOUND"], ["NOT_FOUND"]]
    assert answers[0].errors[0]["message"] == answers[1].errors[0]["message"]
    for answer in answers:
        rows = await audit.rows(request_id=answer.errors[0]["extensions"]["requestId"])
        assert [(r["action"], r["outcome"]) for r in rows] == [("appointment.cancel", "DENIED")]
    assert await _status_of(owner_engine, theirs) == "BOOKED"


async def test_the_declared_action_is_checked_before_the_use_case(
    gql: Gql, demo: DemoIds, audit: Audit, owner_engine: AsyncEngine
) -> None:
    target = await _appointment(owner_engine, medspa_id=demo.medspas["glow"])
    answer = await gql(CANCEL, {"id": encode_global_id("Appointment", target), "reason": "x"})
    assert answer.codes == ["UNAUTHENTICATED"]
    rows = await audit.rows(request_id=answer.errors[0]["extensions"]["requestId"])
    assert [(r["action"], r["outcome"]) for r in rows] == [("appointment.cancel", "DENIED")]
    assert await _status_of(owner_engine, target) == "BOOKED"


async def test_a_refusal_is_typed_audited_failed_and_changes_nothing(
    gql: Gql, demo: DemoIds, audit: Audit, owner_engine: AsyncEngine
) -> None:
    target = await _appointment(owner_engine, medspa_id=demo.medspas["glow"])
    answer = await gql(
        CANCEL,
        {"id": encode_global_id("Appointment", target), "reason": "   "},
        as_="dana@glow.example",
    )
    assert answer.errors == [], answer.body
    payload = answer.data["cancelAppointment"]
    assert payload["appointment"] is None
    assert payload["errors"] == [{"code": "VALIDATION", "field": "reason"}]
    (row,) = await audit.rows(action="appointment.cancel", outcome="FAILED")
    assert row["detail"]["errors"] == [{"code": "VALIDATION", "field": "reason"}]
    assert await _status_of(owner_engine, target) == "BOOKED"


async def test_a_status_change_is_audited_under_its_own_action(
    gql: Gql, demo: DemoIds, audit: Audit, owner_engine: AsyncEngine
) -> None:
    """One audit name per action: a refused completion is `appointment.complete`, not a
    per-status string."""
    target = await _appointment(owner_engine, provider_id=demo.providers["nina@glow.example"])
    answer = await gql(
        STATUS,
        {"id": encode_global_id("Appointment", target), "status": "COMPLETED"},
        as_="nina@glow.example",
    )
    assert [e["code"] for e in answer.data["setAppointmentStatus"]["errors"]] == [
        "INVALID_TRANSITION"
    ]
    rows = await audit.rows(outcome="FAILED")
    assert [r["action"] for r in rows] == ["appointment.complete"]


async def test_platform_holidays_are_checked_and_audited_as_one_action(
    gql: Gql, audit: Audit
) -> None:
    created = await gql(HOLIDAY, as_="maria@portrait.example")
    assert created.data["createPlatformHoliday"]["errors"] == []
    assert len(await audit.rows(action="platform_holiday.create", outcome="ALLOWED")) == 1
    refused = await gql(HOLIDAY, as_="dana@glow.example")
    assert refused.codes == ["FORBIDDEN"]
    rows = await audit.rows(request_id=refused.errors[0]["extensions"]["requestId"])
    assert [(r["action"], r["outcome"]) for r in rows] == [("platform_holiday.create", "DENIED")]


def test_error_codes_are_a_schema_enum() -> None:
    from strawberry.types.base import get_object_definition

    from api.errors import DomainErrorCode
    from api.schema.payload import UserError

    fields = {f.python_name: f for f in get_object_definition(UserError, strict=True).fields}
    assert fields["code"].type.wrapped_cls is DomainErrorCode
    # Wire values are the codes themselves.
    assert {"VALIDATION", "SLOT_UNAVAILABLE", "INVALID_TRANSITION", "NOT_FOUND"} <= {
        code.value for code in DomainErrorCode
    }


async def test_each_mutation_leaves_one_allowed_row_of_its_own_action(
    gql: Gql, demo: DemoIds, audit: Audit, owner_engine: AsyncEngine
) -> None:
    """The runner writes the ALLOWED row of the action a mutation declares, exactly once,
    with what the use case said it did; an effect it carries out through another use case
    (a support ticket's invitation) is audited under that use case's own action."""
    ticket = uuid.uuid4()
    async with owner_engine.begin() as conn:
        await conn.execute(
            text(
                "INSERT INTO support_ticket (id, medspa_id, kind, status, subject, body,"
                " opened_by_user_id) VALUES (:id, :m, 'MEDICAL_DIRECTOR_PHYSICIAN_USER', 'OPEN',"
                " 'A physician', 'Please', :u)"
            ),
            {"id": ticket, "m": demo.medspas["glow"], "u": demo.users["dana@glow.example"]},
        )
    ours = await _appointment(owner_engine, medspa_id=demo.medspas["glow"])
    cases = [
        (
            "appointment.cancel",
            CANCEL,
            {"id": encode_global_id("Appointment", ours), "reason": "Asked to"},
            "dana@glow.example",
        ),
        ("platform_holiday.create", HOLIDAY, {}, "maria@portrait.example"),
        (
            "support_ticket.work",
            """mutation($id: ID!) { resolveSupportTicket(id: $id, resolution: "Invited",
            physician: {email: "dr.lee@example.com", fullName: "Sam Lee", credentials: "DO"})
            { errors { code } } }""",
            {"id": encode_global_id("SupportTicket", ticket)},
            "ops@portrait.example",
        ),
    ]
    for action, document, variables, who in cases:
        request_id = uuid.uuid4().hex
        answer = await gql(document, variables, as_=who, headers={"x-request-id": request_id})
        assert answer.errors == [] and all(not v.get("errors") for v in answer.data.values()), (
            answer.body
        )
        rows = await audit.rows(request_id=request_id, outcome="ALLOWED")
        assert [r["action"] for r in rows].count(action) == 1, (action, rows)
        [row] = [r for r in rows if r["action"] == action]
        assert row["resource_type"] is not None and row["resource_id"] is not None, row
    effects = await audit.rows(action="invitation.manage", outcome="ALLOWED")
    assert len(effects) == 1
