"""The access graph of a set of resources: ownership (core), then every mechanism's edges.

Adding a mechanism: write a module with `add_edges(graph)` that reads the resources it is about
(`graph.of_type`), resolves what they attach to (`graph.resolve`), records every unknown value it
needed (`graph.need`) and calls `graph.add` for each edge (`source can <verbs> target via
<mechanism>`, with the URN of the resource that creates it); list it in MECHANISMS; add its
untaggable types to `core.ATTACHMENTS` (what they attach to, hence who owns them); then write its
bypass programs and their compliant twins in tests/policies/test_isolation.py."""

from __future__ import annotations

from collections.abc import Iterable

from . import cache, endpoints, iam, interfaces, kubernetes, network, routes, routing, workloads
from .core import Graph
from .model import Resource

MECHANISMS = (iam.add_edges, network.add_edges, network.add_joins, cache.add_edges, workloads.add_edges,
              kubernetes.add_edges, interfaces.add_edges, routing.add_edges, endpoints.add_edges,
              routes.add_edges)


def graph(resources: Iterable[Resource], account_id: str = "") -> Graph:
    """The access graph of the resources, every mechanism applied."""
    g = Graph(resources, account_id)
    for mechanism in MECHANISMS:
        mechanism(g)
    return g
