"""Documents of staff-document tests: the GraphQL documents, sample files, and rows arranged
as the owner."""

from __future__ import annotations

import uuid
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from api.ids import encode_global_id

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 56
PDF = b"%PDF-1.7\n" + b"0" * 40

REQUEST = """mutation($input: RequestStaffDocumentUploadInput!) {
  requestStaffDocumentUpload(input: $input) {
    document { id kind status user { email } } uploadUrl uploadExpiresAt
    errors { code field message } } }"""
DELETE = """mutation($id: ID!) { deleteStaffDocument(id: $id) {
  deletedDocumentId errors { code field message } } }"""
LIST = """query($u: ID, $k: StaffDocumentKind, $all: Boolean! = false) {
  staffDocuments(userId: $u, kind: $k, includeSuperseded: $all, first: 100) {
    edges { node { id kind status contentType byteSize url supersededAt user { email } } } } }"""


def stored_files(root: Path) -> list[Path]:
    """The files under a storage root (a test helper: small directories, blocking is fine)."""
    return sorted(p for p in root.rglob("*") if p.is_file())


def gid(type_name: str, id_: uuid.UUID) -> str:
    return encode_global_id(type_name, id_)


async def document_row(
    engine: AsyncEngine,
    *,
    medspa_id: uuid.UUID,
    user_id: uuid.UUID,
    kind: str = "LICENSE",
    ready: bool = True,
) -> uuid.UUID:
    """A document row written as the owner (its bytes are not stored), its id."""
    document_id = uuid.uuid4()
    async with engine.begin() as conn:
        await conn.execute(
            text(
                "INSERT INTO staff_document (id, medspa_id, user_id, kind, status, content_type,"
                " byte_size, storage_key, uploaded_by_user_id, uploaded_at) VALUES (:id, :m, :u,"
                " CAST(:k AS staff_document_kind), CAST(:s AS staff_document_status),"
                " 'image/png', 64, :key, :u, CASE WHEN :ready THEN now() END)"
            ),
            {
                "id": document_id,
                "m": medspa_id,
                "u": user_id,
                "k": kind,
                "s": "READY" if ready else "PENDING",
                "key": f"{medspa_id}/{user_id}/{document_id}",
                "ready": ready,
            },
        )
    return document_id
