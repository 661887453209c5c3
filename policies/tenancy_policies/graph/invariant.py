"""The one invariant: nothing owned by tenant A, the pool (the platform's workloads), anyone, or an
unknown owner can read, write, decrypt, assume or reach anything owned by tenant B, except along a
declared platform path (`paths`). Also a finding: a resource two tenants claim (its tag, the tenant
it is created in, what it attaches to disagree)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from . import paths
from .core import Graph
from .model import VERB_ORDER

MAX_TARGETS = 6  # per message, those reached in most ways first; the rest are counted


def findings(g: Graph, config: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(message, URN of the resource that creates the path) for every forbidden path."""
    out = []
    for conflict in g.conflicts:
        claims = " and ".join(f"{owner} ({why})" for owner, why in conflict.claims)
        out.append((f"{conflict.resource.name} is claimed by {claims}: a tenant's resource may attach only to "
                    f"its own", conflict.resource.key))
    grouped: dict[tuple, dict] = {}
    for e in g.edges:
        if not e.target.owner.is_tenant or e.source.owner == e.target.owner or paths.allowed(e, config):
            continue
        targets = grouped.setdefault((e.urn, e.source, e.mechanism, e.target.owner), {})
        targets[e.target] = targets.get(e.target, frozenset()) | e.verbs
    for (urn, source, mechanism, owner), targets in grouped.items():
        reached = [f"{', '.join(v for v in VERB_ORDER if v in verbs)} {target}"
                   for target, verbs in sorted(targets.items(), key=lambda item: (-len(item[1]), item[0].label))]
        more = f" (and {len(reached) - MAX_TARGETS} more)" if len(reached) > MAX_TARGETS else ""
        out.append((f"{source} ({source.owner}) can {'; '.join(reached[:MAX_TARGETS])}{more} of {owner} "
                    f"via {mechanism}", urn))
    return sorted(set(out), key=lambda f: (f[1], f[0]))
