"""Account capacity: what a plan needs of one account and region against AWS's service quotas, and
how many more tenants of each tier fit.

Counted from the plan's own registrations (so it is exactly what `pulumi up` would create), per
quota scope: the region, a VPC, a security group, an availability zone, an AppConfig application,
an ElastiCache user group. Defaults are AWS's documented default quotas; a stack raises one with
`tenancy:quotas: {<code or name>: <value>}` once AWS has granted it.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from tenancy.plan.harness import Recording, Registration
from tenancy.registry.naming import TENANT_COMPONENT_TYPE, TENANT_TAG

QUOTAS_DOC = "https://docs.aws.amazon.com/general/latest/gr/aws_service_limits.html"


@dataclass(frozen=True)
class Quota:
    key: str  # our name for it
    name: str  # AWS's name, as Service Quotas shows it
    default: int
    code: str  # the Service Quotas code to request an increase with ("" where AWS has none)
    scope: str  # region, account, vpc, security group, zone, application, user group


QUOTAS = {q.key: q for q in (
    Quota("vpcs", "VPCs per Region", 5, "L-F678F1CE", "region"),
    Quota("eips", "EC2-VPC Elastic IPs", 5, "L-0263D0A3", "region"),
    Quota("nat-per-zone", "NAT gateways per Availability Zone", 5, "L-FE5A380F", "zone"),
    Quota("igws", "Internet gateways per Region", 5, "L-A4707A72", "region"),
    Quota("security-groups", "VPC security groups per Region", 2500, "L-E79EC296", "region"),
    Quota("rules-per-group", "Inbound or outbound rules per security group", 60, "L-0EA8095F", "security group"),
    Quota("subnets-per-vpc", "Subnets per VPC", 200, "L-407747CB", "vpc"),
    Quota("route-tables-per-vpc", "Route tables per VPC", 200, "L-589F43AA", "vpc"),
    Quota("acls-per-vpc", "Network ACLs per VPC", 200, "L-B4A6D682", "vpc"),
    Quota("rds-instances", "DB instances", 40, "L-7B6409FD", "region"),
    Quota("cache-nodes", "ElastiCache nodes per Region", 300, "L-8C334AD1", "region"),
    Quota("cache-users-per-group", "ElastiCache users per user group", 100, "", "user group"),
    Quota("cache-user-groups", "ElastiCache user groups per Region", 100, "", "region"),
    Quota("iam-roles", "IAM roles per account", 1000, "L-FE177D64", "account"),
    Quota("kms-keys", "KMS customer managed keys per Region", 100000, "L-C2F1777E", "region"),
    Quota("appconfig-applications", "AppConfig applications per Region", 100, "", "region"),
    Quota("appconfig-environments", "AppConfig environments per application", 20, "", "application"),
    Quota("budgets", "AWS Budgets per account", 20000, "", "account"),
    Quota("usage-plans", "API Gateway usage plans per Region", 300, "", "region"),
    Quota("api-keys", "API Gateway API keys per Region", 10000, "", "region"),
)}

Usage = Counter  # (quota key, scope id) -> count


def _text(value) -> str:
    return value if isinstance(value, str) else ""


def _scope(value, r: Registration) -> str:
    """The scope a resource counts in; in preview an id not known yet is counted on its own (a
    partial count, never a false alarm)."""
    return value if isinstance(value, str) and value else f"(not known yet: {r.name})"


def usage(registrations: Iterable[Registration]) -> Usage:
    """What these registrations take of each quota, per scope."""
    regs = [r for r in registrations if r.custom]
    used: Usage = Counter()
    subnet_zone = {r.id: _scope(r.input("availabilityZone"), r) for r in regs
                   if r.type == "aws:ec2/subnet:Subnet" and r.id}
    for r in regs:
        t = r.type
        vpc = _scope(r.input("vpcId"), r)
        if t == "aws:ec2/vpc:Vpc":
            used[("vpcs", "")] += 1
            vpc_id = r.id or r.urn
            used[("route-tables-per-vpc", vpc_id)] += 1  # its main route table
            used[("acls-per-vpc", vpc_id)] += 1  # its default network ACL
            used[("security-groups", "")] += 1  # its default security group
        elif t == "aws:ec2/eip:Eip":
            used[("eips", "")] += 1
        elif t == "aws:ec2/natGateway:NatGateway":
            subnet = _text(r.input("subnetId"))
            zone = subnet_zone.get(subnet) if subnet else None
            used[("nat-per-zone", zone or _scope(None, r))] += 1
        elif t == "aws:ec2/internetGateway:InternetGateway":
            used[("igws", "")] += 1
        elif t == "aws:ec2/securityGroup:SecurityGroup":
            used[("security-groups", "")] += 1
        elif t in ("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
                   "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule"):
            direction = "in" if "Ingress" in t else "out"
            used[("rules-per-group", f"{_scope(r.input('securityGroupId'), r)} ({direction})")] += 1
        elif t == "aws:ec2/subnet:Subnet":
            used[("subnets-per-vpc", vpc)] += 1
        elif t == "aws:ec2/routeTable:RouteTable":
            used[("route-tables-per-vpc", vpc)] += 1
        elif t == "aws:ec2/networkAcl:NetworkAcl":
            used[("acls-per-vpc", vpc)] += 1
        elif t == "aws:rds/instance:Instance":
            used[("rds-instances", "")] += 1
        elif t == "aws:elasticache/replicationGroup:ReplicationGroup":
            nodes = r.input("numCacheClusters")
            used[("cache-nodes", "")] += int(nodes) if isinstance(nodes, (int, float)) else 1
        elif t == "aws:elasticache/userGroup:UserGroup":
            used[("cache-user-groups", "")] += 1
            group = _text(r.input("userGroupId"))
            used[("cache-users-per-group", group)] += len(r.input("userIds") or [])
        elif t == "aws:elasticache/userGroupAssociation:UserGroupAssociation":
            used[("cache-users-per-group", _text(r.input("userGroupId")))] += 1
        elif t == "aws:iam/role:Role":
            used[("iam-roles", "")] += 1
        elif t == "aws:kms/key:Key":
            used[("kms-keys", "")] += 1
        elif t == "aws:appconfig/application:Application":
            used[("appconfig-applications", "")] += 1
            used[("appconfig-environments", r.id)] += 0  # an empty application still has room
        elif t == "aws:appconfig/environment:Environment":
            used[("appconfig-environments", _scope(r.input("applicationId"), r))] += 1
        elif t == "aws:budgets/budget:Budget":
            used[("budgets", "")] += 1
        elif t == "aws:apigateway/usagePlan:UsagePlan":
            used[("usage-plans", "")] += 1
        elif t == "aws:apigateway/apiKey:ApiKey":
            used[("api-keys", "")] += 1
    return used


@dataclass(frozen=True)
class Line:
    quota: Quota
    scope: str
    used: int
    limit: int

    @property
    def exceeded(self) -> bool:
        return self.used > self.limit

    def as_dict(self) -> dict:
        return {"quota": self.quota.name, "code": self.quota.code, "scope": self.quota.scope,
                "scopeId": self.scope, "used": self.used, "limit": self.limit}

    def __str__(self) -> str:
        where = f" ({self.quota.scope} {self.scope})" if self.scope else ""
        ask = f"request quota {self.quota.code}" if self.quota.code else "request it in Service Quotas or support"
        return f"{self.quota.name}{where}: needs {self.used}, {self.limit} available; {ask}"


@dataclass(frozen=True)
class Capacity:
    lines: list[Line]  # the fullest scope of every quota the plan uses
    fits: dict[str, int]  # tier -> how many more tenants of it fit (tiers with a tenant in the plan)

    @property
    def exceeded(self) -> list[Line]:
        return [line for line in self.lines if line.exceeded]

    def as_dict(self) -> dict:
        return {"passed": not self.exceeded, "quotas": [line.as_dict() for line in self.lines],
                "moreTenantsFit": self.fits}


def limits(raised: Mapping[str, int] | None = None) -> dict[str, int]:
    """Each quota's value: the default, or what the stack says AWS has granted (by code or name)."""
    raised = raised or {}
    return {key: int(raised.get(q.code) or raised.get(q.name) or raised.get(key) or q.default)
            for key, q in QUOTAS.items()}


def _tenants(rec: Recording) -> dict[str, list[Registration]]:
    """Each tier's planned tenants' resources, by isolation tier (the tenant component's tag)."""
    by_tier: dict[str, list[Registration]] = {}
    for component in rec.of_type(TENANT_COMPONENT_TYPE):
        tags = component.inputs.get("tags") or {}
        if tags.get(TENANT_TAG):
            by_tier.setdefault(tags.get("isolation", "?"), []).append(component)
    return {tier: components for tier, components in by_tier.items()}


def capacity(rec: Recording, raised: Mapping[str, int] | None = None) -> Capacity:
    caps = limits(raised)
    used = usage(rec.registrations)
    fullest: dict[str, tuple[str, int]] = {}
    for (key, scope), count in used.items():
        if key not in fullest or count > fullest[key][1]:
            fullest[key] = (scope, count)
    lines = [Line(QUOTAS[key], scope, count, caps[key]) for key, (scope, count) in sorted(fullest.items())]
    fits: dict[str, int] = {}
    for tier, components in sorted(_tenants(rec).items()):
        tenant = components[-1]  # a tenant of this tier as planned: what one more would add
        own = {r.urn for r in rec.descendants(tenant.urn)}
        without = usage(r for r in rec.registrations if r.urn not in own)
        fits[tier] = _how_many_more(used, without, caps)
    return Capacity(lines, fits)


def _how_many_more(full: Usage, without: Usage, caps: dict[str, int]) -> int:
    """How many more copies of the difference `full - without` fit under every quota. A scope only
    that tenant uses (its own VPC, its own user group) is new for each copy, so it only has to fit."""
    more = math.inf
    for (key, scope), count in full.items():
        delta = count - without.get((key, scope), 0)
        if delta <= 0:
            continue
        if (key, scope) not in without and QUOTAS[key].scope not in ("region", "account", "zone"):
            if delta > caps[key]:
                return 0
            continue
        if QUOTAS[key].scope == "application":  # tenants spread over the flags applications by hash
            spread = [(caps[key] - n) for (k, _), n in full.items() if k == key]
            more = min(more, sum(spread) // delta)
            continue
        more = min(more, (caps[key] - count) // delta)
    return max(0, int(more)) if more != math.inf else 10**9  # nothing quota-bound: practically unlimited
