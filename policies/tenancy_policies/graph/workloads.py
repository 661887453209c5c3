"""Kubernetes workloads as sources: what a pod may act as, and which security groups it joins.

- Service accounts: any pod of a namespace may run as any service account of that namespace (the
  pod spec names it; nothing else checks), so the namespace's owner can act as each of them, and
  through them assume the roles that trust them (the trust edges, iam.py). A tenant's service
  account in a namespace it does not own (the pool's) is usable by that namespace's workloads.
- Security groups for pods (EKS `SecurityGroupPolicy`): the pods it selects in its namespace join
  the groups it names, so they reach whatever admits those groups. A namespace's pods joining
  another tenant's group is a path into that tenant."""

from __future__ import annotations

from collections.abc import Mapping

from .core import Graph
from .documents import as_list
from .model import ASSUME, REACH, UNKNOWN, UNOWNED, Edge, Node, Resource

SERVICE_ACCOUNT = "kubernetes:core/v1:ServiceAccount"
NAMESPACE = "kubernetes:core/v1:Namespace"
SECURITY_GROUP_POLICY = "kubernetes:vpcresources.k8s.aws/v1beta1:SecurityGroupPolicy"
SG = "aws:ec2/securityGroup:SecurityGroup"


def _namespaces(g: Graph) -> dict[str, Resource]:
    return {str(ns.get("metadata", "name")): ns for ns in g.of_type(NAMESPACE)}


def pods_of(g: Graph, namespace: str, namespaces: Mapping[str, Resource]) -> Node:
    """The workloads of a namespace, owned by the namespace's owner (unknown when the namespace
    is not in the program: another stack's, or nobody's)."""
    ns = namespaces.get(namespace)
    owner = g.owner(ns) if ns is not None else UNOWNED
    return Node(f"k8s-pods:{namespace}", f"pods of namespace {namespace}", owner)


def _namespace_of(g: Graph, r: Resource):
    namespace = r.get("metadata", "namespace")
    if namespace is UNKNOWN:
        g.need(r, "metadata.namespace")
        return None
    return str(namespace) if namespace else "default"


def add_edges(g: Graph) -> None:
    namespaces = _namespaces(g)
    for sa in g.of_type(SERVICE_ACCOUNT):
        namespace, name = _namespace_of(g, sa), sa.get("metadata", "name")
        if namespace is None:
            continue
        if name is UNKNOWN:
            g.need(sa, "metadata.name")
            continue
        source, target = pods_of(g, namespace, namespaces), g.node(sa, f"service account {namespace}/{name}")
        if source.owner != target.owner:
            g.add(Edge(source, frozenset({ASSUME}), target,
                       f"any pod of namespace {namespace} may run as service account {name}", sa.key))
    for policy in g.of_type(SECURITY_GROUP_POLICY):
        namespace = _namespace_of(g, policy)
        if namespace is None:
            continue
        spec = policy.props.get("spec")
        if spec is UNKNOWN:
            g.need(policy, "spec")
            continue
        groups = (spec or {}).get("securityGroups") if isinstance(spec, Mapping) else None
        ids = groups.get("groupIds") if isinstance(groups, Mapping) else None
        if ids is UNKNOWN or any(v is UNKNOWN for v in as_list(ids)):
            found = [g.by_key[k] for k in policy.deps.get("spec", ()) if k in g.by_key and g.by_key[k].type == SG]
            if not found:
                g.need(policy, "spec.securityGroups.groupIds")
                continue
        else:
            found = []
            for value in as_list(ids):
                group = g.named(value, SG)
                found.append(group if group is not None else value)
        source = pods_of(g, namespace, namespaces)
        for group in found:
            target = g.node(group, f"security group {group.name}") if isinstance(group, Resource) else \
                Node(f"sg:{group}", f"security group {group} (a group outside this program)", UNOWNED)
            if source.owner != target.owner:
                g.add(Edge(source, frozenset({REACH}), target,
                           f"security group policy {policy.name} (its pods join the group)", policy.key))
