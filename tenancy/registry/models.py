"""The registry's file formats as pydantic models: what a tenant file and plans.yaml may say.

Keys are camelCase as in the product brief; unknown keys are errors (`extra="forbid"`), so a typo
never silently drops a setting.
"""

from __future__ import annotations

import functools
import ipaddress
from enum import Enum
from typing import Annotated, Literal, Optional

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic.alias_generators import to_camel

from tenancy.registry.naming import CELL_NAME_MAX, CELL_NAME_PATTERN, RESERVED_IDS

# Lowercase letters and digits in hyphen-separated words: no leading, trailing or double hyphen
# (RDS and ElastiCache identifiers refuse "--"). The length budget comes from the names the
# program derives from an id (`naming.id_derived_names`), checked by the loader.
TENANT_ID_PATTERN = r"^[a-z0-9]+(-[a-z0-9]+)*$"


class Strict(BaseModel):
    """Base for every registry model: camelCase keys, no unknown keys, immutable once loaded."""

    model_config = ConfigDict(
        extra="forbid", alias_generator=to_camel, populate_by_name=True, frozen=True
    )


class Tier(str, Enum):
    """Isolation tiers, in increasing order of isolation."""

    shared = "shared"
    dedicated = "dedicated"
    isolated = "isolated"

    @property
    def rank(self) -> int:
        return ["shared", "dedicated", "isolated"].index(self.value)


class Status(str, Enum):
    active = "active"
    suspended = "suspended"
    offboarding = "offboarding"


class Environment(str, Enum):
    dev = "dev"
    staging = "staging"
    prod = "prod"


class DataIsolation(str, Enum):
    """How a pooled-database tenant is kept apart: its own schema, rows of shared tables, or its own
    database in the pooled instance (which also separates LISTEN/NOTIFY, catalogs and statistics)."""

    schema_ = "schema"
    row = "row"
    database = "database"


class Service(str, Enum):
    """Services whose tier a tenant may override (hybrid tenants)."""

    network = "network"
    database = "database"
    cache = "cache"
    compute = "compute"


NonNegativeInt = Annotated[int, Field(ge=0, strict=True)]
NonNegativeNumber = Annotated[float, Field(ge=0)]
PositiveInt = Annotated[int, Field(gt=0, strict=True)]
PositiveNumber = Annotated[float, Field(gt=0)]
# What CloudWatch Logs accepts (PutRetentionPolicy).
LogRetentionDays = Literal[1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557,
                           2922, 3288, 3653]


class Quotas(Strict):
    """Per-tenant limits. Storage in GiB, compute in vCPUs, bandwidth in Mbit/s."""

    max_users: Optional[NonNegativeInt] = Field(None, alias="maxUsers")
    max_projects: Optional[NonNegativeInt] = None
    # An API Gateway usage plan's quota must be positive: 0 would refuse every request.
    max_ai_requests: Optional[PositiveInt] = Field(None, alias="maxAIRequests")
    storage_limit: Optional[NonNegativeNumber] = None
    compute_limit: Optional[Annotated[float, Field(gt=0)]] = None
    network_bandwidth: Optional[NonNegativeNumber] = None


class FullQuotas(Quotas):
    """Quotas with every field set: a plan's defaults, or a tenant's quotas merged onto them."""

    max_users: NonNegativeInt = Field(alias="maxUsers")
    max_projects: NonNegativeInt
    max_ai_requests: PositiveInt = Field(alias="maxAIRequests")
    storage_limit: NonNegativeNumber
    compute_limit: Annotated[float, Field(gt=0)]
    network_bandwidth: NonNegativeNumber


class Billing(Strict):
    cost_center: Annotated[str, Field(min_length=1, max_length=64)]
    monthly_budget: Optional[PositiveNumber] = None  # AWS Budgets refuses a zero limit
    alert_emails: list[Annotated[str, Field(pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$",
                                            description="an e-mail address such as finops@example.com")]] = []


class Network(Strict):
    """The tenant's address block: its own VPC (isolated) or its slice of the shared VPC (dedicated)."""

    cidr: str

    @field_validator("cidr")
    @classmethod
    def _cidr_is_a_network(cls, value: str) -> str:
        try:
            net = ipaddress.IPv4Network(value, strict=True)
        except ipaddress.AddressValueError:
            raise ValueError(f"{value!r} is not an IPv4 CIDR such as 10.64.0.0/20") from None
        except ValueError as exc:
            raise ValueError(f"{value!r} is not a valid network ({exc})") from None
        return str(net)

    @property
    def network(self) -> ipaddress.IPv4Network:
        return _network(self.cidr)


@functools.lru_cache(maxsize=65_536)
def _network(cidr: str) -> ipaddress.IPv4Network:
    """One parsed network per block: the cross-tenant checks read every tenant's many times."""
    return ipaddress.IPv4Network(cidr)


class ServiceOverrides(Strict):
    network: Optional[Tier] = None
    database: Optional[Tier] = None
    cache: Optional[Tier] = None
    compute: Optional[Tier] = None


class Tenant(Strict):
    """One file under tenants/: a tenant as the platform team writes it."""

    id: Annotated[str, Field(pattern=TENANT_ID_PATTERN, min_length=3, max_length=32, description=(
        "3-32 lowercase letters, digits and single hyphens, starting and ending with a letter or digit; "
        "not 'pool' or 'platform', not ending in '-default', and short enough for every name derived "
        "from it (tenancy validate says which)"))]
    name: Annotated[str, Field(min_length=1, max_length=128)]
    plan: Annotated[str, Field(min_length=1)]
    isolation_level: Optional[Tier] = None
    status: Status = Status.active
    environments: Annotated[list[Environment], Field(min_length=1)]
    # The cell it lives in (tenants/cells.yaml); default: the cell named `default`. Only an edit of
    # this field moves a tenant: `tenancy tenant new` writes it.
    cell: Optional[Annotated[str, Field(pattern=CELL_NAME_PATTERN, min_length=2, max_length=CELL_NAME_MAX,
                                        description="a cell of tenants/cells.yaml (default: the cell named 'default')")]] = None
    network: Optional[Network] = None
    services: ServiceOverrides = ServiceOverrides()
    data_isolation: Optional[DataIsolation] = None
    quotas: Quotas = Quotas()
    features: list[Annotated[str, Field(pattern=r"^[a-z][a-z0-9-]*$", max_length=63,
                                        description="a feature name: a lowercase letter, then lowercase letters, digits and hyphens")]] = []
    billing: Billing

    @field_validator("id")
    @classmethod
    def _not_reserved(cls, value: str) -> str:
        if value in RESERVED_IDS:
            raise ValueError(f"{value!r} is reserved; reserved ids: {', '.join(sorted(RESERVED_IDS))}")
        return value

    @field_validator("environments", "features")
    @classmethod
    def _unique(cls, values: list) -> list:
        seen = set()
        for value in values:
            if value in seen:
                raise ValueError(f"{getattr(value, 'value', value)!r} is listed twice")
            seen.add(value)
        return values


class PlanDatabase(Strict):
    """Size of a dedicated database for this plan, and the pooled role's connection limit."""

    instance_class: str = "db.t4g.medium"
    allocated_storage: Annotated[int, Field(ge=20, le=65536)] = 20
    connection_limit: Annotated[int, Field(ge=1)] = 20
    # A pooled tenant role's session defaults (db-bootstrap): a runaway statement or an abandoned
    # transaction ends, temporary files are capped (a tenant cannot raise that one), and so is the
    # memory of each sort or hash (a default a tenant can raise: see README).
    statement_timeout_seconds: Annotated[int, Field(ge=1, le=86400)] = 30
    idle_in_transaction_timeout_seconds: Annotated[int, Field(ge=1, le=86400)] = 60
    temp_file_limit_mib: Annotated[int, Field(ge=1)] = Field(1024, alias="tempFileLimitMiB")
    work_mem_mib: Annotated[int, Field(ge=1, le=2048)] = Field(4, alias="workMemMiB")


class PlanCache(Strict):
    node_type: str = "cache.t4g.small"
    replicas: Annotated[int, Field(ge=0, le=5)] = 1


class QuotaPeriod(str, Enum):
    day = "DAY"
    week = "WEEK"
    month = "MONTH"


class PlanApi(Strict):
    """API Gateway limits of the plan's tenants: steady rate and burst per second; the request quota
    per period is the tenant's maxAIRequests."""

    rate_limit: Annotated[float, Field(gt=0)] = 50
    burst_limit: Annotated[int, Field(gt=0)] = 100
    quota_period: QuotaPeriod = QuotaPeriod.month


class PlanMonitoring(Strict):
    log_retention_days: LogRetentionDays = 30
    oldest_message_age_seconds: Annotated[int, Field(gt=0)] = 900
    database_cpu_percent: Annotated[float, Field(gt=0, le=100)] = 80
    database_free_storage_percent: Annotated[float, Field(gt=0, lt=100)] = 10
    cache_memory_percent: Annotated[float, Field(gt=0, le=100)] = 80


class IdentityPool(str, Enum):
    """Where a tenant's users sign in: the platform's shared user pool, or one of its own."""

    pooled = "pooled"
    own = "own"


class Plan(Strict):
    """A plan's defaults and what it allows; tenants on it may only ask for what is listed."""

    default_isolation: Tier
    allowed_isolation: Annotated[list[Tier], Field(min_length=1)]
    allowed_overrides: dict[Service, list[Tier]] = {}
    quotas: FullQuotas
    quota_ceilings: Quotas = Field(Quotas(), description="the most a tenant may ask for; unset: no ceiling")
    memory_per_cpu_gib: Annotated[float, Field(gt=0)] = Field(2.0, alias="memoryPerCpuGiB")
    database: PlanDatabase = PlanDatabase()
    cache: PlanCache = PlanCache()
    api: PlanApi = PlanApi()
    monitoring: PlanMonitoring = PlanMonitoring()
    default_monthly_budget: PositiveNumber = 100
    # Sign-in: the platform's shared Cognito user pool (`pooled`, one app client and group per
    # tenant) or a user pool of the tenant's own. Unset: `pooled`; isolated tenants always get their own.
    identity: Optional[IdentityPool] = None
    # The catalog services that run dedicated for this plan's hybrid tenants (shared isolation with a
    # namespace of their own); unset: the catalog's `critical` ones.
    critical_services: Optional[list[Annotated[str, Field(min_length=1)]]] = None


# A Kubernetes Service name (an RFC 1035 label), short enough for every object named after it.
SERVICE_NAME_PATTERN = r"^[a-z]([-a-z0-9]*[a-z0-9])?$"


class CatalogService(Strict):
    """One service of the platform's catalog: what runs per dedicated tenant and once in the pool.

    Each replica requests (and is limited to) `cpu` vCPUs and `memoryMiB`; the autoscaler keeps
    between `replicas` and `maxReplicas` of them, all of which must fit the namespace quota. The
    tenant's route sends `path` (a prefix on `<tenant>.<domain>`) to it."""

    name: Annotated[str, Field(pattern=SERVICE_NAME_PATTERN, max_length=40, description=(
        "a Kubernetes Service name: a lowercase letter, then lowercase letters, digits and inner hyphens"))]
    image: Annotated[str, Field(min_length=1, max_length=512, pattern=r"^\S+$")]
    port: Annotated[int, Field(ge=1, le=65535, strict=True)] = 8080
    path: Optional[Annotated[str, Field(pattern=r"^/[A-Za-z0-9._~/-]*$", max_length=1024, description=(
        "a path prefix such as /api"))]] = None
    replicas: Annotated[int, Field(ge=1, le=100, strict=True)] = 2
    max_replicas: Optional[Annotated[int, Field(ge=1, le=100, strict=True)]] = None
    cpu: Annotated[float, Field(gt=0, le=64, multiple_of=0.001)] = 0.25
    memory_mib: Annotated[int, Field(ge=16, le=262144, strict=True)] = Field(256, alias="memoryMiB")
    critical: bool = False
    health_path: Annotated[str, Field(pattern=r"^/[A-Za-z0-9._~/-]*$", max_length=1024)] = "/healthz"
    run_as_user: Annotated[int, Field(ge=1, le=2147483647, strict=True)] = 65532  # never root

    @model_validator(mode="after")
    def _max_not_below_min(self) -> CatalogService:
        if self.max_replicas is not None and self.max_replicas < self.replicas:
            raise ValueError(f"maxReplicas {self.max_replicas} is below replicas {self.replicas}")
        return self

    @property
    def route_path(self) -> str:
        return self.path or f"/{self.name}"

    @property
    def most_replicas(self) -> int:
        return self.max_replicas or self.replicas


class PlanCatalog(Strict):
    """tenants/plans.yaml: every plan, and the platform's service catalog."""

    plans: dict[Annotated[str, Field(pattern=r"^[a-z][a-z0-9-]*$")], Plan]
    services: list[CatalogService] = []
