"""Network interfaces and everything else that joins a security group or sits in a subnet.

Membership. A resource that lists a security group is a member of it: a network interface's
`securityGroups`, an instance's or database's `vpcSecurityGroupIds`, an endpoint's or cache's
`securityGroupIds`, a function's or cluster's `vpcConfig.securityGroupIds`, a task's
`networkConfiguration.securityGroups`, a launch template's `networkInterfaces[].securityGroups`...,
and a standalone NetworkInterfaceSecurityGroupAttachment or endpoint SecurityGroupAssociation. A member
of a group of another owner joins that group (an edge onto it), reaches whatever is admitted from the
group (every ingress rule naming it as a source, and its own `self` rules), and is reached by whatever
the group admits (for a top-level list, network.py's rules already target every member; the nested
and standalone memberships are added here). (The pods of a SecurityGroupPolicy are workloads.py's.)

Placement. A resource placed in a subnet (`subnetId`, `subnetIds`, `subnets`, `vpcConfig.subnetIds`,
`subnetMappings[].subnetId`...) holds an address there; a subnet (and a VPC endpoint) sits in a VPC.
A place of another tenant is a path into that tenant: the resource reaches what sits there. A tenant
placed where its tier does not let it be is reached by what sits there: an isolated tenant anywhere
but its own network (the shared VPC, another stack's or an unknown network), a dedicated tenant in a
subnet not its own (the pool's), any tenant in a subnet of an unknown owner (untagged, or outside the
program and exported by no stack). (A dedicated tenant's own subnets sit in the shared VPC.)
The tier is the tenant's `isolation` tag, the strictest any of its resources carries."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Optional

from . import network
from .core import TENANT_TAG, Graph
from .documents import as_list
from .model import REACH, UNKNOWN, UNOWNED, Edge, Node, Owner, Resource

SG, SUBNET, VPC = network.SG, network.SUBNET, network.VPC
ENI = "aws:ec2/networkInterface:NetworkInterface"
ENI_SG_ATTACHMENT = "aws:ec2/networkInterfaceSecurityGroupAttachment:NetworkInterfaceSecurityGroupAttachment"
ENI_ATTACHMENT = "aws:ec2/networkInterfaceAttachment:NetworkInterfaceAttachment"
INSTANCE = "aws:ec2/instance:Instance"
ENDPOINT = "aws:ec2/vpcEndpoint:VpcEndpoint"
ENDPOINT_SG_ASSOCIATION = "aws:ec2/securityGroupAssociation:SecurityGroupAssociation"
SECURITY_GROUP_POLICY = "kubernetes:vpcresources.k8s.aws/v1beta1:SecurityGroupPolicy"  # workloads.py's
# Standalone memberships: type -> (property naming the member, property naming the group, the member's types).
STANDALONE = {
    ENI_SG_ATTACHMENT: ("networkInterfaceId", "securityGroupId", (ENI,)),
    ENDPOINT_SG_ASSOCIATION: ("vpcEndpointId", "securityGroupId", (ENDPOINT,)),
}
# Where a resource lists its groups and its subnets: a path of properties, "*" stepping into each item.
GROUP_PATHS = tuple((p,) for p in network.GROUP_PROPS) + (
    ("vpcConfig", "securityGroupIds"), ("networkConfiguration", "securityGroups"),
    ("networkInterfaces", "*", "securityGroups"), ("vpcOptions", "securityGroupIds"),
    ("brokerNodeGroupInfo", "securityGroups"))
SUBNET_PATHS = (("subnetId",), ("subnetIds",), ("subnets",), ("vpcZoneIdentifiers",), ("vpcConfig", "subnetIds"),
                ("networkConfiguration", "subnets"), ("subnetMappings", "*", "subnetId"),
                ("networkInterfaces", "*", "subnetId"), ("vpcOptions", "subnetIds"),
                ("brokerNodeGroupInfo", "clientSubnets"))
# What the plan adapter must read of every resource (isolation.ALWAYS).
PROPS = tuple(dict.fromkeys(path[0] for path in GROUP_PATHS + SUBNET_PATHS))
# Types whose groups or subnets mean something else: rules and groups themselves, and what governs a
# subnet's traffic rather than sitting in it (routing.py, core.ATTACHMENTS: conflicts of ownership).
NOT_MEMBERS = ("aws:ec2/securityGroup", "aws:ec2/defaultSecurityGroup", "aws:vpc/securityGroup", SG,
               SECURITY_GROUP_POLICY, *STANDALONE)
NOT_PLACED = (SUBNET, "aws:ec2/routeTableAssociation:RouteTableAssociation", "aws:ec2/networkAcl:NetworkAcl",
              "aws:ec2/defaultNetworkAcl:DefaultNetworkAcl", "aws:ec2/networkAclAssociation:NetworkAclAssociation",
              "aws:ec2/vpcEndpointSubnetAssociation:VpcEndpointSubnetAssociation")
# Resources that sit in a VPC as such (besides subnets, in their subnets).
IN_VPC = {SUBNET: "vpcId", ENDPOINT: "vpcId"}
KINDS = {ENI: "network interface", ENDPOINT: "VPC endpoint", "aws:lambda/function:Function": "function",
         "aws:rds/instance:Instance": "database", "aws:ec2/subnet:Subnet": "subnet"}
ISOLATION_TAG = "isolation"
RANK = {"shared": 0, "dedicated": 1, "isolated": 2}


def kind(r: Resource) -> str:
    """A resource's kind in words: `network interface`, `instance`, `load balancer`..."""
    if r.type in KINDS:
        return KINDS[r.type]
    name = r.type.rsplit(":", 1)[-1]
    return re.sub(r"(?<!^)(?=[A-Z])", " ", name).lower()


def _at(value: Any, path: tuple) -> Optional[list]:
    """The values at a path of properties (lists flattened), UNKNOWN for a part not known yet;
    None when the first property is absent."""
    if not isinstance(value, Mapping) or path[0] not in value or value[path[0]] is None:
        return None
    found: list = []

    def walk(node: Any, rest: tuple) -> None:
        if node is UNKNOWN:
            found.append(UNKNOWN)
        elif not rest:
            found.extend(v for v in as_list(node) if v is not None)
        elif rest[0] == "*":
            for item in as_list(node):
                walk(item, rest[1:])
        elif isinstance(node, Mapping) and node.get(rest[0]) is not None:
            walk(node[rest[0]], rest[1:])

    walk(value[path[0]], path[1:])
    return found


def named_at(g: Graph, r: Resource, path: tuple, *types: str) -> list[tuple[Optional[Resource], Any]]:
    """(the resource of `types` it names or None, the value) for each value at a path; an unknown
    value stands for the property's dependencies of those types, else is recorded as needed."""
    values = _at(r.props, path)
    if not values:
        return []
    deps = [g.by_key[k] for k in r.deps.get(path[0], ()) if k in g.by_key and g.by_key[k].type in types]
    found: list = []
    for value in values:
        if value is UNKNOWN:
            if not deps:
                g.need(r, ".".join(p for p in path if p != "*"))
            found.extend((d, None) for d in deps if (d, None) not in found)
        elif isinstance(value, str) and value:
            found.append((g.named(value, *types), value))
    return found


def outside(g: Graph, value: str, what: str) -> Node:
    """Something a resource names that the program does not hold: another stack's export (its
    owner), else an unknown owner's."""
    exported = g.exported(value)
    if exported:
        stack, path, owner = exported
        return Node(f"stack:{stack}:{path}", f"{what} {value} ({path} of stack {stack})", owner)
    return Node(f"outside:{value}", f"{what} {value} (outside this program)", UNOWNED)


def tiers(g: Graph) -> dict[str, str]:
    """Each tenant's tier: the strictest `isolation` tag among the resources tagged with its id."""
    found: dict[str, str] = {}
    for r in g.resources:
        tags = r.props.get("tags")
        if not isinstance(tags, Mapping):
            continue
        tenant_id, tier = tags.get(TENANT_TAG), tags.get(ISOLATION_TAG)
        if isinstance(tenant_id, str) and tier in RANK and RANK[tier] > RANK.get(found.get(tenant_id, ""), -1):
            found[tenant_id] = tier
    return found


# -- membership ---------------------------------------------------------------------------------------
class Membership:
    """`member` is in `group`, because of `via` (the member itself, or a standalone attachment)."""

    def __init__(self, member: Node, group: Resource, via: Resource, how: str, top_level: bool):
        self.member, self.group, self.via, self.how, self.top_level = member, group, via, how, top_level


def memberships(g: Graph) -> list[Membership]:
    found = []
    for r in g.resources:
        if r.type.startswith(NOT_MEMBERS) or r.type.startswith("kubernetes:"):
            continue
        for path in GROUP_PATHS:
            if path[0] not in r.props:
                continue
            for group, _ in named_at(g, r, path, SG):
                if group is not None:  # a group outside the program: what it admits is not known here
                    found.append(Membership(g.node(r, f"{kind(r)} {r.name}"), group, r,
                                            f"{kind(r)} {r.name} lists it", len(path) == 1))
    for r in g.of_type(*STANDALONE):
        member_prop, group_prop, types = STANDALONE[r.type]
        members = named_at(g, r, (member_prop,), *types)
        for group, _ in named_at(g, r, (group_prop,), SG):
            for member, value in members:
                if group is None:
                    continue
                node = g.node(member, f"{kind(member)} {member.name}") if member is not None else \
                    outside(g, str(value), "network interface")
                found.append(Membership(node, group, r, f"{r.name} attaches it", False))
    return found


def _admitted(g: Graph) -> dict[str, list[tuple]]:
    """Group key -> (rule, the group it admits into, ports) for every ingress rule naming the group
    as its source (a `self` rule names its own group)."""
    found: dict[str, list[tuple]] = {}
    for rule, target, spec in network._rules(g):
        if target is None:
            continue
        ports = network._ports(spec["protocol"], spec["from"], spec["to"])
        deps = [g.by_key[k] for k in rule.deps.get(spec.get("deps", ""), ()) if k in g.by_key]
        sources = {target.key} if spec.get("self") is True else set()
        for value in spec["groups"]:
            if value is UNKNOWN:
                sources.update(d.key for d in deps if d.type == SG)
            else:
                group = g.named(value, SG)
                if group is not None:
                    sources.add(group.key)
        for key in sources:
            found.setdefault(key, []).append((rule, target, ports))
    return found


def _sources(g: Graph, addresses: network.Addresses, spec: dict, rule: Resource) -> list[Node]:
    """Who an ingress rule admits (its groups' members, the owners of its addresses and prefix lists),
    as network.py reads it; what is unknown there is recorded there."""
    found = []
    for cidr in spec["cidrs"]:
        if cidr is not UNKNOWN:
            found.extend(addresses.sources(g, str(cidr)))
    deps = [g.by_key[k] for k in rule.deps.get(spec.get("deps", ""), ()) if k in g.by_key]
    for value in spec["groups"]:
        group = g.named(value, SG) if value is not UNKNOWN else None
        groups = [group] if group is not None else [d for d in deps if d.type == SG] if value is UNKNOWN else []
        found.extend(g.node(s, f"members of {s.name}") for s in groups)
        if not groups and value is not UNKNOWN:
            found.append(outside(g, str(value), "members of security group"))
    for value in spec["lists"]:
        if value is UNKNOWN:
            continue
        cidrs = network._prefix_list_cidrs(g, rule, value)
        if cidrs is None:
            found.append(outside(g, str(value), "prefix list"))
        else:
            found.extend(n for c in cidrs for n in addresses.sources(g, c))
    return found


def _membership_edges(g: Graph, found: list[Membership], conflicted: set) -> None:
    protected = network._protected(g)
    nested: dict[str, list[Membership]] = {}
    for m in found:
        if not m.top_level and m.member.key in g.by_key:
            nested.setdefault(m.group.key, []).append(m)

    def members(group: Resource) -> list[Resource]:
        listed = protected.get(group.key, []) + [g.by_key[n.member.key] for n in nested.get(group.key, [])]
        return list({r.key: r for r in listed}.values())

    admitted = _admitted(g)
    for m in found:
        if m.member.owner == g.owner(m.group):
            continue  # the group's own edges (network.py) say what its members reach
        if m.via.key not in conflicted:  # a conflict of ownership already names both
            g.add(Edge(m.member, frozenset({REACH}), g.node(m.group, f"security group {m.group.name}"),
                       f"membership: {m.how} (it joins security group {m.group.name})", m.via.key))
        for rule, target, ports in admitted.get(m.group.key, ()):
            nodes = [g.node(t, f"{t.name} (through {target.name})") for t in members(target)
                     if t.key != m.member.key] or [g.node(target, f"security group {target.name}")]
            for node in nodes:
                if node.owner != m.member.owner:
                    g.add(Edge(m.member, frozenset({REACH}), node,
                               f"membership in security group {m.group.name} ({m.how}), which ingress rule "
                               f"{rule.name} admits ({ports})", m.via.key))
    # the reverse: what a group admits reaches its nested and standalone members (a top-level list
    # is network.py's: its rules target every resource listing the group)
    if not nested:
        return
    addresses = network.Addresses(g)
    for rule, target, spec in network._rules(g):
        if target is None or target.key not in nested:
            continue
        ports = network._ports(spec["protocol"], spec["from"], spec["to"])
        sources = _sources(g, addresses, spec, rule)
        for m in nested[target.key]:
            member = g.node(g.by_key[m.member.key], f"{m.member.label} (through {target.name})")
            for source in sources:
                if source.owner != member.owner and source.key != m.member.key:
                    g.add(Edge(source, frozenset({REACH}), member,
                               f"membership in security group {target.name} ({m.how}), whose ingress rule "
                               f"{rule.name} admits it ({ports})", m.via.key))


# -- placement ----------------------------------------------------------------------------------------
def _vpc_of(g: Graph, subnet: Resource) -> list[Resource]:
    return g.resolve(subnet, "vpcId", VPC) if subnet.props.get("vpcId") is not None or subnet.deps.get("vpcId") \
        else []


def _placements(g: Graph):
    """(resource, place: a resource or an outside node, level: subnet | VPC) for every placement."""
    for r in g.resources:
        if r.type in NOT_PLACED or r.type.startswith(("kubernetes:", "pulumi:", "tenancy:")):
            continue
        for path in SUBNET_PATHS:
            if path[0] not in r.props:
                continue
            for subnet, value in named_at(g, r, path, SUBNET):
                yield r, subnet if subnet is not None else outside(g, str(value), "subnet"), "subnet"
    for type_, prop in IN_VPC.items():
        for r in g.of_type(type_):
            for vpc, value in named_at(g, r, (prop,), VPC):
                yield r, vpc if vpc is not None else outside(g, str(value), "VPC"), "VPC"


def _placement_edges(g: Graph, conflicted: set) -> None:
    tier_of = tiers(g)
    for r, place, level in _placements(g):
        owner = g.owner(r)
        if isinstance(place, Resource):
            place_owner = g.owner(place)
            label = f"{level} {place.name}"
            if level == "subnet":
                label += "".join(f" (VPC {v.name})" for v in _vpc_of(g, place))
            place_node = g.node(place, label)
        else:
            place_owner, place_node = place.owner, place
        if owner == place_owner:
            continue
        what = f"{kind(r)} {r.name}"
        if place_owner.is_tenant:
            if r.key not in conflicted:  # a conflict of ownership already names both
                g.add(Edge(g.node(r, what), frozenset({REACH}), place_node,
                           f"placement: {what} in {place_node.label} of {place_owner}", r.key))
            continue
        if not owner.is_tenant:
            continue
        tier = tier_of.get(owner.tenant, "")
        if tier == "isolated" or (level == "subnet" and (tier == "dedicated" or place_owner.kind == "unknown")):
            source = Node(f"in:{place_node.key}", f"anything in {place_node.label}", place_owner)
            g.add(Edge(source, frozenset({REACH}), g.node(r, what),
                       f"placement: {_tenant_words(owner, tier)} {what} in {place_node.label} of {place_owner}",
                       r.key))


def _tenant_words(owner: Owner, tier: str) -> str:
    return {"isolated": "an isolated tenant's", "dedicated": "a dedicated tenant's"}.get(tier, f"tenant {owner.tenant}'s")


def add_edges(g: Graph) -> None:
    conflicted = {c.resource.key for c in g.conflicts}
    _membership_edges(g, memberships(g), conflicted)
    _placement_edges(g, conflicted)
