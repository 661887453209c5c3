"""What each tier gives a tenant, and the properties that make it safe (DESIGN.md's tier table)."""

from __future__ import annotations

import json
from collections import Counter
from ipaddress import IPv4Network

import pytest

from tenancy.plan.harness import Recording, is_secret

KEY = "aws:kms/key:Key"
RDS = "aws:rds/instance:Instance"
RG = "aws:elasticache/replicationGroup:ReplicationGroup"
QUEUE = "aws:sqs/queue:Queue"
SECRET = "aws:secretsmanager/secret:Secret"
SG = "aws:ec2/securityGroup:SecurityGroup"
SUBNET = "aws:ec2/subnet:Subnet"
VPC = "aws:ec2/vpc:Vpc"
NS = "kubernetes:core/v1:Namespace"
CACHE_USER = "aws:elasticache/user:User"


def types_of(rec: Recording, tenant: str) -> Counter:
    return Counter(r.type for r in rec.tenant("dev", tenant) if r.custom)


def one(rec: Recording, tenant: str, type_: str):
    found = [r for r in rec.tenant("dev", tenant) if r.type == type_]
    assert len(found) == 1, f"{tenant}: {len(found)} x {type_}"
    return found[0]


def key_arn(rec: Recording, tenant: str) -> str:
    return one(rec, tenant, KEY).outputs["arn"]


def workload_role(rec: Recording, tenant: str):
    return next(r for r in rec.tenant("dev", tenant)
                if r.type == "aws:iam/role:Role" and r.input("name") == f"tenancy-dev-{tenant}")


def platform(rec: Recording, type_: str) -> list:
    return [r for r in rec.descendants(rec.component("tenancy:platform:Platform", "dev-platform").urn)
            if r.type == type_]


# -- every tier --------------------------------------------------------------------------------

@pytest.mark.parametrize("tenant", ["brightside", "northwind", "globex", "initech", "acme", "umbrella"])
def test_every_tenant_has_its_own_key_queues_role_and_secret(dev, tenant):
    types = types_of(dev, tenant)
    assert types[KEY] == 1 and types["aws:kms/alias:Alias"] == 1
    assert types[QUEUE] == 2 and types["aws:sqs/queuePolicy:QueuePolicy"] == 2
    assert types["aws:iam/role:Role"] >= 1
    # a secret of its own: the pooled login, or the master secret RDS manages for its own database
    assert types[SECRET] >= 1 or one(dev, tenant, RDS).input("manageMasterUserPassword") is True
    key = one(dev, tenant, KEY)
    assert key.input("enableKeyRotation") is True
    assert key.input("deletionWindowInDays") == 30
    assert key.input("bypassPolicyLockoutSafetyCheck") is False
    alias = one(dev, tenant, "aws:kms/alias:Alias")
    assert alias.input("name") == f"alias/tenancy/dev/{tenant}"


@pytest.mark.parametrize("tenant", ["brightside", "globex", "initech", "acme"])
def test_queues_are_encrypted_with_the_owner_key_and_redrive_to_the_owner_dlq(dev, tenant):
    queues = [r for r in dev.tenant("dev", tenant) if r.type == QUEUE]
    arn = key_arn(dev, tenant)
    assert all(q.input("kmsMasterKeyId") == arn for q in queues)
    main = next(q for q in queues if q.input("redrivePolicy"))
    dlq = next(q for q in queues if not q.input("redrivePolicy"))
    assert json.loads(main.input("redrivePolicy"))["deadLetterTargetArn"] == dlq.outputs["arn"]
    for policy in (r for r in dev.tenant("dev", tenant) if r.type == "aws:sqs/queuePolicy:QueuePolicy"):
        statements = json.loads(policy.input("policy"))["Statement"]
        insecure = next(s for s in statements if s["Sid"] == "DenyInsecureTransport")
        assert insecure["Effect"] == "Deny" and insecure["Condition"]["Bool"]["aws:SecureTransport"] == "false"
        others = next(s for s in statements if s["Sid"] == "DenyOtherPrincipals")
        assert others["Condition"]["ArnNotEquals"]["aws:PrincipalArn"] == f"arn:aws:iam::123456789012:role/tenancy-dev-{tenant}"


@pytest.mark.parametrize("tenant", ["brightside", "initech", "acme"])
def test_key_policy_lets_only_the_tenant_role_use_the_key(dev, tenant):
    policy = json.loads(one(dev, tenant, KEY).input("policy"))
    statements = {s["Sid"]: s for s in policy["Statement"]}
    role = workload_role(dev, tenant).outputs["arn"]
    assert statements["WorkloadUses"]["Principal"] == {"AWS": [role]}
    assert "kms:Decrypt" not in statements["AccountAdministers"]["Action"]
    services = statements["ServicesActForOwner"]
    assert services["Condition"]["StringEquals"]["kms:CallerAccount"] == "123456789012"
    for statement in policy["Statement"]:
        assert statement["Principal"] != "*" and statement["Principal"] != {"AWS": "*"}


@pytest.mark.parametrize("tenant", ["brightside", "globex", "initech", "acme"])
def test_role_is_trusted_by_its_workloads_only_and_names_only_its_resources(dev, tenant):
    """A tenant with a namespace of its own: its service account there. A pooled tenant (brightside):
    the pool identity's sessions tagged with it (test_workload_identity.py)."""
    role = workload_role(dev, tenant)
    (trust,) = json.loads(role.input("assumeRolePolicy"))["Statement"]
    issuer = "oidc.eks.eu-west-1.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE"
    if tenant == "brightside":
        assert trust["Condition"] == {"StringEquals": {"aws:RequestTag/tenant-id": "brightside"}}
    else:
        assert trust["Condition"]["StringEquals"][f"{issuer}:sub"] == \
            f"system:serviceaccount:tenant-{tenant}:tenant-{tenant}"
    access = next(r for r in dev.tenant("dev", tenant) if r.type == "aws:iam/rolePolicy:RolePolicy"
                  and r.name.endswith("-identity-access"))
    statements = {s["Sid"]: s for s in json.loads(access.input("policy"))["Statement"]}
    assert statements["UseOwnKey"]["Resource"] == [key_arn(dev, tenant)]
    own_queues = {r.outputs["arn"] for r in dev.tenant("dev", tenant) if r.type == QUEUE}
    assert set(statements["UseOwnQueues"]["Resource"]) == own_queues
    own_secrets = {r.outputs["arn"] for r in dev.tenant("dev", tenant) if r.type == SECRET}
    own_secrets |= {s["secretArn"] for r in dev.tenant("dev", tenant) if r.type == RDS
                    for s in r.outputs.get("masterUserSecrets") or []}
    assert statements["ReadOwnSecrets"]["Resource"] and set(statements["ReadOwnSecrets"]["Resource"]) <= own_secrets
    user = one(dev, tenant, CACHE_USER) if tenant != "initech" and tenant != "acme" else \
        next(r for r in dev.tenant("dev", tenant) if r.type == CACHE_USER and r.input("userName") != "default")
    assert user.outputs["arn"] in statements["ConnectOwnCacheUser"]["Resource"]
    for statement in statements.values():
        assert "*" not in statement["Resource"]


# -- shared tier -------------------------------------------------------------------------------

def test_shared_tenant_gets_no_network_database_cache_or_namespace_of_its_own(dev):
    types = types_of(dev, "brightside")
    for type_ in (VPC, SUBNET, SG, RDS, RG, NS, "aws:ec2/networkAcl:NetworkAcl"):
        assert types[type_] == 0, type_
    assert types["aws:elasticache/userGroupAssociation:UserGroupAssociation"] == 1
    assert types["kubernetes:core/v1:ServiceAccount"] == 0  # the pool's service account acts for it


def test_pooled_tenant_login_secret_is_encrypted_with_its_own_key_and_points_at_the_pool(dev):
    secret = one(dev, "brightside", SECRET)
    assert secret.input("kmsKeyId") == key_arn(dev, "brightside")
    version = one(dev, "brightside", "aws:secretsmanager/secretVersion:SecretVersion")
    assert is_secret(version.inputs["secretString"])
    value = json.loads(version.input("secretString"))
    pool_db = platform(dev, RDS)[0]
    assert value["host"] == pool_db.outputs["address"] and value["username"] == "tenant_brightside"


def test_pooled_cache_user_is_limited_to_the_tenant_prefix_and_joins_the_pool_group(dev):
    user = one(dev, "northwind", CACHE_USER)
    assert user.input("accessString").startswith("on ~northwind:* &northwind:* ")
    assert "-@dangerous" in user.input("accessString") and "-@admin" in user.input("accessString")
    assert user.input("authenticationMode") == {"type": "iam"}
    membership = one(dev, "northwind", "aws:elasticache/userGroupAssociation:UserGroupAssociation")
    pool_group = platform(dev, "aws:elasticache/userGroup:UserGroup")[0]
    assert membership.input("userGroupId") == pool_group.outputs["userGroupId"]
    assert membership.input("userId") == user.outputs["userId"]


def test_suspended_tenant_keeps_its_resources_but_its_cache_user_is_off(dev):
    assert types_of(dev, "umbrella") == types_of(dev, "brightside")
    assert one(dev, "umbrella", CACHE_USER).input("accessString").startswith("off ~umbrella:* ")


# -- hybrid ------------------------------------------------------------------------------------

def test_hybrid_tenant_has_its_own_database_in_the_pooled_network_and_pooled_cache(dev):
    """Its database admits its own workloads' group (in the shared VPC), not the pool's."""
    types = types_of(dev, "globex")
    assert types[RDS] == 1 and types[RG] == 0 and types[VPC] == 0 and types[SUBNET] == 0 and types[NS] == 1
    db = one(dev, "globex", RDS)
    assert db.input("kmsKeyId") == key_arn(dev, "globex")
    pool_data_subnets = {s.id for s in platform(dev, SUBNET) if s.tags.get("subnet-role") == "data"}
    group = one(dev, "globex", "aws:rds/subnetGroup:SubnetGroup")
    assert set(group.input("subnetIds")) == pool_data_subnets
    own_app = next(r for r in dev.tenant("dev", "globex") if r.name == "dev-globex-app-sg")
    (pool_vpc,) = platform(dev, VPC)
    assert own_app.input("vpcId") == pool_vpc.id
    rules = [r for r in dev.tenant("dev", "globex") if r.type.endswith("SecurityGroupIngressRule")]
    assert [r.input("referencedSecurityGroupId") for r in rules] == [own_app.id]
    assert one(dev, "globex", CACHE_USER).input("accessString").startswith("on ~globex:* ")


# -- dedicated and isolated --------------------------------------------------------------------

@pytest.mark.parametrize("tenant", ["globex", "initech", "acme"])
def test_own_database_is_encrypted_private_protected_tls_only_and_iam_authenticated(dev, tenant):
    db = one(dev, tenant, RDS)
    arn = key_arn(dev, tenant)
    assert db.input("storageEncrypted") is True and db.input("kmsKeyId") == arn
    assert db.input("performanceInsightsEnabled") is True and db.input("performanceInsightsKmsKeyId") == arn
    assert db.input("publiclyAccessible") is False
    assert db.input("deletionProtection") is True and db.input("skipFinalSnapshot") is False
    assert db.input("finalSnapshotIdentifier")
    assert db.input("backupRetentionPeriod") >= 7
    assert db.input("iamDatabaseAuthenticationEnabled") is True
    # RDS manages (and rotates) the master password, encrypted with the tenant's key: none in the state
    assert "password" not in db.inputs
    assert db.input("manageMasterUserPassword") is True and db.input("masterUserSecretKmsKeyId") == arn
    params = one(dev, tenant, "aws:rds/parameterGroup:ParameterGroup")
    assert {"name": "rds.force_ssl", "value": "1"} in params.input("parameters")
    assert db.input("parameterGroupName") == params.outputs["name"]


@pytest.mark.parametrize("tenant", ["initech", "acme"])
def test_own_database_and_cache_admit_only_the_owner_app_group(dev, tenant):
    app = next(r for r in dev.tenant("dev", tenant) if r.type == SG and r.name == f"dev-{tenant}-app-sg")
    db, rg = one(dev, tenant, RDS), one(dev, tenant, RG)
    for service, port in ((db, 5432), (rg, 6379)):
        groups = service.input("vpcSecurityGroupIds") or service.input("securityGroupIds")
        assert len(groups) == 1
        rules = [r for r in dev.registrations if r.type.endswith("SecurityGroupIngressRule")
                 and r.input("securityGroupId") == groups[0]]
        assert [(r.input("referencedSecurityGroupId"), r.input("fromPort"), r.input("toPort")) for r in rules] \
            == [(app.id, port, port)]
        assert not any(r.input("cidrIpv4") for r in rules)


@pytest.mark.parametrize("tenant", ["initech", "acme"])
def test_own_cache_is_encrypted_tls_and_rbac_with_default_user_off(dev, tenant):
    rg = one(dev, tenant, RG)
    assert rg.input("atRestEncryptionEnabled") is True and rg.input("kmsKeyId") == key_arn(dev, tenant)
    assert rg.input("transitEncryptionEnabled") is True
    group = one(dev, tenant, "aws:elasticache/userGroup:UserGroup")
    assert rg.input("userGroupIds") == [group.outputs["userGroupId"]]
    users = {r.outputs["userId"]: r for r in dev.tenant("dev", tenant) if r.type == CACHE_USER}
    assert set(group.input("userIds")) == set(users)
    default = next(u for u in users.values() if u.input("userName") == "default")
    assert default.input("accessString").startswith("off")


def test_dedicated_tenant_gets_its_slice_in_the_shared_vpc_and_no_vpc_of_its_own(dev, registry):
    types = types_of(dev, "initech")
    assert types[VPC] == 0 and types["aws:ec2/natGateway:NatGateway"] == 0
    shared_vpc = platform(dev, VPC)[0]
    subnets = [r for r in dev.tenant("dev", "initech") if r.type == SUBNET]
    block = IPv4Network(registry.get("initech").tenant.network.cidr)
    assert len(subnets) == 2 * 2  # app and data, two zones (Pulumi.dev.yaml)
    assert all(s.input("vpcId") == shared_vpc.id for s in subnets)
    assert all(IPv4Network(s.input("cidrBlock")).subnet_of(block) for s in subnets)
    acls = [r for r in dev.tenant("dev", "initech") if r.type == "aws:ec2/networkAcl:NetworkAcl"]
    assert len(acls) == 2
    data_acl = next(a for a in acls if a.name.endswith("data-acl"))
    assert [r["cidrBlock"] for r in data_acl.input("ingress")] == [str(block)]
    app_acl = next(a for a in acls if a.name.endswith("app-acl"))
    deny = [r for r in app_acl.input("ingress") if r["action"] == "deny"]
    assert [r["cidrBlock"] for r in deny] == ["10.0.0.0/16"]


def test_isolated_tenant_gets_its_own_vpc_with_flow_logs_and_nothing_joining_it(dev, registry):
    vpcs = [r for r in dev.tenant("dev", "acme") if r.type == VPC]
    assert len(vpcs) == 1 and vpcs[0].input("cidrBlock") == registry.get("acme").tenant.network.cidr
    own_vpc = vpcs[0].id
    for r in dev.tenant("dev", "acme"):
        if r.input("vpcId") is not None:
            assert r.input("vpcId") == own_vpc, r.name
    flow = one(dev, "acme", "aws:ec2/flowLog:FlowLog")
    assert flow.input("vpcId") == own_vpc and flow.input("trafficType") == "ALL"
    group = next(r for r in dev.tenant("dev", "acme") if r.type == "aws:cloudwatch/logGroup:LogGroup"
                 and r.input("name") == "/tenancy/dev/acme/flow-logs")
    assert group.input("kmsKeyId") == key_arn(dev, "acme")
    assert flow.input("logDestination") == group.outputs["arn"]
    default_sg = one(dev, "acme", "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup")
    assert default_sg.input("ingress") == [] and default_sg.input("egress") == []
    joining = ("aws:ec2/vpcPeeringConnection:VpcPeeringConnection",
               "aws:ec2transitgateway/vpcAttachment:VpcAttachment")
    assert not [r for r in dev.registrations if r.type in joining]


def test_shared_vpc_has_nat_per_config_flow_logs_and_a_stripped_default_group(dev):
    assert len(platform(dev, "aws:ec2/natGateway:NatGateway")) == 1  # natGateways: single in dev
    assert len(platform(dev, "aws:ec2/flowLog:FlowLog")) == 1
    platform_key = platform(dev, KEY)[0].outputs["arn"]
    assert platform(dev, "aws:cloudwatch/logGroup:LogGroup")[0].input("kmsKeyId") == platform_key
    default_sg = platform(dev, "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup")[0]
    assert default_sg.input("ingress") == [] and default_sg.input("egress") == []
    data_tables = [r for r in platform(dev, "aws:ec2/routeTable:RouteTable") if "-data-rt-" in r.name]
    assert data_tables and all(not r.input("routes") for r in data_tables)
    assert all(s.input("mapPublicIpOnLaunch") is False for s in platform(dev, SUBNET))


# -- kubernetes --------------------------------------------------------------------------------

@pytest.mark.parametrize("tenant", ["initech", "acme"])
def test_namespace_quota_and_policies_follow_the_registry(dev, registry, tenant):
    effective = registry.get(tenant)
    ns = one(dev, tenant, NS)
    labels = ns.input("metadata")["labels"]
    assert ns.input("metadata")["name"] == f"tenant-{tenant}"
    assert labels["pod-security.kubernetes.io/enforce"] == "restricted"
    assert labels["tenancy.io/tenant-id"] == tenant and labels["tenancy.io/tier"] == effective.isolation.value
    hard = one(dev, tenant, "kubernetes:core/v1:ResourceQuota").input("spec")["hard"]
    cpu = effective.quotas.compute_limit
    assert float(hard["limits.cpu"]) == cpu
    assert hard["limits.memory"] == f"{cpu * effective.plan.memory_per_cpu_gib:g}Gi"
    assert hard["requests.storage"] == f"{effective.quotas.storage_limit:g}Gi"
    policies = {p.input("metadata")["name"]: p.input("spec") for p in dev.tenant("dev", tenant)
                if p.type == "kubernetes:networking.k8s.io/v1:NetworkPolicy"}
    assert policies["default-deny"] == {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}
    data_targets = [t["ipBlock"]["cidr"] for t in policies["allow-own-data"]["egress"][0]["to"]]
    block = IPv4Network(effective.tenant.network.cidr)
    assert data_targets and all(IPv4Network(c).subnet_of(block) for c in data_targets)
    sa = one(dev, tenant, "kubernetes:core/v1:ServiceAccount")
    role = workload_role(dev, tenant)
    assert sa.input("metadata")["annotations"]["eks.amazonaws.com/role-arn"] == role.outputs["arn"]
    assert sa.input("metadata")["namespace"] == f"tenant-{tenant}"


def test_the_pools_one_service_account_lives_in_the_pool_namespace(dev):
    pool_ns = [r for r in platform(dev, NS) if r.input("metadata")["name"] != "tenancy-gateway"]  # the Gateway's
    assert [r.input("metadata")["name"] for r in pool_ns] == ["tenant-pool"]
    (sa,) = platform(dev, "kubernetes:core/v1:ServiceAccount")
    assert sa.input("metadata")["namespace"] == "tenant-pool"
    assert pool_ns[0].urn in sa.property_dependencies.get("metadata", []) or pool_ns[0].urn in sa.dependencies
    assert not [r for r in dev.tenant("dev", "northwind") if r.type == "kubernetes:core/v1:ServiceAccount"]


def test_pooled_logins_get_new_passwords_when_the_rotation_changes():
    from components.database import PooledLogin
    from tenancy.plan.harness import run_function

    def keepers(rotation):
        rec = run_function(lambda: PooledLogin("dev-acme-db", key_arn="arn:key", role="tenant_acme", host="db",
                                               port=5432, db_name="tenants", rotation=rotation))
        [password] = rec.of_type("random:index/randomPassword:RandomPassword")
        return password.input("keepers")

    assert keepers("2026-11") == {"rotation": "2026-11"} and keepers("2026-12") == {"rotation": "2026-12"}
    assert keepers(None) is None  # no rotation asked: the password never changes by itself


def test_the_stack_setting_reaches_every_pooled_login():
    from .conftest import run_dev

    rec = run_dev(pooledPasswordRotation="2026-12")
    logins = [r for r in rec.of_type("random:index/randomPassword:RandomPassword") if r.name.endswith("-db-password")]
    assert logins and all(r.input("keepers") == {"rotation": "2026-12"} for r in logins)
