"""The access graph over the plan: the stack's resources as the model's plain resources, and the
invariant's findings as the pack reports them. A value the graph needs that is unknown (preview)
makes the policy "not run", after reporting what it could judge."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from pulumi_policy.proxy import UnknownValueError

from .graph import cache, endpoints, iam, interfaces, kubernetes, network, routes, routing, workloads
from .graph.analysis import graph
from .graph.core import ALL_ID_KEYS, ATTACHMENTS, STACK_REFERENCE
from .graph.invariant import findings
from .graph.model import UNKNOWN, Resource
from .ownership import Index
from .props import not_judged

# Types whose every property the graph may read; of the others, only what identifies and owns them.
READ_WHOLE = {
    iam.ROLE, iam.ROLE_POLICY, iam.ATTACHMENT, iam.POLICY, iam.GRANT, iam.SERVICE_ACCOUNT, iam.NAMESPACE,
    iam.USER, iam.USER_POLICY, iam.USER_ATTACHMENT, iam.GROUP, iam.GROUP_POLICY, iam.GROUP_ATTACHMENT,
    iam.GROUP_MEMBERSHIP, iam.USER_GROUP_MEMBERSHIP, iam.POLICY_ATTACHMENT,
    *iam.RESOURCE_POLICIES, *iam.DB,
    network.SG, network.SG_RULE, network.SG_INGRESS, network.SUBNET, network.VPC, network.CIDR_ASSOCIATION,
    network.PREFIX_LIST, network.PREFIX_LIST_ENTRY, network.PEERING, network.TGW_ATTACHMENT,
    cache.USER, cache.GROUP, cache.ASSOCIATION, cache.REPLICATION_GROUP, STACK_REFERENCE, *ATTACHMENTS,
    workloads.SECURITY_GROUP_POLICY, *kubernetes.TYPES,
    interfaces.ENI, interfaces.INSTANCE, *routing.TYPES, *endpoints.TYPES, *routes.TYPES, routes.SERVICE,
}
ALWAYS = (*ALL_ID_KEYS, "tags", "metadata", *network.GROUP_PROPS, *interfaces.PROPS)


def plain(value: Any) -> Any:
    """An engine value as plain Python, unknowns as UNKNOWN."""
    if isinstance(value, str):
        return value
    if isinstance(value, Mapping):
        out = {}
        for key in list(value):
            try:
                out[key] = plain(value[key])
            except UnknownValueError:
                out[key] = UNKNOWN
        return out
    if isinstance(value, Sequence):
        out_list = []
        for i in range(len(value)):
            try:
                out_list.append(plain(value[i]))
            except UnknownValueError:
                out_list.append(UNKNOWN)
        return out_list
    return value


def resource(r) -> Resource:
    props = r.props
    if r.resource_type in READ_WHOLE:
        values = plain(props)
    else:
        keys = set(props)
        values = {}
        for key in ALWAYS:
            if key in keys:
                try:
                    values[key] = plain(props[key])
                except UnknownValueError:
                    values[key] = UNKNOWN
    deps = {k: tuple(d.urn for d in v) for k, v in r.property_dependencies.items()}
    return Resource(r.urn, r.resource_type, r.name, values, r.parent.urn if r.parent is not None else None, deps)


def tenant_isolation(index: Index, config: Mapping[str, Any]) -> Iterator[tuple[str, str]]:
    g = graph([resource(r) for r in index.resources])
    yield from findings(g, config)
    if g.unknown:
        raise not_judged(sorted(set(g.unknown)))
