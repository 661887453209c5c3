"""The graph of one set of resources: who owns what (with the ownership conflicts found on the way),
how resources name each other, and the edges the mechanisms add (`analysis.MECHANISMS`)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Optional

from . import arns
from .documents import Statement, parse, resource_matches
from .model import PLATFORM, UNKNOWN, UNOWNED, Edge, Node, Owner, Resource, tenant

TENANT_TAG = "tenant-id"
TENANT_LABEL = "tenancy.io/tenant-id"
SCOPE_TAG, PLATFORM_SCOPE = "tenancy-scope", "platform"
PLATFORM_TYPES = ("tenancy:platform:",)  # components that are the platform's by their type
# Values that identify a resource when another one names it: any resource's, and those that
# identify only a resource of one type (an association also carries a userGroupId, a rule a name).
IDENTITY_KEYS = ("arn", "id", "url")
OWN_ID_KEYS = {
    "aws:kms/key:Key": ("keyId",),
    "aws:iam/role:Role": ("name",),
    "aws:iam/policy:Policy": ("name",),
    "aws:elasticache/user:User": ("userId",),
    "aws:elasticache/userGroup:UserGroup": ("userGroupId",),
    "aws:elasticache/replicationGroup:ReplicationGroup": ("replicationGroupId",),
    "aws:rds/instance:Instance": ("resourceId", "identifier"),
    "aws:s3/bucket:Bucket": ("bucket",),
    "aws:s3/bucketV2:BucketV2": ("bucket",),
}
ALL_ID_KEYS = tuple(dict.fromkeys(IDENTITY_KEYS + tuple(k for keys in OWN_ID_KEYS.values() for k in keys)))
MIN_IDENTITY_LENGTH = 6
STACK_REFERENCE = "pulumi:pulumi:StackReference"

# What an untaggable resource attaches to, hence who owns it: type -> properties naming the owner.
ATTACHMENTS = {
    "aws:iam/rolePolicy:RolePolicy": ("role",),
    "aws:iam/rolePolicyAttachment:RolePolicyAttachment": ("role",),
    "aws:kms/grant:Grant": ("keyId",),
    "aws:kms/alias:Alias": ("targetKeyId",),
    "aws:kms/keyPolicy:KeyPolicy": ("keyId",),
    "aws:ec2/securityGroupRule:SecurityGroupRule": ("securityGroupId",),
    "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule": ("securityGroupId",),
    "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule": ("securityGroupId",),
    "aws:sqs/queuePolicy:QueuePolicy": ("queueUrl",),
    "aws:sns/topicPolicy:TopicPolicy": ("arn",),
    "aws:secretsmanager/secretPolicy:SecretPolicy": ("secretArn",),
    "aws:s3/bucketPolicy:BucketPolicy": ("bucket",),
    "aws:elasticache/userGroupAssociation:UserGroupAssociation": ("userId", "userGroupId"),
    # network: what governs a subnet's traffic or joins one thing to another (interfaces, routing, endpoints)
    "aws:ec2/networkInterfaceSecurityGroupAttachment:NetworkInterfaceSecurityGroupAttachment": (
        "networkInterfaceId", "securityGroupId"),
    "aws:ec2/networkInterfaceAttachment:NetworkInterfaceAttachment": ("instanceId", "networkInterfaceId"),
    "aws:ec2/networkAcl:NetworkAcl": ("subnetIds",),
    "aws:ec2/defaultNetworkAcl:DefaultNetworkAcl": ("subnetIds",),
    "aws:ec2/networkAclAssociation:NetworkAclAssociation": ("subnetId", "networkAclId"),
    "aws:ec2/networkAclRule:NetworkAclRule": ("networkAclId",),
    "aws:ec2/route:Route": ("routeTableId",),
    "aws:ec2/routeTableAssociation:RouteTableAssociation": ("subnetId", "routeTableId", "gatewayId"),
    "aws:ec2/mainRouteTableAssociation:MainRouteTableAssociation": ("vpcId", "routeTableId"),
    "aws:ec2/vpcEndpoint:VpcEndpoint": ("vpcId", "subnetIds", "routeTableIds"),
    "aws:ec2/vpcEndpointService:VpcEndpointService": ("networkLoadBalancerArns", "gatewayLoadBalancerArns"),
    "aws:ec2/vpcEndpointServiceAllowedPrinciple:VpcEndpointServiceAllowedPrinciple": ("vpcEndpointServiceId",),
    "aws:ec2/vpcEndpointConnectionAccepter:VpcEndpointConnectionAccepter": ("vpcEndpointServiceId", "vpcEndpointId"),
    "aws:ec2/vpcEndpointSubnetAssociation:VpcEndpointSubnetAssociation": ("vpcEndpointId", "subnetId"),
    "aws:ec2/vpcEndpointRouteTableAssociation:VpcEndpointRouteTableAssociation": ("vpcEndpointId", "routeTableId"),
    "aws:ec2/securityGroupAssociation:SecurityGroupAssociation": ("vpcEndpointId", "securityGroupId"),
}
KEY = "aws:kms/key:Key"
BUCKETS = ("aws:s3/bucket:Bucket", "aws:s3/bucketV2:BucketV2")
# Resource policies: type -> (property naming the resource it governs, that resource's types); None: its own.
RESOURCE_POLICIES = {
    KEY: None, "aws:sqs/queue:Queue": None, "aws:sns/topic:Topic": None, "aws:secretsmanager/secret:Secret": None,
    **{b: None for b in BUCKETS},
    "aws:kms/keyPolicy:KeyPolicy": ("keyId", (KEY,)),
    "aws:sqs/queuePolicy:QueuePolicy": ("queueUrl", ("aws:sqs/queue:Queue",)),
    "aws:sns/topicPolicy:TopicPolicy": ("arn", ("aws:sns/topic:Topic",)),
    "aws:secretsmanager/secretPolicy:SecretPolicy": ("secretArn", ("aws:secretsmanager/secret:Secret",)),
    "aws:s3/bucketPolicy:BucketPolicy": ("bucket", BUCKETS),
}


@dataclass(frozen=True)
class Conflict:
    """A resource that two tenants claim: by its tag, by where it was created, by what it attaches to."""

    resource: Resource
    claims: tuple  # (owner, why)


class Graph:
    def __init__(self, resources: Iterable[Resource], account_id: str = ""):
        self.resources = list(resources)
        self.by_key = {r.key: r for r in self.resources}
        self._by_type: dict[str, list[Resource]] = {}
        for r in self.resources:
            self._by_type.setdefault(r.type, []).append(r)
        self._by_value: dict[str, list[Resource]] = {}
        for r in self.resources:
            for k in IDENTITY_KEYS + OWN_ID_KEYS.get(r.type, ()):
                value = r.props.get(k)
                if isinstance(value, str) and len(value) >= MIN_IDENTITY_LENGTH:
                    found = self._by_value.setdefault(value, [])
                    if r not in found:
                        found.append(r)
        self.account_id = account_id or self._account()
        self.edges: list[Edge] = []
        self.unknown: list[str] = []
        self.conflicts: list[Conflict] = []
        self._owners()

    # -- looking things up ---------------------------------------------------------------------
    def _account(self) -> str:
        found = Counter(arns.account(str(r.props.get("arn"))) for r in self.resources
                        if isinstance(r.props.get("arn"), str))
        found.pop("", None)
        found.pop("aws", None)
        return found.most_common(1)[0][0] if found else ""

    def of_type(self, *types: str) -> list[Resource]:
        return [r for t in types for r in self._by_type.get(t, ())]

    def named(self, value: Any, *types: str) -> Optional[Resource]:
        """The resource (of `types`, if given) a value identifies: its ARN, id, URL, own id..."""
        found = self._by_value.get(value, ()) if isinstance(value, str) else ()
        return next((r for r in found if not types or r.type in types), None)

    def exported(self, value: Any) -> Optional[tuple[str, str, Owner]]:
        """(stack, output path, owner) when a value is another stack's output, read through a
        StackReference: the platform's exports (`platform.*`) are the platform's, a tenant's
        (`tenants.<id>.*`) that tenant's."""
        def find(node: Any, path: tuple) -> Optional[tuple]:
            if node == value:
                return path
            if isinstance(node, Mapping):
                for k, v in node.items():
                    hit = find(v, path + (str(k),))
                    if hit:
                        return hit
            elif isinstance(node, (list, tuple)):
                for i, v in enumerate(node):
                    hit = find(v, path + (str(i),))
                    if hit:
                        return hit
            return None

        for ref in self.of_type(STACK_REFERENCE):
            path = find(ref.props.get("outputs"), ())
            if path:
                owner = PLATFORM if path[0] == "platform" else tenant(path[1]) if path[0] == "tenants" and \
                    len(path) > 1 else UNOWNED
                return str(ref.props.get("name") or ref.name), ".".join(path), owner
        return None

    def need(self, resource: Resource, prop: str) -> None:
        """Record a value the graph needs but is not known yet (preview)."""
        self.unknown.append(f"{resource.name}.{prop}")

    def resolve(self, resource: Resource, prop: str, *types: str, value: Any = None) -> list[Resource]:
        """The resources of `types` a property names: its dependencies, else its value(s). An
        unknown value without a dependency that says what it is is recorded as needed."""
        found = [self.by_key[k] for k in resource.deps.get(prop, ()) if k in self.by_key]
        found = [r for r in found if not types or r.type in types]
        value = resource.props.get(prop) if value is None else value
        values = value if isinstance(value, (list, tuple)) else [value]
        for v in values:
            if v is UNKNOWN:
                if not found:
                    self.need(resource, prop)
                continue
            named = self.named(v, *types)
            if named is not None and named not in found:
                found.append(named)
        return found

    # -- owners --------------------------------------------------------------------------------
    @staticmethod
    def _own_claim(r: Resource) -> Optional[Owner]:
        tags = r.props.get("tags")
        if isinstance(tags, Mapping):
            if isinstance(tags.get(TENANT_TAG), str) and tags[TENANT_TAG]:
                return tenant(tags[TENANT_TAG])
            if tags.get(SCOPE_TAG) == PLATFORM_SCOPE:
                return PLATFORM
        labels = r.get("metadata", "labels")
        if isinstance(labels, Mapping) and isinstance(labels.get(TENANT_LABEL), str) and labels[TENANT_LABEL]:
            return tenant(labels[TENANT_LABEL])
        if r.type.startswith(PLATFORM_TYPES):
            return PLATFORM
        return None

    def _ancestor_claim(self, r: Resource) -> Optional[Owner]:
        current = self.by_key.get(r.parent) if r.parent else None
        while current is not None:
            claim = self._own_claim(current)
            if claim is not None:
                return claim
            current = self.by_key.get(current.parent) if current.parent else None
        return None

    def _owners(self) -> None:
        own = {r.key: self._own_claim(r) for r in self.resources}
        ancestor = {r.key: self._ancestor_claim(r) for r in self.resources}
        base = {k: own[k] or ancestor[k] for k in own}
        attached: dict[str, list] = {}
        for r in self.resources:
            found = [t for prop in ATTACHMENTS.get(r.type, ()) for t in self.resolve(r, prop)]
            if not found and RESOURCE_POLICIES.get(r.type):
                found = self.governed(r, parse(r.props.get("policy")) or [])
            for target in found:
                if target is not r and base.get(target.key):
                    attached.setdefault(r.key, []).append((base[target.key], f"it attaches to {target.name}"))
        # a customer-managed policy is attached to roles: by attachments, or by the roles' own lists
        for attachment in self.of_type("aws:iam/rolePolicyAttachment:RolePolicyAttachment"):
            for policy in self.resolve(attachment, "policyArn", "aws:iam/policy:Policy"):
                for role in self.resolve(attachment, "role", "aws:iam/role:Role"):
                    if base.get(role.key):
                        attached.setdefault(policy.key, []).append((base[role.key], f"it is attached to {role.name}"))
        for role in self.of_type("aws:iam/role:Role"):
            listed = role.props.get("managedPolicyArns")
            for arn in listed if isinstance(listed, (list, tuple)) else ():
                policy = self.named(arn, "aws:iam/policy:Policy")
                if policy is not None and base.get(role.key):
                    attached.setdefault(policy.key, []).append((base[role.key], f"it is attached to {role.name}"))
        self.owner_of: dict[str, Owner] = {}
        for r in self.resources:
            claims = []
            if own[r.key]:
                claims.append((own[r.key], "its tenant-id tag" if own[r.key].is_tenant else "its tags"))
            if ancestor[r.key]:
                claims.append((ancestor[r.key], "it is created in " + (
                    f"tenant {ancestor[r.key].tenant}'s component" if ancestor[r.key].is_tenant else
                    "the platform's component")))
            claims.extend(attached.get(r.key, ()))
            tenants = {c[0] for c in claims if c[0].is_tenant}
            if len(tenants) > 1:
                self.conflicts.append(Conflict(r, tuple(claims)))
            first_attached = attached.get(r.key, [(None, "")])[0][0]
            self.owner_of[r.key] = own[r.key] or first_attached or ancestor[r.key] or UNOWNED

    def governed(self, r: Resource, statements: list[Statement]) -> list[Resource]:
        """The resource a resource policy governs: itself, what it names, else what its statements name."""
        spec = RESOURCE_POLICIES[r.type]
        if spec is None:
            return [r]
        prop, types = spec
        found = self.resolve(r, prop, *types)
        if not found and r.props.get(prop) is None:
            found = [t for arn, t in self.arn_targets() if t.type in types
                     and any(resource_matches(st, arn) for st in statements if st.resources)]
        return found

    def tag_values(self, r: Resource, key: str) -> list:
        """A tag's values on the resource and on each ancestor that sets it (they must agree)."""
        found, current = [], r
        while current is not None:
            tags = current.props.get("tags")
            if isinstance(tags, Mapping) and key in tags:
                found.append(tags[key])
            current = self.by_key.get(current.parent) if current.parent else None
        return found

    def owner(self, r: Resource) -> Owner:
        return self.owner_of.get(r.key, UNOWNED)

    @property
    def tenants(self) -> set[str]:
        return {o.tenant for o in self.owner_of.values() if o.is_tenant}

    def node(self, r: Resource, label: Optional[str] = None) -> Node:
        arn = r.props.get("arn")
        return Node(r.key, label or r.name, self.owner(r), arn if isinstance(arn, str) else "")

    # -- edges ---------------------------------------------------------------------------------
    def add(self, edge: Edge) -> None:
        if edge.verbs:
            self.edges.append(edge)

    def arn_targets(self) -> list[tuple[str, Resource]]:
        """Every resource with a known ARN, with it."""
        cached = getattr(self, "_arn_targets", None)
        if cached is None:
            cached = [(r.props["arn"], r) for r in self.resources
                      if isinstance(r.props.get("arn"), str) and r.props["arn"].startswith("arn:")]
            self._arn_targets = cached
        return cached

    def arn_targets_by_service(self) -> dict[str, list[tuple[str, Resource]]]:
        """`arn_targets` by the service of each ARN (`kms`), each list in their order."""
        cached = getattr(self, "_arn_targets_by_service", None)
        if cached is None:
            cached = {}
            for arn, r in self.arn_targets():
                cached.setdefault(arns.service(arn), []).append((arn, r))
            self._arn_targets_by_service = cached
        return cached

    def arn_targets_named(self, patterns) -> list[tuple[str, Resource]]:
        """The resources with a known ARN that some pattern matches, in `arn_targets`' order; only
        the patterns' services are searched when each names one."""
        services = {arns.service(p) for p in patterns}
        if any(s in ("", "*") or "*" in s or "?" in s for s in services):
            pool = self.arn_targets()
        elif len(services) == 1:
            pool = self.arn_targets_by_service().get(next(iter(services)), [])
        else:
            wanted = {id(r) for s in services for _, r in self.arn_targets_by_service().get(s, [])}
            pool = [(arn, r) for arn, r in self.arn_targets() if id(r) in wanted]
        return [(arn, r) for arn, r in pool if any(arns.matches(p, arn) for p in patterns)]

