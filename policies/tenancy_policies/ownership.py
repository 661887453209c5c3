"""Who owns a resource: its `tenant-id` tag (or `tenancy.io/tenant-id` label), else its nearest
ancestor's. Resources that no tenant owns belong to the platform (None).

The policy SDK hands every stack policy a list of its own (it deserializes the request once per
policy), so nothing the policies receive is shared between them. The ownership index is therefore
derived from the few facts it reads of each resource (URN, type, parent, own tenant, identifying
values) and memoized on them: one analysis builds it once, whichever policy asks first, and an
analysis that differs in any of those facts gets its own. Each policy stays a pure function of its
input; the memo only saves recomputing the same answer."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from types import MappingProxyType
from typing import Any, Optional

from pulumi_policy import PolicyResource
from pulumi_policy.proxy import UnknownValueError

from .props import TENANT_LABEL, TENANT_TAG, get

IDENTITY_KEYS = ("arn", "id", "url")  # identify any resource
# ...and the ids that identify only a resource of this type (an association also carries a userGroupId)
OWN_ID_KEYS = {
    "aws:kms/key:Key": ("keyId",),
    "aws:elasticache/user:User": ("userId",),
    "aws:elasticache/userGroup:UserGroup": ("userGroupId",),
    "aws:elasticache/replicationGroup:ReplicationGroup": ("replicationGroupId",),
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
        self.arns = tuple((value, urn) for value, urn in by_value.items() if value.startswith("arn:"))


@lru_cache(maxsize=4)
def ownership(stack: tuple[Facts, ...]) -> Ownership:
    """The ownership of a stack, built once for each distinct set of facts (so once per analysis)."""
    return Ownership(stack)


class Index:
    """One policy's view of the stack: its own resources, with the analysis' shared ownership."""

    def __init__(self, resources: Iterable[PolicyResource]):
        self.resources = list(resources)
        self._by_urn = {r.urn: r for r in self.resources}
        self._ownership = ownership(tuple(facts(r) for r in self.resources))
        self.owner_of = self._ownership.owner_of

    def tenant(self, resource: PolicyResource) -> Optional[str]:
        return self.owner_of.get(resource.urn)

    def named(self, value: str) -> Optional[PolicyResource]:
        """The resource a string names: exactly, or as an ARN with a suffix (`arn...:key/id`, `arn:...*`)."""
        urn = self._ownership.by_value.get(value)
        if urn is None and value.startswith("arn:"):
            stem = value.rstrip("*")
            if len(stem) > 20:
                urn = next((u for known, u in self._ownership.arns if known.startswith(stem) or stem.startswith(known)),
                           None)
        return self._by_urn.get(urn) if urn is not None else None

    def dependencies(self, resource: PolicyResource) -> list[PolicyResource]:
        deps = list(resource.dependencies)
        for items in resource.property_dependencies.values():
            deps.extend(items)
        return deps

    def of_type(self, *types: str) -> list[PolicyResource]:
        return [r for r in self.resources if r.resource_type in types]
