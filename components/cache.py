"""ElastiCache (Redis OSS): replication groups with TLS, at-rest encryption under the owner's key and
RBAC user groups; and a tenant's cache user, limited to its own key prefix."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from tenancy.registry.access import DISABLED_DEFAULT_USER, cache_access_string
from tenancy.registry.naming import CACHE_PORT

from .context import stateful
from .network import service_security_group
from .secrets import password

ENGINE = "redis"
SNAPSHOT_RETENTION_DAYS = 7


class CacheUser(pulumi.ComponentResource):
    """A tenant's ElastiCache user: IAM authentication (no password to leak), keys and channels
    `<id>:*` only, switched off while the tenant is suspended. With `user_group_id` it joins an existing (pooled) user group."""

    user_id: pulumi.Output[str]
    arn: pulumi.Output[str]

    def __init__(self, name: str, *, user_id: str, tenant_id: str, enabled: bool,
                 user_group_id: pulumi.Input[str] | None = None, opts: pulumi.ResourceOptions | None = None):
        super().__init__("tenancy:cache:CacheUser", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        user = aws.elasticache.User(f"{name}-user", user_id=user_id, user_name=user_id, engine=ENGINE,
                                    access_string=cache_access_string(tenant_id, enabled),
                                    authentication_mode={"type": "iam"}, opts=child)
        if user_group_id is not None:
            aws.elasticache.UserGroupAssociation(f"{name}-membership", user_group_id=user_group_id,
                                                 user_id=user.user_id, opts=child)
        self.user_id = user.user_id
        self.arn = user.arn
        self.register_outputs({"userId": self.user_id, "arn": self.arn})


@dataclass(frozen=True)
class CacheArgs:
    group_id: str  # the replication and user group id, unique per account and region
    default_user_id: str  # the disabled `default` user every user group must hold
    key_arn: pulumi.Input[str]
    vpc_id: pulumi.Input[str]
    subnet_ids: pulumi.Input[Sequence[str]]
    sources: Sequence[pulumi.Input[str]]  # the workload security groups admitted on the port
    node_type: str
    replicas: int
    engine_version: str
    user_ids: Sequence[pulumi.Input[str]] = ()  # members; none: the pool's group, joined by tenants
    protect: bool = True


class Cache(pulumi.ComponentResource):
    """A replication group in data subnets, reachable only from the given workload groups, whose
    user group holds a disabled `default` user plus `user_ids`."""

    arn: pulumi.Output[str]
    endpoint: pulumi.Output[str]
    user_group_id: pulumi.Output[str]

    group_id: pulumi.Output[str]
    node_ids: list[str]  # the member clusters, `<group>-001`..., for per-node metrics

    def __init__(self, name: str, args: CacheArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("tenancy:cache:Cache", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        group_id, user_ids = args.group_id, args.user_ids
        default_user = aws.elasticache.User(
            f"{name}-default-user", user_id=args.default_user_id, user_name="default", engine=ENGINE,
            access_string=DISABLED_DEFAULT_USER,
            authentication_mode={"type": "password", "passwords": [password(f"{name}-default", child).result]},
            opts=child)
        # Without members of its own the group is the pool's: tenants join it from the pool stack
        # (UserGroupAssociation), so its member list is theirs to change, not this component's.
        users = aws.elasticache.UserGroup(
            f"{name}-users", user_group_id=group_id, engine=ENGINE,
            user_ids=[default_user.user_id, *user_ids], opts=pulumi.ResourceOptions(
                parent=self, ignore_changes=["user_ids"] if not user_ids else None))
        subnets = aws.elasticache.SubnetGroup(f"{name}-subnets", subnet_ids=args.subnet_ids,
                                              description=f"{name} data subnets", opts=child)
        group = service_security_group(name, vpc_id=args.vpc_id, port=CACHE_PORT, sources=args.sources, opts=child)
        nodes = 1 + args.replicas
        rg = aws.elasticache.ReplicationGroup(
            f"{name}-rg",
            replication_group_id=group_id,
            description=f"{name} cache",
            engine=ENGINE,
            engine_version=args.engine_version,
            node_type=args.node_type,
            num_cache_clusters=nodes,
            automatic_failover_enabled=nodes > 1,
            multi_az_enabled=nodes > 1,
            port=CACHE_PORT,
            at_rest_encryption_enabled=True,
            kms_key_id=args.key_arn,
            transit_encryption_enabled=True,
            transit_encryption_mode="required",
            user_group_ids=[users.user_group_id],
            subnet_group_name=subnets.name,
            security_group_ids=[group.id],
            snapshot_retention_limit=SNAPSHOT_RETENTION_DAYS,
            final_snapshot_identifier=f"{name}-final",
            auto_minor_version_upgrade=True,
            opts=pulumi.ResourceOptions.merge(child, stateful(args.protect)),
        )
        self.node_ids = [f"{group_id}-{i:03d}" for i in range(1, nodes + 1)]  # ElastiCache's member names
        self.arn = rg.arn
        self.group_id = rg.id
        self.endpoint = rg.primary_endpoint_address
        self.user_group_id = users.user_group_id
        self.register_outputs({"arn": self.arn, "groupId": self.group_id, "endpoint": self.endpoint,
                               "userGroupId": self.user_group_id})
