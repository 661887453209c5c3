"""The audit builds the policy pack's access graph from the live account (moto) and reports each path
the invariant forbids: one test per drift class, each naming both owners."""

from __future__ import annotations

import json
import urllib.request

import pytest

from benchmarks.aws_account import build, tags_for
from tenancy.audit.graph_source import AccountReader
from tenancy.audit.live import HIGH, audit, collect
from tenancy.registry.naming import role_name

ENV = "prod"


@pytest.fixture
def account(session, registry):
    return build(session, registry.in_environment(ENV), ENV)


@pytest.fixture
def managed_policies(moto_endpoint, aws_env, monkeypatch):
    """AWS-managed policies in the account (moto loads them on a reset when asked)."""
    monkeypatch.setenv("MOTO_IAM_LOAD_MANAGED_POLICIES", "true")
    urllib.request.urlopen(urllib.request.Request(f"{moto_endpoint}/moto-api/reset", method="POST")).read()


def role_arn(account, tenant_id: str) -> str:
    return f"arn:aws:iam::{account.id}:role/{role_name(ENV, tenant_id)}"


def paths(session, registry, tenant: str, *owners: str):
    """The isolation findings into `tenant`'s resources whose message names every one of `owners`."""
    found = [f for f in audit(session, registry, ENV) if f.problem.startswith("isolation:")]
    hits = [f for f in found if f.tenant == tenant and all(o in f.problem for o in owners)]
    assert hits, [(f.tenant, f.arn, f.problem) for f in found]
    assert {f.severity for f in hits} == {HIGH}
    return hits


def test_a_conforming_account_has_no_forbidden_path(session, registry, account):
    assert [f for f in audit(session, registry, ENV) if f.problem.startswith("isolation:")] == []


def test_the_graph_reads_the_account_with_the_providers_types(session, registry, account):
    resources = AccountReader(session, collect(session, ENV), registry.in_environment(ENV)).read()
    types = {r.type for r in resources}
    assert {"aws:iam/role:Role", "aws:kms/key:Key", "aws:kms/alias:Alias", "aws:sqs/queue:Queue",
            "aws:secretsmanager/secret:Secret", "aws:ec2/securityGroup:SecurityGroup", "aws:ec2/vpc:Vpc",
            "aws:ec2/subnet:Subnet", "aws:rds/instance:Instance",
            "aws:elasticache/replicationGroup:ReplicationGroup"} <= types
    role = next(r for r in resources if r.key == role_arn(account, "acme"))
    assert role.props["tags"]["tenant-id"] == "acme" and role.parent == "tenancy:tenant:Tenant::acme"
    assert json.loads(role.props["assumeRolePolicy"])["Statement"]


def test_a_key_policy_widened_to_another_tenants_role(session, registry, account):
    key = account.tenants["initech"].key_arn
    session.client("kms").put_key_policy(KeyId=key, PolicyName="default", Policy=json.dumps({
        "Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{account.id}:root"}, "Action": "kms:*",
             "Resource": "*"},
            {"Effect": "Allow", "Principal": {"AWS": role_arn(account, "acme")}, "Action": "kms:Decrypt",
             "Resource": "*"}]}))
    [finding] = paths(session, registry, "initech", "(tenant acme)", "of tenant initech", "key policy")
    assert finding.arn == key and "decrypt" in finding.problem


def test_administrator_access_attached_to_a_tenant_role(managed_policies, session, registry, account):
    session.client("iam").attach_role_policy(RoleName=role_name(ENV, "acme"),
                                             PolicyArn="arn:aws:iam::aws:policy/AdministratorAccess")
    for other in ("initech", "globex", "northwind"):
        [finding] = paths(session, registry, other, "(tenant acme)", f"of tenant {other}", "AdministratorAccess")
        assert finding.arn == role_arn(account, "acme")


def test_a_customer_managed_policy_naming_another_tenants_key(session, registry, account):
    iam = session.client("iam")
    key = account.tenants["initech"].key_arn
    policy = iam.create_policy(PolicyName="acme-extra", PolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "kms:De*", "Resource": key}]}))
    iam.attach_role_policy(RoleName=role_name(ENV, "acme"), PolicyArn=policy["Policy"]["Arn"])
    [finding] = paths(session, registry, "initech", "(tenant acme)", "of tenant initech", "acme-extra")
    assert "decrypt" in finding.problem


def test_a_policy_spoof_tagged_as_one_tenant_attached_to_anothers_role(session, registry, account):
    iam = session.client("iam")
    policy = iam.create_policy(PolicyName="shared-reader", Tags=[{"Key": "tenant-id", "Value": "acme"}],
                               PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [
                                   {"Effect": "Allow", "Action": "sqs:ReceiveMessage",
                                    "Resource": "arn:aws:sqs:*:*:prod-acme-*"}]}))
    iam.attach_role_policy(RoleName=role_name(ENV, "globex"), PolicyArn=policy["Policy"]["Arn"])
    [claimed] = [f for f in paths(session, registry, "acme", "tenant globex") if "claimed by" in f.problem]
    assert claimed.arn == policy["Policy"]["Arn"] and "tenant acme" in claimed.problem
    [path] = paths(session, registry, "acme", "(tenant globex)", "of tenant acme", "shared-reader")
    assert "read" in path.problem or "write" in path.problem


def test_a_grant_on_a_tenants_key_for_another_tenants_role(session, registry, account):
    key = account.tenants["initech"].key_arn
    session.client("kms").create_grant(KeyId=key, GranteePrincipal=role_arn(account, "globex"),
                                       Operations=["Decrypt", "GenerateDataKey"])
    [finding] = paths(session, registry, "initech", "(tenant globex)", "of tenant initech", "grant")
    assert finding.arn.startswith(key + "/grant/")


@pytest.mark.parametrize("source", ["pool", "cidr", "internet"])
def test_a_database_group_admitting_the_pool_or_addresses(session, registry, account, source):
    initech = account.tenants["initech"]
    pair = {"pool": {"UserIdGroupPairs": [{"GroupId": account.pool_group}]},
            "cidr": {"IpRanges": [{"CidrIp": "10.0.8.0/24"}]},  # the pool's data subnets
            "internet": {"IpRanges": [{"CidrIp": "0.0.0.0/1"}, {"CidrIp": "128.0.0.0/1"}]}}[source]
    session.client("ec2").authorize_security_group_ingress(GroupId=initech.data_group, IpPermissions=[
        {"IpProtocol": "tcp", "FromPort": 5432, "ToPort": 5432, **pair}])
    owner = {"pool": "(the platform (pool))", "cidr": "(an unknown owner)", "internet": "(anyone)"}[source]
    found = paths(session, registry, "initech", owner, "of tenant initech", "ingress rule")
    assert all(f.arn.endswith(initech.data_group) for f in found)


def test_a_cross_tenant_ingress_rule(session, registry, account):
    initech, acme = account.tenants["initech"], account.tenants["acme"]
    session.client("ec2").authorize_security_group_ingress(GroupId=initech.data_group, IpPermissions=[
        {"IpProtocol": "-1", "UserIdGroupPairs": [{"GroupId": acme.app_group}]}])
    [finding] = paths(session, registry, "initech", "(tenant acme)", "of tenant initech", "every port")
    assert finding.arn.endswith(initech.data_group)


def test_a_queue_policy_widened_to_anyone_in_the_account(session, registry, account):
    queue = account.tenants["northwind"].queue_urls[0]
    session.client("sqs").set_queue_attributes(QueueUrl=queue, Attributes={"Policy": json.dumps({
        "Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Principal": "*", "Action": "sqs:*", "Resource": "*",
            "Condition": {"StringEquals": {"aws:PrincipalAccount": account.id}}}]})})
    [finding] = paths(session, registry, "northwind", "(anyone in the account)", "of tenant northwind")
    assert finding.arn.endswith(":prod-northwind-queue")


def test_a_secret_policy_widened_to_anyone(session, registry, account):
    secrets = session.client("secretsmanager")
    arn = secrets.describe_secret(SecretId="prod-globex-db")["ARN"]
    secrets.put_resource_policy(SecretId=arn, ResourcePolicy=json.dumps({
        "Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Principal": "*", "Action": "secretsmanager:GetSecretValue", "Resource": "*"}]}))
    [finding] = paths(session, registry, "globex", "(anyone)", "of tenant globex")
    assert finding.arn == arn


def test_a_bucket_policy_widened_to_anyone(session, registry, account):
    s3 = session.client("s3")
    bucket = "prod-umbrella-files"
    s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": session.region_name})
    s3.put_bucket_tagging(Bucket=bucket, Tagging={"TagSet": [
        {"Key": k, "Value": v} for k, v in tags_for(registry.get("umbrella"), ENV).items()]})
    assert not [f for f in audit(session, registry, ENV) if f.problem.startswith("isolation:")]
    s3.put_bucket_policy(Bucket=bucket, Policy=json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::{bucket}/*"}]}))
    [finding] = paths(session, registry, "umbrella", "(anyone)", "of tenant umbrella")
    assert finding.arn == f"arn:aws:s3:::{bucket}"


def test_an_isolated_tenants_vpc_peered_with_the_shared_one(session, registry, account):
    ec2 = session.client("ec2")
    acme = account.tenants["acme"]
    peering = ec2.create_vpc_peering_connection(VpcId=acme.vpc_id, PeerVpcId=account.shared_vpc)
    pid = peering["VpcPeeringConnection"]["VpcPeeringConnectionId"]
    ec2.accept_vpc_peering_connection(VpcPeeringConnectionId=pid)
    into_acme = paths(session, registry, "acme", "of tenant acme", f"peering {pid}")
    assert all(f.arn.endswith(pid) for f in into_acme)
    [into_initech] = paths(session, registry, "initech", "(tenant acme)", "of tenant initech", f"peering {pid}")
    assert into_initech.arn.endswith(pid)


def test_a_tenants_iam_user_and_a_group_it_joins_reaching_another_tenant(session, registry, account):
    """IAM users and groups are principals as much as roles: a user tagged as acme's with an inline
    policy on initech's key, and acme's user put in a group whose policy reads globex's queues."""
    iam = session.client("iam")
    iam.create_user(UserName="acme-ops", Tags=[{"Key": "tenant-id", "Value": "acme"}])
    iam.put_user_policy(UserName="acme-ops", PolicyName="ops-extra", PolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "kms:Decrypt",
                                                "Resource": account.tenants["initech"].key_arn}]}))
    [finding] = paths(session, registry, "initech", "user acme-ops (tenant acme)", "of tenant initech")
    assert "decrypt" in finding.problem
    iam.create_group(GroupName="readers")
    iam.put_group_policy(GroupName="readers", PolicyName="read-globex", PolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sqs:ReceiveMessage",
                                                "Resource": "arn:aws:sqs:*:*:prod-globex-*"}]}))
    iam.add_user_to_group(GroupName="readers", UserName="acme-ops")
    # IAM groups take no tags: the group is nobody's, and its reach into globex is the path
    [group] = paths(session, registry, "globex", "group readers (an unknown owner)", "of tenant globex")
    assert group.arn.endswith(":group/readers/policy/read-globex")


def test_a_tenants_own_user_on_its_own_key_is_no_path(session, registry, account):
    iam = session.client("iam")
    iam.create_user(UserName="acme-ops", Tags=[{"Key": "tenant-id", "Value": "acme"}])
    iam.put_user_policy(UserName="acme-ops", PolicyName="ops-own", PolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "kms:Decrypt",
                                                "Resource": account.tenants["acme"].key_arn}]}))
    assert [f for f in audit(session, registry, ENV) if f.problem.startswith("isolation:")] == []
