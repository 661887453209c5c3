"""Tenant sessions against a moto server. moto answers AssumeRole but keeps no session tags, so the
tag is asserted on the exact request that went over the wire (a botocore hook on the pool
identity's session) and moto's acceptance through the tenant session's own caller identity."""

from __future__ import annotations

import contextlib
import datetime
import json
import re
import urllib.parse

import boto3
import pytest

from tenancy.context import NoTenantError, TenantMismatchError, tenant_scope
from tenancy.context.aws import TenantSessions, session_name, tenant_role_arn

ACCOUNT = "123456789012"
REGION = "eu-west-1"


class Wire:
    """Every AssumeRole request the pool identity sends, as parsed form parameters."""

    def __init__(self, session: boto3.Session):
        self.requests: list[dict[str, list[str]]] = []
        session.events.register("before-send.sts.AssumeRole", self._record)

    def _record(self, request, **_):
        body = request.body.decode() if isinstance(request.body, bytes) else request.body
        self.requests.append(urllib.parse.parse_qs(body))


@pytest.fixture
def pool_identity(moto_endpoint, monkeypatch):
    """The pool workload identity's session (static moto keys), with the tenant roles created."""
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    session = boto3.Session(aws_access_key_id="pool-key", aws_secret_access_key="pool-secret", region_name=REGION)
    iam = session.client("iam", endpoint_url=moto_endpoint)
    for tenant in ("alpha", "bravo"):
        name = f"tenancy-dev-{tenant}"
        with contextlib.suppress(iam.exceptions.EntityAlreadyExistsException):
            iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps({
                "Version": "2012-10-17", "Statement": [{
                    "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:role/tenancy-dev-pool"},
                    "Action": ["sts:AssumeRole", "sts:TagSession"],
                    "Condition": {"StringEquals": {"aws:RequestTag/tenant-id": tenant}}}]}))
    return session


class Clock:
    def __init__(self):
        self.now = datetime.datetime.now(datetime.UTC)

    def __call__(self):
        return self.now


def sessions(pool_identity, moto_endpoint, **options) -> TenantSessions:
    return TenantSessions(tenant_role_arn(ACCOUNT, "dev"), base_session=pool_identity, region_name=REGION,
                          sts_endpoint_url=moto_endpoint, **options)


def caller(session: boto3.Session, endpoint: str) -> str:
    return session.client("sts", endpoint_url=endpoint).get_caller_identity()["Arn"]


def test_the_tenant_session_is_the_tenants_role_tagged_with_its_id(pool_identity, moto_endpoint):
    wire = Wire(pool_identity)
    factory = sessions(pool_identity, moto_endpoint, session_prefix="notes")
    with tenant_scope("alpha"):
        session = factory.session()
    assert wire.requests == [{
        "Action": ["AssumeRole"], "Version": ["2011-06-15"],
        "RoleArn": [f"arn:aws:iam::{ACCOUNT}:role/tenancy-dev-alpha"], "RoleSessionName": ["notes-alpha"],
        "DurationSeconds": ["3600"],
        "Tags.member.1.Key": ["tenant-id"], "Tags.member.1.Value": ["alpha"],
        "TransitiveTagKeys.member.1": ["tenant-id"],
    }]
    # moto accepted it: the session's own identity is the tenant's assumed role and session name.
    assert caller(session, moto_endpoint) == f"arn:aws:sts::{ACCOUNT}:assumed-role/tenancy-dev-alpha/notes-alpha"
    credentials = session.get_credentials().get_frozen_credentials()
    assert credentials.access_key != "pool-key" and credentials.token


def test_each_tenant_gets_its_own_tag_and_credentials_are_cached(pool_identity, moto_endpoint):
    wire = Wire(pool_identity)
    factory = sessions(pool_identity, moto_endpoint)
    alpha = factory.session("alpha")
    bravo = factory.session("bravo")
    again = factory.session("alpha")
    assert [r["Tags.member.1.Value"] for r in wire.requests] == [["alpha"], ["bravo"]]
    assert [r["RoleSessionName"] for r in wire.requests] == [["tenant-alpha"], ["tenant-bravo"]]
    assert caller(bravo, moto_endpoint).endswith("assumed-role/tenancy-dev-bravo/tenant-bravo")
    assert again.get_credentials().access_key == alpha.get_credentials().access_key
    assert factory.client("sqs", "alpha") is factory.client("sqs", "alpha")
    assert len(wire.requests) == 2


def test_credentials_are_refreshed_near_expiry_with_the_same_tag(pool_identity, moto_endpoint):
    wire = Wire(pool_identity)
    clock = Clock()
    factory = sessions(pool_identity, moto_endpoint, duration_seconds=900, refresh_margin=120, clock=clock)
    first = factory.session("alpha").get_credentials().get_frozen_credentials()
    clock.now += datetime.timedelta(seconds=600)  # 300 s left: still good
    assert factory.session("alpha").get_credentials().get_frozen_credentials() == first
    assert len(wire.requests) == 1
    clock.now += datetime.timedelta(seconds=200)  # 100 s left: inside the margin
    renewed = factory.session("alpha").get_credentials().get_frozen_credentials()
    assert renewed.access_key != first.access_key
    assert [r["Tags.member.1.Value"] for r in wire.requests] == [["alpha"], ["alpha"]]


def test_no_session_for_another_tenant_inside_a_request(pool_identity, moto_endpoint):
    wire = Wire(pool_identity)
    factory = sessions(pool_identity, moto_endpoint)
    with pytest.raises(NoTenantError):
        factory.session()
    with tenant_scope("alpha"), pytest.raises(TenantMismatchError):
        factory.session("bravo")
    with pytest.raises(ValueError):
        factory.session("alpha,bravo")
    with tenant_scope("alpha"), pytest.raises(TenantMismatchError):
        factory.client("s3", "bravo")
    assert wire.requests == []


def test_session_names_fit_sts():
    allowed = re.compile(r"[\w+=,.@-]{2,64}", re.ASCII)
    long_id = "-".join(["tenant"] * 9)  # 62 characters
    for tenant in ("a", "alpha", long_id):
        name = session_name(tenant, "notes-service")
        assert allowed.fullmatch(name) and len(name) <= 64
    assert session_name(long_id, "notes-service") != session_name(long_id[:-1] + "x", "notes-service")
    with pytest.raises(ValueError):
        session_name("alpha", "bad prefix/")
    with pytest.raises(ValueError):
        TenantSessions(tenant_role_arn(ACCOUNT, "dev"), session_prefix="no spaces")
