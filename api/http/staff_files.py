"""The two routes of staff documents' bytes (issue 19), outside GraphQL:

- `PUT /staff-documents/upload/<token>`: the body of one PENDING document. The signed token
  names the row, its medspa, its content type and the most bytes it may hold; the request's
  Content-Type must match, the body may not exceed the limit (checked from Content-Length and
  again while streaming), and its first bytes must be of that type. The token is single-use:
  the row turns READY, superseding the person's previous document of that kind.
- `GET /staff-documents/<token>`: the bytes of a READY document, while its signed URL is
  unexpired; private, never cached, never sniffed, sandboxed.

Refusals are JSON `{"error": ...}` with 403 (bad or expired URL), 404, 409 (already
uploaded), 413 (too large), 415 (wrong or lying content type) or 400 (empty).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from api.authz.actions import Action
from api.authz.audit import signed_link_use
from api.settings import Settings
from api.signed_urls import DOWNLOAD_PATH, UPLOAD_PATH, InvalidSignature, verify
from api.storage import Storage, StoredObjectMissing, build_storage, looks_like
from db.models import StaffDocument, StaffDocumentStatus
from db.session import set_tenant_settings

SessionSource = Callable[[], async_sessionmaker[AsyncSession] | None]


def _refuse(status: int, error: str) -> JSONResponse:
    return JSONResponse({"error": error}, status_code=status, headers={"Cache-Control": "no-store"})


def routes(
    settings: Settings, sessions: SessionSource, storage: Storage | None = None
) -> list[Route]:
    store = storage or build_storage(settings)

    async def download(request: Request) -> Response:
        try:
            claims = verify(
                request.path_params["token"], key=settings.document_signing_key(), purpose="get"
            )
        except InvalidSignature:
            return _refuse(403, "This document link is invalid or has expired.")
        try:
            data = await store.get(claims.key)
        except (StoredObjectMissing, ValueError):
            return _refuse(404, "Not found.")
        return Response(
            b"" if request.method == "HEAD" else data,
            media_type=claims.content_type,
            headers={
                "Cache-Control": "private, no-store",
                "X-Content-Type-Options": "nosniff",
                "Content-Disposition": "inline",
                "Content-Security-Policy": "default-src 'none'; sandbox",
                "Referrer-Policy": "no-referrer",
            },
        )

    async def upload(request: Request) -> Response:
        try:
            claims = verify(
                request.path_params["token"], key=settings.document_signing_key(), purpose="put"
            )
            document_id = uuid.UUID(claims.document_id or "")
            medspa_id = uuid.UUID(claims.medspa_id or "")
        except (InvalidSignature, ValueError):
            return _refuse(403, "This upload link is invalid or has expired.")
        content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if content_type != claims.content_type:
            return _refuse(415, f"This upload link takes {claims.content_type} only.")
        limit = min(claims.max_bytes or 0, settings.document_max_bytes)
        declared = request.headers.get("content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > limit):
            return _refuse(413, f"At most {limit} bytes.")
        body = bytearray()
        async for chunk in request.stream():
            body += chunk
            if len(body) > limit:
                return _refuse(413, f"At most {limit} bytes.")
        if not body:
            return _refuse(400, "The upload is empty.")
        if not looks_like(content_type, bytes(body)):
            return _refuse(415, f"The file is not {content_type}.")
        factory = sessions()
        assert factory is not None, "the lifespan builds the sessions"
        async with factory() as session, session.begin():
            await set_tenant_settings(session, medspa_ids=[medspa_id], platform=False)
            document = (
                await session.execute(
                    select(StaffDocument)
                    .where(StaffDocument.id == document_id, StaffDocument.medspa_id == medspa_id)
                    .with_for_update()
                )
            ).scalar_one_or_none()
            if document is None:
                return _refuse(404, "Not found.")
            if document.status is not StaffDocumentStatus.PENDING:
                return _refuse(409, "This upload link was already used.")
            await store.put(document.storage_key, bytes(body), content_type=content_type)
            now = datetime.now(UTC)
            await session.execute(
                update(StaffDocument)
                .where(
                    StaffDocument.medspa_id == medspa_id,
                    StaffDocument.user_id == document.user_id,
                    StaffDocument.kind == document.kind,
                    StaffDocument.status == StaffDocumentStatus.READY,
                    StaffDocument.superseded_at.is_(None),
                )
                .values(superseded_at=now)
            )
            document.status = StaffDocumentStatus.READY
            document.uploaded_at = now
            document.byte_size = len(body)
            # The upload completes what `requestStaffDocumentUpload` began: audited with it.
            session.add(
                signed_link_use(
                    action=Action.STAFF_DOCUMENT_MANAGE.value,
                    user_id=document.uploaded_by_user_id,
                    resource_type="StaffDocument",
                    resource_id=document.id,
                    medspa_id=medspa_id,
                    request_id=uuid.uuid4().hex,
                    detail={"operation": "upload", "byteSize": len(body)},
                )
            )
        return JSONResponse({"status": "READY"}, headers={"Cache-Control": "no-store"})

    return [
        Route(UPLOAD_PATH + "{token}", upload, methods=["PUT"]),
        Route(DOWNLOAD_PATH + "{token}", download, methods=["GET", "HEAD"]),
    ]
