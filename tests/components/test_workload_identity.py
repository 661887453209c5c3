"""Who the program lets act for a tenant, on the fixture's dev plan (issue 12's two design holes):

- pooled workloads hold no tenant's role: the pool's one identity assumes a pooled tenant's role
  only for a session tagged with that tenant, and no tenant service account sits in the pool
  namespace;
- a hybrid tenant (shared network, database of its own) runs its workloads in its own namespace
  and security group, which is the only group its database admits.

The isolation graph judges the same plan in tests/policies/test_policy_pack.py; these tests say what
the program builds, read from the registry rather than copied from the code."""

from __future__ import annotations

import json

import pytest

from tenancy.registry import naming
from tenancy.registry.models import Service, Tier
from tenancy.registry.tiers import own_data

from .conftest import DEV_TENANTS

ROLE, SA = "aws:iam/role:Role", "kubernetes:core/v1:ServiceAccount"
SG, RULE = "aws:ec2/securityGroup:SecurityGroup", "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
SG_POLICY = "kubernetes:vpcresources.k8s.aws/v1beta1:SecurityGroupPolicy"


def trust(rec, tenant_id):
    (role,) = [r for r in rec.tenant("dev", tenant_id) if r.type == ROLE and r.name.endswith("-identity-role")]
    return json.loads(role.input("assumeRolePolicy"))["Statement"]


def pool_role(rec):
    return rec.named("dev-platform-pool-identity-role")


def test_the_pool_identity_is_the_pool_service_accounts_and_may_only_ask_for_tagged_sessions(dev):
    role = pool_role(dev)
    (statement,) = json.loads(role.input("assumeRolePolicy"))["Statement"]
    subject = next(v for k, v in statement["Condition"]["StringEquals"].items() if k.endswith(":sub"))
    assert subject == f"system:serviceaccount:{naming.POOL_NAMESPACE}:{naming.POOL_SERVICE_ACCOUNT}"
    (policy,) = [r for r in dev.of_type("aws:iam/rolePolicy:RolePolicy") if r.name.startswith(role.name.rsplit("-", 1)[0])
                 and r.name.endswith("-sessions")]
    (allowed,) = json.loads(policy.input("policy"))["Statement"]
    assert set(allowed["Action"]) == {"sts:AssumeRole", "sts:TagSession"}
    assert allowed["Resource"].endswith(":role/tenancy-dev-*")
    (sa,) = [r for r in dev.of_type(SA) if r.input("metadata")["namespace"] == naming.POOL_NAMESPACE]
    assert sa.input("metadata")["name"] == naming.POOL_SERVICE_ACCOUNT
    assert sa.input("metadata")["annotations"]["eks.amazonaws.com/role-arn"] == role.outputs["arn"]


@pytest.mark.parametrize("tenant", DEV_TENANTS)
def test_a_pooled_tenants_role_trusts_only_the_pool_identity_tagged_with_that_tenant(dev, registry, tenant):
    statements = trust(dev, tenant)
    in_pool = any("AWS" in s["Principal"] for s in statements)
    assert in_pool == (registry.get(tenant).services[Service.compute] is Tier.shared)
    if not in_pool:
        return
    (statement,) = statements
    assert statement["Principal"] == {"AWS": pool_role(dev).outputs["arn"]}
    assert statement["Condition"] == {"StringEquals": {f"aws:RequestTag/{naming.SESSION_TAG}": tenant}}


def test_no_tenant_service_account_lives_in_the_pool_namespace(dev):
    in_pool = [r.input("metadata")["name"] for r in dev.of_type(SA)
               if r.input("metadata")["namespace"] == naming.POOL_NAMESPACE]
    assert in_pool == [naming.POOL_SERVICE_ACCOUNT]


def test_a_hybrid_tenants_database_admits_only_its_own_workloads_group(dev):
    """globex: professional, shared network, `services: {database: dedicated}`."""
    groups = {r.name: r for r in dev.tenant("dev", "globex") if r.type == SG}
    app = groups["dev-globex-app-sg"]
    rules = [r for r in dev.tenant("dev", "globex") if r.type == RULE and r.name.startswith("dev-globex-db")]
    assert rules and {r.input("referencedSecurityGroupId") for r in rules} == {app.id}
    assert app.id != dev.named("dev-platform-pool-app-sg").id
    (policy,) = [r for r in dev.tenant("dev", "globex") if r.type == SG_POLICY]
    assert policy.input("metadata")["namespace"] == naming.namespace_name("globex")
    assert policy.input("spec") == {"podSelector": {}, "securityGroups": {"groupIds": [app.id]}}


def test_a_database_of_its_own_moves_the_compute_out_of_the_pool(registry):
    hybrids = [t for t in registry.in_environment("dev") if own_data(t.services) and t.isolation is Tier.shared]
    assert [t.id for t in hybrids] == ["globex"]
    assert all(t.services[Service.compute] is Tier.dedicated and t.has_own_namespace for t in hybrids)


def test_the_pool_identity_logs_in_to_the_pooled_database_as_the_pool_login_only(dev):
    (policy,) = [r for r in dev.of_type("aws:iam/rolePolicy:RolePolicy") if r.name == "dev-platform-pool-identity-database"]
    (statement,) = json.loads(policy.input("policy"))["Statement"]
    pooled = next(r for r in dev.of_type("aws:rds/instance:Instance") if r.name == "dev-platform-pool-db-instance")
    assert statement["Action"] == ["rds-db:connect"]
    assert statement["Resource"] == [f"arn:aws:rds-db:eu-west-1:123456789012:dbuser:{pooled.outputs['resourceId']}/"
                                     f"{naming.POOL_DATABASE_LOGIN}"]
