"""Who owns a resource: its `tenant-id` tag (or `tenancy.io/tenant-id` label), else its nearest
ancestor's. Resources that no tenant owns belong to the platform (None)."""

from __future__ import annotations

from collections.abc import Iterable
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


class Index:
    """Owners by URN, and by every identifying value (ARN, id, URL, ...) a resource exposes."""

    def __init__(self, resources: Iterable[PolicyResource]):
        self.resources = list(resources)
        self.owner_of: dict[str, Optional[str]] = {r.urn: owner(r) for r in self.resources}
        self.by_value: dict[str, PolicyResource] = {}
        for r in self.resources:
            for key in IDENTITY_KEYS + OWN_ID_KEYS.get(r.resource_type, ()):
                try:
                    value = get(r.props, key)
                except UnknownValueError:
                    continue
                if isinstance(value, str) and len(value) >= 8:
                    self.by_value.setdefault(value, r)

    def tenant(self, resource: PolicyResource) -> Optional[str]:
        return self.owner_of.get(resource.urn)

    def named(self, value: str) -> Optional[PolicyResource]:
        """The resource a string names: exactly, or as an ARN with a suffix (`arn...:key/id`, `arn:...*`)."""
        if value in self.by_value:
            return self.by_value[value]
        if value.startswith("arn:"):
            stem = value.rstrip("*")
            for known, resource in self.by_value.items():
                if known.startswith("arn:") and len(stem) > 20 and (known.startswith(stem) or stem.startswith(known)):
                    return resource
        return None

    def dependencies(self, resource: PolicyResource) -> list[PolicyResource]:
        deps = list(resource.dependencies)
        for items in resource.property_dependencies.values():
            deps.extend(items)
        return deps

    def of_type(self, *types: str) -> list[PolicyResource]:
        return [r for r in self.resources if r.resource_type in types]
