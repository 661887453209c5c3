"""Names and constants that must agree across the program, the offline plan, the audit and the data
plane: derived from environment and tenant id alone, so stacks and environments never collide and
adding or removing a tenant never renames another's resources.

The policy pack keeps its own copy of the tag keys on purpose (it judges any program and imports
nothing of ours); a test checks the two agree."""

from __future__ import annotations

POOL_NAMESPACE = "tenant-pool"
POOLED_DATABASE = "tenants"  # the database of the pooled PostgreSQL that shared tenants live in
DATABASE_PORT = 5432
CACHE_PORT = 6379

# Tags on every tenant-owned AWS resource (applied by components/tagging.py, read by the plan and
# the audit); the tenant's is also the cost allocation tag its budget filters on.
TENANT_TAG = "tenant-id"
PLAN_TAG = "tenant-plan"
ISOLATION_TAG = "isolation"
ENVIRONMENT_TAG = "environment"
MANAGED_BY_TAG = "managed-by"
MANAGED_BY = "tenancy"

# Component type tokens (`tenancy:<module>:<Type>`) that the plan's renderer looks for.
TENANT_COMPONENT_TYPE = "tenancy:tenant:Tenant"
PLATFORM_COMPONENT_TYPE = "tenancy:platform:Platform"


def tenant_prefix(environment: str, tenant_id: str) -> str:
    return f"{environment}-{tenant_id}"


def platform_prefix(environment: str) -> str:
    return f"{environment}-platform"


def namespace_name(tenant_id: str) -> str:
    return f"tenant-{tenant_id}"


def service_account_name(tenant_id: str) -> str:
    return f"tenant-{tenant_id}"


def role_name(environment: str, tenant_id: str) -> str:
    """IAM role names are global to the account, so they carry the environment."""
    return f"tenancy-{environment}-{tenant_id}"


def key_alias(environment: str, owner: str) -> str:
    return f"alias/tenancy/{environment}/{owner}"


def cache_user_id(environment: str, tenant_id: str) -> str:
    """ElastiCache user ids are unique per account and region; with IAM auth the name equals the id."""
    return f"{environment}-{tenant_id}"


def database_role(tenant_id: str) -> str:
    """The tenant's login role in the pooled PostgreSQL (created by the data-plane bootstrap)."""
    return f"tenant_{tenant_id.replace('-', '_')}"


def log_group_prefix(environment: str, owner: str) -> str:
    """Every log group of an owner lives under this path; its key lets CloudWatch Logs use it there."""
    return f"/tenancy/{environment}/{owner}"


def app_log_group(environment: str, tenant_id: str) -> str:
    return f"{log_group_prefix(environment, tenant_id)}/app"


def flow_log_group(environment: str, owner: str) -> str:
    return f"{log_group_prefix(environment, owner)}/flow-logs"


def account_scoped_name(environment: str, tenant_id: str) -> str:
    """Budgets and dashboards are named per account: the environment keeps stacks apart."""
    return f"tenancy-{environment}-{tenant_id}"


def flags_application_name(environment: str) -> str:
    return f"tenancy-{environment}"


def cache_group_id(environment: str, owner: str) -> str:
    """Replication and user group ids, unique per account and region: the pool's owner is `pool`."""
    return f"{environment}-{owner}"
