"""Plan rules: what a tenant effectively gets once its plan's defaults and limits are applied."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from tenancy.registry.addressing import SLICE_ROLES, VPC_ROLES, SubnetLayout, subnet_layout
from tenancy.registry.models import (
    CatalogService,
    DataIsolation,
    FullQuotas,
    IdentityPool,
    Plan,
    Service,
    Status,
    Tenant,
    Tier,
)

RuleBreak = tuple[tuple, str]  # (field path, message): a plan rule the tenant breaks
MIN_DATABASE_GIB = 20  # RDS's smallest gp3 volume


@dataclass(frozen=True)
class DatabaseStorage:
    """A database of a tenant's own: allocated GiB, and the storage autoscaling ceiling (None: no
    autoscaling, when the tenant's limit leaves no room above the allocation)."""

    allocated_gib: int
    max_gib: int | None
    limit_gib: int  # the tenant's storageLimit, at least MIN_DATABASE_GIB


def autoscaling_ceiling(allocated_gib: int, limit_gib: int) -> int | None:
    """RDS refuses a ceiling less than 10% above the allocation; below that, autoscaling is off.
    (https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/USER_PIOPS.Autoscaling.html)"""
    return limit_gib if limit_gib * 10 >= allocated_gib * 11 else None


def subnet_roles(tier: Tier) -> tuple[str, ...]:
    """An isolated tenant has a whole VPC; a dedicated one a slice of app and data subnets."""
    return VPC_ROLES if tier is Tier.isolated else SLICE_ROLES


@dataclass(frozen=True)
class EffectiveTenant:
    """A validated tenant with its plan applied: the only shape components ever see."""

    tenant: Tenant
    plan: Plan
    isolation: Tier
    services: dict[Service, Tier]
    quotas: FullQuotas
    data_isolation: DataIsolation | None
    catalog: tuple[CatalogService, ...] = ()  # the platform's service catalog (plans.yaml `services`)

    @property
    def id(self) -> str:
        return self.tenant.id

    @property
    def own_user_pool(self) -> bool:
        """Isolated tenants sign in through a user pool of their own; others where the plan says so."""
        return self.isolation is Tier.isolated or self.plan.identity is IdentityPool.own

    @property
    def dedicated_services(self) -> tuple[CatalogService, ...]:
        """The catalog services that run for this tenant alone, in its namespace: all of them for a
        dedicated or isolated tenant and for one with a database or cache of its own (which admits
        only the tenant's own workloads, so no pooled instance could serve it), the plan's critical
        ones for a hybrid tenant with pooled data (shared isolation, compute of its own), none for a
        pooled one."""
        if not self.has_own_namespace:
            return ()
        if self.isolation is not Tier.shared or own_data(self.services):
            return self.catalog
        return critical_services(self.plan, self.catalog)

    def tier(self, service: Service) -> Tier:
        return self.services[service]

    @property
    def has_own_stack(self) -> bool:
        """Dedicated and isolated tenants deploy in a `tenant/<id>` stack; shared ones in `pool`."""
        return self.isolation is not Tier.shared

    @property
    def has_own_network(self) -> bool:
        return self.services[Service.network] is not Tier.shared

    @property
    def has_own_namespace(self) -> bool:
        return self.services[Service.compute] is not Tier.shared

    @property
    def suspended(self) -> bool:
        return self.tenant.status is not Status.active

    @property
    def monthly_budget(self) -> float:
        budget = self.tenant.billing.monthly_budget
        return self.plan.default_monthly_budget if budget is None else budget

    @property
    def database_storage(self) -> DatabaseStorage:
        """A database of its own: the plan's size, capped by the tenant's storageLimit, which is
        also the autoscaling ceiling."""
        limit = max(MIN_DATABASE_GIB, int(self.quotas.storage_limit))
        allocated = min(self.plan.database.allocated_storage, limit)
        return DatabaseStorage(allocated, autoscaling_ceiling(allocated, limit), limit)

    def subnet_layout(self, az_count: int) -> SubnetLayout | None:
        """The subnets of its own network (None on the shared network), cut from its block by the
        fixed rule: the one place a tenant's layout is computed."""
        tier = self.services[Service.network]
        if tier is Tier.shared or self.tenant.network is None:
            return None
        return subnet_layout(str(self.tenant.network.cidr), subnet_roles(tier), az_count)


def critical_services(plan: Plan, catalog: tuple[CatalogService, ...]) -> tuple[CatalogService, ...]:
    """What a plan's hybrid tenants run dedicated: its `criticalServices`, else the catalog's critical ones."""
    if plan.critical_services is not None:
        return tuple(s for s in catalog if s.name in plan.critical_services)
    return tuple(s for s in catalog if s.critical)


def own_data(services: dict[Service, Tier]) -> bool:
    """Whether a tenant has a database or cache of its own."""
    return services[Service.database] is not Tier.shared or services[Service.cache] is not Tier.shared


def resolve(tenant: Tenant, plans: dict[str, Plan],
            catalog: tuple[CatalogService, ...] | list[CatalogService] = ()) -> tuple[EffectiveTenant | None, list[RuleBreak]]:
    """Apply the tenant's plan (and the service catalog); return the effective tenant and every rule it breaks."""
    plan = plans.get(tenant.plan)
    if plan is None:
        return None, [(("plan",), f"unknown plan {tenant.plan!r}; plans: {', '.join(sorted(plans))}")]
    isolation = tenant.isolation_level or plan.default_isolation
    services = {
        service: getattr(tenant.services, service.value) or isolation for service in Service
    }
    if tenant.services.compute is None and services[Service.compute] is Tier.shared and own_data(services):
        # a database or cache of its own admits only the tenant's own workloads, which therefore
        # run apart from the pool: in the tenant's namespace, in its own security group
        services[Service.compute] = Tier.dedicated
    merged = plan.quotas.model_dump() | tenant.quotas.model_dump(exclude_none=True)
    data_isolation = tenant.data_isolation
    if data_isolation is None and services[Service.database] is Tier.shared:
        data_isolation = DataIsolation.schema_
    effective = EffectiveTenant(
        tenant=tenant,
        plan=plan,
        isolation=isolation,
        services=services,
        quotas=FullQuotas.model_validate(merged),
        data_isolation=data_isolation,
        catalog=tuple(catalog),
    )
    return effective, list(_rule_findings(tenant, plan, effective))


def _allowed(tiers) -> str:
    return ", ".join(t.value for t in tiers) or "none"


def _rule_findings(tenant: Tenant, plan: Plan, eff: EffectiveTenant) -> Iterator[RuleBreak]:
    if eff.isolation not in plan.allowed_isolation:
        yield (("isolationLevel",),
               f"plan {tenant.plan!r} does not allow {eff.isolation.value!r}; "
               f"allowed: {_allowed(plan.allowed_isolation)}")
    for service in Service:
        asked = getattr(tenant.services, service.value)
        if asked is None or asked is eff.isolation:
            continue
        allowed = plan.allowed_overrides.get(service, [])
        if asked not in allowed:
            yield (("services", service.value),
                   f"plan {tenant.plan!r} does not allow {service.value} {asked.value!r}; "
                   f"allowed overrides: {_allowed(allowed)}")
    if tenant.services.compute is Tier.shared and own_data(eff.services):
        yield (("services", "compute"),
               "a database or cache of its own admits only the tenant's own workloads, so they cannot run in the "
               "shared pool: remove 'compute: shared' (its compute then runs dedicated, in its own namespace)")
    network = eff.services[Service.network]
    for service in (Service.database, Service.cache, Service.compute):
        tier = eff.services[service]
        if tier.rank < network.rank:
            yield (("services", service.value),
                   f"{service.value} {tier.value!r} is below the network tier {network.value!r}; "
                   f"a tenant with its own network keeps its {service.value} to itself")
        if tier is Tier.isolated and network is not Tier.isolated and service is not Service.compute:
            yield (("services", service.value),
                   f"{service.value} 'isolated' needs its own VPC, so the network must be 'isolated' too")
    if network is Tier.shared and tenant.network is not None:
        yield (("network",), "a tenant on the shared network has no address block of its own; remove 'network'")
    if network is not Tier.shared and tenant.network is None:
        yield (("network",), f"a {network.value} network needs 'network: {{cidr: ...}}' (a private block)")
    for name, ceiling in plan.quota_ceilings.model_dump(by_alias=True, exclude_none=True).items():
        asked = tenant.quotas.model_dump(by_alias=True).get(name)
        if asked is not None and asked > ceiling:
            yield (("quotas", name), f"{asked:g} is above plan {tenant.plan!r}'s ceiling of {ceiling:g}; "
                   "move the tenant to a larger plan or raise the plan's quotaCeilings")
    if eff.services[Service.database] is not Tier.shared and eff.quotas.storage_limit < MIN_DATABASE_GIB:
        yield (("quotas", "storageLimit"), f"{eff.quotas.storage_limit:g} GiB is too small for a database of its "
               f"own; at least {MIN_DATABASE_GIB} GiB")
    if tenant.data_isolation is not None and eff.services[Service.database] is not Tier.shared:
        yield (("dataIsolation",),
               "dataIsolation applies to the pooled database only; this tenant has its own database")
