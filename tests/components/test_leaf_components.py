"""Each leaf component alone, under the offline harness's mocks (`run_function`: the same mocks,
monitor and recording as a whole program), from plain values only. Every test asserts what an
attacker or a careless change would break: who may use a key, what a group admits, what a subnet
routes to, what is protected."""

from __future__ import annotations

import json
from ipaddress import IPv4Network

import pytest

from components.api import ApiAccess, ApiAccessArgs
from components.billing import BudgetArgs, tenant_budget
from components.cache import Cache, CacheArgs, CacheUser
from components.context import Account
from components.database import Database, DatabaseArgs, DatabaseSize
from components.identity import IdentityArgs, WorkloadIdentity
from components.keys import Key, KeyArgs
from components.kubernetes import QuotaSpec, TenantNamespace
from components.network import SliceArgs, TenantSlice, Vpc, VpcArgs, WorkloadSecurityGroup
from components.queues import TenantQueues
from tenancy.plan.harness import Recording, run_function
from tenancy.registry.addressing import SLICE_ROLES, VPC_ROLES, subnet_layout
from tenancy.registry.naming import TENANT_TAG
from tenancy.registry.settings import NatLayout

ACCOUNT = Account("123456789012", "eu-west-1")
ROLE = "arn:aws:iam::123456789012:role/tenancy-dev-acme"
ZONES = ["eu-west-1a", "eu-west-1b"]


def alone(build) -> Recording:
    return run_function(build, config={"aws:region": ACCOUNT.region})


def one(rec: Recording, type_: str):
    found = rec.of_type(type_)
    assert len(found) == 1, [r.name for r in found]
    return found[0]


def statements(policy: str) -> list[dict]:
    return json.loads(policy)["Statement"]


# -- keys -------------------------------------------------------------------------------------------

@pytest.mark.parametrize("protect", [True, False])
def test_key_is_used_only_by_the_given_roles_and_protected_as_asked(protect):
    rec = alone(lambda: Key("k", KeyArgs(ACCOUNT, "dev", "acme", user_arns=[ROLE], protect=protect)))
    key = one(rec, "aws:kms/key:Key")
    assert key.input("enableKeyRotation") is True
    assert (key.protect, key.retain_on_delete) == (protect, protect)
    policy = statements(key.input("policy"))
    users = {str(p) for s in policy if s["Effect"] == "Allow" for p in
             ([s["Principal"]["AWS"]] if isinstance(s["Principal"].get("AWS"), str) else s["Principal"].get("AWS", []))}
    assert users == {"arn:aws:iam::123456789012:root", ROLE}
    assert not any(s.get("Principal") == "*" for s in policy)
    logs = next(s for s in policy if s["Sid"] == "LogsForOwner")
    assert logs["Condition"]["ArnLike"]["kms:EncryptionContext:aws:logs:arn"] == \
        "arn:aws:logs:eu-west-1:123456789012:log-group:/tenancy/dev/acme/*"
    assert one(rec, "aws:kms/alias:Alias").input("name") == "alias/tenancy/dev/acme"


def test_a_key_without_users_names_no_workload():
    key = one(alone(lambda: Key("k", KeyArgs(ACCOUNT, "dev", "platform"))), "aws:kms/key:Key")
    assert "WorkloadUses" not in {s["Sid"] for s in statements(key.input("policy"))}


# -- networks ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("nat, expected", [(NatLayout.single, 1), (NatLayout.per_az, 2)])
def test_vpc_cuts_exactly_its_layout_and_only_app_subnets_route_out(nat, expected):
    layout = subnet_layout("10.64.0.0/20", VPC_ROLES, 2)
    rec = alone(lambda: Vpc("v", VpcArgs(ACCOUNT, "10.64.0.0/20", layout, ZONES, nat, "arn:key",
                                         "tenancy-dev-acme-flow-logs", "/tenancy/dev/acme/flow-logs", 30)))
    cidrs = {r.name: r.input("cidrBlock") for r in rec.of_type("aws:ec2/subnet:Subnet")}
    assert sorted(cidrs.values()) == sorted(layout.public + layout.app + layout.data)
    assert all(IPv4Network(c).subnet_of(IPv4Network("10.64.0.0/20")) for c in cidrs.values())
    assert len(rec.of_type("aws:ec2/natGateway:NatGateway")) == expected
    tables = {r.name: r.input("routes") or [] for r in rec.of_type("aws:ec2/routeTable:RouteTable")}
    assert all(routes == [] for name, routes in tables.items() if "-data-" in name)
    assert all(routes for name, routes in tables.items() if "-app-" in name)
    group = one(rec, "aws:cloudwatch/logGroup:LogGroup")
    assert (group.input("name"), group.input("kmsKeyId")) == ("/tenancy/dev/acme/flow-logs", "arn:key")
    default = one(rec, "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup")
    assert default.input("ingress") == [] and default.input("egress") == []


def test_slice_data_acl_admits_only_its_own_block_and_app_acl_denies_the_rest_of_the_vpc():
    layout = subnet_layout("10.0.64.0/24", SLICE_ROLES, 2)
    rec = alone(lambda: TenantSlice("s", SliceArgs(layout, "vpc-1", "10.0.0.0/16", "10.0.0.0/18", ZONES,
                                                   ["nat-1"])))
    acls = {r.name: r for r in rec.of_type("aws:ec2/networkAcl:NetworkAcl")}
    data = acls["s-data-acl"]
    assert [(r["action"], r["cidrBlock"]) for r in data.input("ingress")] == [("allow", "10.0.64.0/24")]
    assert [(r["action"], r["cidrBlock"]) for r in data.input("egress")] == [("allow", "10.0.64.0/24")]
    app = sorted(acls["s-app-acl"].input("ingress"), key=lambda r: r["ruleNo"])
    assert [(r["action"], r["cidrBlock"]) for r in app] == [
        ("allow", "10.0.64.0/24"), ("allow", "10.0.0.0/18"), ("deny", "10.0.0.0/16"),
        ("allow", "0.0.0.0/0"), ("allow", "0.0.0.0/0")]
    # ACLs are stateless: replies through NAT arrive from anywhere on ephemeral ports, and only there
    replies = app[3:]
    assert {(r["protocol"], r["fromPort"], r["toPort"]) for r in replies} == {("tcp", 1024, 65535), ("udp", 1024, 65535)}
    assert not rec.of_type("aws:ec2/vpc:Vpc")  # a slice never makes a VPC


def test_workload_group_admits_nothing_and_reaches_only_https_and_its_data_subnets():
    rec = alone(lambda: WorkloadSecurityGroup("w", vpc_id="vpc-1", data_cidrs=["10.0.64.128/26"], ports=(5432,)))
    assert not rec.of_type("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule")
    egress = {(r.input("fromPort"), r.input("cidrIpv4"))
              for r in rec.of_type("aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule")}
    assert egress == {(443, "0.0.0.0/0"), (5432, "10.0.64.128/26")}


# -- data -------------------------------------------------------------------------------------------

@pytest.mark.parametrize("protect", [True, False])
def test_database_alone_is_private_encrypted_with_the_given_key_and_admits_only_its_sources(protect):
    rec = alone(lambda: Database("d", DatabaseArgs(
        identifier="dev-acme", key_arn="arn:key", vpc_id="vpc-1", subnet_ids=["s-1", "s-2"], sources=["sg-app"],
        size=DatabaseSize("db.t4g.medium", 50, multi_az=False, max_allocated_storage_gib=100),
        engine_version="16.4", protect=protect)))
    db = one(rec, "aws:rds/instance:Instance")
    assert (db.input("kmsKeyId"), db.input("storageEncrypted"), db.input("publiclyAccessible")) == \
        ("arn:key", True, False)
    assert (db.input("allocatedStorage"), db.input("maxAllocatedStorage")) == (50, 100)
    assert db.protect is protect
    rules = rec.of_type("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule")
    assert [(r.input("referencedSecurityGroupId"), r.input("fromPort")) for r in rules] == [("sg-app", 5432)]
    # the master password: managed and rotated by RDS, encrypted with the owner's key, never in the state
    assert not rec.of_type("aws:secretsmanager/secret:Secret") and "password" not in db.inputs
    assert (db.input("manageMasterUserPassword"), db.input("masterUserSecretKmsKeyId")) == (True, "arn:key")


def test_cache_alone_disables_default_user_and_holds_only_the_given_members():
    rec = alone(lambda: Cache("c", CacheArgs(
        group_id="dev-acme", default_user_id="dev-acme-default", key_arn="arn:key", vpc_id="vpc-1", subnet_ids=["s-1"], sources=["sg-app"],
        node_type="cache.t4g.small", replicas=1, engine_version="7.1", user_ids=["dev-acme"])))
    default = next(u for u in rec.of_type("aws:elasticache/user:User") if u.input("userName") == "default")
    assert default.input("accessString") == "off -@all"
    group = one(rec, "aws:elasticache/userGroup:UserGroup")
    assert set(group.input("userIds")) == {default.input("userId"), "dev-acme"}
    rg = one(rec, "aws:elasticache/replicationGroup:ReplicationGroup")
    assert (rg.input("transitEncryptionEnabled"), rg.input("atRestEncryptionEnabled"), rg.input("kmsKeyId")) == \
        (True, True, "arn:key")
    assert rg.protect is True


@pytest.mark.parametrize("enabled", [True, False])
def test_cache_user_reaches_only_its_prefix_and_is_off_while_suspended(enabled):
    rec = alone(lambda: CacheUser("u", user_id="dev-acme", tenant_id="acme", enabled=enabled,
                                  user_group_id="dev-pool"))
    access = one(rec, "aws:elasticache/user:User").input("accessString").split()
    assert access[0] == ("on" if enabled else "off")
    patterns = [a for a in access if a[0] in "~&%"]
    assert patterns == ["~acme:*", "&acme:*"]
    assert one(rec, "aws:elasticache/userGroupAssociation:UserGroupAssociation").input("userGroupId") == "dev-pool"


# -- queues, api, budget, identity ------------------------------------------------------------------

def test_queues_dead_letter_and_policies_name_only_the_given_role():
    rec = alone(lambda: TenantQueues("q", key_arn="arn:key", role_arn=ROLE))
    queues = {r.name: r for r in rec.of_type("aws:sqs/queue:Queue")}
    assert all(q.input("kmsMasterKeyId") == "arn:key" for q in queues.values())
    assert "deadLetterTargetArn" in queues["q-queue"].input("redrivePolicy")
    for policy in rec.of_type("aws:sqs/queuePolicy:QueuePolicy"):
        allowed = [s for s in statements(policy.input("policy")) if s["Effect"] == "Allow"]
        assert [s["Principal"] for s in allowed] == [{"AWS": ROLE}]


@pytest.mark.parametrize("stage", [None, "abc123"])
def test_api_key_is_off_while_suspended_and_attached_to_a_stage_only_when_one_is_given(stage):
    rec = alone(lambda: ApiAccess("a", ApiAccessArgs("acme", "enterprise", 50, 100, 1000, "MONTH",
                                                     enabled=False, rest_api_id=stage, stage="v1")))
    assert one(rec, "aws:apigateway/apiKey:ApiKey").input("enabled") is False
    plan = one(rec, "aws:apigateway/usagePlan:UsagePlan")
    assert plan.input("quotaSettings") == {"limit": 1000, "period": "MONTH"}
    assert bool(plan.input("apiStages")) is (stage is not None)


def test_budget_filters_on_the_tenant_tag_of_this_tenant_only():
    rec = alone(lambda: tenant_budget("b", BudgetArgs("tenancy-dev-acme", "acme", 2500, "arn:topic"), opts=None))
    budget = one(rec, "aws:budgets/budget:Budget")
    assert budget.input("costFilters") == [{"name": "TagKeyValue", "values": [f"user:{TENANT_TAG}$acme"]}]
    assert all("subscriberEmailAddresses" not in n for n in budget.input("notifications"))


@pytest.mark.parametrize("issuer", [None, "oidc.eks.eu-west-1.amazonaws.com/id/ABC"])
def test_role_trusts_exactly_one_service_account(issuer):
    rec = alone(lambda: WorkloadIdentity("i", IdentityArgs(ACCOUNT, "tenancy-dev-acme", "tenant-acme",
                                                           "tenant-acme", oidc_issuer=issuer)))
    (trust,) = statements(one(rec, "aws:iam/role:Role").input("assumeRolePolicy"))
    conditions = trust["Condition"]["StringEquals"]
    if issuer:
        assert trust["Principal"] == {"Federated": f"arn:aws:iam::123456789012:oidc-provider/{issuer}"}
        assert conditions[f"{issuer}:sub"] == "system:serviceaccount:tenant-acme:tenant-acme"
    else:
        assert trust["Principal"] == {"Service": "pods.eks.amazonaws.com"}
        assert conditions["aws:RequestTag/kubernetes-namespace"] == "tenant-acme"
        assert conditions["aws:SourceAccount"] == "123456789012"


# -- kubernetes -------------------------------------------------------------------------------------

def test_namespace_denies_by_default_and_allows_data_only_to_its_own_subnets():
    rec = alone(lambda: TenantNamespace("n", namespace="tenant-acme", labels={"tenancy.io/tenant-id": "acme"},
                                        quota=QuotaSpec(2, 4, 50, 20), data_cidrs=["10.0.64.128/26"]))
    policies = {r.input("metadata")["name"]: r.input("spec")
                for r in rec.of_type("kubernetes:networking.k8s.io/v1:NetworkPolicy")}
    assert policies["default-deny"] == {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}
    assert policies["allow-own-data"]["egress"][0]["to"] == [{"ipBlock": {"cidr": "10.0.64.128/26"}}]
    quota = one(rec, "kubernetes:core/v1:ResourceQuota").input("spec")["hard"]
    assert (quota["limits.cpu"], quota["pods"]) == ("2", "20")
    labels = one(rec, "kubernetes:core/v1:Namespace").input("metadata")["labels"]
    assert labels["pod-security.kubernetes.io/enforce"] == "restricted"


# -- what the first real deploy would trip on (issue: the offline plan refuses what AWS refuses) ----

PROVIDER_READS = ["sqs:GetQueueAttributes", "sqs:ListQueueTags", "sqs:ListDeadLetterSourceQueues"]


def test_queue_policies_never_deny_what_the_provider_reads_back():
    """The provider reads a queue (and its policy) back after every write: a Deny on that for every
    principal but the tenant's role breaks every later refresh and update of the stack."""
    import fnmatch

    rec = alone(lambda: TenantQueues("q", key_arn="arn:key", role_arn=ROLE))
    for policy in rec.of_type("aws:sqs/queuePolicy:QueuePolicy"):
        for statement in statements(policy.input("policy")):
            if statement["Effect"] != "Deny" or "Condition" in statement and "Bool" in statement["Condition"]:
                continue  # the TLS-only deny binds everyone, the provider included, and it uses TLS
            actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
            for read in PROVIDER_READS:
                assert not any(fnmatch.fnmatch(read.lower(), a.lower()) for a in actions), (read, statement["Sid"])


def test_workload_group_has_no_inline_rules_beside_its_standalone_ones_and_every_rule_says_why():
    rec = alone(lambda: WorkloadSecurityGroup("w", vpc_id="vpc-1", data_cidrs=["10.0.64.128/26"], ports=(5432,)))
    group = one(rec, "aws:ec2/securityGroup:SecurityGroup")
    assert group.input("egress") is None and group.input("ingress") is None
    rules = rec.of_type("aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule")
    assert rules and all(r.input("description") for r in rules)


def test_a_region_with_fewer_zones_than_asked_stops_with_a_clear_message():
    import pulumi

    from components.platform import first_zones

    assert first_zones(["eu-west-1b", "eu-west-1a", "eu-west-1c"], 2) == ["eu-west-1a", "eu-west-1b"]
    with pytest.raises(pulumi.RunError, match="azCount is 4, but the region has only 3 available zones"):
        first_zones(["a", "b", "c"], 4)
