"""Across tenants: nothing is shared but the pooled database and cache of shared tenants, every
encrypted resource uses its owner's key, and every tenant-owned AWS resource carries its tags."""

from __future__ import annotations

from itertools import combinations

import pytest

from tenancy.plan.harness import Recording

from .conftest import DEV_TENANTS as TENANTS

OWNED = {
    "aws:kms/key:Key": "arn",
    "aws:sqs/queue:Queue": "arn",
    "aws:secretsmanager/secret:Secret": "arn",
    "aws:elasticache/user:User": "userId",
    "aws:ec2/securityGroup:SecurityGroup": "id",
    "aws:ec2/subnet:Subnet": "id",
    "aws:rds/instance:Instance": "arn",
    "aws:elasticache/replicationGroup:ReplicationGroup": "arn",
    "aws:iam/role:Role": "arn",
}
KEY_INPUTS = ("kmsKeyId", "kmsMasterKeyId", "performanceInsightsKmsKeyId")
TAGS = ("tenant-id", "tenant-plan", "isolation", "environment", "managed-by")


def owned(rec: Recording, tenant: str) -> set[str]:
    out = set()
    for r in rec.tenant("dev", tenant):
        if r.type in OWNED:
            out.add(r.id if OWNED[r.type] == "id" else r.outputs[OWNED[r.type]])
    return out


def test_tenants_never_share_a_key_queue_secret_cache_user_group_subnet_role_database_or_cache(dev):
    sets = {t: owned(dev, t) for t in TENANTS}
    assert all(sets.values())
    for a, b in combinations(TENANTS, 2):
        assert not sets[a] & sets[b], f"{a} and {b} share {sets[a] & sets[b]}"


def test_only_the_pooled_database_and_cache_are_used_by_more_than_one_tenant(dev):
    """Every id or ARN a tenant's resources point at is its own, the platform's pooled services,
    or the platform's network (the shared VPC is the shared tier's network)."""
    by_value = {}
    for tenant in TENANTS:
        for value in owned(dev, tenant):
            by_value[value] = tenant
    for tenant in TENANTS:
        for r in dev.tenant("dev", tenant):
            for key, value in r.inputs.items():
                values = value if isinstance(value, list) else [value]
                for v in values:
                    if isinstance(v, str) and v in by_value:
                        assert by_value[v] == tenant, f"{tenant}'s {r.name}.{key} names {by_value[v]}'s {v}"


@pytest.mark.parametrize("tenant", TENANTS)
def test_every_encrypted_resource_of_a_tenant_uses_its_own_key(dev, tenant):
    key = next(r for r in dev.tenant("dev", tenant) if r.type == "aws:kms/key:Key").outputs["arn"]
    uses = [(r.name, k, r.input(k)) for r in dev.tenant("dev", tenant) for k in KEY_INPUTS if r.input(k)]
    assert uses, "a tenant with nothing encrypted"
    assert all(v == key for _, _, v in uses), uses


@pytest.mark.parametrize("tenant", TENANTS)
def test_every_taggable_aws_resource_of_a_tenant_carries_its_tags(dev, registry, tenant):
    effective = registry.get(tenant)
    expected = {"tenant-id": tenant, "tenant-plan": effective.tenant.plan, "isolation": effective.isolation.value,
                "environment": "dev", "managed-by": "tenancy"}
    taggable = [r for r in dev.tenant("dev", tenant) if r.type.startswith("aws:") and "tags" in r.inputs]
    assert len(taggable) > 5
    for r in taggable:
        assert {k: r.tags.get(k) for k in TAGS} == expected, r.name
    untaggable = [r for r in dev.tenant("dev", tenant) if r.type.startswith("aws:") and "tags" not in r.inputs]
    assert {r.type for r in untaggable} <= {"aws:iam/rolePolicy:RolePolicy", "aws:kms/alias:Alias",
                                            "aws:sqs/queuePolicy:QueuePolicy", "aws:ec2/routeTableAssociation:RouteTableAssociation",
                                            "aws:secretsmanager/secretVersion:SecretVersion",
                                            "aws:elasticache/userGroupAssociation:UserGroupAssociation",
                                            "aws:cloudwatch/dashboard:Dashboard", "aws:sns/topicPolicy:TopicPolicy",
                                            "aws:appconfig/hostedConfigurationVersion:HostedConfigurationVersion",
                                            "aws:apigateway/usagePlanKey:UsagePlanKey",
                                            # Cognito app clients and groups take no tags
                                            "aws:cognito/userPoolClient:UserPoolClient", "aws:cognito/userGroup:UserGroup"}


def test_a_resource_own_tags_are_kept_but_cannot_override_the_tenant_tags(dev):
    subnet = next(r for r in dev.tenant("dev", "initech") if r.type == "aws:ec2/subnet:Subnet")
    assert subnet.tags["subnet-role"] in ("app", "data") and subnet.tags["tenant-id"] == "initech"


def test_platform_resources_are_tagged_as_platform_not_as_a_tenant(dev):
    platform = dev.descendants(dev.component("tenancy:platform:Platform", "dev-platform").urn)
    tagged = [r for r in platform if r.type.startswith("aws:") and "tags" in r.inputs]
    assert tagged and all(r.tags.get("tenancy-scope") == "platform" and "tenant-id" not in r.tags for r in tagged)
