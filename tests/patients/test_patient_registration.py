"""Registration links: recorded sends, a single-use token kept only as a hash, expiry,
superseding, and refusals that change nothing."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from db.seed.demo import DemoIds
from tests.conftest import Audit, Gql, Principals
from tests.patients.helpers import (
    COMPLETE,
    PATIENT,
    SEND,
    links_of,
    patient_row,
    patient_treated_by,
    payload_codes,
    send_link,
    token_of,
)
from tests.scheduling.helpers import gid, rows, snapshot

WATCHED = ("patient", "registration_link")


async def _complete(gql: Gql, token: str, born: str = "1988-02-29", **names: str) -> list[str]:
    answer = await gql(COMPLETE, {"i": {"token": token, "dateOfBirth": born, **names}})
    assert answer.errors == [], answer.body
    return payload_codes(answer, "completeRegistration")


async def test_send_records_the_link_and_keeps_only_a_hash(
    gql: Gql, demo: DemoIds, owner_engine: AsyncEngine, audit: Audit
) -> None:
    patient = await patient_treated_by(owner_engine, demo, "nina@glow.example", status="LINK_SENT")
    answer = await gql(SEND, {"p": gid("Patient", patient)}, as_="dana@glow.example")
    payload = answer.data["sendRegistrationLink"]
    token = token_of(payload["registrationPath"])
    assert len(token) >= 40
    (link,) = await links_of(owner_engine, patient)
    assert link["token_hash"] == hashlib.sha256(token.encode()).hexdigest()
    assert link["sent_by_user_id"] == demo.users["dana@glow.example"]
    assert link["sent_by_actor_user_id"] == demo.users["dana@glow.example"]
    assert link["medspa_id"] == demo.medspas["glow"]
    assert link["sent_to"] == (await patient_row(owner_engine, patient))["email"]
    assert link["expires_at"] - link["sent_at"] == timedelta(days=7)
    assert (link["used_at"], link["superseded_at"]) == (None, None)
    # The token is in no column of any table (only its hash), and not in the audit trail.
    dump = await rows(owner_engine, "SELECT t::text AS t FROM registration_link t")
    assert all(token not in r["t"] for r in dump)
    trail = await rows(owner_engine, "SELECT t::text AS t FROM audit_event t")
    assert all(token not in r["t"] for r in trail)
    (sent,) = await audit.rows(action="patient.send_registration_link")
    assert (sent["outcome"], sent["resource_id"]) == ("ALLOWED", str(patient))


async def test_masquerade_records_both_identities(
    gql: Gql, demo: DemoIds, principals: Principals, owner_engine: AsyncEngine
) -> None:
    patient = await patient_treated_by(owner_engine, demo, "nina@glow.example", status="LINK_SENT")
    answer = await gql(SEND, {"p": gid("Patient", patient)}, bearer=await principals.masquerade())
    assert answer.data["sendRegistrationLink"]["errors"] == []
    (link,) = await links_of(owner_engine, patient)
    assert link["sent_by_user_id"] == demo.users["nina@glow.example"]
    assert link["sent_by_actor_user_id"] == demo.users["dana@glow.example"]


async def test_link_is_single_use(
    gql: Gql, demo: DemoIds, owner_engine: AsyncEngine, audit: Audit
) -> None:
    patient = await patient_treated_by(owner_engine, demo, "nina@glow.example", status="LINK_SENT")
    token = token_of(await send_link(gql, patient))
    assert await _complete(gql, token, firstName=" Gabriel ") == []
    row = await patient_row(owner_engine, patient)
    assert row["registration_status"] == "COMPLETED"
    assert str(row["date_of_birth"]) == "1988-02-29"
    assert row["first_name"] == "Gabriel"
    assert row["registered_at"] is not None
    (link,) = await links_of(owner_engine, patient)
    assert link["used_at"] is not None
    (done,) = await audit.rows(action="patient.complete_registration")
    assert (done["outcome"], done["medspa_id"]) == ("ALLOWED", demo.medspas["glow"])

    before = await snapshot(owner_engine, *WATCHED)
    assert await _complete(gql, token, born="1970-01-01") == ["REGISTRATION_LINK_USED"]
    assert await snapshot(owner_engine, *WATCHED) == before
    # A completed patient gets no new link.
    again = await gql(SEND, {"p": gid("Patient", patient)}, as_="dana@glow.example")
    assert payload_codes(again, "sendRegistrationLink") == ["REGISTRATION_COMPLETED"]
    assert await snapshot(owner_engine, *WATCHED) == before


async def test_expired_link_changes_nothing(
    gql: Gql, demo: DemoIds, owner_engine: AsyncEngine, owner_session: AsyncSession
) -> None:
    patient = await patient_treated_by(owner_engine, demo, "nina@glow.example", status="LINK_SENT")
    token = token_of(await send_link(gql, patient))
    sent = datetime.now(UTC) - timedelta(days=8)
    await owner_session.execute(
        text("UPDATE registration_link SET sent_at = :s, expires_at = :e WHERE patient_id = :p"),
        {"s": sent, "e": sent + timedelta(days=7), "p": patient},
    )
    await owner_session.commit()
    before = await snapshot(owner_engine, *WATCHED)
    assert await _complete(gql, token) == ["REGISTRATION_LINK_EXPIRED"]
    assert await snapshot(owner_engine, *WATCHED) == before
    assert (await patient_row(owner_engine, patient))["registration_status"] == "LINK_SENT"


async def test_link_about_to_expire_still_works(
    gql: Gql, demo: DemoIds, owner_engine: AsyncEngine, owner_session: AsyncSession
) -> None:
    patient = await patient_treated_by(owner_engine, demo, "nina@glow.example", status="LINK_SENT")
    token = token_of(await send_link(gql, patient))
    sent = datetime.now(UTC) - timedelta(days=7) + timedelta(minutes=5)
    await owner_session.execute(
        text("UPDATE registration_link SET sent_at = :s, expires_at = :e WHERE patient_id = :p"),
        {"s": sent, "e": sent + timedelta(days=7), "p": patient},
    )
    await owner_session.commit()
    assert await _complete(gql, token) == []


async def test_a_new_link_supersedes_the_last(
    gql: Gql, demo: DemoIds, owner_engine: AsyncEngine
) -> None:
    patient = await patient_treated_by(owner_engine, demo, "nina@glow.example", status="LINK_SENT")
    first = token_of(await send_link(gql, patient))
    second = token_of(await send_link(gql, patient, as_="vera@portrait.example"))
    links = await links_of(owner_engine, patient)
    assert [(r["superseded_at"] is None) for r in links] == [False, True]
    assert links[1]["sent_by_user_id"] == demo.users["vera@portrait.example"]
    assert await _complete(gql, first) == ["REGISTRATION_LINK_EXPIRED"]
    assert await _complete(gql, second) == []


async def test_bad_tokens_are_refused_without_changes(
    gql: Gql, demo: DemoIds, owner_engine: AsyncEngine, audit: Audit
) -> None:
    patient = await patient_treated_by(owner_engine, demo, "nina@glow.example", status="LINK_SENT")
    token = token_of(await send_link(gql, patient))
    before = await snapshot(owner_engine, *WATCHED)
    for bad in ("", "nope", token[:-1], token.upper(), "x" * 500, "%", "' OR 1=1 --"):
        assert await _complete(gql, bad) == ["REGISTRATION_LINK_INVALID"], bad
    # A date of birth in the future is a validation error and leaves the link usable.
    tomorrow = (datetime.now(UTC) + timedelta(days=2)).date().isoformat()
    assert await _complete(gql, token, born=tomorrow) == ["VALIDATION"]
    assert await snapshot(owner_engine, *WATCHED) == before
    failed = await audit.rows(action="patient.complete_registration", outcome="FAILED")
    assert len(failed) == 8
    assert await _complete(gql, token) == []


async def test_the_path_is_shown_once(gql: Gql, demo: DemoIds, owner_engine: AsyncEngine) -> None:
    """The patient type offers no way to read a link back."""
    patient = await patient_treated_by(owner_engine, demo, "nina@glow.example", status="LINK_SENT")
    await send_link(gql, patient)
    answer = await gql(
        "query($id: ID!) { patient(id: $id) { registrationPath } }",
        {"id": gid("Patient", patient)},
        as_="dana@glow.example",
    )
    assert answer.errors and "registrationPath" in answer.errors[0]["message"]
    read = await gql(PATIENT, {"id": gid("Patient", patient)}, as_="dana@glow.example")
    assert read.data["patient"]["registrationStatus"] == "LINK_SENT"


async def test_one_use_even_within_one_request(
    gql: Gql, demo: DemoIds, owner_engine: AsyncEngine
) -> None:
    patient = await patient_treated_by(owner_engine, demo, "nina@glow.example", status="LINK_SENT")
    token = token_of(await send_link(gql, patient))
    answer = await gql(
        """mutation($i: CompleteRegistrationInput!) {
            completeRegistration(input: $i) { completed }
            again: completeRegistration(input: $i) { completed errors { code } } }""",
        {"i": {"token": token, "dateOfBirth": "1990-01-01"}},
    )
    assert answer.data["completeRegistration"]["completed"] is True
    assert answer.data["again"]["errors"] == [{"code": "REGISTRATION_LINK_USED"}]
    row = await patient_row(owner_engine, patient)
    assert (row["registration_status"], str(row["date_of_birth"])) == ("COMPLETED", "1990-01-01")
