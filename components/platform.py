"""The platform: what shared tenants use together and dedicated tenants build on. The shared VPC,
the platform key, the pooled database, cache and namespace."""

from __future__ import annotations

from ipaddress import IPv4Network

import pulumi
import pulumi_aws as aws

from tenancy.registry.addressing import VPC_ROLES, carve
from tenancy.registry.naming import CACHE_PORT, DATABASE_PORT, POOL_NAMESPACE

from .cache import Cache
from .context import DeployContext
from .database import POOLED_DB_NAME, Database, DatabaseSize
from .flags import application
from .keys import Key
from .kubernetes import QuotaSpec, TenantNamespace
from .network import Vpc, WorkloadSecurityGroup
from .tagging import platform_tags, tagging


def platform_data_cidrs(ctx: DeployContext) -> list[str]:
    network = ctx.settings.network
    return [str(c) for c in carve(IPv4Network(network.platform_cidr), VPC_ROLES, network.az_count)["data"]]


class Platform(pulumi.ComponentResource):
    def __init__(self, name: str, ctx: DeployContext, opts: pulumi.ResourceOptions | None = None):
        tags = platform_tags(ctx.environment)
        opts = pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(transformations=[tagging(tags)]))
        super().__init__("tenancy:platform:Platform", name, {"tags": tags}, opts)
        child = pulumi.ResourceOptions(parent=self)
        settings, pool = ctx.settings, ctx.settings.pool
        zones = aws.get_availability_zones_output(state="available").names.apply(
            lambda names: sorted(names)[: settings.network.az_count])
        key = Key(f"{name}-key", ctx, owner="platform", user_arns=[], opts=child)
        network = Vpc(f"{name}-network", ctx, "platform", settings.network.vpc_cidr, settings.network.platform_cidr,
                      zones, settings.network.nat_gateways, key.arn, opts=child)
        data_cidrs = platform_data_cidrs(ctx)
        app = WorkloadSecurityGroup(f"{name}-pool-app", network.vpc_id, data_cidrs, (DATABASE_PORT, CACHE_PORT),
                                    opts=child)
        database = Database(
            f"{name}-pool-db", ctx, key.arn, network.vpc_id, network.data_subnet_ids, [app.id],
            DatabaseSize(pool.database_instance_class, pool.database_storage_gib, multi_az=ctx.environment == "prod"),
            db_name=POOLED_DB_NAME, opts=child)
        cache = Cache(f"{name}-pool-cache", ctx, f"{ctx.environment}-pool", key.arn, network.vpc_id,
                      network.data_subnet_ids, [app.id], pool.cache_node_type, pool.cache_replicas, opts=child)
        flags_application = application(f"{name}-flags", ctx.environment, self)
        if settings.billing.activate_cost_allocation_tags:
            aws.costexplorer.CostAllocationTag(f"{name}-tenant-cost-tag", tag_key="tenant-id", status="Active",
                                               opts=child)
        pool_namespace: pulumi.Input[str] = POOL_NAMESPACE
        if ctx.kubernetes is not None:
            quota = pool.namespace_quota
            pool_namespace = TenantNamespace(f"{name}-pool-namespace", POOL_NAMESPACE,
                            {"tenancy.io/tier": "shared", "tenancy.io/environment": ctx.environment},
                            QuotaSpec(quota.cpu, quota.memory_gib, quota.storage_gib, quota.pods), data_cidrs,
                            opts=pulumi.ResourceOptions(parent=self, providers=[ctx.kubernetes])).namespace
        self._exports = {
            "vpcId": network.vpc_id,
            "vpcCidr": settings.network.vpc_cidr,
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
            "appConfigApplicationId": flags_application.id,
        }
        self.register_outputs(self._exports)

    def exports(self) -> dict:
        """What tenants (here, or in scoped stacks through a StackReference) need of the platform."""
        return self._exports
