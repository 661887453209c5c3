"""Names and constants that must agree across the program, the offline plan, the audit and the data
plane: derived from environment and tenant id alone, so stacks and environments never collide and
adding or removing a tenant never renames another's resources.

The policy pack keeps its own copy of the tag keys on purpose (it judges any program and imports
nothing of ours); a test checks the two agree."""

from __future__ import annotations

import hashlib

POOL_NAMESPACE = "tenant-pool"
POOL_SERVICE_ACCOUNT = "pool-services"  # what the pooled services run as, in the pool namespace
POOLED_DATABASE = "tenants"  # the database of the pooled PostgreSQL that shared tenants live in
POOL_DATABASE_LOGIN = "tenancy_pool"  # the pooled services' login there: it may only SET ROLE to a tenant
DATABASE_PORT = 5432
CACHE_PORT = 6379

# Tags on every tenant-owned AWS resource (applied by components/tagging.py, read by the plan and
# the audit); the tenant's is also the cost allocation tag its budget filters on.
TENANT_TAG = "tenant-id"
SESSION_TAG = TENANT_TAG  # the session tag a pooled tenant's role requires of the pool identity
PLAN_TAG = "tenant-plan"
ISOLATION_TAG = "isolation"
ENVIRONMENT_TAG = "environment"
MANAGED_BY_TAG = "managed-by"
MANAGED_BY = "tenancy"

# Routing (Gateway API) and sign-in (Cognito).
GATEWAY_NAMESPACE = "tenancy-gateway"  # the platform's Gateway lives here
GATEWAY_NAME = "tenancy"
GATEWAY_LISTENER = "https"
TENANT_HEADER = "X-Tenant-ID"  # set by each tenant's route, overwriting whatever a client sent
TENANT_ATTRIBUTE = "tenant_id"  # the user pools' immutable custom attribute: the `custom:tenant_id` claim
SERVICES_PART_OF = "tenancy-services"  # `app.kubernetes.io/part-of` of every service instance

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


def pool_role_name(environment: str, cell: str | None = None) -> str:
    """The pooled workloads' one identity: it assumes a pooled tenant's role per request, tagged."""
    return role_name(environment, cell_owner(POOL_OWNER, cell))


def tenant_roles_pattern(environment: str) -> str:
    """Every tenant role's name in an environment (an IAM resource pattern)."""
    return role_name(environment, "*")


def user_pool_name(environment: str, owner: str) -> str:
    """A Cognito user pool: the platform's shared one (`pool`) or a tenant's own."""
    return f"tenancy-{environment}-{owner}"


def app_client_name(environment: str, tenant_id: str) -> str:
    return f"tenancy-{environment}-{tenant_id}"


def route_name(tenant_id: str) -> str:
    """A tenant's HTTPRoute (in its namespace, or the pool's)."""
    return f"tenant-{tenant_id}"


def tenant_host(tenant_id: str, domain: str) -> str:
    return f"{tenant_id}.{domain}"


def key_alias(environment: str, owner: str) -> str:
    return f"alias/tenancy/{environment}/{owner}"


def cache_user_id(environment: str, tenant_id: str) -> str:
    """ElastiCache user ids are unique per account and region; with IAM auth the name equals the id."""
    return f"{environment}-{tenant_id}"


def tenant_database(tenant_id: str) -> str:
    """The own database of a `dataIsolation: database` tenant in the pooled instance."""
    return database_role(tenant_id)


def database_role(tenant_id: str) -> str:
    """The tenant's login role in the pooled PostgreSQL (created by the data-plane bootstrap)."""
    return f"tenant_{tenant_id.replace('-', '_')}"


def log_group_prefix(environment: str, owner: str) -> str:
    """Every log group of an owner lives under this path; its key lets CloudWatch Logs use it there."""
    return f"/tenancy/{environment}/{owner}"


def app_log_group(environment: str, tenant_id: str) -> str:
    return f"{log_group_prefix(environment, tenant_id)}/app"


def flow_log_role(environment: str, owner: str) -> str:
    """The role VPC Flow Logs assume to write an owner's log group (IAM names are per account)."""
    return f"tenancy-{environment}-{owner}-flow-logs"


def flow_log_group(environment: str, owner: str) -> str:
    return f"{log_group_prefix(environment, owner)}/flow-logs"


def account_scoped_name(environment: str, tenant_id: str) -> str:
    """Budgets and dashboards are named per account: the environment keeps stacks apart."""
    return f"tenancy-{environment}-{tenant_id}"


def flags_application_name(environment: str, shard: int, cell: str | None = None) -> str:
    if cell in (None, DEFAULT_CELL):
        return f"tenancy-{environment}-flags-{shard}"
    return f"tenancy-{environment}-{cell}-flags-{shard}"


def flags_shard(tenant_id: str, shards: int) -> int:
    """Which of the environment's flags applications holds a tenant: a hash of its id alone, so
    adding or removing other tenants never moves it."""
    return int(hashlib.sha256(tenant_id.encode()).hexdigest(), 16) % shards


def cache_group_id(environment: str, owner: str) -> str:
    """Replication and user group ids, unique per account and region: the pool's owner is `pool`."""
    return f"{environment}-{owner}"


def database_identifier(environment: str, owner: str) -> str:
    """An RDS instance identifier (unique per account and region): the pool's owner is `pool`."""
    return f"{environment}-{owner}"


def cache_default_user_id(environment: str, owner: str) -> str:
    """The disabled `default` user every ElastiCache user group must hold."""
    return f"{cache_group_id(environment, owner)}-default"


# Owners the platform itself uses in names a tenant's id would otherwise produce too
# (`dev-pool` is the pooled cache and database, `tenant-pool` the pooled namespace, `platform` the
# platform's key alias, log groups and flow-log role).
POOL_OWNER, PLATFORM_OWNER = "pool", "platform"
RESERVED_IDS = frozenset({POOL_OWNER, PLATFORM_OWNER, "default", "system", "shared", "all"})
# Suffixes the program appends to an owner's names: an id ending in one collides with another
# owner's name (`pool-default` would be `dev-pool`'s default cache user, `acme-flow-logs`'s role
# would be acme's flow-log role).
RESERVED_SUFFIXES = ("-default", "-flow-logs")

# Cells (tenancy.registry.cells): the default cell keeps every name from before cells, so an
# existing install becomes that cell with nothing renamed; another cell's platform names carry the
# cell (`dev-pool-eu2`, `tenancy-dev-pool-eu2`, `alias/tenancy/dev/platform-eu2`, `tenant-pool-eu2`),
# so cells may share an account and region. Tenants' names never carry their cell.
DEFAULT_CELL = "default"
# Short: a non-default cell's name is part of its platform's AWS names (the tightest is the pooled
# cache's default user `staging-pool-<cell>-default`, 40 characters) and of its stack names.
CELL_NAME_PATTERN = r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$"
CELL_NAME_MAX = 12


def cell_owner(owner: str, cell: str | None) -> str:
    """The platform's owners in a cell: `pool` and `platform` in the default cell, `pool-<cell>` and
    `platform-<cell>` in another."""
    return owner if cell in (None, DEFAULT_CELL) else f"{owner}-{cell}"


def pool_namespace(cell: str | None = None) -> str:
    """The pooled workloads' Kubernetes namespace: `tenant-pool`, or `tenant-pool-<cell>`."""
    return POOL_NAMESPACE if cell in (None, DEFAULT_CELL) else namespace_name(cell_owner(POOL_OWNER, cell))


def gateway_namespace(cell: str | None = None) -> str:
    """The namespace of a cell's Gateway: `tenancy-gateway`, or `tenancy-gateway-<cell>`, so cells
    that share a cluster each have their own (one Gateway per cell, not per cluster)."""
    return GATEWAY_NAMESPACE if cell in (None, DEFAULT_CELL) else f"{GATEWAY_NAMESPACE}-{cell}"


def id_derived_names(environment: str, tenant_id: str) -> list[tuple[str, str, int, str]]:
    """Every name the program builds from a tenant id that AWS, Kubernetes or PostgreSQL bound in
    length: (what, name, maximum length, source). The registry refuses an id that overflows one in
    any environment, so the id budget is derived here, not fixed."""
    return [
        ("IAM role", role_name(environment, tenant_id), 64, "IAM CreateRole"),
        ("flow-log IAM role", flow_log_role(environment, tenant_id), 64, "IAM CreateRole"),
        ("ElastiCache user id", cache_user_id(environment, tenant_id), 40, "ElastiCache CreateUser"),
        ("ElastiCache replication group id", cache_group_id(environment, tenant_id), 40,
         "ElastiCache CreateReplicationGroup"),
        ("ElastiCache default user id", cache_default_user_id(environment, tenant_id), 40, "ElastiCache CreateUser"),
        ("RDS instance identifier", database_identifier(environment, tenant_id), 63, "RDS CreateDBInstance"),
        ("Kubernetes namespace", namespace_name(tenant_id), 63, "Kubernetes RFC 1123 label"),
        ("PostgreSQL role", database_role(tenant_id), 63, "PostgreSQL NAMEDATALEN"),
        ("budget name", account_scoped_name(environment, tenant_id), 100, "AWS Budgets"),
        ("AppConfig environment", tenant_id, 64, "AppConfig CreateEnvironment"),
    ]
