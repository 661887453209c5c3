"""Stack settings: what a stack deploys and how, read from `tenancy:*` config, never from code.

The same model reads Pulumi.<stack>.yaml directly (for `tenancy validate`, which runs without the
CLI) and `pulumi.Config` inside the program, so both see the same defaults and the same errors.
"""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Callable
from enum import Enum
from typing import Annotated, Literal, Optional

from pydantic import Field, field_validator, model_validator

from tenancy.registry.models import Environment, LogRetentionDays, Strict

CONFIG_NAMESPACE = "tenancy"


class NatLayout(str, Enum):
    single = "single"  # one NAT gateway for the VPC: cheap, for dev
    per_az = "perAz"  # one per availability zone: survives the loss of a zone


class NetworkSettings(Strict):
    """The shared VPC of an environment. `platformCidr` holds the platform's own subnets; dedicated
    tenants' slices are cut from the rest of `vpcCidr`."""

    vpc_cidr: str = "10.0.0.0/16"
    platform_cidr: str = "10.0.0.0/18"
    # At least two: an RDS DB subnet group spans two zones (CreateDBSubnetGroup). At most six,
    # the most any region has; the program stops with a clear message if the region has fewer.
    az_count: Annotated[int, Field(ge=2, le=6)] = 2
    nat_gateways: NatLayout = NatLayout.single
    flow_log_retention_days: LogRetentionDays = 90

    @field_validator("vpc_cidr", "platform_cidr")
    @classmethod
    def _cidr(cls, value: str) -> str:
        try:
            return str(ipaddress.IPv4Network(value, strict=True))
        except ValueError as exc:
            raise ValueError(f"{value!r} is not a valid IPv4 CIDR ({exc})") from None

    @model_validator(mode="after")
    def _platform_inside_vpc(self) -> NetworkSettings:
        if not self.platform.subnet_of(self.vpc):
            raise ValueError(f"platformCidr {self.platform_cidr} must lie inside vpcCidr {self.vpc_cidr}")
        return self

    @property
    def vpc(self) -> ipaddress.IPv4Network:
        return ipaddress.IPv4Network(self.vpc_cidr)

    @property
    def platform(self) -> ipaddress.IPv4Network:
        return ipaddress.IPv4Network(self.platform_cidr)


class NamespaceQuota(Strict):
    cpu: Annotated[float, Field(gt=0)] = 8
    memory_gib: Annotated[float, Field(gt=0)] = Field(16, alias="memoryGiB")
    pods: Annotated[int, Field(ge=0)] = 100
    storage_gib: Annotated[float, Field(ge=0)] = Field(100, alias="storageGiB")


class PoolSettings(Strict):
    """Sizes of the pooled database, cache and namespace that shared tenants use together."""

    database_instance_class: str = "db.t4g.medium"
    database_storage_gib: Annotated[int, Field(ge=20)] = Field(50, alias="databaseStorageGiB")
    # Storage autoscaling of the pooled instance, so one tenant filling it does not stop the others
    # at once (an alarm fires first); default: four times the allocation.
    database_max_storage_gib: Optional[Annotated[int, Field(ge=22, le=65536)]] = Field(
        None, alias="databaseMaxStorageGiB")
    # Temporary files one session may write (kB), for every role: the pooled instance's parameter,
    # since RDS's master user cannot set it per role.
    database_temp_file_limit_kb: Annotated[int, Field(ge=1024)] = Field(1048576, alias="databaseTempFileLimitKB")
    # max_connections of the pooled instance when its parameter group sets one, or when its class is
    # not in tenancy.registry.connections' table; the pooled tenants' connection limits must fit in it.
    database_max_connections: Optional[Annotated[int, Field(ge=1, le=262143)]] = None
    # The column of the pooled database's shared tables that names the tenant (dataIsolation: row):
    # db-bootstrap forces row security on it and db-check judges unique keys by it.
    tenant_column: Annotated[str, Field(pattern=r"^[a-z_][a-z0-9_]{0,62}$", description=(
        "a lowercase PostgreSQL column name: a letter or underscore, then letters, digits and underscores"))] = "tenant_id"
    cache_node_type: str = "cache.t4g.small"
    cache_replicas: Annotated[int, Field(ge=0, le=5)] = 1
    namespace_quota: NamespaceQuota = NamespaceQuota()
    # AppConfig applications for the tenants' feature flags. Each tenant has an AppConfig
    # environment of its own (so no tenant waits on another's deployment), and AWS allows 20
    # environments per application: tenants spread over this many applications by a hash of
    # their id (stable while this number stays). Raise it before `tenancy capacity` says full.
    flags_applications: Annotated[int, Field(ge=1, le=50)] = 5


class KubernetesSettings(Strict):
    """Which cluster to use. Without this block the Kubernetes resources are skipped."""

    kubeconfig: Optional[str] = None  # a path or the kubeconfig itself; default: the usual lookup
    context: Optional[str] = None
    oidc_issuer: str = Field(description="the cluster's OIDC issuer, without https://")

    @field_validator("oidc_issuer")
    @classmethod
    def _strip_scheme(cls, value: str) -> str:
        return value.removeprefix("https://").rstrip("/")


# A DNS name of two or more labels, lowercase; short enough that `<tenant id>.<domain>` stays a
# valid hostname (253 characters) for the longest id the registry allows.
DOMAIN_PATTERN = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)+$"


class RoutingSettings(Strict):
    """The platform's Gateway (Kubernetes Gateway API): each tenant is served at `<id>.<domain>`.
    Without this block (or without `tenancy:kubernetes`) no Gateway or routes are created."""

    domain: Annotated[str, Field(pattern=DOMAIN_PATTERN, max_length=200, description=(
        "the tenants' parent domain, such as apps.example.com (lowercase DNS labels)"))]
    gateway_class_name: Annotated[str, Field(min_length=1, max_length=253, description=(
        "the GatewayClass of the cluster's Gateway API implementation"))]
    # The Secret (in the gateway namespace) holding the certificate for *.<domain>: made by
    # cert-manager when `clusterIssuer` is set, else by whoever manages certificates.
    certificate_secret: Annotated[str, Field(pattern=r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$", max_length=253)] = \
        "tenancy-gateway-tls"
    cluster_issuer: Optional[Annotated[str, Field(min_length=1, max_length=253)]] = None
    # Where the implementation runs its proxies, when not beside the Gateway (for example Envoy
    # Gateway's envoy-gateway-system): the namespace tenants' network policies admit. List it in the
    # policy pack's `gatewayNamespaces` too.
    proxy_namespace: Optional[Annotated[str, Field(pattern=r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$", max_length=63)]] = None


class ApiSettings(Strict):
    """The platform's API Gateway stage that tenants' usage plans attach to."""

    rest_api_id: str
    stage: str


class BillingSettings(Strict):
    activate_cost_allocation_tags: bool = Field(
        False, description="activate the tenant-id cost allocation tag (needs the payer account)")


class StackSettings(Strict):
    environment: Environment
    scope: str = "all"
    # The cell this stack deploys (tenants/cells.yaml); default: the cell named `default`.
    cell: Optional[str] = None
    registry: str = "tenants"
    network: NetworkSettings = NetworkSettings()
    pool: PoolSettings = PoolSettings()
    kubernetes: Optional[KubernetesSettings] = None
    routing: Optional[RoutingSettings] = None
    api: Optional[ApiSettings] = None
    billing: BillingSettings = BillingSettings()
    platform_stack: Optional[str] = Field(
        None, description="fully qualified name of the platform stack, for scoped stacks"
    )
    protect_stateful_resources: bool = Field(
        True, description="protect databases, caches, keys and secrets; lift only for throwaway stacks"
    )
    # Service quotas AWS has raised for this account and region, by code or name
    # ({"L-0263D0A3": 10}); the plan's capacity check uses them instead of the defaults.
    quotas: dict[str, Annotated[int, Field(gt=0)]] = {}
    database_engine_version: str = "16"
    # Change this (a date, a counter) to give every pooled tenant a new database password on the
    # next `pulumi up`, then run `tenancy db-bootstrap --reset-passwords` (RDS rotates the master
    # passwords itself).
    pooled_password_rotation: Optional[str] = None
    # Enhanced monitoring of every RDS instance, in seconds between samples (0: off; prod: 60).
    database_monitoring_interval: Literal[0, 1, 5, 10, 15, 30, 60] = 0
    # The shortest retention of any log group the stack creates (prod: a year), above the plan's.
    minimum_log_retention_days: Optional[LogRetentionDays] = None

    @field_validator("database_monitoring_interval", "minimum_log_retention_days", mode="before")
    @classmethod
    def _number_from_config(cls, value):
        """Stack config hands scalars over as strings."""
        return int(value) if isinstance(value, str) and value.strip().isdigit() else value
    cache_engine_version: str = "7.1"


def settings_from_config(get: Callable[[str], Optional[str]]) -> StackSettings:
    """Build settings from a Pulumi config getter (`get("environment")` -> raw string or None).

    Pulumi hands structured values over as JSON strings, so those are decoded first.
    """
    raw: dict = {}
    for name, info in StackSettings.model_fields.items():
        key = info.alias or name
        value = get(key)
        if value is None:
            continue
        try:
            decoded = json.loads(value)
            raw[key] = decoded if isinstance(decoded, (dict, list)) else value
        except ValueError:
            raw[key] = value
    return StackSettings.model_validate(raw)
