"""A tenant's data as one encrypted bundle in S3: what offboarding exports and a restore reads.

Plaintext: a gzip'd tar (fixed order and times) of
  manifest.json               tenant, environment, time, sources, the tables' layout, per-table
                              checksums as the live database computed them, sequence values, the
                              keys' checksum, and the sha256 of every other file
  postgres/<schema>.<table>   the table's rows in COPY text format
  redis/keys.jsonl            per key: name, remaining TTL, DUMP payload (base64)

Envelope encryption with the tenant's own KMS key: GenerateDataKey (AES-256) under an encryption
context naming the tenant, environment and purpose; the bundle is AES-256-GCM with that data key,
the header (format, key id, encrypted data key, context, nonce) as associated data, so neither the
header nor one byte of the ciphertext can change unnoticed. Stored as
    TENANCY-BUNDLE/1\\n <header JSON> \\n <nonce-less ciphertext with its tag>
in a bucket with versioning and object lock; the object carries a retention date.

Verifying: download the exact version written, decrypt (the tag), compare the plaintext's sha256
with the one recorded when it was written, every file with the manifest, and the manifest's
checksums with those the live database gave. A restore recreates the tables in an empty database
and compares that database's checksums with the manifest's.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import os
import tarfile
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Optional

from tenancy.exits import CommandError
from tenancy.lifecycle.verify import VerificationFailed, checksum_problems

FORMAT = "tenancy-bundle/1"
MAGIC = b"TENANCY-BUNDLE/1\n"
MANIFEST = "manifest.json"
KEYS_FILE = "redis/keys.jsonl"
PURPOSE = "tenant-offboarding-bundle"


class BundleError(CommandError):
    """The bucket or the key cannot be used (exit 2)."""


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def table_file(qualified: str) -> str:
    return f"postgres/{qualified}.copy"


# -- plaintext --------------------------------------------------------------------------------------

def pack(manifest: dict[str, Any], files: dict[str, bytes]) -> bytes:
    """The tar.gz: the manifest (with every file's sha256) first, then the files by name."""
    manifest = {**manifest, "files": {name: sha256(data) for name, data in sorted(files.items())}}
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w:gz", format=tarfile.PAX_FORMAT) as tar:
        for name, data in [(MANIFEST, json.dumps(manifest, indent=2, sort_keys=True).encode()), *sorted(files.items())]:
            info = tarfile.TarInfo(name)
            info.size, info.mtime, info.mode = len(data), 0, 0o600
            tar.addfile(info, io.BytesIO(data))
    return out.getvalue()


def unpack(plaintext: bytes) -> tuple[dict[str, Any], dict[str, bytes]]:
    """Read the tar in memory (nothing is extracted to disk, so no path can escape)."""
    files: dict[str, bytes] = {}
    try:
        with tarfile.open(fileobj=io.BytesIO(plaintext), mode="r:gz") as tar:
            for member in tar.getmembers():
                if not member.isfile():
                    raise VerificationFailed(f"the bundle holds {member.name}, which is not a file")
                files[member.name] = tar.extractfile(member).read()
        manifest = json.loads(files.pop(MANIFEST))
    except (tarfile.TarError, OSError, KeyError, ValueError) as exc:
        raise VerificationFailed(f"the bundle is not readable ({type(exc).__name__}: {exc})") from None
    return manifest, files


def check_files(manifest: dict[str, Any], files: dict[str, bytes]) -> list[str]:
    """Every file as the manifest lists it, and each table file's row count as the checksums say."""
    problems = []
    listed = manifest.get("files", {})
    for name in sorted(set(listed) | set(files)):
        if name not in files:
            problems.append(f"{name}: listed, missing")
        elif name not in listed:
            problems.append(f"{name}: not in the manifest")
        elif sha256(files[name]) != listed[name]:
            problems.append(f"{name}: sha256 differs from the manifest's")
    database = manifest.get("database") or {}
    for name, (rows, _) in (database.get("checksums") or {}).items():
        if name.startswith("sequence "):
            continue
        found = files.get(table_file(name), b"").count(b"\n")
        if found != rows:
            problems.append(f"{table_file(name)}: {found} rows, the checksums say {rows}")
    return problems


# -- the envelope -------------------------------------------------------------------------------------

def encryption_context(tenant_id: str, environment: str) -> dict[str, str]:
    return {"tenant-id": tenant_id, "environment": environment, "purpose": PURPOSE}


def seal(plaintext: bytes, kms, key_id: str, context: dict[str, str]) -> bytes:
    from botocore.exceptions import BotoCoreError, ClientError
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    try:
        data_key = kms.generate_data_key(KeyId=key_id, KeySpec="AES_256", EncryptionContext=context)
    except (ClientError, BotoCoreError) as exc:
        raise BundleError(f"KMS refused a data key from {key_id}: {_code(exc)}") from None
    nonce = os.urandom(12)
    header = json.dumps({"format": FORMAT, "algorithm": "AES-256-GCM", "keyId": data_key["KeyId"],
                         "encryptedKey": base64.b64encode(data_key["CiphertextBlob"]).decode(),
                         "context": context, "nonce": base64.b64encode(nonce).decode()}, sort_keys=True).encode()
    ciphertext = AESGCM(data_key["Plaintext"]).encrypt(nonce, plaintext, MAGIC + header)
    return MAGIC + header + b"\n" + ciphertext


def header_of(blob: bytes) -> dict[str, Any]:
    if not blob.startswith(MAGIC) or b"\n" not in blob[len(MAGIC):]:
        raise VerificationFailed("not a tenancy bundle (no header)")
    try:
        return json.loads(blob[len(MAGIC):blob.index(b"\n", len(MAGIC))])
    except ValueError:
        raise VerificationFailed("the bundle's header is not JSON") from None


def open_sealed(blob: bytes, kms, tenant_id: str) -> bytes:
    """Decrypt and authenticate; the bundle must be the tenant's (its encryption context)."""
    from botocore.exceptions import BotoCoreError, ClientError
    from cryptography.exceptions import InvalidTag
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    header = header_of(blob)
    end = blob.index(b"\n", len(MAGIC))
    context = header.get("context") or {}
    if context.get("tenant-id") != tenant_id or context.get("purpose") != PURPOSE:
        raise VerificationFailed(f"the bundle is not {tenant_id}'s offboarding bundle (context {context})")
    _usable(kms, header.get("keyId", ""))
    try:
        data_key = kms.decrypt(CiphertextBlob=base64.b64decode(header["encryptedKey"]), EncryptionContext=context,
                               KeyId=header["keyId"])["Plaintext"]
    except ClientError as exc:
        if _code(exc) == "KMSInvalidStateException":
            raise BundleError(f"key {header['keyId']} cannot decrypt now (pending deletion or disabled): cancel its "
                              "deletion and enable it to read this bundle (aws kms cancel-key-deletion, "
                              "aws kms enable-key)") from None
        raise VerificationFailed(f"KMS will not decrypt the bundle's data key: {_code(exc)}") from None
    except (BotoCoreError, KeyError, ValueError) as exc:
        raise VerificationFailed(f"the bundle's data key cannot be decrypted ({type(exc).__name__})") from None
    try:
        return AESGCM(data_key).decrypt(base64.b64decode(header["nonce"]), blob[end + 1:], blob[:end])
    except (InvalidTag, ValueError, KeyError):
        raise VerificationFailed("the bundle fails authentication: it was changed after it was written") from None


def _usable(kms, key_id: str) -> None:
    """A key pending deletion or disabled decrypts nothing: say how to bring it back (when the
    caller may not describe the key, KMS's own answer to the decryption says enough)."""
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        state = kms.describe_key(KeyId=key_id)["KeyMetadata"].get("KeyState")
    except (ClientError, BotoCoreError, KeyError):
        return
    if state in ("PendingDeletion", "Disabled"):
        raise BundleError(f"key {key_id} is {state} and decrypts nothing: cancel its deletion and enable it to read "
                          "this bundle (aws kms cancel-key-deletion, aws kms enable-key)")


def _code(exc) -> str:
    return getattr(exc, "response", {}).get("Error", {}).get("Code") or type(exc).__name__


# -- the bucket ---------------------------------------------------------------------------------------

@dataclass
class Stored:
    bucket: str
    key: str
    version_id: str
    retain_until: str

    @property
    def url(self) -> str:
        return f"s3://{self.bucket}/{self.key}?versionId={self.version_id}"


class BundleStore:
    """An S3 bucket with versioning and object lock (created so when missing; an existing bucket
    without both is refused). Every bundle is written with a retention date."""

    def __init__(self, bucket: str, s3=None, region: Optional[str] = None):
        from tenancy.lifecycle.connection import aws_client

        self.bucket = bucket
        self.s3 = s3 or aws_client("s3", region)

    def ensure(self) -> str:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            try:
                self.s3.head_bucket(Bucket=self.bucket)
            except ClientError as exc:
                if _code(exc) not in ("404", "NoSuchBucket", "NotFound"):
                    raise
                region = self.s3.meta.region_name
                extra = {} if region in (None, "us-east-1") else {
                    "CreateBucketConfiguration": {"LocationConstraint": region}}
                self.s3.create_bucket(Bucket=self.bucket, ObjectLockEnabledForBucket=True, **extra)
                self.s3.put_bucket_versioning(Bucket=self.bucket, VersioningConfiguration={"Status": "Enabled"})
                self.s3.put_public_access_block(Bucket=self.bucket, PublicAccessBlockConfiguration={
                    "BlockPublicAcls": True, "IgnorePublicAcls": True, "BlockPublicPolicy": True,
                    "RestrictPublicBuckets": True})
                return "created"
            lock = self.s3.get_object_lock_configuration(Bucket=self.bucket).get("ObjectLockConfiguration", {})
            versioning = self.s3.get_bucket_versioning(Bucket=self.bucket).get("Status")
        except ClientError as exc:
            if _code(exc) == "ObjectLockConfigurationNotFoundError":
                raise BundleError(f"bucket {self.bucket} has no object lock (it can only be enabled at creation, or "
                                  "by AWS support): name another bucket, or a new one to create") from None
            raise BundleError(f"bucket {self.bucket}: {_code(exc)}") from None
        except BotoCoreError as exc:
            raise BundleError(f"bucket {self.bucket}: {type(exc).__name__}") from None
        if lock.get("ObjectLockEnabled") != "Enabled" or versioning != "Enabled":
            raise BundleError(f"bucket {self.bucket} needs versioning and object lock (versioning: {versioning or 'off'}, "
                              f"object lock: {lock.get('ObjectLockEnabled') or 'off'})")
        return "present"

    def put(self, key: str, blob: bytes, retention_days: int, mode: str, tags: dict[str, str]) -> Stored:
        from urllib.parse import urlencode

        from botocore.exceptions import BotoCoreError, ClientError

        until = (datetime.now(UTC) + timedelta(days=retention_days)).replace(microsecond=0)
        try:
            reply = self.s3.put_object(Bucket=self.bucket, Key=key, Body=blob, ObjectLockMode=mode,
                                       ObjectLockRetainUntilDate=until, ChecksumAlgorithm="SHA256",
                                       ContentType="application/octet-stream", Tagging=urlencode(tags))
        except (ClientError, BotoCoreError) as exc:
            raise BundleError(f"cannot write s3://{self.bucket}/{key}: {_code(exc)}") from None
        if not reply.get("VersionId"):
            raise BundleError(f"s3://{self.bucket}/{key} was written without a version: is versioning on?")
        return Stored(self.bucket, key, reply["VersionId"], until.strftime("%Y-%m-%dT%H:%M:%SZ"))

    def get(self, key: str, version_id: Optional[str] = None) -> bytes:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            extra = {"VersionId": version_id} if version_id else {}
            return self.s3.get_object(Bucket=self.bucket, Key=key, **extra)["Body"].read()
        except (ClientError, BotoCoreError) as exc:
            raise BundleError(f"cannot read s3://{self.bucket}/{key}: {_code(exc)}") from None


def parse_url(url: str) -> tuple[str, str, Optional[str]]:
    """s3://bucket/key[?versionId=V] -> (bucket, key, version)."""
    from urllib.parse import parse_qs, urlsplit

    parts = urlsplit(url)
    if parts.scheme != "s3" or not parts.netloc or not parts.path.strip("/"):
        raise BundleError(f"{url}: not s3://bucket/key[?versionId=...]")
    version = (parse_qs(parts.query).get("versionId") or [None])[0]
    return parts.netloc, parts.path.lstrip("/"), version


# -- verification ---------------------------------------------------------------------------------------------

def verify(blob: bytes, kms, tenant_id: str, plaintext_sha256: Optional[str] = None,
           live_checksums: Optional[dict[str, Any]] = None) -> tuple[dict[str, Any], dict[str, bytes]]:
    """Everything a bundle must be: authentic, the bytes written, complete, and what the live
    data was. Raises VerificationFailed naming each problem."""
    plaintext = open_sealed(blob, kms, tenant_id)
    if plaintext_sha256 and sha256(plaintext) != plaintext_sha256:
        raise VerificationFailed("the bundle decrypts, but not to the bytes written (sha256 differs)")
    manifest, files = unpack(plaintext)
    problems = check_files(manifest, files)
    if manifest.get("tenant") != tenant_id or manifest.get("format") != FORMAT:
        problems.append(f"the manifest is for {manifest.get('tenant')} ({manifest.get('format')})")
    if live_checksums is not None:
        database = (manifest.get("database") or {}).get("checksums") or {}
        problems += checksum_problems(live_checksums.get("database") or {}, database, "live database", "bundle")
        cache = (manifest.get("cache") or {}).get("checksum")
        if cache != live_checksums.get("cache"):
            problems.append(f"keys: {live_checksums.get('cache')} live, {cache} in the bundle")
    if problems:
        raise VerificationFailed("the bundle does not check out: " + "; ".join(problems))
    return manifest, files
