"""One tenant, composed by its effective per-service tiers: each service picks the shared or own
variant of the same components; no block is copied per tier.

This is where the validated tenant is turned into plain values for the leaf components: they
never see the `EffectiveTenant` itself."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi

from tenancy.registry import naming
from tenancy.registry.flags import feature_flags_json
from tenancy.registry.instances import MIN_PODS, PODS_PER_CPU
from tenancy.registry.models import DataIsolation, PlanMonitoring, Service, Tier
from tenancy.registry.tiers import EffectiveTenant, own_data

from .api import ApiAccess, ApiAccessArgs
from .auth import LoginArgs, TenantLogin, UserPool, UserPoolArgs
from .billing import BudgetArgs, tenant_budget
from .cache import Cache, CacheArgs, CacheUser
from .context import DeployContext
from .database import POOLED_DB_NAME, Database, DatabaseArgs, DatabaseSize, PooledLogin
from .flags import TenantFlags
from .identity import Grants, IdentityArgs, WorkloadIdentity
from .keys import Key, KeyArgs
from .kubernetes import QuotaSpec, TenantNamespace, pod_security_group, service_account
from .monitoring import Monitoring, MonitoringArgs
from .network import SliceArgs, TenantSlice, Vpc, VpcArgs, WorkloadSecurityGroup
from .platform import platform_layout
from .queues import TenantQueues
from .refs import PlatformRefs
from .routing import Backend, GatewayRef, TenantRoute, gateway_ingress
from .services import ServiceInstances
from .tagging import tagging, tenant_labels, tenant_tags


def with_minimum_retention(limits: PlanMonitoring, minimum: int | None) -> PlanMonitoring:
    """The plan's monitoring, its log retention raised to the stack's minimum (prod keeps a year)."""
    if minimum is None or limits.log_retention_days >= minimum:
        return limits
    return limits.model_copy(update={"log_retention_days": minimum})


def tenant_quota(tenant: EffectiveTenant) -> QuotaSpec:
    """computeLimit -> cpu, memory by the plan's ratio, storageLimit -> storage; a suspended tenant
    keeps its namespace and volumes but may run no pods."""
    cpu = tenant.quotas.compute_limit
    pods = 0 if tenant.suspended else max(MIN_PODS, int(cpu * PODS_PER_CPU))
    return QuotaSpec(cpu=cpu, memory_gib=cpu * tenant.plan.memory_per_cpu_gib,
                     storage_gib=tenant.quotas.storage_limit, pods=pods)


@dataclass(frozen=True)
class Placement:
    """Where a tenant's workloads and data live on the network."""

    vpc_id: pulumi.Input[str]
    data_subnet_ids: pulumi.Input[Sequence[str]]
    data_cidrs: Sequence[str]
    app_security_group_id: pulumi.Input[str]
    own_group: bool = False  # the tenant's workloads have a group of their own (not the pool's)


@dataclass(frozen=True)
class DataAccess:
    """What the tenant's role may reach of one data service, and where clients connect."""

    endpoint: pulumi.Input[str] | None
    arns: Sequence[pulumi.Input[str]]


class Tenant(pulumi.ComponentResource):
    key_arn: pulumi.Output[str]
    role_arn: pulumi.Output[str]

    def __init__(self, tenant: EffectiveTenant, ctx: DeployContext, platform: PlatformRefs,
                 opts: pulumi.ResourceOptions | None = None):
        env = ctx.environment
        name = naming.tenant_prefix(env, tenant.id)
        tags = tenant_tags(tenant, env)
        opts = pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(transformations=[tagging(tags)]))
        # The component carries the tags too, so policies can attribute untaggable children
        # (role policies, aliases, Kubernetes objects) to their tenant through their ancestors.
        super().__init__(naming.TENANT_COMPONENT_TYPE, name, {"tags": tags}, opts)
        self.effective = tenant  # public: programs that extend a tenant (tests' variants) read it
        self._prefix, self._ctx, self._platform = name, ctx, platform
        child = pulumi.ResourceOptions(parent=self)
        account = ctx.account

        namespace = naming.namespace_name(tenant.id) if tenant.has_own_namespace else naming.pool_namespace(ctx.settings.cell)
        service_account_name = naming.service_account_name(tenant.id)
        kube = ctx.settings.kubernetes
        pooled_compute = not tenant.has_own_namespace
        if pooled_compute:  # the pooled services act for it through the pool identity's tagged sessions
            service_account_name = naming.POOL_SERVICE_ACCOUNT
        identity = WorkloadIdentity(f"{name}-identity", IdentityArgs(
            account, naming.role_name(env, tenant.id), namespace, service_account_name,
            oidc_issuer=kube.oidc_issuer if kube else None, oidc_provider_arn=ctx.oidc_provider_arn,
            pool_role_arn=platform.pool_workload_role_arn if pooled_compute else None,
            tenant_id=tenant.id), opts=child)
        key = Key(f"{name}-key", KeyArgs(account, env, tenant.id, user_arns=[identity.role_arn], protect=ctx.protect),
                  opts=child)
        placement = self._place(key)
        self.database: Database | None = None  # own database, if any
        self.cache: Cache | None = None  # own cache, if any
        database, secret_arn = self._database(key, placement)
        cache = self._cache(key, placement)
        queues = TenantQueues(f"{name}-queues", key_arn=key.arn, role_arn=identity.role_arn, opts=child)
        limits, api = tenant.plan.api, ctx.settings.api
        api_access = ApiAccess(f"{name}-api", ApiAccessArgs(
            tenant_id=tenant.id, plan_name=tenant.tenant.plan, rate_limit=limits.rate_limit,
            burst_limit=limits.burst_limit, quota_limit=tenant.quotas.max_ai_requests,
            quota_period=limits.quota_period.value, enabled=not tenant.suspended,
            rest_api_id=api.rest_api_id if api else None, stage=api.stage if api else None), opts=child)
        flags_application = platform.appconfig_application_id(tenant.id)
        flags = TenantFlags(f"{name}-flags", tenant_id=tenant.id, flags_json=feature_flags_json(tenant),
                            application_id=flags_application, opts=child)
        monitoring = Monitoring(f"{name}-monitoring", MonitoringArgs(
            account=account, tenant_id=tenant.id, log_group_name=naming.app_log_group(env, tenant.id),
            dashboard_name=naming.account_scoped_name(env, tenant.id), key_arn=key.arn,
            queue_name=queues.queue_name, dlq_name=queues.dlq_name,
            limits=with_minimum_retention(tenant.plan.monitoring, ctx.settings.minimum_log_retention_days),
            database_id=self.database.identifier if self.database else None,
            database_storage_gib=tenant.database_storage.allocated_gib,
            cache_node_ids=self.cache.node_ids if self.cache else ()), opts=child)
        tenant_budget(name, BudgetArgs(
            budget_name=naming.account_scoped_name(env, tenant.id), tenant_id=tenant.id,
            monthly_usd=tenant.monthly_budget, topic_arn=monitoring.topic_arn,
            alert_emails=tuple(tenant.tenant.billing.alert_emails)), opts=child)
        identity.grant(Grants(
            key_arn=key.arn, queue_arns=[queues.queue_arn, queues.dlq_arn], secret_arns=[secret_arn],
            cache_arns=cache.arns, database_user_arns=database.arns,
            log_group_arns=[pulumi.Output.concat(
                account.arn("logs", "log-group:"), monitoring.log_group_name, ":*")],
            appconfig_arns=[pulumi.Output.concat(
                account.arn("appconfig", "application/"), flags_application,
                "/*/configuration/", flags.profile_id)]))
        namespace_output = self._kubernetes(namespace, service_account_name, identity, placement)
        route, instances = self._workloads(namespace_output)
        login = self._login(route)

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
            "databaseEndpoint": database.endpoint,
            "databaseSecretArn": secret_arn,
            "cacheEndpoint": cache.endpoint,
            "namespace": namespace_output,
            "serviceAccount": service_account_name,
            "usagePlanId": api_access.usage_plan_id,
            "apiKeyId": api_access.api_key_id,
            "apiKey": api_access.api_key,
            "alarmTopicArn": monitoring.topic_arn,
            "logGroup": monitoring.log_group_name,
            "flagsProfileId": flags.profile_id,
            "identity": login.identity,  # what services verify its tokens with (tenancy.context)
            "route": route,
            "serviceInstances": instances,  # catalog service -> the namespace of the instances serving it
        }
        self.register_outputs(self.outputs)

    # -- network --------------------------------------------------------------------------------
    def _place(self, key: Key) -> Placement:
        tenant, ctx, platform, name = self.effective, self._ctx, self._platform, self._prefix
        child = pulumi.ResourceOptions(parent=self)
        network = ctx.settings.network
        layout = tenant.subnet_layout(network.az_count)
        if layout is None:  # the shared network
            data = platform_layout(network).data
            if not own_data(tenant.services):
                return Placement(platform.vpc_id, platform.data_subnet_ids, data, platform.pool_app_security_group_id)
            # hybrid: its own data service admits its own workloads' group, never the pool's
            app = WorkloadSecurityGroup(f"{name}-app", vpc_id=platform.vpc_id, data_cidrs=data,
                                        ports=(naming.DATABASE_PORT, naming.CACHE_PORT), opts=child)
            return Placement(platform.vpc_id, platform.data_subnet_ids, data, app.id, own_group=True)
        if tenant.tier(Service.network) is Tier.dedicated:
            vpc_id = platform.vpc_id
            own = TenantSlice(f"{name}-slice", SliceArgs(
                layout=layout, vpc_id=vpc_id, vpc_cidr=network.vpc_cidr, platform_cidr=network.platform_cidr,
                zones=platform.availability_zones, nat_gateway_ids=platform.nat_gateway_ids), opts=child)
        else:
            own = Vpc(f"{name}-network", VpcArgs(
                account=ctx.account, cidr=layout.block, layout=layout, zones=platform.availability_zones,
                nat_layout=network.nat_gateways, key_arn=key.arn,
                flow_log_role=naming.flow_log_role(ctx.environment, tenant.id),
                flow_log_group=naming.flow_log_group(ctx.environment, tenant.id),
                flow_log_retention_days=network.flow_log_retention_days), opts=child)
            vpc_id = own.vpc_id
        app = WorkloadSecurityGroup(f"{name}-app", vpc_id=vpc_id, data_cidrs=layout.data,
                                    ports=(naming.DATABASE_PORT, naming.CACHE_PORT), opts=child)
        return Placement(vpc_id, own.data_subnet_ids, layout.data, app.id, own_group=True)

    # -- data -----------------------------------------------------------------------------------
    def _database(self, key: Key, placement: Placement) -> tuple[DataAccess, pulumi.Output[str]]:
        tenant, ctx, platform, name = self.effective, self._ctx, self._platform, self._prefix
        child = pulumi.ResourceOptions(parent=self)
        role = naming.database_role(tenant.id)
        if tenant.tier(Service.database) is Tier.shared:
            # `dataIsolation: database`: its own database in the pooled instance, else the shared one
            own_database = tenant.data_isolation is DataIsolation.database
            db_name = naming.tenant_database(tenant.id) if own_database else POOLED_DB_NAME
            login = PooledLogin(f"{name}-db", key_arn=key.arn, role=role, host=platform.pool_database_address,
                                port=platform.pool_database_port, db_name=db_name, protect=ctx.protect,
                                rotation=ctx.settings.pooled_password_rotation, opts=child)
            resource_id = platform.pool_database_resource_id
            endpoint = pulumi.Output.concat(platform.pool_database_address, ":",
                                            platform.pool_database_port.apply(str))
            secret_arn = login.secret_arn
        else:
            storage = tenant.database_storage
            database = Database(f"{name}-db", DatabaseArgs(
                identifier=naming.database_identifier(ctx.environment, tenant.id), key_arn=key.arn, vpc_id=placement.vpc_id, subnet_ids=placement.data_subnet_ids,
                sources=[placement.app_security_group_id],
                size=DatabaseSize(tenant.plan.database.instance_class, storage.allocated_gib,
                                  multi_az=ctx.environment == "prod", max_allocated_storage_gib=storage.max_gib),
                engine_version=ctx.settings.database_engine_version, protect=ctx.protect,
                monitoring_interval=ctx.settings.database_monitoring_interval), opts=child)
            resource_id, endpoint, secret_arn = database.resource_id, database.endpoint, database.secret_arn
            self.database = database
        user_arn = pulumi.Output.concat(ctx.account.arn("rds-db", "dbuser:"), resource_id, f"/{role}")
        return DataAccess(endpoint, [user_arn]), secret_arn

    def _cache(self, key: Key, placement: Placement) -> DataAccess:
        tenant, ctx, platform, name = self.effective, self._ctx, self._platform, self._prefix
        child = pulumi.ResourceOptions(parent=self)
        user_id = naming.cache_user_id(ctx.environment, tenant.id)
        enabled = not tenant.suspended
        if tenant.tier(Service.cache) is Tier.shared:
            user = CacheUser(f"{name}-cache-user", user_id=user_id, tenant_id=tenant.id, enabled=enabled,
                             user_group_id=platform.pool_cache_user_group_id, opts=child)
            return DataAccess(None, [platform.pool_cache_arn, user.arn])
        user = CacheUser(f"{name}-cache-user", user_id=user_id, tenant_id=tenant.id, enabled=enabled, opts=child)
        plan = tenant.plan.cache
        cache = Cache(f"{name}-cache", CacheArgs(
            group_id=naming.cache_group_id(ctx.environment, tenant.id),
            default_user_id=naming.cache_default_user_id(ctx.environment, tenant.id), key_arn=key.arn, vpc_id=placement.vpc_id,
            subnet_ids=placement.data_subnet_ids, sources=[placement.app_security_group_id],
            node_type=plan.node_type, replicas=plan.replicas, engine_version=ctx.settings.cache_engine_version,
            user_ids=[user.user_id], protect=ctx.protect), opts=child)
        self.cache = cache
        return DataAccess(cache.endpoint, [cache.arn, user.arn])

    # -- kubernetes -----------------------------------------------------------------------------
    def _kubernetes(self, namespace: str, account: str, identity: WorkloadIdentity, placement: Placement):
        tenant, ctx, name = self.effective, self._ctx, self._prefix
        if ctx.kubernetes is None:
            return namespace
        in_cluster = pulumi.ResourceOptions(parent=self, providers=[ctx.kubernetes])
        tier = tenant.tier(Service.compute)
        labels = tenant_labels(tenant, ctx.environment, tier.value)
        if not tenant.has_own_namespace:
            return self._platform.pool_namespace  # the pool's service account acts for it (tagged sessions)
        namespace_output = TenantNamespace(f"{name}-namespace", namespace=namespace, labels=labels,
                                           quota=tenant_quota(tenant), data_cidrs=placement.data_cidrs,
                                           opts=in_cluster).namespace
        service_account(name, namespace=namespace_output, account=account, role_arn=identity.role_arn,
                        labels=labels, opts=in_cluster)
        if placement.own_group and tenant.tier(Service.network) is not Tier.isolated:
            pod_security_group(name, namespace=namespace_output, group_id=placement.app_security_group_id,
                               opts=in_cluster)
        return namespace_output

    # -- sign-in, routes and service instances ----------------------------------------------------
    def _login(self, route: dict | None) -> TenantLogin:
        """Its own user pool (isolated, or where the plan says so), else a client and a group in the
        platform's shared pool."""
        tenant, ctx, platform, name = self.effective, self._ctx, self._platform, self._prefix
        child = pulumi.ResourceOptions(parent=self)
        if tenant.own_user_pool:
            pool = UserPool(f"{name}-users", UserPoolArgs(naming.user_pool_name(ctx.environment, tenant.id),
                                                          ctx.account.region, protect=ctx.protect), opts=child)
            pool_id, issuer = pool.id, pool.issuer
        else:
            pool_id, issuer = platform.pool_user_pool_id, platform.pool_user_pool_issuer
        host = route["host"] if route else None
        return TenantLogin(f"{name}-login", LoginArgs(
            tenant_id=tenant.id, client_name=naming.app_client_name(ctx.environment, tenant.id), user_pool_id=pool_id,
            issuer=issuer, own_pool=tenant.own_user_pool,
            callback_urls=[f"https://{host}/auth/callback"] if host else (),
            logout_urls=[f"https://{host}/"] if host else ()), opts=child)

    def _workloads(self, namespace: pulumi.Input[str]) -> tuple[dict | None, dict[str, str]]:
        """Its dedicated service instances (all of the catalog, or a hybrid's critical ones) and its
        route: own paths to its own instances, the rest to the pool's. Skipped without a cluster;
        the route also without `tenancy:routing`."""
        tenant, ctx, name = self.effective, self._ctx, self._prefix
        own = {s.name for s in tenant.dedicated_services}
        pool_namespace = naming.pool_namespace(ctx.settings.cell)  # the tenant's cell's pool
        home = naming.namespace_name(tenant.id) if tenant.has_own_namespace else pool_namespace
        where = {s.name: home if s.name in own else pool_namespace for s in tenant.catalog}
        if ctx.kubernetes is None:
            return None, where
        in_cluster = pulumi.ResourceOptions(parent=self, providers=[ctx.kubernetes])
        labels = tenant_labels(tenant, ctx.environment, tenant.tier(Service.compute).value)
        if own:
            ServiceInstances(f"{name}-services", namespace=namespace, service_account=naming.service_account_name(tenant.id),
                             instance=tenant.id, services=tenant.dedicated_services, labels=labels, tenant_id=tenant.id,
                             suspended=tenant.suspended, opts=in_cluster)
        routing = ctx.settings.routing
        if routing is None or not tenant.catalog:
            return None, where
        if own:
            gateway_ingress(f"{name}-routes", namespace=namespace,
                            proxy_namespace=routing.proxy_namespace or naming.gateway_namespace(ctx.settings.cell),
                            ports=[s.port for s in tenant.dedicated_services], opts=in_cluster)
        host = naming.tenant_host(tenant.id, routing.domain)
        backends = [Backend(s.route_path, s.name, s.port, None if where[s.name] == home else where[s.name])
                    for s in tenant.catalog]
        TenantRoute(f"{name}-route", tenant_id=tenant.id, namespace=namespace, route_name=naming.route_name(tenant.id),
                    hostname=host, gateway=GatewayRef(naming.GATEWAY_NAME, naming.gateway_namespace(ctx.settings.cell),
                                                      naming.GATEWAY_LISTENER),
                    backends=backends, labels=labels, opts=in_cluster)
        return {"host": host, "namespace": home, "name": naming.route_name(tenant.id)}, where
