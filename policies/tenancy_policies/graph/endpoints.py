"""VPC endpoints and endpoint services (PrivateLink): who reaches a tenant's load balancer through them.

An endpoint service fronts load balancers (`networkLoadBalancerArns`, `gatewayLoadBalancerArns`):
reaching it is reaching them (the service itself when they are not in the program). Its allowed
principals (`allowedPrincipals`, VpcEndpointServiceAllowedPrinciple) may create endpoints to it from
their own networks: `*` is anyone, another account an unknown owner, a role its owner, this account's
root the account's IAM (the `account-root` path: the endpoints of the program are edges of their
own). An endpoint reaches the service its `serviceName` names (the graph does not rely on a
connection waiting for acceptance: accepting is one click): one of the program's, or one of another
account (`com.amazonaws.vpce.<region>.vpce-svc-...`, an unknown owner's); an AWS service's name reaches
no tenant. Where an endpoint sits (its VPC and subnets) and which groups it joins are placement and
membership (interfaces.py); an endpoint, subnet, route table or group association of one tenant on
another's VPC, subnet, table or service is a conflict of ownership (core.ATTACHMENTS)."""

from __future__ import annotations

from typing import Optional

from . import iam
from .core import Graph
from .interfaces import ENDPOINT, named_at, outside
from .model import REACH, UNKNOWN, WORLD, Edge, Node, Resource

SERVICE = "aws:ec2/vpcEndpointService:VpcEndpointService"
ALLOWED_PRINCIPAL = "aws:ec2/vpcEndpointServiceAllowedPrinciple:VpcEndpointServiceAllowedPrinciple"
ACCEPTER = "aws:ec2/vpcEndpointConnectionAccepter:VpcEndpointConnectionAccepter"
SUBNET_ASSOCIATION = "aws:ec2/vpcEndpointSubnetAssociation:VpcEndpointSubnetAssociation"
ROUTE_TABLE_ASSOCIATION = "aws:ec2/vpcEndpointRouteTableAssociation:VpcEndpointRouteTableAssociation"
LOAD_BALANCERS = ("aws:lb/loadBalancer:LoadBalancer", "aws:alb/loadBalancer:LoadBalancer")
TYPES = (ENDPOINT, SERVICE, ALLOWED_PRINCIPAL, ACCEPTER, SUBNET_ASSOCIATION, ROUTE_TABLE_ASSOCIATION)
CUSTOMER_SERVICE = ("com.amazonaws.vpce.",)  # another account's service; `com.amazonaws.<region>.<svc>` is AWS's


def targets(g: Graph, service: Resource) -> list[Node]:
    """What reaching a service reaches: its load balancers in the program, else the service."""
    lbs = [lb for prop in ("networkLoadBalancerArns", "gatewayLoadBalancerArns")
           for lb, _ in named_at(g, service, (prop,), *LOAD_BALANCERS) if lb is not None]
    return [g.node(lb, f"load balancer {lb.name} (behind endpoint service {service.name})")
            for lb in {lb.key: lb for lb in lbs}.values()] or [g.node(service, f"endpoint service {service.name}")]


def _services_named(g: Graph, value: str) -> list[Resource]:
    return [s for s in g.of_type(SERVICE) if value in (s.props.get("serviceName"), s.props.get("id")) or
            (isinstance(s.props.get("id"), str) and len(s.props["id"]) >= 6 and value.endswith("." + s.props["id"]))]


def service_of(g: Graph, endpoint: Resource) -> Optional[list[Node]]:
    """What an endpoint connects to ([] for an AWS service); None when it cannot be known yet (recorded)."""
    value = endpoint.props.get("serviceName")
    deps = [g.by_key[k] for k in endpoint.deps.get("serviceName", ()) if k in g.by_key and g.by_key[k].type == SERVICE]
    if value is UNKNOWN and not deps:
        g.need(endpoint, "serviceName")
        return None
    services = deps if value is UNKNOWN else (_services_named(g, value) if isinstance(value, str) else []) or deps
    if services:
        return [t for s in services for t in targets(g, s)]
    if isinstance(value, str) and value.startswith(CUSTOMER_SERVICE):
        return [outside(g, value, "endpoint service")]
    return []


def _principals(g: Graph, roles: dict, r: Resource, prop: str) -> list[tuple[Node, str]]:
    found = []
    for role, value in named_at(g, r, (prop,), iam.ROLE):
        if value is None:
            found.append((g.node(role, f"role {role.name}"), role.name))
        elif value == "*":
            found.append((Node("world", "anyone (allowed principal *)", WORLD), value))
        else:
            found.append((iam._principal(g, roles, value), value))
    return found


def add_edges(g: Graph) -> None:
    for endpoint in g.of_type(ENDPOINT):
        reached = service_of(g, endpoint)
        source = g.node(endpoint, f"VPC endpoint {endpoint.name}")
        name = endpoint.props.get("serviceName")
        mechanism = f"VPC endpoint {endpoint.name} (service {name if isinstance(name, str) else 'not known yet'})"
        for target in reached or ():
            if target.owner != source.owner:
                g.add(Edge(source, frozenset({REACH}), target, mechanism, endpoint.key))
    roles = iam._roles(g)
    allowed: list[tuple[Resource, Resource, str]] = [(s, s, "allowedPrincipals") for s in g.of_type(SERVICE)]
    for r in g.of_type(ALLOWED_PRINCIPAL):
        allowed += [(r, s, "principalArn") for s in g.resolve(r, "vpcEndpointServiceId", SERVICE)]
    for creator, service, prop in allowed:
        reached = targets(g, service)
        for principal, value in _principals(g, roles, creator, prop):
            for target in reached:
                if principal.owner != target.owner:
                    g.add(Edge(principal, frozenset({REACH}), target,
                               f"endpoint service {service.name} allows principal {value} (it may connect an "
                               f"endpoint from its own network)", creator.key))
