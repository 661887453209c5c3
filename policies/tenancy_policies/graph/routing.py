"""Routes and network ACLs: who a subnet's traffic goes to, and who governs who may reach it.

Routes. A route table serves the subnets associated with it (RouteTableAssociation), and as the main
table of a VPC (MainRouteTableAssociation, DefaultRouteTable) every subnet of it that has no table of
its own; a table associated with a gateway (an edge association) serves the whole VPC; a table that
serves nothing yet is a path waiting to be used (the table itself is the target). Each route (inline
`routes` or a standalone Route) sends the traffic of those subnets to its next hop, which can read it
and answer it: an edge "hop can read, reach subnet" when the hop's owner is not the subnet's. Hops: a
peering connection (the VPC on its other side), a transit gateway (every VPC attached to it, and
whatever else it joins: its owner's; one outside the program an unknown owner's), a network interface
or instance (a middlebox: its owner's), a VPC endpoint (a Gateway Load Balancer endpoint: the endpoint
service's owner), a VPN gateway, local gateway or Cloud WAN core network (networks beyond the program:
the VPN gateway's owner's, else an unknown owner's). Internet, NAT, egress-only and carrier gateways
only send traffic out (what comes in is the security groups', network.py) and `local` stays in the
VPC: no edge.

Network ACLs can only narrow reach; the graph never relies on them to narrow anything. Who governs a
subnet's ACL decides who reaches it, though: an ACL (its `subnetIds`), an association or a rule that
a tenant claims (tag, component) on another tenant's subnet is a conflict of ownership
(core.ATTACHMENTS), and one that the platform claims is an edge "the ACL can write the subnet"."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Optional

from . import endpoints, network
from .core import Graph
from .interfaces import ENI, INSTANCE, named_at, outside
from .model import REACH, READ, UNKNOWN, UNOWNED, WRITE, Edge, Node, Resource

SUBNET, VPC, PEERING, TGW_ATTACHMENT = network.SUBNET, network.VPC, network.PEERING, network.TGW_ATTACHMENT
ROUTE_TABLE = "aws:ec2/routeTable:RouteTable"
DEFAULT_ROUTE_TABLE = "aws:ec2/defaultRouteTable:DefaultRouteTable"
ROUTE = "aws:ec2/route:Route"
ROUTE_TABLE_ASSOCIATION = "aws:ec2/routeTableAssociation:RouteTableAssociation"
MAIN_ROUTE_TABLE_ASSOCIATION = "aws:ec2/mainRouteTableAssociation:MainRouteTableAssociation"
NACL = "aws:ec2/networkAcl:NetworkAcl"
DEFAULT_NACL = "aws:ec2/defaultNetworkAcl:DefaultNetworkAcl"
NACL_ASSOCIATION = "aws:ec2/networkAclAssociation:NetworkAclAssociation"
NACL_RULE = "aws:ec2/networkAclRule:NetworkAclRule"
INTERNET_GATEWAY = "aws:ec2/internetGateway:InternetGateway"
VPN_GATEWAY = "aws:ec2/vpnGateway:VpnGateway"
TRANSIT_GATEWAY = "aws:ec2transitgateway/transitGateway:TransitGateway"
TABLES = (ROUTE_TABLE, DEFAULT_ROUTE_TABLE)
TYPES = (ROUTE_TABLE, DEFAULT_ROUTE_TABLE, ROUTE, ROUTE_TABLE_ASSOCIATION, MAIN_ROUTE_TABLE_ASSOCIATION, NACL,
         DEFAULT_NACL, NACL_ASSOCIATION, NACL_RULE)
DESTINATIONS = ("cidrBlock", "ipv6CidrBlock", "destinationCidrBlock", "destinationIpv6CidrBlock",
                "destinationPrefixListId")
# next hop property -> the types it names (empty: a hop that only sends traffic out)
HOPS = {
    "vpcPeeringConnectionId": (PEERING,), "transitGatewayId": (TRANSIT_GATEWAY,), "networkInterfaceId": (ENI,),
    "instanceId": (INSTANCE,), "vpcEndpointId": (endpoints.ENDPOINT,),
    "gatewayId": (INTERNET_GATEWAY, VPN_GATEWAY, endpoints.ENDPOINT),
    "localGatewayId": (), "coreNetworkArn": (), "odbNetworkArn": (),
    "natGatewayId": (), "egressOnlyGatewayId": (), "carrierGatewayId": (),
}
HOP_WORDS = {"vpcPeeringConnectionId": "peering connection", "transitGatewayId": "transit gateway",
             "networkInterfaceId": "network interface", "instanceId": "instance", "vpcEndpointId": "VPC endpoint",
             "gatewayId": "gateway", "localGatewayId": "local gateway", "coreNetworkArn": "core network",
             "odbNetworkArn": "ODB network"}
ACL_WORDS = {NACL: "network ACL", DEFAULT_NACL: "default network ACL", NACL_ASSOCIATION: "network ACL association",
             NACL_RULE: "network ACL rule"}
OUTBOUND_ONLY = ("natGatewayId", "egressOnlyGatewayId", "carrierGatewayId")
BEYOND = {"localGatewayId": "networks behind local gateway", "coreNetworkArn": "networks of Cloud WAN core network",
          "odbNetworkArn": "Oracle Database@AWS network"}


# -- which subnets a table serves ------------------------------------------------------------------------
class Tables:
    def __init__(self, g: Graph):
        self.g = g
        self.subnets_of: dict[str, list[Resource]] = {}  # VPC key -> its subnets
        for s in g.of_type(SUBNET):
            for vpc in g.resolve(s, "vpcId", VPC):
                self.subnets_of.setdefault(vpc.key, []).append(s)
        self.explicit: dict[str, list[Resource]] = {}  # table key -> subnets
        self.whole: dict[str, list[Resource]] = {}  # table key -> VPCs it serves whole (edge associations)
        self.main: dict[str, list[Resource]] = {}  # table key -> VPCs it is the main table of
        associated: set[str] = set()
        for a in g.of_type(ROUTE_TABLE_ASSOCIATION):
            for table in g.resolve(a, "routeTableId", *TABLES):
                if a.props.get("subnetId") is not None or a.deps.get("subnetId"):
                    subnets = g.resolve(a, "subnetId", SUBNET)
                    self.explicit.setdefault(table.key, []).extend(subnets)
                    associated.update(s.key for s in subnets)
                elif a.props.get("gatewayId") is not None:
                    self.whole.setdefault(table.key, []).extend(self.vpcs(table))
        for m in g.of_type(MAIN_ROUTE_TABLE_ASSOCIATION):
            for table in g.resolve(m, "routeTableId", *TABLES):
                self.main.setdefault(table.key, []).extend(g.resolve(m, "vpcId", VPC))
        for table in g.of_type(DEFAULT_ROUTE_TABLE):
            self.main.setdefault(table.key, []).extend(self.vpcs(table) or g.resolve(table, "defaultRouteTableId", VPC))
        self.associated = associated

    def vpcs(self, table: Resource) -> list[Resource]:
        if table.props.get("vpcId") is None and not table.deps.get("vpcId"):
            return []
        return self.g.resolve(table, "vpcId", VPC)

    def served(self, table: Resource) -> list[Node]:
        g = self.g
        subnets = list(self.explicit.get(table.key, []))
        for vpc in self.main.get(table.key, []):
            subnets += [s for s in self.subnets_of.get(vpc.key, []) if s.key not in self.associated]
        for vpc in self.whole.get(table.key, []):
            subnets += self.subnets_of.get(vpc.key, [])
        unique = {s.key: s for s in subnets}.values()
        return [g.node(s, f"subnet {s.name}") for s in unique] or \
            [g.node(table, f"route table {table.name} (no subnet associated yet)")]


# -- where a route's next hop leads -------------------------------------------------------------------
def _vpc_sides(g: Graph, joiner: Resource, prop: str, own: set) -> list[Node]:
    return [node for node, _ in network._vpc_nodes(g, joiner, prop) if node.key not in own]


def _hop(g: Graph, route: Resource, prop: str, path: tuple, own_vpcs: set) -> Optional[list[Node]]:
    """The nodes a route's next hop leads to ([] for none); None when it cannot be known yet."""
    types = HOPS[prop]
    if prop in OUTBOUND_ONLY:
        return []
    if prop in BEYOND:
        return [Node(f"outside:{value}", f"{BEYOND[prop]} {value}", UNOWNED)
                for value in _values(route, path) if value is not UNKNOWN]
    found = []
    for hop, value in named_at(g, route, path, *types):
        if hop is None:
            if value == "local" or str(value).startswith("igw-"):
                continue
            what = {"vpcPeeringConnectionId": "peering connection", "transitGatewayId": "anything attached to "
                    "transit gateway", "networkInterfaceId": "network interface", "instanceId": "instance",
                    "vpcEndpointId": "VPC endpoint"}.get(prop, "gateway")
            found.append(outside(g, str(value), what))
        elif hop.type == INTERNET_GATEWAY:
            continue
        elif hop.type == PEERING:
            found += _vpc_sides(g, hop, "vpcId", own_vpcs) + _vpc_sides(g, hop, "peerVpcId", own_vpcs)
        elif hop.type == TRANSIT_GATEWAY:
            found.append(g.node(hop, f"anything attached to transit gateway {hop.name}"))
            gateway_id = hop.props.get("id")
            for attachment in g.of_type(TGW_ATTACHMENT):
                if attachment.props.get("transitGatewayId") == gateway_id or \
                        hop.key in attachment.deps.get("transitGatewayId", ()):
                    found += _vpc_sides(g, attachment, "vpcId", own_vpcs)
        elif hop.type == VPN_GATEWAY:
            found.append(g.node(hop, f"networks behind VPN gateway {hop.name}"))
        elif hop.type == endpoints.ENDPOINT:
            service = endpoints.service_of(g, hop)
            if service is None:
                return None
            found += service
        else:
            found.append(g.node(hop, f"{'network interface' if hop.type == ENI else 'instance'} {hop.name}"))
    return found


def _values(r: Resource, path: tuple) -> list:
    value = r.props
    for step in path:
        value = value.get(step) if isinstance(value, dict) else None
    return [value] if value is not None else []


def _routes(g: Graph) -> Iterable[tuple]:
    """(the resource that creates the route, its table, the route's properties path, the route's props)."""
    for table in g.of_type(*TABLES):
        routes = table.props.get("routes")
        if routes is UNKNOWN:
            g.need(table, "routes")
            continue
        for i, route in enumerate(routes if isinstance(routes, list) else []):
            if isinstance(route, dict):
                yield table, table, ("routes", i), route
    for route in g.of_type(ROUTE):
        for table in g.resolve(route, "routeTableId", *TABLES):
            yield route, table, (), route.props


def _route_edges(g: Graph) -> None:
    tables = Tables(g)
    for creator, table, where, route in _routes(g):
        destination = next((str(route[k]) for k in DESTINATIONS if route.get(k) not in (None, UNKNOWN)), "")
        own = {v.key for v in tables.vpcs(table)}
        targets = None
        for prop in HOPS:
            value = route.get(prop)
            if value is None or value == "":
                continue
            # an inline route's values sit in `routes`; its dependencies are the table's `routes`
            if where:
                view = Resource(creator.key, creator.type, creator.name, {"routes": {prop: value}}, creator.parent,
                                {"routes": creator.deps.get("routes", ())})
                sources = _hop(g, view, prop, ("routes", prop), own)
            else:
                sources = _hop(g, creator, prop, (prop,), own)
            if sources is None:
                g.need(creator, f"{'routes.' if where else ''}{prop}")
                continue
            if not sources:
                continue
            targets = targets if targets is not None else tables.served(table)
            hop = g.named(value) if isinstance(value, str) else None
            mechanism = (f"route {destination or '(no destination)'} in route table {table.name} to {HOP_WORDS[prop]} "
                         f"{hop.name if hop is not None else value if isinstance(value, str) else '(not known yet)'}")
            for source in sources:
                for target in targets:
                    if source.owner != target.owner:
                        g.add(Edge(source, frozenset({READ, REACH}), target, mechanism, creator.key))


# -- network ACLs -------------------------------------------------------------------------------------
def _acl_edges(g: Graph) -> None:
    """A network ACL, association or rule that the platform claims on a tenant's subnet (a tenant's
    claim on another tenant's subnet is a conflict of ownership, core.ATTACHMENTS)."""
    by_acl: dict[str, list[Resource]] = {}
    for acl in g.of_type(NACL, DEFAULT_NACL):
        by_acl.setdefault(acl.key, []).extend(g.resolve(acl, "subnetIds", SUBNET))
    for association in g.of_type(NACL_ASSOCIATION):
        subnets = g.resolve(association, "subnetId", SUBNET)
        for acl in g.resolve(association, "networkAclId", NACL, DEFAULT_NACL):
            by_acl.setdefault(acl.key, []).extend(subnets)
    for r in g.of_type(NACL, DEFAULT_NACL, NACL_ASSOCIATION, NACL_RULE):
        claim = g._own_claim(r) or g._ancestor_claim(r)
        if claim is None or claim.is_tenant:
            continue
        if r.type == NACL_ASSOCIATION:
            subnets = g.resolve(r, "subnetId", SUBNET)
        elif r.type == NACL_RULE:
            subnets = [s for acl in g.resolve(r, "networkAclId", NACL, DEFAULT_NACL) for s in by_acl.get(acl.key, [])]
        else:
            subnets = by_acl.get(r.key, [])
        what = f"{ACL_WORDS[r.type]} {r.name}"
        source = Node(f"acl:{r.key}", what, claim)
        for subnet in {s.key: s for s in subnets}.values():
            owner = g.owner(subnet)
            if owner.is_tenant and owner != claim:
                g.add(Edge(source, frozenset({WRITE}), g.node(subnet, f"subnet {subnet.name}"),
                           f"{what} on subnet {subnet.name} (who writes the ACL's rules decides who reaches the "
                           f"subnet)", r.key))


def add_edges(g: Graph) -> None:
    _route_edges(g)
    _acl_edges(g)
