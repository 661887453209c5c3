"""Rules over the whole stack: ownership, references and addresses across tenants. Each takes an
`Index` of the stack's resources and the policy's config and returns (message, urn) pairs."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from ipaddress import ip_network
from typing import Any

from .graph import actions
from .graph import network as graph_network
from .graph.network import CIDR_ASSOCIATION, SG_INGRESS, SG_RULE, SUBNET, VPC
from .ownership import Index, owner, tag
from .props import (
    OPEN_CIDRS,
    REQUIRED_TAGS,
    UNKNOWN,
    as_list,
    network,
    not_judged,
    peek,
    policy_document,
    port_range_includes,
    statements,
    strings_in,
)
from .taggable import taggable_types

Found = Iterator[tuple[str, str]]
Config = Mapping[str, Any]

FLOW_LOG = "aws:ec2/flowLog:FlowLog"
QUEUE = "aws:sqs/queue:Queue"
RDS_INSTANCE = "aws:rds/instance:Instance"
PARAMETER_GROUP = "aws:rds/parameterGroup:ParameterGroup"
REPLICATION_GROUP = "aws:elasticache/replicationGroup:ReplicationGroup"
KMS_KEY = "aws:kms/key:Key"
KMS_ALIAS = "aws:kms/alias:Alias"
KEY_PROPERTIES = ("kmsKeyId", "kmsMasterKeyId", "performanceInsightsKmsKeyId")
# network type tokens: one home, the isolation graph's
SECURITY_GROUP = graph_network.SG
PEERING, TGW_ATTACHMENT = (graph_network.PEERING,), (graph_network.TGW_ATTACHMENT,)
IAM_POLICIES = ("aws:iam/rolePolicy:RolePolicy", "aws:iam/policy:Policy", "aws:iam/userPolicy:UserPolicy",
                "aws:iam/groupPolicy:GroupPolicy")
IAM_ROLE = "aws:iam/role:Role"
TENANT_COMPONENT = "tenancy:tenant:Tenant"  # the program's tenant component (tenancy.registry.naming)
DATA_ACTIONS = ("kms:decrypt", "kms:encrypt", "kms:generatedatakey", "kms:reencrypt", "sqs:",
                "secretsmanager:getsecretvalue", "elasticache:connect", "rds-db:connect")
# AWS resources that take tags; the engine omits `tags` when none are set, so presence can't tell.


def _targets(index: Index, resource, key: str):
    """The resources a property points at: through its property dependencies and by its value, both
    (a value computed inside an apply on one resource may name another: neither side is believed
    over the other)."""
    found = list(resource.property_dependencies.get(key, []))
    seen = {t.urn for t in found}
    for value in strings_in(peek(resource.props, key)):
        named = index.named(value)
        if named is not None and named.urn not in seen:
            seen.add(named.urn)
            found.append(named)
    return found


def _key_targets(index: Index, resource, key: str):
    """The KMS keys a property names: directly, or through an alias (its targetKeyId)."""
    keys, seen = [], set()
    for target in _targets(index, resource, key):
        candidates = _targets(index, target, "targetKeyId") if target.resource_type == KMS_ALIAS else [target]
        for candidate in candidates:
            if candidate.resource_type == KMS_KEY and candidate.urn not in seen:
                seen.add(candidate.urn)
                keys.append(candidate)
    return keys


def tenant_tags(index: Index, config: Config) -> Found:
    """Every taggable resource of a tenant (pulumi-aws's own list: `taggable`) carries the required
    tags, and its tenant-id is the tenant of the component it sits in."""
    taggable = taggable_types()
    for r in index.resources:
        tenant = index.tenant(r)
        if tenant is None or r.resource_type not in taggable:
            continue
        tags = peek(r.props, "tags", default={})
        if tags is UNKNOWN:
            continue
        missing = [t for t in REQUIRED_TAGS if t not in set(tags)]
        placed = owner(r.parent) if r.parent is not None else None  # by its ancestors, not its own tag
        if missing:
            yield f"{r.name} belongs to tenant {tenant} but lacks the tags {', '.join(missing)}", r.urn
        elif tags["tenant-id"] != tenant:
            yield f"{r.name} is tagged tenant-id={tags['tenant-id']} but belongs to tenant {tenant}", r.urn
        elif placed not in (None, tenant):
            yield (f"{r.name} is tagged tenant-id={tags['tenant-id']} but sits in tenant {placed}'s component"), r.urn


def no_cross_tenant_references(index: Index, config: Config) -> Found:
    for r in index.resources:
        tenant = index.tenant(r)
        if tenant is None:
            continue
        seen = set()
        for dep in index.dependencies(r):
            other = index.tenant(dep)
            if other not in (None, tenant) and dep.urn not in seen:
                seen.add(dep.urn)
                yield f"{r.name} of tenant {tenant} depends on {dep.name} of tenant {other}", r.urn
        for key in set(r.props):
            for value in strings_in(peek(r.props, key)):
                for named in index.matching(value):  # exactly, by a trailing wildcard, or an ARN pattern
                    other = index.tenant(named)
                    if other not in (None, tenant) and named.urn not in seen:
                        seen.add(named.urn)
                        yield f"{r.name}.{key} of tenant {tenant} names {named.name} of tenant {other}", r.urn


def one_key_per_tenant(index: Index, config: Config) -> Found:
    users: dict[str, set[str]] = {}
    for r in index.resources:
        tenant = index.tenant(r)
        for key in KEY_PROPERTIES:
            if key not in set(r.props) or peek(r.props, key) is None:
                continue
            for target in _key_targets(index, r, key):
                key_owner = index.tenant(target)
                if tenant is not None and key_owner != tenant:
                    yield (f"{r.name} of tenant {tenant} is encrypted with {target.name}, "
                           f"the key of {key_owner or 'the platform'}"), r.urn
                if tenant is not None:
                    users.setdefault(target.urn, set()).add(tenant)
    for key_urn, tenants in users.items():
        if len(tenants) > 1:
            yield f"one key serves several tenants: {', '.join(sorted(tenants))}", key_urn


def vpc_flow_logs(index: Index, config: Config) -> Found:
    logged = set()
    for log in index.of_type(FLOW_LOG):
        logged.update(t.urn for t in _targets(index, log, "vpcId"))
    for vpc in index.of_type(VPC):
        if vpc.urn not in logged:
            yield f"{vpc.name} has no flow log", vpc.urn


def tenant_cidrs_no_overlap(index: Index, config: Config) -> Found:
    """VPCs, their secondary blocks and subnets of different tenants never overlap."""
    blocks = []
    for r in index.of_type(VPC, SUBNET, CIDR_ASSOCIATION):
        tenant = index.tenant(r)
        net = network(peek(r.props, "cidrBlock"))
        if tenant is not None and net is not None:
            blocks.append((tenant, net, r))
    # by tenant (stably): the same pair is reported the same way whatever order the engine registered it in
    blocks.sort(key=lambda block: block[0])
    for i, j in _overlapping([net for _, net, _ in blocks]):
        (ta, na, ra), (tb, nb, rb) = blocks[i], blocks[j]
        if ta != tb:
            yield f"{rb.name} ({nb}) of tenant {tb} overlaps {ra.name} ({na}) of tenant {ta}", rb.urn


def _overlapping(nets: list) -> list[tuple[int, int]]:
    """The pairs (i < j) of blocks that overlap, in order: each block against those that start
    inside it, in address order (blocks nest, so no others can overlap it)."""
    order = sorted(range(len(nets)), key=lambda k: (int(nets[k].network_address), -nets[k].num_addresses))
    pairs = []
    for position, i in enumerate(order):
        last = int(nets[i].broadcast_address)
        for j in order[position + 1:]:
            if int(nets[j].network_address) > last:
                break
            pairs.append((min(i, j), max(i, j)))
    return sorted(pairs)


def _vpc_of(index: Index, resource) -> list:
    """The VPC a resource sits in: directly (vpcId), or through its subnets or subnet group."""
    vpcs = [t for t in _targets(index, resource, "vpcId") if t.resource_type == VPC]
    if vpcs:
        return vpcs
    for key in ("subnetIds", "subnetId", "dbSubnetGroupName", "subnetGroupName"):
        for target in _targets(index, resource, key):
            if target is not resource:
                vpcs.extend(_vpc_of(index, target))
    return vpcs


def isolated_tenant_in_own_vpc(index: Index, config: Config) -> Found:
    """An isolated tenant's tier comes from its tenant component (the program's), not from a tag each
    resource sets on itself: a resource tagged with another tier is still the isolated tenant's."""
    isolated = {index.tenant(c) for c in index.of_type(TENANT_COMPONENT)
                if peek(c.props, "tags", "isolation", default=None) == "isolated"}
    kinds = (SUBNET, SECURITY_GROUP, RDS_INSTANCE, REPLICATION_GROUP)
    for r in index.of_type(*kinds):
        tenant = index.tenant(r)
        if tenant is None or (tenant not in isolated and tag(r, "isolation") != "isolated"):
            continue
        for vpc in _vpc_of(index, r):
            if index.tenant(vpc) != tenant:
                yield f"{r.name} of isolated tenant {tenant} sits in {vpc.name}, not in the tenant's own VPC", r.urn


def _ingress_rules(index: Index) -> Iterator[tuple[Any, Any, dict]]:
    """(rule resource, target group resource or None, normalized rule) for every ingress rule."""
    for group in index.of_type(SECURITY_GROUP):
        for rule in as_list(peek(group.props, "ingress")):
            yield group, group, {"from": peek(rule, "fromPort"), "to": peek(rule, "toPort"), "protocol": peek(rule, "protocol"),
                                 "cidrs": as_list(peek(rule, "cidrBlocks")) + as_list(peek(rule, "ipv6CidrBlocks")),
                                 "groups": as_list(peek(rule, "securityGroups"))}
    for rule in index.of_type(SG_RULE):
        if peek(rule.props, "type") != "ingress":
            continue
        targets = _targets(index, rule, "securityGroupId")
        yield rule, targets[0] if targets else None, {
            "from": peek(rule.props, "fromPort"), "to": peek(rule.props, "toPort"), "protocol": peek(rule.props, "protocol"),
            "cidrs": as_list(peek(rule.props, "cidrBlocks")) + as_list(peek(rule.props, "ipv6CidrBlocks")),
            "groups": as_list(peek(rule.props, "sourceSecurityGroupId"))}
    for rule in index.of_type(SG_INGRESS):
        targets = _targets(index, rule, "securityGroupId")
        yield rule, targets[0] if targets else None, {
            "from": peek(rule.props, "fromPort"), "to": peek(rule.props, "toPort"), "protocol": peek(rule.props, "ipProtocol"),
            "cidrs": as_list(peek(rule.props, "cidrIpv4")) + as_list(peek(rule.props, "cidrIpv6")),
            "groups": as_list(peek(rule.props, "referencedSecurityGroupId"))}


def _internet_wide(cidr: Any) -> bool:
    """A block that admits the internet: 0.0.0.0/0 and ::/0, or any block of a /8 (IPv4) or /16
    (IPv6) or wider that reaches beyond private space (0.0.0.0/1 and 128.0.0.0/1 are the internet
    in two rules)."""
    if cidr in OPEN_CIDRS:
        return True
    try:
        block = ip_network(str(cidr), strict=False)
    except ValueError:
        return False
    wide = block.prefixlen <= (8 if block.version == 4 else 16)
    return wide and not block.is_private


def security_group_open_ingress(index: Index, config: Config) -> Found:
    for rule, group, spec in _ingress_rules(index):
        if not any(_internet_wide(c) for c in spec["cidrs"]):
            continue
        is_balancer = group is not None and tag(group, "tenancy-role") == "load-balancer"
        all_traffic = str(spec["protocol"]) in ("-1", "all")  # AWS ignores the ports of -1: every port
        only_https = not all_traffic and port_range_includes(spec["from"], spec["to"], spec["protocol"], 443) and \
            str(spec["from"]).split(".")[0] == str(spec["to"]).split(".")[0] == "443"
        if not (is_balancer and only_https):
            yield f"{rule.name} admits the whole internet (only 443 on load-balancer groups may)", rule.urn


def _is_data_action(pattern: str) -> bool:
    """Whether an Action pattern covers a data action, its wildcards expanded against the IAM
    database (`kms:De*` covers kms:Decrypt), not matched by its spelling."""
    if pattern.strip() == "*":
        return True
    service = pattern.partition(":")[0].lower()
    return any(actions.action_matches(pattern, a) and a.full.lower().startswith(DATA_ACTIONS)
               for a in actions.service_actions(service))


def _iam_documents(index: Index) -> Iterator[tuple[Any, str, Any]]:
    """Every identity policy document with the resource that holds it and a name for messages: policy
    resources, and the inline policies of a role itself (`inlinePolicies`)."""
    for policy in index.of_type(*IAM_POLICIES):
        yield policy, policy.name, peek(policy.props, "policy")
    for role in index.of_type(IAM_ROLE):
        for inline in as_list(peek(role.props, "inlinePolicies", default=[])):
            document = peek(inline, "policy") if isinstance(inline, Mapping) else None
            if document is not None:
                yield role, f"{role.name} (inline policy {peek(inline, 'name', default='')})", document


def iam_tenant_scope(index: Index, config: Config) -> Found:
    unknown = []
    for holder, name, document in _iam_documents(index):
        tenant = index.tenant(holder)
        if document is UNKNOWN:  # names resources not created yet: judged once they exist
            unknown.append(f"{name}.policy")
            continue
        for statement in statements(policy_document(document)):
            if statement.get("Effect") != "Allow":
                continue
            patterns = [str(a) for a in as_list(statement.get("Action"))]
            resources = [str(r) for r in as_list(statement.get("Resource"))]
            if any(_names_everything(r) for r in resources) and any(_is_data_action(a) for a in patterns):
                yield f"{name} allows data actions ({', '.join(patterns)}) on every resource ('*')", holder.urn
            if tenant is None:
                continue
            for pattern in resources:
                for named in index.matching(pattern):
                    other = index.tenant(named)
                    if other not in (None, tenant):
                        yield f"{name} of tenant {tenant} names {named.name} of tenant {other}", holder.urn
    if unknown:
        raise not_judged(unknown)


def _names_everything(pattern: str) -> bool:
    """`*`, or an ARN pattern whose resource part is only wildcards (`arn:aws:kms:*:*:*`)."""
    if pattern == "*":
        return True
    parts = pattern.split(":", 5)
    return len(parts) == 6 and parts[0] == "arn" and parts[5].strip("*/") == "" and "*" in parts[5]


def rds_tls_forced(index: Index, config: Config) -> Found:
    groups = {peek(g.props, "name"): g for g in index.of_type(PARAMETER_GROUP)}
    for db in index.of_type(RDS_INSTANCE):
        if "postgres" not in str(peek(db.props, "engine", default="")):  # postgres, aurora-postgresql
            continue
        targets = _targets(index, db, "parameterGroupName") or \
            [g for name, g in groups.items() if name and name == peek(db.props, "parameterGroupName")]
        forced = any(
            str(peek(p, "name")) == "rds.force_ssl" and str(peek(p, "value")) == "1"
            for g in targets if g.resource_type == PARAMETER_GROUP for p in as_list(peek(g.props, "parameters")))
        if not forced:
            yield f"{db.name} does not force TLS: its parameter group must set rds.force_ssl = 1", db.urn


def sqs_dead_letter(index: Index, config: Config) -> Found:
    queues = index.of_type(QUEUE)
    dead_letter = set()
    for q in queues:
        for target in _targets(index, q, "redrivePolicy"):
            dead_letter.add(target.urn)
    for q in queues:
        if q.urn not in dead_letter and not peek(q.props, "redrivePolicy"):
            yield f"{q.name} has no dead-letter queue (redrivePolicy)", q.urn


def namespace_guardrails(index: Index, config: Config) -> Found:
    namespaced: dict[str, set[str]] = {}
    for r in index.resources:
        ns = peek(r.props, "metadata", "namespace")
        if not ns:
            continue
        kind = r.resource_type.rsplit(":", 1)[-1]
        if kind == "NetworkPolicy":
            spec = peek(r.props, "spec", default={})
            denies_all = peek(spec, "podSelector") == {} and {"Ingress", "Egress"} <= set(peek(spec, "policyTypes", default=[])) \
                and not peek(spec, "ingress") and not peek(spec, "egress")
            kind = "default-deny NetworkPolicy" if denies_all else "NetworkPolicy"
        namespaced.setdefault(str(ns), set()).add(kind)
    for ns in index.of_type("kubernetes:core/v1:Namespace"):
        name = str(peek(ns.props, "metadata", "name", default=""))
        if owner(ns) is None and not name.startswith("tenant-"):
            continue
        missing = [k for k in ("ResourceQuota", "LimitRange", "default-deny NetworkPolicy")
                   if k not in namespaced.get(name, set())]
        if missing:
            yield f"tenant namespace {name} has no {', '.join(missing)}", ns.urn


USAGE_PLAN = "aws:apigateway/usagePlan:UsagePlan"
BUDGET = "aws:budgets/budget:Budget"
LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"
TOPIC = "aws:sns/topic:Topic"


def _tenants(index: Index) -> set[str]:
    return {t for t in index.owner_of.values() if t}


def _owned(index: Index, tenant: str, *types: str) -> list:
    return [r for r in index.of_type(*types) if index.tenant(r) == tenant]


def tenant_usage_plan(index: Index, config: Config) -> Found:
    for tenant in sorted(_tenants(index)):
        plans = _owned(index, tenant, USAGE_PLAN)
        limited = [p for p in plans if peek(p.props, "throttleSettings") and peek(p.props, "quotaSettings")]
        if not limited:
            anchor = (plans or _owned(index, tenant, KMS_KEY) or [None])[0]
            yield (f"tenant {tenant} has no API usage plan with a throttle and a quota",
                   anchor.urn if anchor else "")


def tenant_budget(index: Index, config: Config) -> Found:
    for tenant in sorted(_tenants(index)):
        budgets = _owned(index, tenant, BUDGET)
        scoped = [b for b in budgets if any(v in (f"tenant-id${tenant}", f"user:tenant-id${tenant}")
                                            for v in strings_in(peek(b.props, "costFilters")))]
        if not scoped:
            anchor = (budgets or _owned(index, tenant, KMS_KEY) or [None])[0]
            yield f"tenant {tenant} has no budget filtered by its tenant-id tag", anchor.urn if anchor else ""


def _encrypted_with_own_key(index: Index, tenant: str, resource, key: str) -> bool:
    """Every key the property names (by dependency, value or alias) is the tenant's; an unknown value
    with no key behind it is judged once it is known."""
    if key not in set(resource.props):
        return False
    keys = _key_targets(index, resource, key)
    if not keys:
        return peek(resource.props, key) is UNKNOWN
    return all(index.tenant(k) == tenant for k in keys)


def _one_encrypted_per_tenant(index: Index, type_: str, key_property: str, what: str) -> Found:
    """Every tenant has at least one `type_`, and each is encrypted with the tenant's own key."""
    for tenant in sorted(_tenants(index)):
        found = _owned(index, tenant, type_)
        if not found:
            anchor = (_owned(index, tenant, KMS_KEY) or [None])[0]
            yield f"tenant {tenant} has no {what}", anchor.urn if anchor else ""
        for resource in found:
            if not _encrypted_with_own_key(index, tenant, resource, key_property):
                yield f"{resource.name} of tenant {tenant} is not encrypted with the tenant's key", resource.urn


def tenant_log_group(index: Index, config: Config) -> Found:
    return _one_encrypted_per_tenant(index, LOG_GROUP, "kmsKeyId", "log group")


def tenant_alarm_topic(index: Index, config: Config) -> Found:
    return _one_encrypted_per_tenant(index, TOPIC, "kmsMasterKeyId", "alarm topic")
