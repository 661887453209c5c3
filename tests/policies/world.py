"""A small compliant stack, in memory, shaped like the tenancy program's after an update: the
platform (shared VPC, pooled database, load balancer, pooled namespace), an isolated tenant (acme,
its own VPC, database and cache), a dedicated one (initech, its slice of the shared VPC and its own
database) and a pooled one (northwind). Every policy of the pack passes it; each unit test breaks
one thing in a copy and names what the policy must report.

Names, ids and ARNs follow the real program's (`dev-acme-key-cmk`, `arn:aws:kms:...:key/...`), so a
message reads as it would in a plan."""

from __future__ import annotations

import hashlib
import json
from typing import Optional

from .resources import Stack

REGION, ACCOUNT = "eu-west-1", "123456789012"
ENV = "dev"

KEY = "aws:kms/key:Key"
ALIAS = "aws:kms/alias:Alias"
VPC = "aws:ec2/vpc:Vpc"
SUBNET = "aws:ec2/subnet:Subnet"
FLOW_LOG = "aws:ec2/flowLog:FlowLog"
SG = "aws:ec2/securityGroup:SecurityGroup"
SG_RULE = "aws:ec2/securityGroupRule:SecurityGroupRule"
INGRESS = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
PEERING = "aws:ec2/vpcPeeringConnection:VpcPeeringConnection"
TGW_ATTACHMENT = "aws:ec2transitgateway/vpcAttachment:VpcAttachment"
CIDR_ASSOCIATION = "aws:ec2/vpcIpv4CidrBlockAssociation:VpcIpv4CidrBlockAssociation"
DB = "aws:rds/instance:Instance"
DB_PARAMS = "aws:rds/parameterGroup:ParameterGroup"
DB_SUBNETS = "aws:rds/subnetGroup:SubnetGroup"
CACHE = "aws:elasticache/replicationGroup:ReplicationGroup"
CACHE_SUBNETS = "aws:elasticache/subnetGroup:SubnetGroup"
QUEUE = "aws:sqs/queue:Queue"
QUEUE_POLICY = "aws:sqs/queuePolicy:QueuePolicy"
SECRET = "aws:secretsmanager/secret:Secret"
ROLE = "aws:iam/role:Role"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
MANAGED_POLICY = "aws:iam/policy:Policy"
LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"
TOPIC = "aws:sns/topic:Topic"
USAGE_PLAN = "aws:apigateway/usagePlan:UsagePlan"
BUDGET = "aws:budgets/budget:Budget"
NAMESPACE = "kubernetes:core/v1:Namespace"
QUOTA = "kubernetes:core/v1:ResourceQuota"
LIMITS = "kubernetes:core/v1:LimitRange"
NETWORK_POLICY = "kubernetes:networking.k8s.io/v1:NetworkPolicy"
TENANT = "tenancy:tenant:Tenant"

SHARED_VPC_CIDR = "10.0.0.0/16"
PLATFORM_APP_CIDR = "10.0.0.0/24"
PLATFORM_DATA_CIDR = "10.0.8.0/24"
ISOLATED_CIDRS = {"acme": "10.64.0.0/20", "hooli": "10.80.0.0/20"}
DEDICATED_SUBNETS = {"initech": ("10.0.64.0/24", "10.0.65.0/24")}  # app, data: inside its 10.0.64.0/20


def arn(service: str, resource: str) -> str:
    return f"arn:aws:{service}:{REGION}:{ACCOUNT}:{resource}"


def digest(seed: str, length: int) -> str:
    return hashlib.sha256(seed.encode()).hexdigest()[:length]


def hex_id(prefix: str, seed: str) -> str:
    """An AWS-style id (`vpc-0a1b...`), stable for a name."""
    return f"{prefix}-{digest(seed, 17)}"


def tags(tenant: str, plan: str, isolation: str, **extra: str) -> dict:
    return {"tenant-id": tenant, "tenant-plan": plan, "isolation": isolation, "environment": ENV,
            "managed-by": "tenancy", **extra}


PLATFORM_TAGS = {"managed-by": "tenancy", "environment": ENV, "tenancy-scope": "platform"}


# -- building blocks (each returns the resource's name) -------------------------------------------
def key(s: Stack, name: str, parent: str, tag_set: dict) -> str:
    h = digest(name, 32)
    key_id = f"{h[:8]}-{h[8:12]}-4{h[13:16]}-8{h[17:20]}-{h[20:32]}"
    s.add(KEY, name, {"enableKeyRotation": True, "deletionWindowInDays": 30, "bypassPolicyLockoutSafetyCheck": False,
                      "policy": json.dumps({"Statement": [{"Sid": "AccountAdministers", "Effect": "Allow",
                                                           "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
                                                           "Action": "kms:*", "Resource": "*"}]}),
                      "tags": tag_set, "id": key_id, "keyId": key_id, "arn": arn("kms", f"key/{key_id}")},
          parent=parent, protect=True)
    return name


def vpc(s: Stack, name: str, parent: str, cidr: str, tag_set: dict) -> str:
    vpc_id = hex_id("vpc", name)
    s.add(VPC, name, {"cidrBlock": cidr, "enableDnsSupport": True, "tags": tag_set, "id": vpc_id,
                      "arn": arn("ec2", f"vpc/{vpc_id}")}, parent=parent)
    s.add(FLOW_LOG, f"{name}-flow-logs", {"vpcId": vpc_id, "trafficType": "ALL", "tags": tag_set,
                                          "id": hex_id("fl", name)}, parent=parent, prop_deps={"vpcId": [name]})
    return name


def subnet(s: Stack, name: str, parent: str, vpc_name: str, cidr: str, tag_set: dict) -> str:
    subnet_id = hex_id("subnet", name)
    s.add(SUBNET, name, {"vpcId": s[vpc_name].props["id"], "cidrBlock": cidr, "tags": tag_set, "id": subnet_id,
                         "arn": arn("ec2", f"subnet/{subnet_id}")}, parent=parent, prop_deps={"vpcId": [vpc_name]})
    return name


def group(s: Stack, name: str, parent: str, vpc_name: str, tag_set: dict, **props) -> str:
    group_id = hex_id("sg", name)
    s.add(SG, name, {"vpcId": s[vpc_name].props["id"], "description": name, "egress": [], "tags": tag_set,
                     "id": group_id, "arn": arn("ec2", f"security-group/{group_id}"), **props},
          parent=parent, prop_deps={"vpcId": [vpc_name]})
    return name


def ingress_from_group(s: Stack, name: str, parent: str, target: str, source: str, port: int, tag_set: dict) -> str:
    s.add(INGRESS, name, {"securityGroupId": s[target].props["id"], "referencedSecurityGroupId": s[source].props["id"],
                          "ipProtocol": "tcp", "fromPort": port, "toPort": port, "tags": tag_set,
                          "id": hex_id("sgr", name)},
          parent=parent, prop_deps={"securityGroupId": [target], "referencedSecurityGroupId": [source]})
    return name


def database(s: Stack, prefix: str, parent: str, key_name: str, group_name: str, subnet_names: list[str],
             tag_set: dict) -> str:
    params, subnets, instance = f"{prefix}-db-params", f"{prefix}-db-subnets", f"{prefix}-db-instance"
    s.add(DB_PARAMS, params, {"family": "postgres16", "name": f"{params}-2c05cca", "id": f"{params}-2c05cca",
                              "parameters": [{"name": "rds.force_ssl", "value": "1"}], "tags": tag_set},
          parent=parent)
    s.add(DB_SUBNETS, subnets, {"name": f"{subnets}-dbae594", "id": f"{subnets}-dbae594", "tags": tag_set,
                                "subnetIds": [s[n].props["id"] for n in subnet_names]},
          parent=parent, prop_deps={"subnetIds": subnet_names})
    key_arn = s[key_name].props["arn"]
    s.add(DB, instance, {
        "engine": "postgres", "storageEncrypted": True, "kmsKeyId": key_arn, "publiclyAccessible": False,
        "deletionProtection": True, "skipFinalSnapshot": False, "finalSnapshotIdentifier": f"{instance}-final",
        "backupRetentionPeriod": 14, "iamDatabaseAuthenticationEnabled": True, "performanceInsightsEnabled": True,
        "performanceInsightsKmsKeyId": key_arn, "parameterGroupName": s[params].props["name"],
        "dbSubnetGroupName": s[subnets].props["name"], "vpcSecurityGroupIds": [s[group_name].props["id"]],
        "port": 5432, "tags": tag_set, "id": f"{instance}-d459546", "arn": arn("rds", f"db:{instance}-d459546"),
        "endpoint": f"{instance}-d459546.cd45954649c.{REGION}.rds.amazonaws.com:5432"},
        parent=parent, protect=True,
        prop_deps={"kmsKeyId": [key_name], "performanceInsightsKmsKeyId": [key_name], "parameterGroupName": [params],
                   "dbSubnetGroupName": [subnets], "vpcSecurityGroupIds": [group_name]})
    return instance


def cache(s: Stack, prefix: str, parent: str, key_name: str, group_name: str, subnet_names: list[str],
          tag_set: dict) -> str:
    subnets, rg = f"{prefix}-cache-subnets", f"{prefix}-cache-rg"
    s.add(CACHE_SUBNETS, subnets, {"name": f"{subnets}-4bce2d0", "id": f"{subnets}-4bce2d0", "tags": tag_set,
                                   "subnetIds": [s[n].props["id"] for n in subnet_names]},
          parent=parent, prop_deps={"subnetIds": subnet_names})
    s.add(CACHE, rg, {
        "replicationGroupId": f"{rg}-26597ca", "id": f"{rg}-26597ca", "arn": arn("elasticache", f"replicationgroup:{rg}-26597ca"),
        "atRestEncryptionEnabled": True, "kmsKeyId": s[key_name].props["arn"], "transitEncryptionEnabled": True,
        "userGroupIds": [prefix], "subnetGroupName": s[subnets].props["name"],
        "securityGroupIds": [s[group_name].props["id"]], "port": 6379, "tags": tag_set},
        parent=parent, protect=True,
        prop_deps={"kmsKeyId": [key_name], "subnetGroupName": [subnets], "securityGroupIds": [group_name]})
    return rg


def queues(s: Stack, prefix: str, parent: str, key_name: str, tag_set: dict) -> tuple[str, str]:
    dlq, queue = f"{prefix}-queues-dlq", f"{prefix}-queues-queue"
    key_arn = s[key_name].props["arn"]
    for name in (dlq, queue):
        url = f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT}/{name}-09c86ff"
        props = {"kmsMasterKeyId": key_arn, "tags": tag_set, "id": url, "url": url, "arn": arn("sqs", f"{name}-09c86ff"),
                 "name": f"{name}-09c86ff"}
        prop_deps = {"kmsMasterKeyId": [key_name]}
        if name == queue:
            props["redrivePolicy"] = json.dumps({"deadLetterTargetArn": s[dlq].props["arn"], "maxReceiveCount": 5})
            prop_deps["redrivePolicy"] = [dlq]
        s.add(QUEUE, name, props, parent=parent, prop_deps=prop_deps)
    return dlq, queue


def access_policy(s: Stack, prefix: str, parent: str, statements: list[dict], deps: list[str], tag_set: dict) -> str:
    role, policy = f"{prefix}-identity-role", f"{prefix}-identity-access"
    s.add(ROLE, role, {"name": f"tenancy-{prefix}", "arn": f"arn:aws:iam::{ACCOUNT}:role/tenancy-{prefix}",
                       "id": f"tenancy-{prefix}", "tags": tag_set}, parent=parent)
    s.add(ROLE_POLICY, policy, {"role": f"tenancy-{prefix}", "id": f"tenancy-{prefix}:access",
                                "policy": json.dumps({"Version": "2012-10-17", "Statement": statements})},
          parent=parent, prop_deps={"policy": deps, "role": [role]})
    return policy


def namespace(s: Stack, prefix: str, parent: str, ns_name: str, labels: dict) -> str:
    ns = f"{prefix}-namespace-ns"
    s.add(NAMESPACE, ns, {"metadata": {"name": ns_name, "labels": {
        "pod-security.kubernetes.io/enforce": "restricted", **labels}}, "id": ns_name, "kind": "Namespace"},
        parent=parent)
    s.add(QUOTA, f"{prefix}-namespace-quota", {"metadata": {"namespace": ns_name, "name": "tenant-quota"},
                                               "spec": {"hard": {"pods": "80", "requests.cpu": "8"}},
                                               "id": f"{ns_name}/tenant-quota"}, parent=parent, depends_on=[ns])
    s.add(LIMITS, f"{prefix}-namespace-limits", {"metadata": {"namespace": ns_name, "name": "tenant-limits"},
                                                 "spec": {"limits": [{"type": "Container", "default": {"cpu": "500m"}}]},
                                                 "id": f"{ns_name}/tenant-limits"}, parent=parent, depends_on=[ns])
    s.add(NETWORK_POLICY, f"{prefix}-namespace-np-default-deny", {
        "metadata": {"namespace": ns_name, "name": "default-deny"},
        "spec": {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}, "id": f"{ns_name}/default-deny"},
        parent=parent, depends_on=[ns])
    s.add(NETWORK_POLICY, f"{prefix}-namespace-np-allow-same-namespace", {
        "metadata": {"namespace": ns_name, "name": "allow-same-namespace"},
        "spec": {"podSelector": {}, "policyTypes": ["Ingress"], "ingress": [{"from": [{"podSelector": {}}]}]},
        "id": f"{ns_name}/allow-same-namespace"}, parent=parent, depends_on=[ns])
    return ns


# -- the stack ---------------------------------------------------------------------------------------
def platform(s: Stack) -> None:
    p = "dev-platform"
    s.component("tenancy:platform:Platform", p)
    key(s, f"{p}-key-cmk", p, PLATFORM_TAGS)
    vpc(s, f"{p}-network-vpc", p, SHARED_VPC_CIDR, PLATFORM_TAGS)
    subnet(s, f"{p}-network-app-0", p, f"{p}-network-vpc", PLATFORM_APP_CIDR, PLATFORM_TAGS)
    subnet(s, f"{p}-network-data-0", p, f"{p}-network-vpc", PLATFORM_DATA_CIDR, PLATFORM_TAGS)
    group(s, f"{p}-pool-app-sg", p, f"{p}-network-vpc", PLATFORM_TAGS)
    group(s, f"{p}-pool-db-sg", p, f"{p}-network-vpc", PLATFORM_TAGS)
    ingress_from_group(s, f"{p}-pool-db-from-app", p, f"{p}-pool-db-sg", f"{p}-pool-app-sg", 5432, PLATFORM_TAGS)
    database(s, f"{p}-pool", p, f"{p}-key-cmk", f"{p}-pool-db-sg", [f"{p}-network-data-0"], PLATFORM_TAGS)
    # the one place the internet may come in: HTTPS on the load balancer's group
    group(s, f"{p}-lb-sg", p, f"{p}-network-vpc", {**PLATFORM_TAGS, "tenancy-role": "load-balancer"},
          ingress=[{"protocol": "tcp", "fromPort": 443, "toPort": 443, "cidrBlocks": ["0.0.0.0/0"],
                    "ipv6CidrBlocks": ["::/0"]}])
    namespace(s, f"{p}-pool", p, "tenant-pool", {})


def tenant(s: Stack, tenant_id: str, plan: str, isolation: str) -> None:
    """A tenant as the tenant component builds it, for its tier."""
    prefix = f"{ENV}-{tenant_id}"
    t = tags(tenant_id, plan, isolation)
    s.component(TENANT, prefix, {"tags": t})
    key_name = key(s, f"{prefix}-key-cmk", prefix, t)
    key_arn = s[key_name].props["arn"]
    alias = f"alias/tenancy/{ENV}/{tenant_id}"
    s.add(ALIAS, f"{prefix}-key-alias", {"name": alias, "id": alias, "arn": arn("kms", alias),
                                         "targetKeyId": s[key_name].props["id"]},
          parent=prefix, prop_deps={"targetKeyId": [key_name]})
    own = [key_name]
    statements = [{"Sid": "UseOwnKey", "Effect": "Allow", "Action": ["kms:Encrypt", "kms:Decrypt"], "Resource": [key_arn]}]
    if isolation in ("isolated", "dedicated"):
        if isolation == "isolated":
            vpc_name = vpc(s, f"{prefix}-network-vpc", prefix, ISOLATED_CIDRS[tenant_id], t)
            block = ISOLATED_CIDRS[tenant_id].rsplit(".", 2)[0]  # "10.64"
            app_cidr, data_cidr = f"{block}.0.0/23", f"{block}.8.0/23"
        else:
            vpc_name = "dev-platform-network-vpc"
            app_cidr, data_cidr = DEDICATED_SUBNETS[tenant_id]
        subnet(s, f"{prefix}-network-app-0", prefix, vpc_name, app_cidr, t)
        data_subnet = subnet(s, f"{prefix}-network-data-0", prefix, vpc_name, data_cidr, t)
        app_sg = group(s, f"{prefix}-app-sg", prefix, vpc_name, t)
        db_sg = group(s, f"{prefix}-db-sg", prefix, vpc_name, t)
        ingress_from_group(s, f"{prefix}-db-from-0", prefix, db_sg, app_sg, 5432, t)
        db = database(s, prefix, prefix, key_name, db_sg, [data_subnet], t)
        own += [db]
        statements.append({"Sid": "ConnectOwnDatabaseUser", "Effect": "Allow", "Action": ["rds-db:connect"],
                           "Resource": [arn("rds-db", f"dbuser:db-{tenant_id.upper()}/tenant_{tenant_id}")]})
        if isolation == "isolated":
            cache_sg = group(s, f"{prefix}-cache-sg", prefix, vpc_name, t)
            ingress_from_group(s, f"{prefix}-cache-from-0", prefix, cache_sg, app_sg, 6379, t)
            rg = cache(s, prefix, prefix, key_name, cache_sg, [data_subnet], t)
            statements.append({"Sid": "ConnectOwnCache", "Effect": "Allow", "Action": ["elasticache:Connect"],
                               "Resource": [s[rg].props["arn"]]})
            own += [rg]
    dlq, queue = queues(s, prefix, prefix, key_name, t)
    statements.append({"Sid": "UseOwnQueues", "Effect": "Allow", "Action": ["sqs:SendMessage", "sqs:ReceiveMessage"],
                       "Resource": [s[queue].props["arn"], s[dlq].props["arn"]]})
    s.add(SECRET, f"{prefix}-db-master-secret", {
        "kmsKeyId": key_arn, "tags": t, "name": f"{prefix}-db-master-secret-a4c4cb8",
        "id": arn("secretsmanager", f"secret:{prefix}-db-master-secret-a4c4cb"),
        "arn": arn("secretsmanager", f"secret:{prefix}-db-master-secret-a4c4cb")},
        parent=prefix, protect=True, prop_deps={"kmsKeyId": [key_name]})
    access_policy(s, prefix, prefix, statements, own + [dlq, queue], t)
    log_group = f"/tenancy/{ENV}/{tenant_id}/app"
    s.add(LOG_GROUP, f"{prefix}-monitoring-logs", {"kmsKeyId": key_arn, "retentionInDays": 365, "tags": t,
                                                   "name": log_group, "id": log_group,
                                                   "arn": arn("logs", f"log-group:{log_group}")},
          parent=prefix, prop_deps={"kmsKeyId": [key_name]})
    topic_arn = arn("sns", f"{prefix}-monitoring-alarms-01d6080")
    s.add(TOPIC, f"{prefix}-monitoring-alarms", {"kmsMasterKeyId": key_arn, "tags": t, "id": topic_arn, "arn": topic_arn,
                                                 "name": f"{prefix}-monitoring-alarms-01d6080"},
          parent=prefix, prop_deps={"kmsMasterKeyId": [key_name]})
    s.add(USAGE_PLAN, f"{prefix}-api-plan", {"throttleSettings": {"burstLimit": 1000, "rateLimit": 500},
                                             "quotaSettings": {"limit": 200000, "period": "MONTH"}, "tags": t,
                                             "id": f"{prefix}-api-plan-55d399c"}, parent=prefix)
    s.add(BUDGET, f"{prefix}-budget", {"budgetType": "COST", "limitAmount": "2500.00", "timeUnit": "MONTHLY", "tags": t,
                                       "costFilters": [{"name": "TagKeyValue", "values": [f"user:tenant-id${tenant_id}"]}],
                                       "id": f"{prefix}-budget-576d553"}, parent=prefix)
    if isolation != "shared":
        namespace(s, prefix, prefix, f"tenant-{tenant_id}", {"tenancy.io/tenant-id": tenant_id})


def compliant(extra_tenants: Optional[list[tuple[str, str, str]]] = None) -> Stack:
    """The platform and three tenants, one per tier, all compliant."""
    s = Stack()
    platform(s)
    for args in [("acme", "enterprise", "isolated"), ("initech", "enterprise", "dedicated"),
                 ("northwind", "professional", "shared"), *(extra_tenants or [])]:
        tenant(s, *args)
    return s


# -- Kubernetes building blocks for the cases (the compliant stack above holds none of these) -------------
SERVICE_ACCOUNT = "kubernetes:core/v1:ServiceAccount"
RBAC = "kubernetes:rbac.authorization.k8s.io/v1:"
ROLE_K8S, CLUSTER_ROLE = f"{RBAC}Role", f"{RBAC}ClusterRole"
ROLE_BINDING, CLUSTER_ROLE_BINDING = f"{RBAC}RoleBinding", f"{RBAC}ClusterRoleBinding"
PRIVATE_RANGES = ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16")


def service_account(s: Stack, name: str, parent: str, ns_name: str, account: str, labels: dict) -> str:
    """A workload's service account, as components/kubernetes.py `service_account` makes it."""
    s.add(SERVICE_ACCOUNT, name, {"metadata": {"name": account, "namespace": ns_name, "labels": labels},
                                  "automountServiceAccountToken": True, "id": f"{ns_name}/{account}"}, parent=parent)
    return name


def network_policy(s: Stack, name: str, parent: str, ns_name: str, spec: dict, policy_name: str = "") -> str:
    policy_name = policy_name or name
    s.add(NETWORK_POLICY, name, {"metadata": {"namespace": ns_name, "name": policy_name}, "spec": spec,
                                 "id": f"{ns_name}/{policy_name}"}, parent=parent)
    return name


def component_network_policies(s: Stack, prefix: str, parent: str, ns_name: str, data_cidrs: list[str]) -> None:
    """The rest of what TenantNamespace creates beside default-deny and allow-same-namespace: DNS,
    HTTPS out of the private ranges, and the owner's data subnets (all egress)."""
    everything = {"podSelector": {}}
    for policy_name, spec in {
        "allow-dns": {**everything, "policyTypes": ["Egress"], "egress": [{
            "to": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}},
                    "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}}}],
            "ports": [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}]}]},
        "allow-https-out": {**everything, "policyTypes": ["Egress"], "egress": [{
            "to": [{"ipBlock": {"cidr": "0.0.0.0/0", "except": list(PRIVATE_RANGES)}}],
            "ports": [{"protocol": "TCP", "port": 443}]}]},
        "allow-own-data": {**everything, "policyTypes": ["Egress"], "egress": [{
            "to": [{"ipBlock": {"cidr": cidr}} for cidr in data_cidrs],
            "ports": [{"protocol": "TCP", "port": 5432}, {"protocol": "TCP", "port": 6379}]}]},
    }.items():
        network_policy(s, f"{prefix}-namespace-np-{policy_name}", parent, ns_name, spec, policy_name)


def role(s: Stack, name: str, parent: str, ns_name: str, rules: list[dict]) -> str:
    s.add(ROLE_K8S, name, {"metadata": {"namespace": ns_name, "name": name}, "rules": rules,
                           "id": f"{ns_name}/{name}"}, parent=parent)
    return name


def cluster_role(s: Stack, name: str, parent: str, rules: list[dict], labels: Optional[dict] = None) -> str:
    s.add(CLUSTER_ROLE, name, {"metadata": {"name": name, "labels": labels or {}}, "rules": rules, "id": name},
          parent=parent)
    return name


def subject(kind: str, name: str, namespace: str = "") -> dict:
    found = {"kind": kind, "name": name}
    if namespace:
        found["namespace"] = namespace
    else:
        found["apiGroup"] = "rbac.authorization.k8s.io"
    return found


def role_binding(s: Stack, name: str, parent: str, ns_name: Optional[str], role_kind: str, role_name: str,
                 subjects: list[dict]) -> str:
    """A RoleBinding in `ns_name`, or a ClusterRoleBinding when `ns_name` is None."""
    metadata = {"name": name} if ns_name is None else {"name": name, "namespace": ns_name}
    s.add(CLUSTER_ROLE_BINDING if ns_name is None else ROLE_BINDING, name, {
        "metadata": metadata, "subjects": subjects, "id": name if ns_name is None else f"{ns_name}/{name}",
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": role_kind, "name": role_name}}, parent=parent)
    return name


# -- network interfaces, routes, network ACLs and endpoints (test_isolation_network.py) ------------------
ENI = "aws:ec2/networkInterface:NetworkInterface"
INSTANCE = "aws:ec2/instance:Instance"
NAT_GATEWAY = "aws:ec2/natGateway:NatGateway"
ROUTE_TABLE = "aws:ec2/routeTable:RouteTable"
ROUTE = "aws:ec2/route:Route"
ROUTE_TABLE_ASSOCIATION = "aws:ec2/routeTableAssociation:RouteTableAssociation"
MAIN_ROUTE_TABLE_ASSOCIATION = "aws:ec2/mainRouteTableAssociation:MainRouteTableAssociation"
NACL = "aws:ec2/networkAcl:NetworkAcl"
NACL_ASSOCIATION = "aws:ec2/networkAclAssociation:NetworkAclAssociation"
NACL_RULE = "aws:ec2/networkAclRule:NetworkAclRule"
LOAD_BALANCER = "aws:lb/loadBalancer:LoadBalancer"
ENDPOINT = "aws:ec2/vpcEndpoint:VpcEndpoint"
ENDPOINT_SERVICE = "aws:ec2/vpcEndpointService:VpcEndpointService"
ALLOWED_PRINCIPAL = "aws:ec2/vpcEndpointServiceAllowedPrinciple:VpcEndpointServiceAllowedPrinciple"


def network_interface(s: Stack, name: str, parent: str, subnet_name: str, group_names: list[str],
                      tag_set: Optional[dict] = None) -> str:
    """An ENI in a subnet of the stack, in groups of the stack (by id, with their dependencies)."""
    eni_id = hex_id("eni", name)
    props = {"subnetId": s[subnet_name].props["id"], "securityGroups": [s[g].props["id"] for g in group_names],
             "id": eni_id, "arn": arn("ec2", f"network-interface/{eni_id}")}
    if tag_set is not None:
        props["tags"] = tag_set
    s.add(ENI, name, props, parent=parent, prop_deps={"subnetId": [subnet_name], "securityGroups": group_names})
    return name


def route_table(s: Stack, name: str, parent: str, vpc_name: str, routes: list[dict], subnet_names: list[str],
                tag_set: Optional[dict] = None, route_deps: Optional[list[str]] = None) -> str:
    """A route table with inline routes, associated with each subnet (one RouteTableAssociation each)."""
    table_id = hex_id("rtb", name)
    props = {"vpcId": s[vpc_name].props["id"], "routes": routes, "id": table_id,
             "arn": arn("ec2", f"route-table/{table_id}")}
    if tag_set is not None:
        props["tags"] = tag_set
    s.add(ROUTE_TABLE, name, props, parent=parent, prop_deps={"vpcId": [vpc_name], "routes": list(route_deps or [])})
    for i, subnet_name in enumerate(subnet_names):
        s.add(ROUTE_TABLE_ASSOCIATION, f"{name}-rta-{i}", {
            "subnetId": s[subnet_name].props["id"], "routeTableId": table_id, "id": hex_id("rtbassoc", f"{name}-{i}")},
            parent=parent, prop_deps={"subnetId": [subnet_name], "routeTableId": [name]})
    return name


def network_acl(s: Stack, name: str, parent: str, vpc_name: str, subnet_names: list[str],
                tag_set: Optional[dict] = None, ingress: Optional[list[dict]] = None) -> str:
    acl_id = hex_id("acl", name)
    props = {"vpcId": s[vpc_name].props["id"], "subnetIds": [s[n].props["id"] for n in subnet_names],
             "ingress": ingress or [], "egress": [], "id": acl_id, "arn": arn("ec2", f"network-acl/{acl_id}")}
    if tag_set is not None:
        props["tags"] = tag_set
    s.add(NACL, name, props, parent=parent, prop_deps={"vpcId": [vpc_name], "subnetIds": subnet_names})
    return name


def load_balancer(s: Stack, name: str, parent: str, subnet_names: list[str], tag_set: dict) -> str:
    """An internal network load balancer in the subnets."""
    lb_arn = arn("elasticloadbalancing", f"loadbalancer/net/{name}/{digest(name, 16)}")
    s.add(LOAD_BALANCER, name, {"loadBalancerType": "network", "internal": True, "tags": tag_set,
                                "subnets": [s[n].props["id"] for n in subnet_names], "arn": lb_arn, "id": lb_arn},
          parent=parent, prop_deps={"subnets": subnet_names})
    return name


def endpoint_service(s: Stack, name: str, parent: str, lb_name: str, tag_set: Optional[dict] = None,
                     **props) -> str:
    """A PrivateLink endpoint service in front of a network load balancer."""
    service_id = f"vpce-svc-{digest(name, 17)}"
    values = {"networkLoadBalancerArns": [s[lb_name].props["arn"]], "acceptanceRequired": False,
              "id": service_id, "arn": arn("ec2", f"vpc-endpoint-service/{service_id}"),
              "serviceName": f"com.amazonaws.vpce.{REGION}.{service_id}", **props}
    if tag_set is not None:
        values["tags"] = tag_set
    s.add(ENDPOINT_SERVICE, name, values, parent=parent, prop_deps={"networkLoadBalancerArns": [lb_name]})
    return name


def vpc_endpoint(s: Stack, name: str, parent: str, vpc_name: str, service_name: str, subnet_names: list[str],
                 group_names: list[str], tag_set: Optional[dict] = None, service: Optional[str] = None) -> str:
    """An interface endpoint in a VPC's subnets and groups, to `service_name` (the program's `service`,
    when given, as its dependency)."""
    endpoint_id = hex_id("vpce", name)
    props = {"vpcId": s[vpc_name].props["id"], "serviceName": service_name, "vpcEndpointType": "Interface",
             "subnetIds": [s[n].props["id"] for n in subnet_names],
             "securityGroupIds": [s[g].props["id"] for g in group_names],
             "id": endpoint_id, "arn": arn("ec2", f"vpc-endpoint/{endpoint_id}")}
    if tag_set is not None:
        props["tags"] = tag_set
    s.add(ENDPOINT, name, props, parent=parent,
          prop_deps={"vpcId": [vpc_name], "subnetIds": subnet_names, "securityGroupIds": group_names,
                     "serviceName": [service] if service else []})
    return name
