"""Where staff documents' bytes live: a `Storage` protocol with a filesystem backend
(development, tests) and an S3-compatible one (boto3) chosen by `MEDSPA_S3_BUCKET`.

Keys are made by the API (`<medspa>/<user>/<document>`, UUIDs only) and checked again here, so
no key can escape its root or bucket prefix. Nothing here is public: bytes leave only through
the signed-URL route (api/http/staff_files.py).
"""

from __future__ import annotations

import asyncio
import os
import re
import uuid
from pathlib import Path
from typing import Any, Protocol

from api.settings import Settings

KEY_PATTERN = re.compile(
    r"^[0-9a-f]{8}(-[0-9a-f]{4}){3}-[0-9a-f]{12}(/[0-9a-f]{8}(-[0-9a-f]{4}){3}-[0-9a-f]{12}){2}$"
)


class StoredObjectMissing(LookupError):
    """The key names nothing in storage."""


class Storage(Protocol):
    async def put(self, key: str, data: bytes, *, content_type: str) -> None: ...

    async def get(self, key: str) -> bytes: ...

    async def delete(self, key: str) -> None:
        """Remove the object; a key that names nothing is already removed."""
        ...


def document_key(*, medspa_id: uuid.UUID, user_id: uuid.UUID, document_id: uuid.UUID) -> str:
    return f"{medspa_id}/{user_id}/{document_id}"


def checked_key(key: str) -> str:
    if not KEY_PATTERN.fullmatch(key):
        raise ValueError("not a document storage key")
    return key


class FilesystemStorage:
    """Files under one directory (owner-only permissions); writes are atomic renames."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, key: str) -> Path:
        return self.root / checked_key(key)

    async def put(self, key: str, data: bytes, *, content_type: str) -> None:
        await asyncio.to_thread(self._write, self._path(key), data)

    @staticmethod
    def _write(path: Path, data: bytes) -> None:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        partial = path.with_name(f".{path.name}.{uuid.uuid4().hex}.partial")
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as out:
            out.write(data)
        partial.replace(path)

    async def get(self, key: str) -> bytes:
        path = self._path(key)
        try:
            return await asyncio.to_thread(path.read_bytes)
        except FileNotFoundError:
            raise StoredObjectMissing(key) from None

    async def delete(self, key: str) -> None:
        await asyncio.to_thread(self._path(key).unlink, missing_ok=True)


class S3Storage:
    """An S3-compatible bucket through boto3 (AWS, MinIO, R2...). Objects are private and
    server-side encrypted; boto3 is blocking, so calls run in a worker thread."""

    def __init__(self, client: Any, *, bucket: str, prefix: str = "") -> None:
        self.client = client
        self.bucket = bucket
        self.prefix = prefix

    @classmethod
    def from_settings(cls, settings: Settings) -> S3Storage:
        import boto3

        assert settings.s3_bucket is not None
        client = boto3.client(
            "s3",
            endpoint_url=settings.s3_endpoint_url,
            region_name=settings.s3_region,
            aws_access_key_id=settings.s3_access_key_id,
            aws_secret_access_key=settings.s3_secret_access_key,
        )
        return cls(client, bucket=settings.s3_bucket, prefix=settings.s3_prefix)

    def _key(self, key: str) -> str:
        return self.prefix + checked_key(key)

    async def put(self, key: str, data: bytes, *, content_type: str) -> None:
        await asyncio.to_thread(
            self.client.put_object,
            Bucket=self.bucket,
            Key=self._key(key),
            Body=data,
            ContentType=content_type,
            ServerSideEncryption="AES256",
        )

    async def get(self, key: str) -> bytes:
        def read() -> bytes:
            try:
                answer = self.client.get_object(Bucket=self.bucket, Key=self._key(key))
            except self.client.exceptions.NoSuchKey:
                raise StoredObjectMissing(key) from None
            body: bytes = answer["Body"].read()
            return body

        return await asyncio.to_thread(read)

    async def delete(self, key: str) -> None:
        # S3 answers success for a key that names nothing.
        await asyncio.to_thread(self.client.delete_object, Bucket=self.bucket, Key=self._key(key))


def build_storage(settings: Settings) -> Storage:
    """S3 when a bucket is configured, else the filesystem directory."""
    if settings.s3_bucket:
        return S3Storage.from_settings(settings)
    return FilesystemStorage(settings.documents_path)


# The first bytes each content type must start with: a file is what it claims to be.
MAGIC: dict[str, tuple[bytes, ...]] = {
    "image/jpeg": (b"\xff\xd8\xff",),
    "image/png": (b"\x89PNG\r\n\x1a\n",),
    "image/webp": (b"RIFF",),
    "application/pdf": (b"%PDF-",),
}


def looks_like(content_type: str, data: bytes) -> bool:
    if content_type == "image/webp" and data[8:12] != b"WEBP":
        return False
    return any(data.startswith(magic) for magic in MAGIC.get(content_type, ()))
