"""Staff documents: uploaded through a single-use signed URL with hostile limits, served only
by valid unexpired signed URLs minted for those allowed to read them, invisible to another
medspa; bad requests change nothing."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from api.ids import decode_id_of
from api.settings import Settings
from api.signed_urls import Claims, sign
from db.seed.demo import DemoIds
from tests.conftest import Audit, Gql, Principals, token_for
from tests.scheduling.helpers import rows, snapshot
from tests.staff_documents.helpers import DELETE, LIST, PDF, PNG, REQUEST, gid, stored_files

NINA = "nina@glow.example"
DANA = "dana@glow.example"


async def _request(
    gql: Gql, who: str, *, kind: str = "LICENSE", content_type: str = "image/png", size: int
) -> dict[str, Any]:
    answer = await gql(
        REQUEST, {"input": {"kind": kind, "contentType": content_type, "byteSize": size}}, as_=who
    )
    payload: dict[str, Any] = answer.data["requestStaffDocumentUpload"]
    assert payload["errors"] == [], answer.body
    return payload


async def test_a_provider_uploads_their_licence_and_only_those_allowed_get_a_link(
    doc_gql: Gql,
    doc_http: httpx.AsyncClient,
    doc_settings: Settings,
    tmp_path: Path,
    audit: Audit,
    demo: DemoIds,
) -> None:
    ticket = await _request(doc_gql, NINA, size=len(PNG))
    assert ticket["document"]["status"] == "PENDING"
    assert ticket["document"]["user"] == {"email": NINA}
    put = await doc_http.put(
        ticket["uploadUrl"], content=PNG, headers={"Content-Type": "image/png"}
    )
    assert put.status_code == 200, put.text
    # Single use: the same link cannot replace the file.
    again = await doc_http.put(
        ticket["uploadUrl"], content=PNG, headers={"Content-Type": "image/png"}
    )
    assert again.status_code == 409
    # The completed upload is audited once, as Nina's (the link was minted for her).
    [uploaded] = [
        r
        for r in await audit.rows(action="staff_document.manage", outcome="ALLOWED")
        if r["detail"]["operation"] == "upload"
    ]
    assert uploaded["effective_user_id"] == uploaded["actor_user_id"] == demo.users[NINA]
    assert uploaded["resource_id"] == str(decode_id_of(ticket["document"]["id"], "StaffDocument"))
    assert uploaded["detail"] == {"operation": "upload", "byteSize": len(PNG), "via": "signed link"}

    [mine] = (await doc_gql(LIST, {}, as_=NINA)).data["staffDocuments"]["edges"]
    assert mine["node"]["status"] == "READY"
    url = mine["node"]["url"]
    served = await doc_http.get(url)
    assert served.status_code == 200
    assert served.content == PNG
    assert served.headers["content-type"] == "image/png"
    assert served.headers["cache-control"] == "private, no-store"
    assert served.headers["x-content-type-options"] == "nosniff"
    # Never public: nothing is served without a valid signature, and no listing exists.
    token = url.rsplit("/", 1)[1]
    payload, mac = token.split(".")
    tampered = payload[:-2] + ("A" if payload[-2] != "A" else "B") + payload[-1] + "." + mac
    for bad in (tampered, payload + "." + mac[::-1], "x", token + "x", ""):
        assert (await doc_http.get(f"/staff-documents/{bad}")).status_code in {403, 404}
    # The upload link never reads, the read link never writes.
    assert (await doc_http.get(ticket["uploadUrl"].replace("/upload", ""))).status_code == 403
    write = await doc_http.put(
        url.replace("/staff-documents/", "/staff-documents/upload/"),
        content=PNG,
        headers={"Content-Type": "image/png"},
    )
    assert write.status_code == 403
    # Expired: a correctly signed link past its time is refused.
    [stored] = stored_files(tmp_path)
    expired = sign(
        Claims(
            purpose="get",
            key=str(stored.relative_to(tmp_path)),
            content_type="image/png",
            expires_at=int(time.time()) - 1,
        ),
        key=doc_settings.document_signing_key(),
    )
    assert (await doc_http.get(f"/staff-documents/{expired}")).status_code == 403
    # A link signed with another key is refused.
    forged = sign(
        Claims(
            purpose="get",
            key=str(stored.relative_to(tmp_path)),
            content_type="image/png",
            expires_at=int(time.time()) + 60,
        ),
        key=b"not-the-key",
    )
    assert (await doc_http.get(f"/staff-documents/{forged}")).status_code == 403

    # Her admin sees it (with a link); a colleague and other medspas do not see it at all.
    admin = (await doc_gql(LIST, {}, as_=DANA)).data["staffDocuments"]["edges"]
    assert [e["node"]["url"] is not None for e in admin] == [True]
    assert (await doc_gql(LIST, {}, as_="omar@glow.example")).data["staffDocuments"]["edges"] == []
    for other in ("ruth@radiance.example", "lena@legacy.example", "lee@radiance.example"):
        listed = await doc_gql(LIST, {}, as_=other)
        assert listed.data["staffDocuments"]["edges"] == [], other
        node = await doc_gql(
            "query($id: ID!) { node(id: $id) { id } }", {"id": mine["node"]["id"]}, as_=other
        )
        assert node.data == {"node": None}
    platform = (await doc_gql(LIST, {}, as_="ops@portrait.example")).data["staffDocuments"]
    assert len(platform["edges"]) == 1


async def test_a_new_upload_supersedes_the_current_document_of_its_kind(
    doc_gql: Gql, doc_http: httpx.AsyncClient
) -> None:
    for _ in range(2):
        ticket = await _request(doc_gql, NINA, kind="HEADSHOT", size=len(PNG))
        put = await doc_http.put(
            ticket["uploadUrl"], content=PNG, headers={"Content-Type": "image/png"}
        )
        assert put.status_code == 200
    current = (await doc_gql(LIST, {"k": "HEADSHOT"}, as_=NINA)).data["staffDocuments"]["edges"]
    assert [e["node"]["supersededAt"] for e in current] == [None]
    every = (await doc_gql(LIST, {"k": "HEADSHOT", "all": True}, as_=NINA)).data["staffDocuments"][
        "edges"
    ]
    assert len(every) == 2


@pytest.mark.parametrize(
    ("headers", "body", "status"),
    [
        ({"Content-Type": "image/jpeg"}, PNG, 415),  # not the type the link was signed for
        ({"Content-Type": "image/png"}, PNG + b"\x00", 413),  # more than declared
        ({"Content-Type": "image/png"}, b"", 400),
        ({"Content-Type": "image/png"}, b"<html><script>alert(1)</script>", 415),
        ({"Content-Type": "image/png", "Content-Length": "99999999"}, PNG, 413),
    ],
)
async def test_hostile_uploads_are_refused_and_store_nothing(
    doc_gql: Gql,
    doc_http: httpx.AsyncClient,
    owner_engine: AsyncEngine,
    audit: Audit,
    tmp_path: Path,
    headers: dict[str, str],
    body: bytes,
    status: int,
) -> None:
    ticket = await _request(doc_gql, NINA, size=len(PNG))
    before = await snapshot(owner_engine, "staff_document")
    put = await doc_http.put(ticket["uploadUrl"], content=body, headers=headers)
    assert put.status_code == status, put.text
    assert await snapshot(owner_engine, "staff_document") == before
    assert stored_files(tmp_path) == []
    uploads = await audit.rows(action="staff_document.manage", outcome="ALLOWED")
    assert [r["detail"]["operation"] for r in uploads] == ["request_upload"]


async def test_a_streamed_body_over_the_limit_is_cut_off(
    doc_gql: Gql, doc_http: httpx.AsyncClient, tmp_path: Path
) -> None:
    ticket = await _request(doc_gql, NINA, size=len(PNG))

    async def chunks() -> Any:  # no Content-Length: the limit holds while streaming
        yield PNG
        yield b"\x00" * 1024

    put = await doc_http.put(
        ticket["uploadUrl"], content=chunks(), headers={"Content-Type": "image/png"}
    )
    assert put.status_code == 413
    assert stored_files(tmp_path) == []


@pytest.mark.parametrize(
    ("variables", "field"),
    [
        ({"kind": "HEADSHOT", "contentType": "application/pdf", "byteSize": 100}, "contentType"),
        ({"kind": "LICENSE", "contentType": "text/html", "byteSize": 100}, "contentType"),
        ({"kind": "LICENSE", "contentType": "image/png", "byteSize": 0}, "byteSize"),
        ({"kind": "LICENSE", "contentType": "image/png", "byteSize": 10**9}, "byteSize"),
    ],
)
async def test_bad_upload_requests_change_nothing(
    gql: Gql, owner_engine: AsyncEngine, variables: dict[str, Any], field: str
) -> None:
    before = await snapshot(owner_engine, "staff_document")
    answer = await gql(REQUEST, {"input": variables}, as_=NINA)
    assert [e["field"] for e in answer.data["requestStaffDocumentUpload"]["errors"]] == [field]
    assert await snapshot(owner_engine, "staff_document") == before


async def test_a_pdf_licence_is_accepted(doc_gql: Gql, doc_http: httpx.AsyncClient) -> None:
    ticket = await _request(doc_gql, NINA, content_type="application/pdf", size=len(PDF))
    put = await doc_http.put(
        ticket["uploadUrl"], content=PDF, headers={"Content-Type": "application/pdf"}
    )
    assert put.status_code == 200


async def test_platform_admins_name_the_medspa_and_admins_their_staff(
    gql: Gql, demo: DemoIds, owner_engine: AsyncEngine
) -> None:
    nina = gid("User", demo.users[NINA])
    unnamed = await gql(
        REQUEST,
        {"input": {"kind": "LICENSE", "contentType": "image/png", "byteSize": 64, "userId": nina}},
        as_="ops@portrait.example",
    )
    assert [e["field"] for e in unnamed.data["requestStaffDocumentUpload"]["errors"]] == [
        "medspaId"
    ]
    named = await gql(
        REQUEST,
        {
            "input": {
                "kind": "LICENSE",
                "contentType": "image/png",
                "byteSize": 64,
                "userId": nina,
                "medspaId": gid("Medspa", demo.medspas["glow"]),
            }
        },
        as_="ops@portrait.example",
    )
    assert named.data["requestStaffDocumentUpload"]["errors"] == []
    by_admin = await gql(
        REQUEST,
        {"input": {"kind": "HEADSHOT", "contentType": "image/png", "byteSize": 64, "userId": nina}},
        as_=DANA,
    )
    assert by_admin.data["requestStaffDocumentUpload"]["document"]["user"] == {"email": NINA}
    uploaders = await rows(
        owner_engine,
        "SELECT uploaded_by_user_id FROM staff_document WHERE user_id = :u ORDER BY created_at",
        u=demo.users[NINA],
    )
    assert [r["uploaded_by_user_id"] for r in uploaders] == [
        demo.users["ops@portrait.example"],
        demo.users[DANA],
    ]


async def test_a_link_is_not_minted_for_a_bearer_of_another_medspa(gql: Gql, demo: DemoIds) -> None:
    # Ruth names Nina and Glow: outside her tenant, so Nina is absent to her.
    answer = await gql(
        REQUEST,
        {
            "input": {
                "kind": "LICENSE",
                "contentType": "image/png",
                "byteSize": 64,
                "userId": gid("User", demo.users[NINA]),
                "medspaId": gid("Medspa", demo.medspas["glow"]),
            }
        },
        bearer=token_for(demo, "ruth@radiance.example"),
    )
    assert answer.codes == ["NOT_FOUND"]


async def test_deleting_a_document_removes_its_file_and_its_link(
    doc_gql: Gql, doc_http: httpx.AsyncClient, tmp_path: Path, principals: Principals
) -> None:
    ticket = await _request(doc_gql, NINA, size=len(PNG))
    put = await doc_http.put(
        ticket["uploadUrl"], content=PNG, headers={"Content-Type": "image/png"}
    )
    assert put.status_code == 200
    [listed] = (await doc_gql(LIST, {}, as_=NINA)).data["staffDocuments"]["edges"]
    url, document = listed["node"]["url"], listed["node"]["id"]
    assert len(stored_files(tmp_path)) == 1
    # Not while masquerading as her; not by a colleague (to whom it is absent).
    masquerade = await doc_gql(DELETE, {"id": document}, bearer=await principals.masquerade())
    assert masquerade.codes == ["MASQUERADE_FORBIDDEN"]
    colleague = await doc_gql(DELETE, {"id": document}, as_="omar@glow.example")
    assert colleague.codes == ["NOT_FOUND"]
    assert len(stored_files(tmp_path)) == 1

    deleted = await doc_gql(DELETE, {"id": document}, as_=DANA)
    assert deleted.data["deleteStaffDocument"] == {"deletedDocumentId": document, "errors": []}
    assert stored_files(tmp_path) == []
    assert (await doc_gql(LIST, {}, as_=NINA)).data["staffDocuments"]["edges"] == []
    # The link minted before is dead, and deleting again finds nothing.
    assert (await doc_http.get(url)).status_code == 404
    assert (await doc_gql(DELETE, {"id": document}, as_=DANA)).codes == ["NOT_FOUND"]
