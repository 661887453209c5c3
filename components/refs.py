"""The platform's ids as tenants need them, whether the platform is in this stack or another.

Both paths go through the same exported mapping (`Platform.exports()` or a StackReference's
`platform` output), so a scoped stack sees exactly what an `all` stack sees.
"""

from __future__ import annotations

import pulumi

from tenancy.registry.naming import flags_shard

PLATFORM_OUTPUT = "platform"


class PlatformRefs:
    def __init__(self, exported: pulumi.Input[dict]):
        self._all = pulumi.Output.from_input(exported)

    @classmethod
    def from_stack(cls, stack_name: str) -> PlatformRefs:
        reference = pulumi.StackReference("platform-ref", stack_name=stack_name)
        return cls(reference.require_output(PLATFORM_OUTPUT))

    def _get(self, *path: str) -> pulumi.Output:
        def dig(value):
            for key in path:
                value = value[key]
            return value

        return self._all.apply(dig)

    @property
    def vpc_id(self): return self._get("vpcId")
    @property
    def availability_zones(self): return self._get("availabilityZones")
    @property
    def app_subnet_ids(self): return self._get("appSubnetIds")
    @property
    def data_subnet_ids(self): return self._get("dataSubnetIds")
    @property
    def nat_gateway_ids(self): return self._get("natGatewayIds")
    @property
    def pool_app_security_group_id(self): return self._get("poolAppSecurityGroupId")
    @property
    def pool_database_address(self): return self._get("poolDatabase", "address")
    @property
    def pool_database_port(self):
        # Stack outputs cross the engine as JSON numbers (floats): a port is an int.
        return self._get("poolDatabase", "port").apply(int)
    @property
    def pool_database_resource_id(self): return self._get("poolDatabase", "resourceId")
    @property
    def pool_cache_arn(self): return self._get("poolCache", "arn")
    @property
    def pool_cache_user_group_id(self): return self._get("poolCache", "userGroupId")
    @property
    def pool_namespace(self): return self._get("poolNamespace")
    @property
    def pool_workload_role_arn(self): return self._get("poolWorkloadRoleArn")
    @property
    def pool_user_pool_id(self): return self._get("userPool", "id")
    @property
    def pool_user_pool_issuer(self): return self._get("userPool", "issuer")
    def appconfig_application_id(self, tenant_id: str) -> pulumi.Output[str]:
        """The flags application that holds this tenant (`naming.flags_shard` over the platform's list)."""
        return self._get("appConfigApplicationIds").apply(lambda ids: ids[flags_shard(tenant_id, len(ids))])
