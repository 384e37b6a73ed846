"""Role x tenant matrix for staff documents, written from the policy: platform admins reach
anyone's, admins their medspa's staff, a provider only their own; a masquerade may read but
not manage (it touches identity and licence); nobody else has a grant."""

from __future__ import annotations

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from db.seed.demo import DemoIds
from tests.conftest import ALL_CALLERS, Audit, Gql, Principals
from tests.matrix import expect
from tests.scheduling.helpers import OK, assert_matrix_answer, rows, snapshot
from tests.staff_documents.helpers import DELETE, LIST, REQUEST, document_row, gid

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
# Documents each caller lists: Nina's licence at Glow and Lee's at Radiance.
LISTED = expect(
    {
        **NO_GRANT,
        "ops@portrait.example": 2,
        "dana@glow.example": 1,
        "dana@glow.example:PROVIDER": 0,  # as a provider: only her own
        "nina@glow.example": 1,
        "omar@glow.example": 0,
        "masquerade": 1,  # Dana as Nina reads Nina's
        "ruth@radiance.example": 1,
        "lee@radiance.example": 1,
        "lena@legacy.example": 0,
        "kim@legacy.example": 0,
    }
)
# Asking to upload a document for Nina at Glow.
UPLOADERS = expect(
    {
        **NO_GRANT,
        "ops@portrait.example": OK,
        "dana@glow.example": OK,
        "nina@glow.example": OK,
        "masquerade": "MASQUERADE_FORBIDDEN",
        # Outside their scope: Nina is absent to them.
        "dana@glow.example:PROVIDER": "NOT_FOUND",
        "omar@glow.example": "NOT_FOUND",
        "ruth@radiance.example": "NOT_FOUND",
        "lee@radiance.example": "NOT_FOUND",
        "lena@legacy.example": "NOT_FOUND",
        "kim@legacy.example": "NOT_FOUND",
    }
)

# Deleting Nina's licence at Glow (staff_document.manage): those who may manage it, and a
# masquerade may not; to the rest who have the grant it is absent (outside their read scope).
DELETERS = expect(
    {
        **NO_GRANT,
        "ops@portrait.example": OK,
        "dana@glow.example": OK,
        "nina@glow.example": OK,
        "masquerade": "MASQUERADE_FORBIDDEN",
        "dana@glow.example:PROVIDER": "NOT_FOUND",
        "omar@glow.example": "NOT_FOUND",
        "ruth@radiance.example": "NOT_FOUND",
        "lee@radiance.example": "NOT_FOUND",
        "lena@legacy.example": "NOT_FOUND",
        "kim@legacy.example": "NOT_FOUND",
    }
)


@pytest.mark.parametrize("who", ALL_CALLERS)
async def test_staff_documents(
    gql: Gql, demo: DemoIds, principals: Principals, owner_engine: AsyncEngine, who: str
) -> None:
    await document_row(
        owner_engine, medspa_id=demo.medspas["glow"], user_id=demo.users["nina@glow.example"]
    )
    await document_row(
        owner_engine,
        medspa_id=demo.medspas["radiance"],
        user_id=demo.users["lee@radiance.example"],
    )
    answer = await gql(LIST, {}, bearer=await principals.bearer(who))
    expected = LISTED[who]
    if isinstance(expected, int):
        assert answer.errors == [], answer.body
        edges = answer.data["staffDocuments"]["edges"]
        assert len(edges) == expected
        assert all(e["node"]["url"].startswith("/staff-documents/") for e in edges)
    else:
        assert answer.codes == [expected], answer.body


@pytest.mark.parametrize("who", ALL_CALLERS)
async def test_request_staff_document_upload(
    gql: Gql,
    demo: DemoIds,
    principals: Principals,
    audit: Audit,
    owner_engine: AsyncEngine,
    who: str,
) -> None:
    before = await snapshot(owner_engine, "staff_document")
    answer = await gql(
        REQUEST,
        {
            "input": {
                "kind": "LICENSE",
                "contentType": "image/png",
                "byteSize": 64,
                "userId": gid("User", demo.users["nina@glow.example"]),
                "medspaId": gid("Medspa", demo.medspas["glow"]),
            }
        },
        bearer=await principals.bearer(who),
    )
    payload = await assert_matrix_answer(
        answer=answer,
        expected=UPLOADERS[who],
        field="requestStaffDocumentUpload",
        audit=audit,
        before=before,
        engine=owner_engine,
    )
    if payload is not None:
        assert payload["uploadUrl"].startswith("/staff-documents/upload/")
        assert payload["document"]["status"] == "PENDING"


@pytest.mark.parametrize("who", ALL_CALLERS)
async def test_delete_staff_document(
    gql: Gql,
    demo: DemoIds,
    principals: Principals,
    audit: Audit,
    owner_engine: AsyncEngine,
    who: str,
) -> None:
    document = await document_row(
        owner_engine, medspa_id=demo.medspas["glow"], user_id=demo.users["nina@glow.example"]
    )
    before = await snapshot(owner_engine, "staff_document")
    answer = await gql(
        DELETE, {"id": gid("StaffDocument", document)}, bearer=await principals.bearer(who)
    )
    payload = await assert_matrix_answer(
        answer=answer,
        expected=DELETERS[who],
        field="deleteStaffDocument",
        audit=audit,
        before=before,
        engine=owner_engine,
    )
    if payload is not None:
        assert payload["deletedDocumentId"] == gid("StaffDocument", document)
        [deleted] = await audit.rows(action="staff_document.manage", outcome="ALLOWED")
        assert deleted["resource_id"] == str(document)
        assert deleted["detail"]["operation"] == "delete"
        assert (
            await rows(owner_engine, "SELECT id FROM staff_document WHERE id = :d", d=document)
            == []
        )
