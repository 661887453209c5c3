"""The graph's vocabulary: owners, nodes, edges, and the plain resources they are derived from."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Optional

# Verbs, weakest first. `reach` is network reachability or a data-plane connection (a database or
# cache login); the others follow IAM access levels (List is names only, so no verb).
READ, WRITE, DECRYPT, ASSUME, REACH = "read", "write", "decrypt", "assume", "reach"
VERB_ORDER = (READ, WRITE, DECRYPT, ASSUME, REACH)


class Unknown:
    """A value not known yet (a preview): whatever reads it must not pass silently."""

    _instance: Optional[Unknown] = None

    def __new__(cls):
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "<unknown>"


UNKNOWN = Unknown()


@dataclass(frozen=True, order=True)
class Owner:
    """Who a resource or a source belongs to: a tenant, the platform (whose workloads are the pool's),
    anyone in the account, anyone at all, or nobody known."""

    kind: str  # tenant | platform | account | world | unknown
    tenant: str = ""

    @property
    def is_tenant(self) -> bool:
        return self.kind == "tenant"

    def __str__(self) -> str:
        return {"tenant": f"tenant {self.tenant}", "platform": "the platform (pool)",
                "account": "anyone in the account", "world": "anyone", "unknown": "an unknown owner"}[self.kind]


def tenant(tenant_id: str) -> Owner:
    return Owner("tenant", tenant_id)


PLATFORM, ACCOUNT, WORLD, UNOWNED = Owner("platform"), Owner("account"), Owner("world"), Owner("unknown")


@dataclass(frozen=True)
class Node:
    """A source or target: a resource (key = its URN or id), or something outside the program
    (the internet, an address block, the account's principals, an AWS service)."""

    key: str
    label: str
    owner: Owner
    arn: str = ""  # the principal's or resource's ARN, when it has one

    def __str__(self) -> str:
        return self.label


@dataclass(frozen=True)
class Edge:
    """`source` can `verbs` `target` via `mechanism`, created by the resource `urn`."""

    source: Node
    verbs: frozenset
    target: Node
    mechanism: str
    urn: str
    path: Optional[str] = None  # the declared platform path that allows it, if any

    def describe(self) -> str:
        verbs = ", ".join(v for v in VERB_ORDER if v in self.verbs)
        return (f"{self.source} ({self.source.owner}) can {verbs} {self.target} ({self.target.owner}) "
                f"via {self.mechanism}")


@dataclass
class Resource:
    """One resource as the model reads it, whatever it comes from (a plan, a live account).

    `props` are plain values (camelCase keys, as the engine's), where `UNKNOWN` stands for a value
    not known yet; `deps` are the keys of the resources each property was computed from."""

    key: str  # URN (plan) or ARN/id (account)
    type: str  # the Pulumi type token, e.g. aws:iam/role:Role
    name: str
    props: Mapping[str, Any]
    parent: Optional[str] = None
    deps: Mapping[str, tuple] = field(default_factory=dict)

    def get(self, *path: str, default: Any = None) -> Any:
        value: Any = self.props
        for step in path:
            if value is UNKNOWN:
                return UNKNOWN
            if not isinstance(value, Mapping) or step not in value:
                return default
            value = value[step]
        return default if value is None else value
