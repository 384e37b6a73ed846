"""The storage backends and URL signing, without a database: the filesystem backend keeps keys
inside its root, the S3 backend builds the requests S3 expects (botocore's Stubber, no
network), and signed tokens refuse tampering, expiry, the wrong purpose and junk."""

from __future__ import annotations

import io
import time
import uuid
from pathlib import Path

import boto3
import pytest
from botocore.stub import Stubber

from api.signed_urls import Claims, InvalidSignature, sign, verify
from api.storage import FilesystemStorage, S3Storage, StoredObjectMissing, document_key

KEY = document_key(medspa_id=uuid.uuid4(), user_id=uuid.uuid4(), document_id=uuid.uuid4())
SECRET = b"k" * 32


async def test_filesystem_round_trip_and_private_files(tmp_path: Path) -> None:
    storage = FilesystemStorage(tmp_path)
    await storage.put(KEY, b"bytes", content_type="image/png")
    assert await storage.get(KEY) == b"bytes"
    assert (tmp_path / KEY).stat().st_mode & 0o077 == 0
    with pytest.raises(StoredObjectMissing):
        await storage.get(
            document_key(medspa_id=uuid.uuid4(), user_id=uuid.uuid4(), document_id=uuid.uuid4())
        )


@pytest.mark.parametrize(
    "key", ["../etc/passwd", "/etc/passwd", f"{KEY}/../../x", "a/b/c", f"{KEY}\x00", ""]
)
async def test_keys_never_leave_the_root(tmp_path: Path, key: str) -> None:
    storage = FilesystemStorage(tmp_path)
    with pytest.raises(ValueError, match="storage key"):
        await storage.put(key, b"x", content_type="image/png")
    with pytest.raises(ValueError, match="storage key"):
        await storage.get(key)


def _s3() -> tuple[S3Storage, Stubber]:
    client = boto3.client(
        "s3",
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
    )
    return S3Storage(client, bucket="docs", prefix="staff/"), Stubber(client)


async def test_s3_puts_private_encrypted_objects_under_the_prefix() -> None:
    storage, stub = _s3()
    stub.add_response(
        "put_object",
        {},
        {
            "Bucket": "docs",
            "Key": f"staff/{KEY}",
            "Body": b"bytes",
            "ContentType": "image/png",
            "ServerSideEncryption": "AES256",
        },
    )
    stub.add_response(
        "get_object", {"Body": io.BytesIO(b"bytes")}, {"Bucket": "docs", "Key": f"staff/{KEY}"}
    )
    stub.add_client_error("get_object", service_error_code="NoSuchKey", http_status_code=404)
    with stub:
        await storage.put(KEY, b"bytes", content_type="image/png")
        assert await storage.get(KEY) == b"bytes"
        with pytest.raises(StoredObjectMissing):
            await storage.get(KEY)
    stub.assert_no_pending_responses()


async def test_s3_refuses_keys_it_did_not_make() -> None:
    storage, _stub = _s3()
    with pytest.raises(ValueError, match="storage key"):
        await storage.get("../other-bucket-object")


def _claims(**changes: object) -> Claims:
    base = {"purpose": "get", "key": KEY, "content_type": "image/png", "expires_at": 2**40}
    return Claims(**{**base, **changes})  # type: ignore[arg-type]


def test_a_signed_token_verifies_with_its_claims() -> None:
    claims = _claims()
    assert verify(sign(claims, key=SECRET), key=SECRET, purpose="get") == claims


def test_a_signature_has_one_spelling() -> None:
    """The last base64 character of a 32-byte signature carries 2 spare bits: the spellings
    that decode to the same bytes are refused, not only the one that decodes differently."""
    token = sign(_claims(), key=SECRET)
    payload, mac = token.split(".")
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    last = alphabet.index(mac[-1])
    for spare in range(1, 4):  # the same 4 significant bits, other spare bits
        other = alphabet[(last & ~3) | ((last + spare) & 3)]
        with pytest.raises(InvalidSignature):
            verify(f"{payload}.{mac[:-1]}{other}", key=SECRET, purpose="get")


@pytest.mark.parametrize(
    "mangle",
    [
        lambda t: t[:-1] + ("A" if t[-1] != "A" else "B"),  # signature
        lambda t: ("e" if t[0] != "e" else "f") + t[1:],  # payload
        lambda t: t.replace(".", ""),
        lambda t: t + "." + t,
        lambda t: "x" * 2000,
        lambda t: "",
        lambda t: "!!!.???",
    ],
)
def test_tampered_or_junk_tokens_are_refused(mangle: object) -> None:
    token = sign(_claims(), key=SECRET)
    with pytest.raises(InvalidSignature):
        verify(mangle(token), key=SECRET, purpose="get")  # type: ignore[operator]


def test_expired_wrong_purpose_and_wrong_key_are_refused() -> None:
    with pytest.raises(InvalidSignature, match="expired"):
        verify(
            sign(_claims(expires_at=int(time.time()) - 1), key=SECRET), key=SECRET, purpose="get"
        )
    with pytest.raises(InvalidSignature, match="purpose"):
        verify(sign(_claims(), key=SECRET), key=SECRET, purpose="put")
    with pytest.raises(InvalidSignature, match="signature"):
        verify(sign(_claims(), key=b"other"), key=SECRET, purpose="get")
