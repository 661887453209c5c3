"""One tenant, composed by its effective per-service tiers: each service picks the shared or own
variant of the same components; no block is copied per tier."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from ipaddress import IPv4Network

import pulumi

from tenancy.registry import naming
from tenancy.registry.addressing import carve
from tenancy.registry.models import Service, Tier
from tenancy.registry.network_rules import subnet_roles
from tenancy.registry.tiers import EffectiveTenant

from .api import ApiAccess
from .billing import tenant_budget
from .cache import Cache, CacheUser
from .context import DeployContext
from .database import POOLED_DB_NAME, Database, DatabaseSize, PooledLogin
from .flags import TenantFlags
from .identity import Grants, WorkloadIdentity
from .keys import Key
from .kubernetes import TenantNamespace, service_account, tenant_quota
from .monitoring import Monitoring
from .network import TenantSlice, Vpc, WorkloadSecurityGroup
from .platform import platform_data_cidrs
from .queues import TenantQueues
from .refs import PlatformRefs
from .tagging import tagging, tenant_labels, tenant_tags


@dataclass(frozen=True)
class Placement:
    """Where a tenant's workloads and data live on the network."""

    vpc_id: pulumi.Input[str]
    data_subnet_ids: pulumi.Input[Sequence[str]]
    data_cidrs: list[str]
    app_security_group_id: pulumi.Input[str]


class Tenant(pulumi.ComponentResource):
    key_arn: pulumi.Output[str]
    role_arn: pulumi.Output[str]

    def __init__(self, tenant: EffectiveTenant, ctx: DeployContext, platform: PlatformRefs,
                 opts: pulumi.ResourceOptions | None = None):
        name = naming.tenant_prefix(ctx.environment, tenant.id)
        tags = tenant_tags(tenant, ctx.environment)
        opts = pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(transformations=[tagging(tags)]))
        # The component carries the tags too, so policies can attribute untaggable children
        # (role policies, aliases, Kubernetes objects) to their tenant through their ancestors.
        super().__init__("tenancy:tenant:Tenant", name, {"tags": tags}, opts)
        self.effective = tenant  # public: programs that extend a tenant (tests' variants) read it
        self._prefix, self._ctx, self._platform = name, ctx, platform
        child = pulumi.ResourceOptions(parent=self)

        namespace = naming.namespace_name(tenant.id) if tenant.has_own_namespace else naming.POOL_NAMESPACE
        account = naming.service_account_name(tenant.id)
        identity = WorkloadIdentity(f"{name}-identity", ctx, naming.role_name(ctx.environment, tenant.id),
                                    namespace, account, opts=child)
        key = Key(f"{name}-key", ctx, owner=tenant.id, user_arns=[identity.role_arn], opts=child)
        placement = self._place(key)
        self.database: Database | None = None  # own database, if any
        self.cache: Cache | None = None  # own cache, if any
        database_endpoint, secret_arn, db_user_arn = self._database(key, placement)
        cache_arns, cache_endpoint = self._cache(key, placement)
        queues = TenantQueues(f"{name}-queues", key.arn, identity.role_arn, opts=child)
        api = ApiAccess(f"{name}-api", ctx, tenant, opts=child)
        flags = TenantFlags(f"{name}-flags", tenant, platform.appconfig_application_id, opts=child)
        monitoring = Monitoring(
            f"{name}-monitoring", ctx, tenant, key.arn, queues.queue_name, queues.dlq_name,
            self.database.identifier if self.database else None, self.cache.group_id if self.cache else None,
            tenant.database_storage[1], opts=child)
        tenant_budget(name, ctx, tenant, monitoring.topic_arn, parent=self)
        identity.grant(Grants(
            key_arn=key.arn, queue_arns=[queues.queue_arn, queues.dlq_arn], secret_arns=[secret_arn],
            cache_arns=cache_arns, database_user_arns=[db_user_arn],
            log_group_arns=[pulumi.Output.all(ctx.account_id, monitoring.log_group_name).apply(
                lambda v: f"arn:{ctx.partition}:logs:{ctx.region}:{v[0]}:log-group:{v[1]}:*")],
            appconfig_arns=[pulumi.Output.all(ctx.account_id, platform.appconfig_application_id, flags.profile_id).apply(
                lambda v: f"arn:{ctx.partition}:appconfig:{ctx.region}:{v[0]}:application/{v[1]}/*/configuration/{v[2]}")]))
        namespace_output = self._kubernetes(namespace, account, identity, placement)

        self.key_arn = key.arn
        self.role_arn = identity.role_arn
        self.queues = queues
        self.placement = placement
        self.outputs = {
            "plan": tenant.tenant.plan,
            "status": tenant.tenant.status.value,
            "isolation": tenant.isolation.value,
            "services": {s.value: t.value for s, t in tenant.services.items()},
            "keyArn": key.arn,
            "keyAlias": key.alias,
            "roleArn": identity.role_arn,
            "queueUrl": queues.queue_url,
            "deadLetterQueueUrl": queues.dlq_url,
            "databaseEndpoint": database_endpoint,
            "databaseSecretArn": secret_arn,
            "cacheEndpoint": cache_endpoint,
            "namespace": namespace_output,
            "serviceAccount": account,
            "usagePlanId": api.usage_plan_id,
            "apiKeyId": api.api_key_id,
            "apiKey": api.api_key,
            "alarmTopicArn": monitoring.topic_arn,
            "logGroup": monitoring.log_group_name,
            "flagsProfileId": flags.profile_id,
        }
        self.register_outputs(self.outputs)

    # -- network --------------------------------------------------------------------------------
    def _place(self, key: Key) -> Placement:
        tenant, ctx, platform, name = self.effective, self._ctx, self._platform, self._prefix
        child = pulumi.ResourceOptions(parent=self)
        tier = tenant.tier(Service.network)
        if tier is Tier.shared:
            return Placement(platform.vpc_id, platform.data_subnet_ids, platform_data_cidrs(ctx),
                             platform.pool_app_security_group_id)
        block = tenant.tenant.network.cidr
        data_cidrs = [str(c) for c in carve(IPv4Network(block), subnet_roles(tier), ctx.settings.network.az_count)["data"]]
        if tier is Tier.dedicated:
            vpc_id = platform.vpc_id
            network = TenantSlice(f"{name}-slice", ctx, block, vpc_id, platform.availability_zones,
                                  platform.nat_gateway_ids, opts=child)
        else:
            network = Vpc(f"{name}-network", ctx, tenant.id, block, block, platform.availability_zones,
                          ctx.settings.network.nat_gateways, key.arn, opts=child)
            vpc_id = network.vpc_id
        app = WorkloadSecurityGroup(f"{name}-app", vpc_id, data_cidrs,
                                    (naming.DATABASE_PORT, naming.CACHE_PORT), opts=child)
        return Placement(vpc_id, network.data_subnet_ids, data_cidrs, app.id)

    # -- data -----------------------------------------------------------------------------------
    def _database(self, key: Key, placement: Placement):
        tenant, ctx, platform, name = self.effective, self._ctx, self._platform, self._prefix
        child = pulumi.ResourceOptions(parent=self)
        role = naming.database_role(tenant.id)
        if tenant.tier(Service.database) is Tier.shared:
            login = PooledLogin(f"{name}-db", ctx, key.arn, role, platform.pool_database_address,
                                platform.pool_database_port, POOLED_DB_NAME, opts=child)
            resource_id = platform.pool_database_resource_id
            endpoint = pulumi.Output.concat(platform.pool_database_address, ":",
                                            platform.pool_database_port.apply(str))
            secret_arn = login.secret_arn
        else:
            plan = tenant.plan.database
            database = Database(f"{name}-db", ctx, key.arn, placement.vpc_id, placement.data_subnet_ids,
                                [placement.app_security_group_id],
                                DatabaseSize(plan.instance_class, *tenant.database_storage[:1],
                                             multi_az=ctx.environment == "prod",
                                             max_allocated_storage_gib=tenant.database_storage[1]), opts=child)
            resource_id, endpoint, secret_arn = database.resource_id, database.endpoint, database.secret_arn
            self.database = database
        user_arn = pulumi.Output.all(ctx.account_id, resource_id).apply(
            lambda v: f"arn:{ctx.partition}:rds-db:{ctx.region}:{v[0]}:dbuser:{v[1]}/{role}")
        return endpoint, secret_arn, user_arn

    def _cache(self, key: Key, placement: Placement):
        tenant, ctx, platform, name = self.effective, self._ctx, self._platform, self._prefix
        child = pulumi.ResourceOptions(parent=self)
        user_id = naming.cache_user_id(ctx.environment, tenant.id)
        if tenant.tier(Service.cache) is Tier.shared:
            user = CacheUser(f"{name}-cache-user", user_id, tenant.id, not tenant.suspended,
                             user_group_id=platform.pool_cache_user_group_id, opts=child)
            return [platform.pool_cache_arn, user.arn], None
        user = CacheUser(f"{name}-cache-user", user_id, tenant.id, not tenant.suspended, opts=child)
        plan = tenant.plan.cache
        cache = Cache(f"{name}-cache", ctx, f"{ctx.environment}-{tenant.id}", key.arn, placement.vpc_id,
                      placement.data_subnet_ids, [placement.app_security_group_id], plan.node_type, plan.replicas,
                      user_ids=[user.user_id], opts=child)
        self.cache = cache
        return [cache.arn, user.arn], cache.endpoint

    # -- kubernetes -----------------------------------------------------------------------------
    def _kubernetes(self, namespace: str, account: str, identity: WorkloadIdentity, placement: Placement):
        tenant, ctx, name = self.effective, self._ctx, self._prefix
        if ctx.kubernetes is None:
            return namespace
        in_cluster = pulumi.ResourceOptions(parent=self, providers=[ctx.kubernetes])
        tier = tenant.tier(Service.compute)
        labels = tenant_labels(tenant, ctx.environment, tier.value)
        if tenant.has_own_namespace:
            namespace_output = TenantNamespace(f"{name}-namespace", namespace, labels, tenant_quota(tenant),
                                               placement.data_cidrs, opts=in_cluster).namespace
        else:
            namespace_output = self._platform.pool_namespace
        service_account(name, namespace_output, account, identity.role_arn, labels, opts=in_cluster)
        return namespace_output
