"""`tenancy audit`: is every tenant of the registry still isolated in the live account?

Read-only, with boto3 (so `AWS_ENDPOINT_URL` can point it at moto). Tenant resources are found by
their `tenant-id` tag (the Resource Groups Tagging API, and EC2's own tag filters for networks),
described, and judged against the registry. Every list call pages to the end.
"""

from __future__ import annotations

import ipaddress
import json
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from typing import Any, Optional

from tenancy.audit.graph_source import isolation_findings
from tenancy.registry.loader import Registry
from tenancy.registry.models import Service, Tier
from tenancy.registry.naming import ENVIRONMENT_TAG as ENV_TAG
from tenancy.registry.naming import TENANT_TAG, key_alias, role_name
from tenancy.registry.tiers import EffectiveTenant

DATA_PORTS = (5432, 3306, 6379)
HIGH, MEDIUM, LOW = "high", "medium", "low"
SEVERITY_ORDER = {HIGH: 0, MEDIUM: 1, LOW: 2}


@dataclass(frozen=True, order=True)
class Finding:
    severity: str
    tenant: str
    arn: str
    problem: str
    remedy: str


def _pages(client, operation: str, key: str, **kwargs) -> Iterable[Any]:
    for page in client.get_paginator(operation).paginate(**kwargs):
        yield from page.get(key, [])


def _tags(items) -> dict[str, str]:
    return {t["Key"]: t["Value"] for t in items or []}


@dataclass
class Inventory:
    """What the account holds for tenants of one environment, described once."""

    account: str
    region: str
    by_tenant: dict[str, list[dict]] = field(default_factory=lambda: defaultdict(list))  # ARN + type + tags
    keys: dict[str, dict] = field(default_factory=dict)  # key ARN -> metadata, rotation, policy
    queues: dict[str, dict] = field(default_factory=dict)  # queue ARN -> attributes
    databases: dict[str, dict] = field(default_factory=dict)
    caches: dict[str, dict] = field(default_factory=dict)
    cache_subnet_vpcs: dict[str, str] = field(default_factory=dict)
    groups: dict[str, dict] = field(default_factory=dict)  # sg id -> description
    vpcs: dict[str, dict] = field(default_factory=dict)
    subnets: dict[str, dict] = field(default_factory=dict)
    network: dict[str, list] = field(default_factory=dict)  # kind -> every VPC, subnet or security group

    def arns(self, tenant: str, kind: str) -> list[str]:
        return [r["arn"] for r in self.by_tenant.get(tenant, []) if r["kind"] == kind]


def _kind(arn: str) -> str:
    parts = arn.split(":")
    service, rest = parts[2], ":".join(parts[5:])
    if service == "rds":
        return "rds:" + rest.split(":")[0]
    if service == "elasticache":
        return "elasticache:" + rest.split(":")[0]
    if service == "kms":
        return "kms:" + rest.split("/")[0]
    return service


def collect(session, environment: str) -> Inventory:
    """Everything tagged with a tenant id in `environment`, with the descriptions the checks need."""
    account = session.client("sts").get_caller_identity()["Account"]
    inv = Inventory(account=account, region=session.region_name)
    tagging = session.client("resourcegroupstaggingapi")
    for item in _pages(tagging, "get_resources", "ResourceTagMappingList",
                       TagFilters=[{"Key": TENANT_TAG}, {"Key": ENV_TAG, "Values": [environment]}]):
        tags = _tags(item.get("Tags"))
        inv.by_tenant[tags[TENANT_TAG]].append({"arn": item["ResourceARN"], "kind": _kind(item["ResourceARN"]),
                                                "tags": tags})
    ec2 = session.client("ec2")
    for kind, operation, key, id_key in (("ec2:security-group", "describe_security_groups", "SecurityGroups", "GroupId"),
                                         ("ec2:vpc", "describe_vpcs", "Vpcs", "VpcId"),
                                         ("ec2:subnet", "describe_subnets", "Subnets", "SubnetId")):
        store = {"ec2:security-group": inv.groups, "ec2:vpc": inv.vpcs, "ec2:subnet": inv.subnets}[kind]
        # every one (the isolation graph needs the untagged ones too), the tenants' kept by their tags
        inv.network[kind] = list(_pages(ec2, operation, key))
        for item in inv.network[kind]:
            tags = _tags(item.get("Tags"))
            if TENANT_TAG not in tags or tags.get(ENV_TAG) != environment:
                continue
            store[item[id_key]] = {**item, "tenant": tags[TENANT_TAG]}
            arn = f"arn:aws:ec2:{inv.region}:{account}:{kind.split(':')[1]}/{item[id_key]}"
            inv.by_tenant[tags[TENANT_TAG]].append({"arn": arn, "kind": kind, "tags": tags, "id": item[id_key]})
    kms = session.client("kms")
    for items in inv.by_tenant.values():
        for r in items:
            if r["kind"] == "kms:key":
                meta = kms.describe_key(KeyId=r["arn"])["KeyMetadata"]
                inv.keys[r["arn"]] = {
                    "meta": meta, "rotation": kms.get_key_rotation_status(KeyId=r["arn"])["KeyRotationEnabled"],
                    "policy": json.loads(kms.get_key_policy(KeyId=r["arn"], PolicyName="default")["Policy"])}
    sqs = session.client("sqs")
    for items in inv.by_tenant.values():
        for r in items:
            if r["kind"] == "sqs":
                name, owner = r["arn"].split(":")[5], r["arn"].split(":")[4]
                url = sqs.get_queue_url(QueueName=name, QueueOwnerAWSAccountId=owner)["QueueUrl"]
                inv.queues[r["arn"]] = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    for db in _pages(session.client("rds"), "describe_db_instances", "DBInstances"):
        inv.databases[db["DBInstanceArn"]] = db
    elasticache = session.client("elasticache")
    for group in _pages(elasticache, "describe_replication_groups", "ReplicationGroups"):
        inv.caches[group["ARN"]] = group
    for group in _pages(elasticache, "describe_cache_subnet_groups", "CacheSubnetGroups"):
        inv.cache_subnet_vpcs[group["CacheSubnetGroupName"]] = group.get("VpcId", "")
    return inv


class Auditor:
    """The checks, over one inventory and the registry's tenants of its environment."""

    def __init__(self, inv: Inventory, registry: Registry, environment: str, kms_client, cell: Optional[str] = None):
        self.inv, self.environment, self.kms = inv, environment, kms_client
        expected = registry.in_cell(environment, cell) if cell else registry.in_environment(environment)
        self.tenants = {t.id: t for t in expected}
        self.known_ids = {t.id for t in registry.tenants}
        self.findings: list[Finding] = []
        self._key_arn_cache: dict[str, Optional[str]] = {}
        self.group_owner = {gid: g["tenant"] for gid, g in inv.groups.items()}
        self.vpc_owner = {vid: v["tenant"] for vid, v in inv.vpcs.items()}

    def add(self, severity: str, tenant: str, arn: str, problem: str, remedy: str) -> None:
        self.findings.append(Finding(severity, tenant, arn, problem, remedy))

    # -- helpers --------------------------------------------------------------------------------
    def key_arn(self, key_ref: str) -> Optional[str]:
        """A key id, ARN or alias as a key ARN (None when it names no key we can see)."""
        if not key_ref:
            return None
        if key_ref not in self._key_arn_cache:
            try:
                self._key_arn_cache[key_ref] = self.kms.describe_key(KeyId=key_ref)["KeyMetadata"]["Arn"]
            except Exception:  # noqa: BLE001 - an unknown or foreign key is reported by the caller
                self._key_arn_cache[key_ref] = None
        return self._key_arn_cache[key_ref]

    def own_key(self, tenant_id: str) -> Optional[str]:
        keys = self.inv.arns(tenant_id, "kms:key")
        return keys[0] if keys else None

    def role_arn(self, tenant_id: str) -> str:
        return f"arn:aws:iam::{self.inv.account}:role/{role_name(self.environment, tenant_id)}"

    def other_tenant_of_principal(self, principal: str, tenant_id: str) -> Optional[str]:
        for other in self.known_ids - {tenant_id}:
            if principal == self.role_arn(other):
                return other
        return None

    def principals(self, statement: dict) -> list[str]:
        principal = statement.get("Principal")
        if principal == "*":
            return ["*"]
        if isinstance(principal, dict):
            values = principal.get("AWS", [])
            return [values] if isinstance(values, str) else list(values)
        return []

    # -- checks ---------------------------------------------------------------------------------
    def run(self) -> list[Finding]:
        for tenant_id in sorted(set(self.inv.by_tenant) - self.known_ids):
            for r in self.inv.by_tenant[tenant_id]:
                self.add(MEDIUM, tenant_id, r["arn"], f"tagged with tenant id {tenant_id!r}, which the registry "
                         "does not know (orphan)", "Delete it, or add the tenant back to the registry.")
        for _, tenant in sorted(self.tenants.items()):
            self.check_key(tenant)
            self.check_queues(tenant)
            self.check_database(tenant)
            self.check_cache(tenant)
            self.check_groups(tenant)
            if tenant.tier(Service.network) is Tier.isolated:
                self.check_isolated_placement(tenant)
        return sorted(self.findings, key=lambda f: (SEVERITY_ORDER[f.severity], f.tenant, f.arn, f.problem))

    def missing(self, tenant: EffectiveTenant, what: str) -> None:
        self.add(HIGH, tenant.id, "-", f"expected {what} is missing", "Run `pulumi up` for the tenant's stack.")

    def check_key(self, tenant: EffectiveTenant) -> None:
        keys = self.inv.arns(tenant.id, "kms:key")
        if not keys:
            self.missing(tenant, f"KMS key ({key_alias(self.environment, tenant.id)})")
        for arn in keys:
            key = self.inv.keys[arn]
            if key["meta"].get("KeyState") != "Enabled":
                self.add(HIGH, tenant.id, arn, f"the tenant's key is {key['meta'].get('KeyState')}",
                         "Enable the key (or cancel its deletion); the tenant's data is unreadable without it.")
            if not key["rotation"]:
                self.add(MEDIUM, tenant.id, arn, "key rotation is off", "Enable automatic key rotation.")
            self.check_policy(tenant, arn, key["policy"], "key policy")

    def check_policy(self, tenant: EffectiveTenant, arn: str, policy: dict, what: str) -> None:
        statements = policy.get("Statement", [])
        for statement in statements if isinstance(statements, list) else [statements]:
            if statement.get("Effect") != "Allow":
                continue
            for principal in self.principals(statement):
                other = self.other_tenant_of_principal(principal, tenant.id)
                if other:
                    self.add(HIGH, tenant.id, arn, f"the {what} grants tenant {other}'s role", "Remove the statement.")
                elif principal == "*" and not statement.get("Condition"):
                    self.add(HIGH, tenant.id, arn, f"the {what} grants anyone", "Name the tenant's role instead.")
                elif principal.startswith("arn:") and principal.split(":")[4] not in ("", self.inv.account):
                    self.add(HIGH, tenant.id, arn, f"the {what} grants a foreign principal {principal}",
                             "Remove the statement.")
                elif principal.isdigit() and principal != self.inv.account:
                    self.add(HIGH, tenant.id, arn, f"the {what} grants account {principal}", "Remove the statement.")

    def check_queues(self, tenant: EffectiveTenant) -> None:
        queues = self.inv.arns(tenant.id, "sqs")
        own_key = self.own_key(tenant.id)
        dead_letter = {json.loads(q["RedrivePolicy"])["deadLetterTargetArn"]
                       for q in (self.inv.queues[a] for a in queues) if q.get("RedrivePolicy")}
        if len(queues) < 2:
            self.missing(tenant, "queue and dead-letter queue")
        for arn in queues:
            attributes = self.inv.queues[arn]
            key = self.key_arn(attributes.get("KmsMasterKeyId", ""))
            if key is None or key != own_key:
                self.add(HIGH, tenant.id, arn, "the queue is not encrypted with the tenant's key",
                         f"Set KmsMasterKeyId to {own_key or 'the tenant key'}.")
            if arn not in dead_letter and not attributes.get("RedrivePolicy"):
                self.add(MEDIUM, tenant.id, arn, "the queue has no dead-letter queue", "Set a RedrivePolicy.")
            if attributes.get("Policy"):
                self.check_policy(tenant, arn, json.loads(attributes["Policy"]), "queue policy")

    def check_database(self, tenant: EffectiveTenant) -> None:
        if tenant.tier(Service.database) is Tier.shared:
            return
        arns = self.inv.arns(tenant.id, "rds:db")
        if not arns:
            self.missing(tenant, "database")
        own_key = self.own_key(tenant.id)
        for arn in arns:
            db = self.inv.databases.get(arn, {})
            if not db.get("StorageEncrypted") or self.key_arn(db.get("KmsKeyId", "")) != own_key:
                self.add(HIGH, tenant.id, arn, "the database is not encrypted with the tenant's key",
                         "Restore it from an encrypted snapshot with the tenant's key.")
            if db.get("PubliclyAccessible"):
                self.add(HIGH, tenant.id, arn, "the database is publicly accessible", "Set PubliclyAccessible false.")
            if not db.get("DeletionProtection"):
                self.add(HIGH, tenant.id, arn, "the database has no deletion protection", "Enable deletion protection.")

    def check_cache(self, tenant: EffectiveTenant) -> None:
        if tenant.tier(Service.cache) is Tier.shared:
            return
        arns = self.inv.arns(tenant.id, "elasticache:replicationgroup")
        if not arns:
            self.missing(tenant, "cache replication group")
        for arn in arns:
            group = self.inv.caches.get(arn, {})
            if not group.get("AtRestEncryptionEnabled"):
                self.add(HIGH, tenant.id, arn, "the cache is not encrypted at rest", "Recreate it with at-rest encryption.")
            if not group.get("TransitEncryptionEnabled"):
                self.add(HIGH, tenant.id, arn, "the cache accepts unencrypted connections", "Enable in-transit encryption.")

    def check_groups(self, tenant: EffectiveTenant) -> None:
        blocks = {t.id: ipaddress.ip_network(t.tenant.network.cidr) for t in self.tenants.values() if t.tenant.network}
        for gid, group in self.inv.groups.items():
            if group["tenant"] != tenant.id:
                continue
            arn = f"arn:aws:ec2:{self.inv.region}:{self.inv.account}:security-group/{gid}"
            for rule in group.get("IpPermissions", []):
                ports = (rule.get("FromPort", 0), rule.get("ToPort", 65535))
                on_data_port = rule.get("IpProtocol") == "-1" or any(ports[0] <= p <= ports[1] for p in DATA_PORTS)
                for pair in rule.get("UserIdGroupPairs", []):
                    other = self.group_owner.get(pair.get("GroupId"))
                    if other and other != tenant.id:
                        self.add(HIGH, tenant.id, arn, f"admits tenant {other}'s security group {pair['GroupId']}",
                                 "Remove the rule.")
                for ip_range in rule.get("IpRanges", []) + [{"CidrIp": r["CidrIpv6"]} for r in rule.get("Ipv6Ranges", [])]:
                    cidr = ip_range.get("CidrIp", "")
                    net = ipaddress.ip_network(cidr, strict=False)
                    if cidr in ("0.0.0.0/0", "::/0") and on_data_port:
                        self.add(HIGH, tenant.id, arn, f"admits the whole internet ({cidr}) on a data port",
                                 "Remove the rule; admit the tenant's app security group.")
                        continue
                    for other, block in blocks.items():
                        if other != tenant.id and net.version == block.version and net.overlaps(block):
                            self.add(HIGH, tenant.id, arn, f"admits tenant {other}'s addresses {cidr}",
                                     "Remove the rule.")

    def check_isolated_placement(self, tenant: EffectiveTenant) -> None:
        own = {vid for vid, owner in self.vpc_owner.items() if owner == tenant.id}
        if not own:
            self.missing(tenant, "VPC of its own")
            return
        placed: list[tuple[str, str]] = []
        placed += [(f"arn:aws:ec2:{self.inv.region}:{self.inv.account}:security-group/{gid}", g.get("VpcId", ""))
                   for gid, g in self.inv.groups.items() if g["tenant"] == tenant.id]
        placed += [(f"arn:aws:ec2:{self.inv.region}:{self.inv.account}:subnet/{sid}", s.get("VpcId", ""))
                   for sid, s in self.inv.subnets.items() if s["tenant"] == tenant.id]
        for arn in self.inv.arns(tenant.id, "rds:db"):
            placed.append((arn, (self.inv.databases.get(arn, {}).get("DBSubnetGroup") or {}).get("VpcId", "")))
        for arn in self.inv.arns(tenant.id, "elasticache:replicationgroup"):
            group = self.inv.caches.get(arn, {})
            members = group.get("MemberClusters") or []
            subnet_group = group.get("CacheSubnetGroupName") or ""
            placed.append((arn, self.inv.cache_subnet_vpcs.get(subnet_group, "") if subnet_group or members else ""))
        for arn, vpc in placed:
            if vpc and vpc not in own:
                self.add(HIGH, tenant.id, arn, f"the isolated tenant's resource sits in {vpc}, outside its own VPC",
                         "Recreate it in the tenant's VPC.")


def audit(session, registry: Registry, environment: str, cluster: Iterable[Any] = (),
          cell: Optional[str] = None) -> list[Finding]:
    """The account's findings; `cluster`: a Kubernetes cluster's resources (cluster_source), judged
    in the same isolation graph; `cell`: only that cell's tenants are expected in the account (any
    tenant of the registry is still known, not an orphan)."""
    inventory = collect(session, environment)
    auditor = Auditor(inventory, registry, environment, session.client("kms"), cell)
    found = auditor.run()
    found += isolation_findings(session, inventory, auditor.tenants.values(), Finding, cluster)
    return sorted(set(found), key=lambda f: (SEVERITY_ORDER[f.severity], f.tenant, f.arn, f.problem))


def render_table(findings: list[Finding], environment: str, tenants: int) -> str:
    high = sum(1 for f in findings if f.severity == HIGH)
    lines = [f"tenancy audit of {environment}: {tenants} tenants, {len(findings)} findings ({high} high)"]
    for f in findings:
        lines += [f"  [{f.severity}] {f.tenant}: {f.problem}", f"      {f.arn}", f"      fix: {f.remedy}"]
    return "\n".join(lines)


def render_json(findings: list[Finding], environment: str, tenants: int) -> str:
    return json.dumps({"version": 1, "environment": environment, "tenants": tenants,
                       "high": sum(1 for f in findings if f.severity == HIGH),
                       "findings": [asdict(f) for f in findings]}, indent=2)
