"""Tenant-scoped AWS credentials for pooled services.

The pool's workload identity (the platform role the pool's service account assumes) may assume a
pooled tenant's role only with the session tag `tenant-id` equal to that tenant: the tenant role's
trust policy pins it, for example

    {"Effect": "Allow", "Principal": {"AWS": "<pool workload role ARN>"},
     "Action": ["sts:AssumeRole", "sts:TagSession"],
     "Condition": {"StringEquals": {"aws:RequestTag/tenant-id": "<tenant id>"},
                   "ForAllValues:StringEquals": {"aws:TagKeys": ["tenant-id"]}}}

so the factory always calls AssumeRole with `Tags=[{"Key": "tenant-id", "Value": <id>}]` and
`TransitiveTagKeys=["tenant-id"]` (a role chained from that session keeps the tag), and a
RoleSessionName derived from the tenant (CloudTrail shows who acted for whom). The tag comes from the
tenant asked for, never from the caller, and the tenant asked for must be the one of the request in
progress (`resolve_tenant`). Credentials are cached per tenant and refreshed `refresh_margin` seconds
before they expire; clients are cached per tenant, service, region and endpoint (boto3 clients are
thread-safe; sessions are not, so `session()` returns a new one each time over the cached
credentials)."""

from __future__ import annotations

import datetime
import hashlib
import re
import threading
from collections.abc import Callable
from typing import Any, Optional

import boto3
import botocore.session
from botocore.credentials import CredentialProvider, CredentialResolver, RefreshableCredentials

from tenancy.registry.naming import TENANT_TAG, role_name

from .tenant import resolve_tenant

MAX_SESSION_NAME = 64
_SESSION_NAME = re.compile(r"[\w+=,.@-]{2,64}", re.ASCII)  # STS's RoleSessionName


def session_name(tenant_id: str, prefix: str = "tenant") -> str:
    """`<prefix>-<tenant>`, at most 64 characters of STS's set; a longer one keeps a hash of the whole."""
    name = f"{prefix}-{tenant_id}"
    if len(name) > MAX_SESSION_NAME:
        digest = hashlib.sha256(name.encode()).hexdigest()[:10]
        name = f"{name[:MAX_SESSION_NAME - len(digest) - 1]}-{digest}"
    if not _SESSION_NAME.fullmatch(name):
        raise ValueError(f"RoleSessionName {name!r} is not 2-64 characters of [A-Za-z0-9_+=,.@-]")
    return name


def tenant_role_arn(account_id: str, environment: str, partition: str = "aws") -> Callable[[str], str]:
    """The program's tenant roles (`tenancy-<environment>-<id>`) in one account."""
    return lambda tenant_id: f"arn:{partition}:iam::{account_id}:role/{role_name(environment, tenant_id)}"


class _Fixed(CredentialProvider):
    METHOD = "tenancy-tenant-role"

    def __init__(self, credentials: RefreshableCredentials):
        super().__init__()
        self._credentials = credentials

    def load(self) -> RefreshableCredentials:
        return self._credentials


def _utcnow() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


class TenantSessions:
    """`session(tenant)` and `client(service, tenant)` with the tenant's role, tagged with its id.

    `role_arn`: tenant id -> its role ARN (`tenant_role_arn(account, environment)`).
    `base_session`: the pool workload identity's session (default: boto3's default chain, i.e. the
    pod's web identity or Pod Identity credentials)."""

    def __init__(self, role_arn: Callable[[str], str], *, base_session: Optional[boto3.Session] = None,
                 region_name: Optional[str] = None, sts_endpoint_url: Optional[str] = None,
                 duration_seconds: int = 3600, refresh_margin: int = 300, session_prefix: str = "tenant",
                 clock: Callable[[], datetime.datetime] = _utcnow):
        session_name("x", session_prefix)  # a bad prefix fails here, not on the first request
        if not 900 <= duration_seconds <= 43200:
            raise ValueError("DurationSeconds is 900 to 43200")
        if not 0 < refresh_margin < duration_seconds:
            raise ValueError("refresh_margin must be shorter than the session")
        self._role_arn, self._base = role_arn, base_session
        self.region_name, self._sts_endpoint_url = region_name, sts_endpoint_url
        self.duration_seconds, self.refresh_margin, self.session_prefix = duration_seconds, refresh_margin, session_prefix
        self._clock = clock
        self._sts: Any = None
        self._credentials: dict[str, RefreshableCredentials] = {}
        self._clients: dict[tuple, Any] = {}
        self._lock = threading.Lock()

    def _sts_client(self) -> Any:
        with self._lock:
            if self._sts is None:
                base = self._base or boto3.Session()
                self._sts = base.client("sts", region_name=self.region_name or base.region_name,
                                        endpoint_url=self._sts_endpoint_url)
            return self._sts

    def assume_role_request(self, tenant_id: str) -> dict[str, Any]:
        """The exact AssumeRole parameters for a tenant."""
        return {
            "RoleArn": self._role_arn(tenant_id),
            "RoleSessionName": session_name(tenant_id, self.session_prefix),
            "DurationSeconds": self.duration_seconds,
            "Tags": [{"Key": TENANT_TAG, "Value": tenant_id}],
            "TransitiveTagKeys": [TENANT_TAG],
        }

    def _fetcher(self, tenant_id: str) -> Callable[[], dict[str, str]]:
        def fetch() -> dict[str, str]:
            answer = self._sts_client().assume_role(**self.assume_role_request(tenant_id))["Credentials"]
            return {"access_key": answer["AccessKeyId"], "secret_key": answer["SecretAccessKey"],
                    "token": answer["SessionToken"], "expiry_time": answer["Expiration"].isoformat()}
        return fetch

    def credentials(self, tenant_id: Optional[str] = None) -> RefreshableCredentials:
        tenant = resolve_tenant(tenant_id)
        with self._lock:
            cached = self._credentials.get(tenant)
        if cached is not None:
            return cached
        fetch = self._fetcher(tenant)
        first = fetch()
        args = (first["access_key"], first["secret_key"], first["token"],
                datetime.datetime.fromisoformat(first["expiry_time"]), fetch, "assume-role")
        windows = {"advisory_timeout": self.refresh_margin, "mandatory_timeout": min(60, self.refresh_margin)}
        try:
            created = RefreshableCredentials(*args, time_fetcher=self._clock, **windows)
        except TypeError:  # a botocore older than the refresh-window arguments: the same, as attributes
            created = RefreshableCredentials(*args, time_fetcher=self._clock)
            created._advisory_refresh_timeout = windows["advisory_timeout"]
            created._mandatory_refresh_timeout = windows["mandatory_timeout"]
        with self._lock:
            return self._credentials.setdefault(tenant, created)

    def session(self, tenant_id: Optional[str] = None) -> boto3.Session:
        """A new boto3 session over the tenant's cached, self-refreshing credentials."""
        credentials = self.credentials(tenant_id)
        core = botocore.session.Session()
        core.register_component("credential_provider", CredentialResolver([_Fixed(credentials)]))
        return boto3.Session(botocore_session=core, region_name=self.region_name)

    def client(self, service_name: str, tenant_id: Optional[str] = None, *, region_name: Optional[str] = None,
               endpoint_url: Optional[str] = None) -> Any:
        tenant = resolve_tenant(tenant_id)
        key = (tenant, service_name, region_name, endpoint_url)
        with self._lock:
            cached = self._clients.get(key)
        if cached is not None:
            return cached
        created = self.session(tenant).client(service_name, region_name=region_name, endpoint_url=endpoint_url)
        with self._lock:
            return self._clients.setdefault(key, created)
