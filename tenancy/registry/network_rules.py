"""Address checks across tenants: private, big enough, inside or outside the shared VPC, no overlap.

Checked per environment against the network layout of every stack that deploys it, because the
shared VPC's range and the zone count are stack settings.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from ipaddress import IPv4Network
from typing import TYPE_CHECKING

from tenancy.registry.addressing import carve, is_private
from tenancy.registry.models import Environment, Service, Tier
from tenancy.registry.problems import Problem
from tenancy.registry.settings import NetworkSettings
from tenancy.registry.tiers import subnet_roles

if TYPE_CHECKING:
    from tenancy.registry.problems import TenantSource
    from tenancy.registry.tiers import EffectiveTenant

Layouts = dict[Environment, list[tuple[str, NetworkSettings]]]
CIDR = ("network", "cidr")


def network_findings(loaded: list[tuple[EffectiveTenant, TenantSource]], layouts: Layouts,
                     tenant_layouts: Callable[[EffectiveTenant], Layouts] | None = None) -> Iterator[Problem]:
    """`tenant_layouts`, when given, gives each tenant's own layouts (its cell's) instead of `layouts`."""
    with_network = [(t, s) for t, s in loaded if t.has_own_network and t.tenant.network]
    for tenant, source in with_network:
        block = tenant.tenant.network.network
        if not is_private(block):
            yield source.problem(tenant.id, CIDR, f"{block} is not a private (RFC 1918) range; "
                                 "use one inside 10.0.0.0/8, 172.16.0.0/12 or 192.168.0.0/16")
            continue
        tier = tenant.tier(Service.network)
        own = tenant_layouts(tenant) if tenant_layouts is not None else layouts
        for env in tenant.tenant.environments:
            for label, layout in own.get(env, []):
                yield from _against_layout(tenant, source, tier, block, label, layout)
    for i, j in overlapping_pairs([t.tenant.network.network for t, _ in with_network]):
        (a, sa), (b, sb) = with_network[i], with_network[j]
        shared_envs = set(a.tenant.environments) & set(b.tenant.environments)
        if shared_envs:
            envs = ", ".join(sorted(e.value for e in shared_envs))
            yield sb.problem(b.id, CIDR, f"{b.tenant.network.cidr} overlaps {a.id}'s {a.tenant.network.cidr} "
                             f"({sa.file}) in {envs}; pick a free block")


def overlapping_pairs(blocks: list[IPv4Network]) -> list[tuple[int, int]]:
    """Every pair (i, j), i < j, of blocks that overlap, in order; by one sweep over the blocks sorted
    by address, not by comparing all pairs. Two CIDR blocks overlap only when one holds the other, so
    the blocks still open at a block's first address are exactly those that hold it."""
    order = sorted(range(len(blocks)), key=lambda k: (int(blocks[k].network_address), blocks[k].prefixlen))
    open_: list[tuple[int, int]] = []  # (last address, index) of the blocks that hold the current one
    pairs = []
    for k in order:
        first = int(blocks[k].network_address)
        while open_ and open_[-1][0] < first:
            open_.pop()
        pairs.extend((min(k, other), max(k, other)) for _, other in open_)
        open_.append((int(blocks[k].broadcast_address), k))
    return sorted(pairs)


def _against_layout(tenant, source, tier, block, label, layout: NetworkSettings) -> Iterator[Problem]:
    try:
        carve(block, subnet_roles(tier), layout.az_count)
    except ValueError as exc:
        yield source.problem(tenant.id, CIDR, f"{exc} (for {label})")
    if tier is Tier.dedicated:
        if not block.subnet_of(layout.vpc):
            yield source.problem(tenant.id, CIDR, f"a dedicated tenant's slice must lie inside the shared VPC "
                                 f"{layout.vpc_cidr} ({label}); {block} does not")
        elif block.overlaps(layout.platform):
            yield source.problem(tenant.id, CIDR, f"{block} overlaps the platform's own subnets "
                                 f"{layout.platform_cidr} ({label}); use the rest of {layout.vpc_cidr}")
    elif tier is Tier.isolated and block.overlaps(layout.vpc):
        yield source.problem(tenant.id, CIDR, f"an isolated tenant's VPC must lie outside the shared VPC "
                             f"{layout.vpc_cidr} ({label}); {block} overlaps it")
