"""Who owns a resource: its `tenant-id` tag (or `tenancy.io/tenant-id` label), else its nearest
ancestor's. Resources that no tenant owns belong to the platform (None).

The policy SDK hands every stack policy a list of its own (it deserializes the request once per
policy), so nothing the policies receive is shared between them. The ownership index is therefore
derived from the few facts it reads of each resource (URN, type, parent, own tenant, identifying
values) and memoized on them: one analysis builds it once, whichever policy asks first, and an
analysis that differs in any of those facts gets its own. Each policy stays a pure function of its
input; the memo only saves recomputing the same answer."""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from types import MappingProxyType
from typing import Any, Optional

from pulumi_policy import PolicyResource
from pulumi_policy.proxy import UnknownValueError

from .graph import arns
from .props import TENANT_LABEL, TENANT_TAG, get

IDENTITY_KEYS = ("arn", "id", "url")  # identify any resource
# ...and the ids that identify only a resource of this type (an association also carries a userGroupId)
# and the addresses and names by which a client reaches one (a connection string names the database)
OWN_ID_KEYS = {
    "aws:kms/key:Key": ("keyId",),
    "aws:elasticache/user:User": ("userId",),
    "aws:elasticache/userGroup:UserGroup": ("userGroupId",),
    "aws:elasticache/replicationGroup:ReplicationGroup": ("replicationGroupId", "primaryEndpointAddress",
                                                          "readerEndpointAddress", "configurationEndpointAddress"),
    "aws:rds/instance:Instance": ("endpoint", "address", "identifier"),
    "aws:rds/cluster:Cluster": ("endpoint", "readerEndpoint", "clusterIdentifier"),
    "aws:sqs/queue:Queue": ("name",),
    "aws:secretsmanager/secret:Secret": ("name",),
}
MIN_IDENTITY_LENGTH = 8  # shorter strings ("tcp", "dev") would name resources by accident


def own_tenant(resource: PolicyResource) -> Optional[str]:
    props = resource.props
    try:
        return get(props, "tags", TENANT_TAG) or get(props, "metadata", "labels", TENANT_LABEL)
    except UnknownValueError:  # tags not known yet (preview): ask the ancestors
        return None


def owner(resource: PolicyResource) -> Optional[str]:
    current: Any = resource
    while current is not None:
        found = own_tenant(current)
        if found:
            return str(found)
        current = current.parent
    return None


def tag(resource: PolicyResource, key: str) -> Optional[str]:
    """A tag of the resource or, failing that, of its nearest tagged ancestor."""
    current: Any = resource
    while current is not None:
        try:
            value = get(current.props, "tags", key)
        except UnknownValueError:
            value = None
        if value is not None:
            return str(value)
        current = current.parent
    return None


@dataclass(frozen=True)
class Facts:
    """Everything ownership reads of one resource: equal facts give an equal index."""

    urn: str
    resource_type: str
    parent: Optional[str]  # the parent's URN, when the parent is in the stack
    tenant: Optional[str]  # its own tag or label, not inherited
    identities: tuple[str, ...]  # the known values that identify it (ARN, id, URL, ...)


def facts(resource: PolicyResource) -> Facts:
    identities = []
    for key in IDENTITY_KEYS + OWN_ID_KEYS.get(resource.resource_type, ()):
        try:
            value = get(resource.props, key)
        except UnknownValueError:
            continue
        if isinstance(value, str) and len(value) >= MIN_IDENTITY_LENGTH:
            identities.append(value)
    own = own_tenant(resource)
    return Facts(resource.urn, resource.resource_type, resource.parent.urn if resource.parent is not None else None,
                 str(own) if own else None, tuple(identities))


class Ownership:
    """Owners by URN, and URNs by every identifying value: computed from the facts alone."""

    def __init__(self, stack: tuple[Facts, ...]):
        by_urn = {f.urn: f for f in stack}
        owner_of: dict[str, Optional[str]] = {}
        for f in stack:
            current: Optional[Facts] = f
            while current is not None and not current.tenant:
                current = by_urn.get(current.parent) if current.parent else None
            owner_of[f.urn] = current.tenant if current is not None else None
        by_value: dict[str, str] = {}
        for f in stack:
            for value in f.identities:
                by_value.setdefault(value, f.urn)
        self.owner_of = MappingProxyType(owner_of)
        self.by_value = MappingProxyType(by_value)
        self.arns = ArnPrefixes([(value, urn) for value, urn in by_value.items() if value.startswith("arn:")])


class ArnPrefixes:
    """Known ARNs, in the stack's order, asked for the first that extends a stem or that the stem
    extends: by bisection over the sorted ARNs and lookups of the stem's prefixes, not a scan of every
    ARN per question (which grew with the square of the stack)."""

    def __init__(self, arns: list[tuple[str, str]]):
        self._urns = [urn for _, urn in arns]
        self._position = {}
        for position, (arn, _) in enumerate(arns):
            self._position.setdefault(arn, position)
        ordered = sorted(self._position.items())
        self._sorted = [arn for arn, _ in ordered]
        self._positions = [position for _, position in ordered]

    def matching(self, pattern: str) -> list[str]:
        """The URNs of the known ARNs an IAM-style pattern matches (searched among those that start
        with its literal part), in the stack's order."""
        literal = arns.literal_prefix(pattern)
        lo = bisect_left(self._sorted, literal)
        hi = bisect_left(self._sorted, literal + "\U0010ffff")
        hits = sorted(self._positions[i] for i in range(lo, hi) if arns.matches(pattern, self._sorted[i]))
        return [self._urns[position] for position in hits]

    def first_related(self, stem: str) -> Optional[str]:
        """The URN of the first ARN (in the stack's order) that starts with `stem` or that `stem` starts with."""
        lo = bisect_left(self._sorted, stem)
        hi = bisect_left(self._sorted, stem + "\U0010ffff")
        best = min(self._positions[lo:hi], default=None)
        for end in range(1, len(stem)):  # ARNs that are a shorter prefix of the stem
            position = self._position.get(stem[:end])
            if position is not None and (best is None or position < best):
                best = position
        return self._urns[best] if best is not None else None


_last_facts: list = [(), ()]  # [the resources, their facts] of the last stack read


def stack_facts(resources: list[PolicyResource]) -> tuple[Facts, ...]:
    """The facts of a stack's resources, read once when every stack policy of an analysis is handed
    the same resource objects (the offline plan's runner); an analyzer that builds new objects for
    each policy, as the SDK's does, reads them again, which is only slower."""
    known, known_facts = _last_facts
    if len(known) == len(resources) and all(a is b for a, b in zip(known, resources)):
        return known_facts
    out = tuple(facts(r) for r in resources)
    _last_facts[:] = [tuple(resources), out]
    return out


@lru_cache(maxsize=4)
def ownership(stack: tuple[Facts, ...]) -> Ownership:
    """The ownership of a stack, built once for each distinct set of facts (so once per analysis)."""
    return Ownership(stack)


class Index:
    """One policy's view of the stack: its own resources, with the analysis' shared ownership."""

    def __init__(self, resources: Iterable[PolicyResource]):
        self.resources = list(resources)
        self._by_urn = {r.urn: r for r in self.resources}
        self._ownership = ownership(stack_facts(self.resources))
        self.owner_of = self._ownership.owner_of

    def tenant(self, resource: PolicyResource) -> Optional[str]:
        return self.owner_of.get(resource.urn)

    def named(self, value: str) -> Optional[PolicyResource]:
        """The resource a string names: exactly, or as an ARN with a suffix (`arn...:key/id`, `arn:...*`)."""
        urn = self._ownership.by_value.get(value)
        if urn is None and value.startswith("arn:"):
            stem = value.rstrip("*")
            if len(stem) > 20:
                urn = self._ownership.arns.first_related(stem)
        return self._by_urn.get(urn) if urn is not None else None

    def matching(self, pattern: str) -> list[PolicyResource]:
        """Every resource a name or IAM-style ARN pattern (`*` and `?` anywhere) names: what `named`
        finds, and each resource whose ARN the pattern matches."""
        found = []
        first = self.named(pattern)
        if first is not None:
            found.append(first)
        if pattern.startswith("arn:") and ("*" in pattern or "?" in pattern):
            seen = {r.urn for r in found}
            for urn in self._ownership.arns.matching(pattern):
                if urn not in seen and urn in self._by_urn:
                    seen.add(urn)
                    found.append(self._by_urn[urn])
        return found

    def dependencies(self, resource: PolicyResource) -> list[PolicyResource]:
        deps = list(resource.dependencies)
        for items in resource.property_dependencies.values():
            deps.extend(items)
        return deps

    def of_type(self, *types: str) -> list[PolicyResource]:
        """The resources of these types, in the stack's order (indexed once per policy, since rules ask per tenant)."""
        by_type = self.__dict__.get("_by_type")
        if by_type is None:
            by_type = {}
            for position, r in enumerate(self.resources):
                by_type.setdefault(r.resource_type, []).append((position, r))
            self._by_type = by_type
        if len(types) == 1:
            return [r for _, r in by_type.get(types[0], ())]
        return [r for _, r in sorted(item for t in set(types) for item in by_type.get(t, ()))]
