"""Names derived from environment and tenant id alone, so stacks and environments never collide and
adding or removing a tenant never renames another's resources."""

from __future__ import annotations

POOL_NAMESPACE = "tenant-pool"
POOLED_DATABASE = "tenants"  # the database of the pooled PostgreSQL that shared tenants live in
DATABASE_PORT = 5432
CACHE_PORT = 6379


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
