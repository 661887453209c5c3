"""The live audit against a moto server: a conforming account is clean, and each break is reported
with the right severity, tenant and resource."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from benchmarks.aws_account import build, tagged_queue, tags_for
from tenancy.audit.live import HIGH, MEDIUM, audit
from tenancy.registry.naming import role_name

from ..conftest import PROJECT

ENV = "prod"


@pytest.fixture
def account(session, registry):
    return build(session, registry.in_environment(ENV), ENV)


def findings_of(session, registry):
    return audit(session, registry, ENV)


def only(findings, tenant: str, problem: str):
    found = [f for f in findings if f.tenant == tenant and problem in f.problem]
    assert found, [(f.tenant, f.problem) for f in findings]
    return found


def test_a_conforming_account_is_clean(session, registry, account):
    tenants = registry.in_environment(ENV)
    assert {"shared", "dedicated", "isolated"} <= {t.isolation.value for t in tenants}
    assert findings_of(session, registry) == []


def test_the_inventory_sees_every_tenant_resource(session, registry, account):
    from tenancy.audit.live import collect
    inv = collect(session, ENV)
    for tenant_id, refs in account.tenants.items():
        assert inv.arns(tenant_id, "kms:key") == [refs.key_arn]
        assert len(inv.arns(tenant_id, "sqs")) == 2
        if refs.db_arn:
            assert inv.arns(tenant_id, "rds:db") == [refs.db_arn]
        if refs.cache_arn:
            assert inv.arns(tenant_id, "elasticache:replicationgroup") == [refs.cache_arn]


def test_a_missing_queue_is_reported(session, registry, account):
    session.client("sqs").delete_queue(QueueUrl=account.tenants["northwind"].queue_urls[0])
    [finding] = only(findings_of(session, registry), "northwind", "queue and dead-letter queue is missing")
    assert finding.severity == HIGH


def test_a_disabled_key_and_a_key_without_rotation(session, registry, account):
    kms = session.client("kms")
    kms.disable_key(KeyId=account.tenants["acme"].key_arn.split("/")[-1])  # moto wants the id
    kms.disable_key_rotation(KeyId=account.tenants["initech"].key_arn.split("/")[-1])
    findings = findings_of(session, registry)
    [disabled] = only(findings, "acme", "key is Disabled")
    assert (disabled.severity, disabled.arn) == (HIGH, account.tenants["acme"].key_arn)
    [rotation] = only(findings, "initech", "key rotation is off")
    assert rotation.severity == MEDIUM


def test_a_queue_encrypted_with_another_tenants_key_or_without_dead_letter(session, registry, account):
    sqs = session.client("sqs")
    queue, dlq = account.tenants["initech"].queue_urls
    sqs.set_queue_attributes(QueueUrl=dlq, Attributes={"KmsMasterKeyId": account.tenants["acme"].key_arn})
    sqs.set_queue_attributes(QueueUrl=queue, Attributes={"RedrivePolicy": ""})
    findings = findings_of(session, registry)
    [wrong_key] = only(findings, "initech", "not encrypted with the tenant's key")
    assert wrong_key.arn.endswith(":prod-initech-dlq") and wrong_key.severity == HIGH
    no_dlq = only(findings, "initech", "no dead-letter queue")
    # the main queue lost its redrive, so the old dead-letter queue is nobody's dead-letter queue either
    assert sorted(f.arn.rsplit(":", 1)[1] for f in no_dlq) == ["prod-initech-dlq", "prod-initech-queue"]


def test_a_public_database_without_deletion_protection(session, registry, account):
    session.client("rds").modify_db_instance(DBInstanceIdentifier="prod-acme-db", PubliclyAccessible=True,
                                             DeletionProtection=False, ApplyImmediately=True)
    findings = findings_of(session, registry)
    assert {f.problem for f in findings if f.tenant == "acme"} >= {
        "the database is publicly accessible", "the database has no deletion protection"}
    assert all(f.arn == account.tenants["acme"].db_arn for f in findings if "database" in f.problem)


def test_a_database_encrypted_with_another_tenants_key(session, registry, account):
    refs = account.tenants["globex"]
    rds = session.client("rds")
    rds.create_db_instance(DBInstanceIdentifier="prod-globex-db-2", DBInstanceClass="db.t4g.medium", Engine="postgres",
                           MasterUsername="a", MasterUserPassword="password-123", AllocatedStorage=20,
                           StorageEncrypted=True, KmsKeyId=account.tenants["acme"].key_arn, DeletionProtection=True,
                           Tags=[{"Key": k, "Value": v} for k, v in tags_for(registry.get("globex"), ENV).items()])
    [finding] = only(findings_of(session, registry), "globex", "database is not encrypted with the tenant's key")
    assert finding.arn.endswith(":db:prod-globex-db-2") and finding.arn != refs.db_arn


def test_a_cache_without_encryption(session, registry, account):
    tags = tags_for(registry.get("initech"), ENV)
    session.client("elasticache").create_replication_group(
        ReplicationGroupId="prod-initech-plain", ReplicationGroupDescription="x", Engine="redis",
        CacheNodeType="cache.t4g.small", NumCacheClusters=1, Tags=[{"Key": k, "Value": v} for k, v in tags.items()])
    findings = only(findings_of(session, registry), "initech", "the cache")
    assert {f.problem for f in findings} == {"the cache is not encrypted at rest",
                                             "the cache accepts unencrypted connections"}
    assert all(f.arn.endswith(":replicationgroup:prod-initech-plain") for f in findings)


def test_security_group_rules_across_tenants_and_from_the_internet(session, registry, account):
    ec2 = session.client("ec2")
    initech, acme = account.tenants["initech"], account.tenants["acme"]
    ec2.authorize_security_group_ingress(GroupId=initech.data_group, IpPermissions=[
        {"IpProtocol": "tcp", "FromPort": 6379, "ToPort": 6379, "UserIdGroupPairs": [{"GroupId": acme.app_group}]},
        {"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "IpRanges": [{"CidrIp": "10.64.1.0/24"}]},
        {"IpProtocol": "tcp", "FromPort": 5432, "ToPort": 5432, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}])
    findings = findings_of(session, registry)
    problems = {f.problem for f in findings if f.tenant == "initech"}
    assert f"admits tenant acme's security group {acme.app_group}" in problems
    assert "admits tenant acme's addresses 10.64.1.0/24" in problems
    assert "admits the whole internet (0.0.0.0/0) on a data port" in problems
    assert all(f.arn.endswith(initech.data_group) for f in findings if f.problem.startswith("admits"))


def test_policies_granting_another_tenants_role_or_a_foreign_principal(session, registry, account):
    kms, sqs = session.client("kms"), session.client("sqs")
    other_role = f"arn:aws:iam::{account.id}:role/{role_name(ENV, 'acme')}"
    kms.put_key_policy(KeyId=account.tenants["initech"].key_arn, PolicyName="default", Policy=json.dumps({
        "Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{account.id}:root"}, "Action": "kms:*", "Resource": "*"},
            {"Effect": "Allow", "Principal": {"AWS": other_role}, "Action": "kms:Decrypt", "Resource": "*"}]}))
    queue = account.tenants["northwind"].queue_urls[0]
    sqs.set_queue_attributes(QueueUrl=queue, Attributes={"Policy": json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::999999999999:root"}, "Action": "sqs:*", "Resource": "*"}]})})
    findings = findings_of(session, registry)
    [grant] = only(findings, "initech", "key policy grants tenant acme's role")
    assert grant.arn == account.tenants["initech"].key_arn and grant.severity == HIGH
    [foreign] = only(findings, "northwind", "queue policy grants a foreign principal")
    assert foreign.arn.endswith(":prod-northwind-queue")


def test_an_isolated_tenants_resource_outside_its_vpc(session, registry, account):
    ec2 = session.client("ec2")
    tags = tags_for(registry.get("acme"), ENV)
    group = ec2.create_security_group(GroupName="acme-stray", Description="stray", VpcId=account.shared_vpc,
                                      TagSpecifications=[{"ResourceType": "security-group",
                                                          "Tags": [{"Key": k, "Value": v} for k, v in tags.items()]}])
    [finding] = only(findings_of(session, registry), "acme", "outside its own VPC")
    assert finding.arn.endswith(group["GroupId"]) and account.shared_vpc in finding.problem


def test_orphans_are_reported_across_more_than_one_page(session, registry, account):
    sqs = session.client("sqs")
    ghost = {"tenant-id": "ghost", "environment": ENV, "managed-by": "tenancy"}
    for i in range(130):  # more than one page of the tagging API (100 on AWS, 50 on moto)
        tagged_queue(sqs, f"prod-ghost-{i:03d}", ghost)
    orphans = [f for f in findings_of(session, registry) if f.tenant == "ghost"]
    assert len(orphans) == 130 and {f.severity for f in orphans} == {MEDIUM}
    assert len({f.arn for f in orphans}) == 130


def test_other_environments_are_not_judged(session, registry, account):
    # only prod was built: in staging every tenant's resources are missing, and prod's are not orphans
    missing = [f for f in audit(session, registry, "staging") if "missing" in f.problem]
    assert {f.tenant for f in missing} == {t.id for t in registry.in_environment("staging")}
    assert not [f for f in audit(session, registry, "staging") if "orphan" in f.problem]


def cli(*args, env):
    return subprocess.run([sys.executable, "-m", "tenancy", "audit", *args], cwd=PROJECT, capture_output=True,
                          text=True, env={"PATH": os.environ["PATH"], **env})


def test_the_cli_exits_one_on_a_high_finding_and_prints_json(session, registry, account, aws_env):
    clean = cli("--environment", ENV, "--format", "json", env=aws_env)
    assert clean.returncode == 0, clean.stderr
    assert json.loads(clean.stdout)["findings"] == []
    session.client("kms").disable_key(KeyId=account.tenants["acme"].key_arn.split("/")[-1])
    broken = cli("--environment", ENV, "--format", "json", env=aws_env)
    assert broken.returncode == 1
    data = json.loads(broken.stdout)
    assert data["high"] == 1 and data["findings"][0]["tenant"] == "acme"
    table = cli("--environment", ENV, env=aws_env)
    assert "[high] acme: the tenant's key is Disabled" in table.stdout


def test_an_unreachable_endpoint_is_a_clear_error(aws_env):
    result = cli("--environment", ENV, env={**aws_env, "AWS_ENDPOINT_URL": "http://127.0.0.1:1",
                                            "AWS_MAX_ATTEMPTS": "1"})
    assert result.returncode == 2 and "audit: cannot read the account" in result.stderr
    assert "Traceback" not in result.stderr
