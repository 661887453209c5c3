"""Network reachability. Security groups: ingress rules inline and standalone (SecurityGroupRule,
SecurityGroupIngressRule), from referenced groups, address blocks (matched to the subnets they
cover; public addresses are anyone's, private ones outside every known VPC an unknown owner's) and
managed prefix lists; protocol -1 means every port; the target is what the group protects
(databases, caches, anything attached to it), else the group itself. Joins: VPC peering and
transit gateway attachments make each side reach everything in the other."""

from __future__ import annotations

import ipaddress
from typing import Optional

from .core import Graph
from .documents import as_list
from .model import REACH, UNKNOWN, UNOWNED, WORLD, Edge, Node, Resource

SG = "aws:ec2/securityGroup:SecurityGroup"
SG_RULE = "aws:ec2/securityGroupRule:SecurityGroupRule"
SG_INGRESS = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
SUBNET = "aws:ec2/subnet:Subnet"
VPC = "aws:ec2/vpc:Vpc"
CIDR_ASSOCIATION = "aws:ec2/vpcIpv4CidrBlockAssociation:VpcIpv4CidrBlockAssociation"
PREFIX_LIST = "aws:ec2/managedPrefixList:ManagedPrefixList"
PREFIX_LIST_ENTRY = "aws:ec2/managedPrefixListEntry:ManagedPrefixListEntry"
GROUP_PROPS = ("vpcSecurityGroupIds", "securityGroupIds", "securityGroups")


class Addresses:
    """Who sits behind an address block: the owners of the subnets it covers; anyone for public
    addresses; an unknown owner for private addresses outside every VPC of the program."""

    def __init__(self, g: Graph):
        self.subnets = []
        for s in g.of_type(SUBNET):
            for prop in ("cidrBlock", "ipv6CidrBlock"):
                net = _network(s.props.get(prop))
                if net is not None:
                    self.subnets.append((net, s))
        self.vpcs = [net for v in g.of_type(VPC, CIDR_ASSOCIATION)
                     for net in [_network(v.props.get("cidrBlock"))] if net is not None]

    def sources(self, g: Graph, cidr: str) -> list[Node]:
        net = _network(cidr)
        if net is None:
            return [Node(f"cidr:{cidr}", f"addresses {cidr}", UNOWNED)]
        found = [Node(f"cidr:{cidr}:{s.key}", f"{cidr} ({s.name})", g.owner(s))
                 for sub, s in self.subnets if sub.version == net.version and sub.overlaps(net)]
        rest = [net]
        for known in [v for v in self.vpcs if v.version == net.version]:
            rest = [part for r in rest for part in _exclude(r, known)]
        if any(not part.is_private for part in rest):
            found.append(Node(f"cidr:{cidr}:public", f"{cidr} (the internet)", WORLD))
        elif rest:
            found.append(Node(f"cidr:{cidr}:private", f"{cidr} (addresses outside this program's networks)", UNOWNED))
        return found


def _network(value) -> Optional[ipaddress._BaseNetwork]:
    if not isinstance(value, str):
        return None
    try:
        return ipaddress.ip_network(value, strict=False)
    except ValueError:
        return None


def _exclude(net, known) -> list:
    if not net.overlaps(known):
        return [net]
    if net.subnet_of(known):
        return []
    if known.subnet_of(net):
        return list(net.address_exclude(known))
    return [net]


def _ports(protocol, low, high) -> str:
    if str(protocol) in ("-1", "all"):
        return "every port (all traffic)"
    try:
        low, high = int(float(low)), int(float(high))
    except (TypeError, ValueError):
        return f"{protocol} ports {low}-{high}"
    return f"{protocol} port {low}" if low == high else f"{protocol} ports {low}-{high}"


def _protected(g: Graph) -> dict[str, list[Resource]]:
    """Security group (its key) -> the resources attached to it, by value or by dependency."""
    found: dict[str, list[Resource]] = {}
    for r in g.resources:
        if r.type.startswith(("aws:ec2/securityGroup", "aws:vpc/security")):
            continue
        for prop in GROUP_PROPS:
            if prop in r.props:
                for group in g.resolve(r, prop, SG):
                    found.setdefault(group.key, []).append(r)
    return found


def _rules(g: Graph):
    """(creating resource, target group, spec) for every ingress rule."""
    for group in g.of_type(SG):
        ingress = group.props.get("ingress")
        if ingress is UNKNOWN:
            g.need(group, "ingress")
            continue
        for rule in as_list(ingress):
            if isinstance(rule, dict):
                yield group, group, {
                    "protocol": rule.get("protocol"), "from": rule.get("fromPort"), "to": rule.get("toPort"),
                    "cidrs": as_list(rule.get("cidrBlocks")) + as_list(rule.get("ipv6CidrBlocks")),
                    "groups": as_list(rule.get("securityGroups")), "self": rule.get("self"),
                    "lists": as_list(rule.get("prefixListIds"))}
    for rule in g.of_type(SG_RULE):
        kind = rule.props.get("type")
        if kind is UNKNOWN:
            g.need(rule, "type")
        if kind != "ingress":
            continue
        for group in g.resolve(rule, "securityGroupId", SG) or [None]:
            yield rule, group, {
                "protocol": rule.props.get("protocol"), "from": rule.props.get("fromPort"), "to": rule.props.get("toPort"),
                "cidrs": as_list(rule.props.get("cidrBlocks")) + as_list(rule.props.get("ipv6CidrBlocks")),
                "groups": as_list(rule.props.get("sourceSecurityGroupId")), "self": rule.props.get("self"),
                "lists": as_list(rule.props.get("prefixListIds")), "deps": "sourceSecurityGroupId"}
    for rule in g.of_type(SG_INGRESS):
        for group in g.resolve(rule, "securityGroupId", SG) or [None]:
            yield rule, group, {
                "protocol": rule.props.get("ipProtocol"), "from": rule.props.get("fromPort"),
                "to": rule.props.get("toPort"),
                "cidrs": as_list(rule.props.get("cidrIpv4")) + as_list(rule.props.get("cidrIpv6")),
                "groups": as_list(rule.props.get("referencedSecurityGroupId")), "self": False,
                "lists": as_list(rule.props.get("prefixListId")), "deps": "referencedSecurityGroupId"}


def _prefix_list_cidrs(g: Graph, rule: Resource, value) -> Optional[list[str]]:
    lists = [r for r in g.of_type(PREFIX_LIST) if value in (r.props.get("id"), r.props.get("arn"))]
    if not lists:
        return None
    cidrs = []
    for pl in lists:
        entries = pl.props.get("entries")
        if entries is UNKNOWN:
            g.need(pl, "entries")
        cidrs.extend(e.get("cidr") for e in as_list(entries) if isinstance(e, dict) and isinstance(e.get("cidr"), str))
    for entry in g.of_type(PREFIX_LIST_ENTRY):
        if entry.props.get("prefixListId") in (pl.props.get("id") for pl in lists) or \
                any(k in entry.deps.get("prefixListId", ()) for k in (pl.key for pl in lists)):
            cidr = entry.props.get("cidr")
            if cidr is UNKNOWN:
                g.need(entry, "cidr")
            elif isinstance(cidr, str):
                cidrs.append(cidr)
    return cidrs


def add_edges(g: Graph) -> None:
    addresses = Addresses(g)
    protected = _protected(g)
    for rule, group, spec in _rules(g):
        if group is None:  # a group outside this program (an unknown one is recorded as needed)
            continue
        targets = protected.get(group.key, [])
        nodes = [g.node(t, f"{t.name} (through {group.name})") for t in targets] or [g.node(group)]
        ports = _ports(spec["protocol"], spec["from"], spec["to"])
        sources: list[tuple] = []  # (node, how, source type)
        for cidr in spec["cidrs"]:
            if cidr is UNKNOWN:
                g.need(rule, "cidrs")
                continue
            sources.extend((n, f"from {cidr}", "") for n in addresses.sources(g, str(cidr)))
        deps = [g.by_key[k] for k in rule.deps.get(spec.get("deps", ""), ()) if k in g.by_key]
        for value in spec["groups"]:
            if value is UNKNOWN and not deps:
                g.need(rule, spec.get("deps") or "ingress")
                continue
            source = g.named(value, SG) if value is not UNKNOWN else None
            found = [source] if source is not None else [d for d in deps if d.type == SG]
            exported = g.exported(value) if not found and value is not UNKNOWN else None
            if found:
                sources.extend((g.node(s, f"members of {s.name}"), f"from {s.name}", s.type) for s in found)
            elif exported:
                stack, path, owner = exported
                sources.append((Node(f"stack:{stack}:{path}", f"members of {value} ({path} of stack {stack})", owner),
                                f"from {value}", SG))
            else:
                sources.append((Node(f"sg:{value}", f"members of {value} (a group outside this program)", UNOWNED),
                                f"from {value}", ""))
        for value in spec["lists"]:
            if value is UNKNOWN:
                g.need(rule, "prefixListId")
                continue
            cidrs = _prefix_list_cidrs(g, rule, value)
            if cidrs is None:
                sources.append((Node(f"pl:{value}", f"prefix list {value} (outside this program)", UNOWNED),
                                f"from prefix list {value}", ""))
            else:
                sources.extend((n, f"from prefix list {value} ({c})", "") for c in cidrs
                               for n in addresses.sources(g, c))
        for source, how, _ in sources:
            for target in nodes:
                if source.owner != target.owner and source.key != group.key:
                    g.add(Edge(source, frozenset({REACH}), target, f"ingress rule {rule.name} ({ports} {how})", rule.key))


PEERING = "aws:ec2/vpcPeeringConnection:VpcPeeringConnection"
TGW_ATTACHMENT = "aws:ec2transitgateway/vpcAttachment:VpcAttachment"


def _vpc_nodes(g: Graph, joiner: Resource, prop: str) -> list[tuple[Node, list[Node]]]:
    """(the VPC a joining resource names, what sits in it: the VPC and its subnets)."""
    value = joiner.props.get(prop)
    vpcs = g.resolve(joiner, prop, VPC)
    if not vpcs:
        if value is UNKNOWN or value is None:
            return []
        outside = Node(f"vpc:{value}", f"VPC {value} (outside this program)", UNOWNED)
        return [(outside, [outside])]
    found = []
    for vpc in vpcs:
        node = g.node(vpc, f"VPC {vpc.name}")
        inside = [node] + [g.node(s, f"{s.name} (in {vpc.name})") for s in g.of_type(SUBNET)
                           if s.props.get("vpcId") == vpc.props.get("id") or vpc.key in s.deps.get("vpcId", ())]
        found.append((node, inside))
    return found


def add_joins(g: Graph) -> None:
    """Peering and transit gateways join networks: each side reaches all that sits in the other
    (routes and security groups may narrow it; the graph does not rely on them)."""
    for peering in g.of_type(PEERING):
        sides = [_vpc_nodes(g, peering, "vpcId"), _vpc_nodes(g, peering, "peerVpcId")]
        for one, other in (sides, sides[::-1]):
            for source, _ in one:
                for _, inside in other:
                    for target in inside:
                        if source.owner != target.owner:
                            g.add(Edge(source, frozenset({REACH}), target, f"peering {peering.name}", peering.key))
    by_gateway: dict = {}
    for attachment in g.of_type(TGW_ATTACHMENT):
        gateway = attachment.props.get("transitGatewayId")
        if gateway is UNKNOWN:
            g.need(attachment, "transitGatewayId")
            continue
        by_gateway.setdefault(gateway, []).append(attachment)
    for gateway, attachments in by_gateway.items():
        in_program = any(r.props.get("id") == gateway for r in g.of_type("aws:ec2transitgateway/transitGateway:"
                                                                          "TransitGateway"))
        members = [(a, side) for a in attachments for side in _vpc_nodes(g, a, "vpcId")]
        outside = [] if in_program else [Node(f"tgw:{gateway}", f"anything attached to {gateway} (a transit gateway "
                                                                f"outside this program)", UNOWNED)]
        for attachment, (_, inside) in members:
            sources = outside + [node for a, (node, _) in members if a is not attachment]
            for source in sources:
                for target in inside:
                    if source.owner != target.owner:
                        g.add(Edge(source, frozenset({REACH}), target, f"transit gateway {gateway} "
                                   f"(attachment {attachment.name})", attachment.key))
