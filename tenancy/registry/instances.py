"""Service instances against namespace quotas: what the catalog's services need at their most
replicas, what a namespace's ResourceQuota holds, and every catalog or sizing problem, located.

A tenant's namespace quota comes from its quotas alone (`computeLimit` vCPUs, memory by the plan's
`memoryPerCpuGiB`, pods by `namespace_pods`); its dedicated instances request what they are limited
to (Guaranteed QoS) and roll out without surge, so the sum over them of requests × maxReplicas is
the most they ever hold. A tenant whose instances do not fit would deploy a quota that refuses its
own pods: the registry refuses it first."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from tenancy.registry.models import CatalogService, FullQuotas, Plan, PlanCatalog, Service, Tier
from tenancy.registry.tiers import EffectiveTenant, critical_services

PODS_PER_CPU = 10  # a namespace's pod quota per vCPU of its computeLimit
MIN_PODS = 10

Located = tuple[tuple, str]  # (field path, message)


def namespace_pods(cpu: float) -> int:
    return max(MIN_PODS, int(cpu * PODS_PER_CPU))


@dataclass(frozen=True)
class Footprint:
    """CPU in millicores and memory in MiB (exact integers), pods."""

    cpu_m: int
    memory_mib: int
    pods: int

    def short_of(self, room: Footprint) -> list[str]:
        """What this needs beyond `room`, in words."""
        out = []
        if self.cpu_m > room.cpu_m:
            out.append(f"{self.cpu_m / 1000:g} vCPUs (the quota holds {room.cpu_m / 1000:g})")
        if self.memory_mib > room.memory_mib:
            out.append(f"{self.memory_mib / 1024:g} GiB of memory (the quota holds {room.memory_mib / 1024:g})")
        if self.pods > room.pods:
            out.append(f"{self.pods} pods (the quota holds {room.pods})")
        return out


def footprint(services: Iterable[CatalogService]) -> Footprint:
    """What the services hold at their most replicas."""
    services = list(services)
    return Footprint(sum(round(s.cpu * 1000) * s.most_replicas for s in services),
                     sum(s.memory_mib * s.most_replicas for s in services),
                     sum(s.most_replicas for s in services))


def capacity(cpu: float, memory_gib: float, pods: int) -> Footprint:
    return Footprint(round(cpu * 1000), round(memory_gib * 1024), pods)


def tenant_capacity(quotas: FullQuotas, plan: Plan) -> Footprint:
    """The namespace quota of a tenant with these quotas on this plan (while active)."""
    cpu = quotas.compute_limit
    return capacity(cpu, cpu * plan.memory_per_cpu_gib, namespace_pods(cpu))


def _names(services: Iterable[CatalogService]) -> str:
    return ", ".join(s.name for s in services)


def tenant_fit_problems(tenant: EffectiveTenant) -> list[Located]:
    """A tenant whose dedicated instances do not fit its namespace quota (suspended tenants run
    none: their quota is zero pods on purpose)."""
    services = tenant.dedicated_services
    if not services or tenant.suspended:
        return []
    short = footprint(services).short_of(tenant_capacity(tenant.quotas, tenant.plan))
    if not short:
        return []
    return [(("quotas", "computeLimit"),
             f"its dedicated service instances ({_names(services)}) need at their maxReplicas "
             f"{', '.join(short)}; raise computeLimit (or the plan's memoryPerCpuGiB), or lower the "
             f"catalog's replicas, cpu or memoryMiB")]


def _can_override(plan: Plan, *services: Service) -> bool:
    """Whether a shared tenant of the plan may take one of these services out of the pool."""
    return Tier.shared in plan.allowed_isolation and any(
        tier is not Tier.shared for service in services for tier in plan.allowed_overrides.get(service, []))


def _can_be_hybrid(plan: Plan) -> bool:
    """Whether a shared tenant of the plan may get a namespace of its own (an override of compute,
    or of a data service, which brings its compute along)."""
    return _can_override(plan, Service.compute, Service.database, Service.cache)


def plan_fit_problems(name: str, plan: Plan, catalog: tuple[CatalogService, ...]) -> Iterator[Located]:
    """A plan whose default quotas cannot hold what its dedicated (or hybrid) tenants run."""
    room = tenant_capacity(plan.quotas, plan)
    checks = []
    if any(t is not Tier.shared for t in plan.allowed_isolation):
        checks.append(("dedicated and isolated", catalog))
    if _can_override(plan, Service.database, Service.cache):
        if not checks:  # their data admits only their own workloads: all of them, as dedicated tenants
            checks.append(("database- or cache-owning", catalog))
    elif _can_be_hybrid(plan):
        checks.append(("hybrid", critical_services(plan, catalog)))
    for kind, services in checks:
        short = footprint(services).short_of(room) if services else []
        if short:
            yield (("plans", name, "quotas", "computeLimit"),
                   f"plan {name!r}: its {kind} tenants' service instances ({_names(services)}) need at their "
                   f"maxReplicas {', '.join(short)} with the default computeLimit; raise it or size the catalog down")


def catalog_problems(catalog: PlanCatalog) -> list[Located]:
    """Names and route paths the catalog repeats, and plans naming services it lacks."""
    out: list[Located] = []
    seen_names: dict[str, int] = {}
    seen_paths: dict[str, str] = {}
    for i, service in enumerate(catalog.services):
        if service.name in seen_names:
            out.append((("services", i, "name"), f"service {service.name!r} is already listed (services[{seen_names[service.name]}])"))
        seen_names.setdefault(service.name, i)
        if service.route_path in seen_paths:
            out.append((("services", i, "path"), f"path {service.route_path} is already {seen_paths[service.route_path]}'s; "
                        "each service needs a path of its own on the tenant's host"))
        seen_paths.setdefault(service.route_path, service.name)
    known = set(seen_names)
    for name, plan in catalog.plans.items():
        for j, service in enumerate(plan.critical_services or []):
            if service not in known:
                out.append((("plans", name, "criticalServices", j),
                            f"{service!r} is not in the service catalog; services: {', '.join(sorted(known)) or 'none'}"))
        out.extend(plan_fit_problems(name, plan, tuple(catalog.services)))
    return out
