"""The platform: what shared tenants use together and dedicated tenants build on. The shared VPC,
the platform key, the pooled database, cache and namespace."""

from __future__ import annotations

from collections.abc import Sequence

import pulumi
import pulumi_aws as aws

from tenancy.registry import naming
from tenancy.registry.addressing import VPC_ROLES, SubnetLayout, subnet_layout
from tenancy.registry.instances import capacity, footprint
from tenancy.registry.models import CatalogService
from tenancy.registry.settings import NetworkSettings, PoolSettings, RoutingSettings

from .auth import UserPool, UserPoolArgs
from .cache import Cache, CacheArgs
from .context import Account, DeployContext
from .database import POOLED_DB_NAME, Database, DatabaseArgs, DatabaseSize
from .flags import application
from .identity import IdentityArgs, WorkloadIdentity
from .keys import Key, KeyArgs
from .kubernetes import QuotaSpec, TenantNamespace, service_account
from .network import Vpc, VpcArgs, WorkloadSecurityGroup
from .policydoc import document
from .routing import Gateway, GatewayArgs, GatewayRef, gateway_ingress
from .services import ServiceInstances
from .tagging import platform_tags, tagging


def platform_layout(network: NetworkSettings) -> SubnetLayout:
    """The platform's own subnets, cut from `platformCidr` inside the shared VPC."""
    return subnet_layout(network.platform_cidr, VPC_ROLES, network.az_count)


POOL_FREE_STORAGE_PERCENT = 20


def pool_alarms(name: str, environment: str, account: Account, key_arn: pulumi.Input[str],
                database_id: pulumi.Input[str], storage_gib: int, opts: pulumi.ResourceOptions) -> None:
    """The platform's alarm topic (encrypted with its key) and an alarm before the pooled database
    fills: storage autoscales, but one tenant filling it for everyone should page someone."""
    topic = aws.sns.Topic(f"{name}-alarms", kms_master_key_id=key_arn, opts=opts)
    aws.sns.TopicPolicy(f"{name}-alarms-policy", arn=topic.arn, policy=document([{
        "Sid": "AlarmsPublish", "Effect": "Allow", "Principal": {"Service": "cloudwatch.amazonaws.com"},
        "Action": "sns:Publish", "Resource": topic.arn,
        "Condition": {"StringEquals": {"aws:SourceAccount": account.account_id}}}]), opts=opts)
    aws.cloudwatch.MetricAlarm(
        f"{name}-db-storage", alarm_description=f"{environment}: pooled database below "
        f"{POOL_FREE_STORAGE_PERCENT}% free storage (a tenant may be filling it)", namespace="AWS/RDS",
        metric_name="FreeStorageSpace", dimensions={"DBInstanceIdentifier": database_id}, statistic="Minimum",
        comparison_operator="LessThanThreshold", threshold=storage_gib * POOL_FREE_STORAGE_PERCENT / 100 * 1024 ** 3,
        period=300, evaluation_periods=1, treat_missing_data="notBreaching", alarm_actions=[topic.arn],
        ok_actions=[topic.arn], opts=opts)


def first_zones(names: list[str], count: int) -> list[str]:
    """The region's first `count` zones, or a clear stop if it has fewer."""
    if len(names) < count:
        raise pulumi.RunError(f"tenancy:network.azCount is {count}, but the region has only {len(names)} "
                              f"available zones ({', '.join(sorted(names))}); lower azCount")
    return sorted(names)[:count]


def pool_instances_fit(pool: PoolSettings, services: Sequence[CatalogService]) -> None:
    """The pool's instances at their maxReplicas must fit the pool namespace's quota."""
    quota = pool.namespace_quota
    short = footprint(services).short_of(capacity(quota.cpu, quota.memory_gib, quota.pods))
    if short:
        raise pulumi.RunError(f"tenancy:pool.namespaceQuota cannot hold the pool's service instances "
                              f"({', '.join(s.name for s in services)}) at their maxReplicas: they need "
                              f"{', '.join(short)}; raise the quota or size the catalog (plans.yaml services) down")


def platform_gateway(name: str, environment: str, routing: RoutingSettings,
                     opts: pulumi.ResourceOptions, cell: str | None = None) -> Gateway:
    """The cell's one Gateway; routes attach from the environment's namespaces (tenants' and the pool's)."""
    return Gateway(name, GatewayArgs(
        ref=GatewayRef(naming.GATEWAY_NAME, naming.gateway_namespace(cell), naming.GATEWAY_LISTENER),
        domain=routing.domain, gateway_class_name=routing.gateway_class_name,
        certificate_secret=routing.certificate_secret, cluster_issuer=routing.cluster_issuer,
        route_namespaces={"matchLabels": {"tenancy.io/environment": environment}},
        labels={"tenancy.io/tier": "platform", "tenancy.io/environment": environment}), opts=opts)


class Platform(pulumi.ComponentResource):
    def __init__(self, name: str, ctx: DeployContext, opts: pulumi.ResourceOptions | None = None, *,
                 services: Sequence[CatalogService] = ()):
        tags = platform_tags(ctx.environment)
        opts = pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(transformations=[tagging(tags)]))
        super().__init__(naming.PLATFORM_COMPONENT_TYPE, name, {"tags": tags}, opts)
        child = pulumi.ResourceOptions(parent=self)
        settings, pool, env = ctx.settings, ctx.settings.pool, ctx.environment
        # Another cell's platform names carry the cell (`dev-pool-eu2`); the default cell's are the names
        # from before cells (an existing install becomes that cell with nothing renamed).
        cell = settings.cell
        pool_owner = naming.cell_owner(naming.POOL_OWNER, cell)
        platform_owner = naming.cell_owner(naming.PLATFORM_OWNER, cell)
        network_settings = settings.network
        zones = aws.get_availability_zones_output(state="available").names.apply(
            lambda names: first_zones(names, network_settings.az_count))
        key = Key(f"{name}-key", KeyArgs(ctx.account, env, platform_owner, protect=ctx.protect), opts=child)
        layout = platform_layout(network_settings)
        network = Vpc(f"{name}-network", VpcArgs(
            account=ctx.account, cidr=network_settings.vpc_cidr, layout=layout, zones=zones,
            nat_layout=network_settings.nat_gateways, key_arn=key.arn,
            flow_log_role=naming.flow_log_role(env, platform_owner),
            flow_log_group=naming.flow_log_group(env, platform_owner),
            flow_log_retention_days=network_settings.flow_log_retention_days), opts=child)
        data_cidrs = list(layout.data)
        app = WorkloadSecurityGroup(f"{name}-pool-app", vpc_id=network.vpc_id, data_cidrs=data_cidrs,
                                    ports=(naming.DATABASE_PORT, naming.CACHE_PORT), opts=child)
        ceiling = pool.database_max_storage_gib or 4 * pool.database_storage_gib
        database = Database(f"{name}-pool-db", DatabaseArgs(
            identifier=naming.database_identifier(env, pool_owner), key_arn=key.arn, vpc_id=network.vpc_id,
            subnet_ids=network.data_subnet_ids, sources=[app.id],
            size=DatabaseSize(pool.database_instance_class, pool.database_storage_gib, multi_az=env == "prod",
                              max_allocated_storage_gib=ceiling),
            extra_parameters=(("temp_file_limit", str(pool.database_temp_file_limit_kb)),),
            engine_version=settings.database_engine_version, db_name=POOLED_DB_NAME, protect=ctx.protect,
            monitoring_interval=settings.database_monitoring_interval),
            opts=child)
        cache = Cache(f"{name}-pool-cache", CacheArgs(
            group_id=naming.cache_group_id(env, pool_owner),
            default_user_id=naming.cache_default_user_id(env, pool_owner),
            key_arn=key.arn, vpc_id=network.vpc_id,
            subnet_ids=network.data_subnet_ids, sources=[app.id], node_type=pool.cache_node_type,
            replicas=pool.cache_replicas, engine_version=settings.cache_engine_version, protect=ctx.protect),
            opts=child)
        pool_alarms(f"{name}-pool", env, ctx.account, key.arn, database.identifier, pool.database_storage_gib,
                    opts=child)
        flags_applications = [
            application(f"{name}-flags" if shard == 0 else f"{name}-flags-{shard}",
                        application_name=naming.flags_application_name(env, shard, cell), opts=child)
            for shard in range(pool.flags_applications)]
        if settings.billing.activate_cost_allocation_tags:
            aws.costexplorer.CostAllocationTag(f"{name}-tenant-cost-tag", tag_key=naming.TENANT_TAG, status="Active",
                                               opts=child)
        kube = settings.kubernetes
        pool_identity = WorkloadIdentity(f"{name}-pool-identity", IdentityArgs(
            ctx.account, naming.pool_role_name(env, cell), naming.pool_namespace(cell), naming.POOL_SERVICE_ACCOUNT,
            oidc_issuer=kube.oidc_issuer if kube else None, oidc_provider_arn=ctx.oidc_provider_arn), opts=child)
        pool_identity.allow_tenant_sessions(ctx.account.arn("iam", f"role/{naming.tenant_roles_pattern(env)}",
                                                            region=False))
        # its login in the pooled database, which may only SET ROLE to a pooled tenant (db-bootstrap)
        pool_identity.allow_database_login(pulumi.Output.concat(
            ctx.account.arn("rds-db", "dbuser:"), database.resource_id, f"/{naming.POOL_DATABASE_LOGIN}"))
        # pooled tenants sign in here (a client and a group each); others where their plan says so
        users = UserPool(f"{name}-users", UserPoolArgs(naming.user_pool_name(env, pool_owner), ctx.account.region,
                                                       protect=ctx.protect), opts=child)
        pool_namespace: pulumi.Input[str] = naming.pool_namespace(cell)
        if ctx.kubernetes is not None and services:
            pool_instances_fit(pool, services)
        if ctx.kubernetes is not None:
            quota = pool.namespace_quota
            in_cluster = pulumi.ResourceOptions(parent=self, providers=[ctx.kubernetes])
            labels = {"tenancy.io/tier": "shared", "tenancy.io/environment": env}
            pool_namespace = TenantNamespace(
                f"{name}-pool-namespace", namespace=naming.pool_namespace(cell), labels=labels,
                quota=QuotaSpec(quota.cpu, quota.memory_gib, quota.storage_gib, quota.pods), data_cidrs=data_cidrs,
                opts=in_cluster).namespace
            service_account(f"{name}-pool", namespace=pool_namespace, account=naming.POOL_SERVICE_ACCOUNT,
                            role_arn=pool_identity.role_arn, labels=labels, opts=in_cluster)
            if services:  # the shared instances, acting as the pool identity
                ServiceInstances(f"{name}-pool-services", namespace=pool_namespace,
                                 service_account=naming.POOL_SERVICE_ACCOUNT, instance=naming.POOL_OWNER,
                                 services=services, labels=labels, opts=in_cluster)
            if settings.routing is not None:
                platform_gateway(f"{name}-gateway", env, settings.routing, in_cluster, cell)
                if services:
                    gateway_ingress(f"{name}-pool-routes", namespace=pool_namespace,
                                    proxy_namespace=settings.routing.proxy_namespace or naming.gateway_namespace(cell),
                                    ports=[s.port for s in services], opts=in_cluster)
            else:
                pulumi.log.info("tenancy:routing is not set: skipping the Gateway and the tenants' routes")
        self._exports = {
            "vpcId": network.vpc_id,
            "vpcCidr": network_settings.vpc_cidr,
            "availabilityZones": zones,
            "appSubnetIds": network.app_subnet_ids,
            "dataSubnetIds": network.data_subnet_ids,
            "natGatewayIds": network.nat_gateway_ids,
            "platformKeyArn": key.arn,
            "poolAppSecurityGroupId": app.id,
            "poolDatabase": {"address": database.address, "port": database.port, "endpoint": database.endpoint,
                             "resourceId": database.resource_id, "arn": database.arn,
                             "secretArn": database.secret_arn},
            "poolCache": {"arn": cache.arn, "endpoint": cache.endpoint, "userGroupId": cache.user_group_id},
            "poolNamespace": pool_namespace,
            "poolWorkloadRoleArn": pool_identity.role_arn,
            "userPool": {"id": users.id, "arn": users.arn, "issuer": users.issuer, "jwksUrl": users.jwks_url},
            "appConfigApplicationIds": [app.id for app in flags_applications],
        }
        self.register_outputs(self._exports)

    def exports(self) -> dict:
        """What tenants (here, or in scoped stacks through a StackReference) need of the platform."""
        return self._exports
