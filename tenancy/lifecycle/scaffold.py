"""`tenancy tenant new`: a new tenant file with its plan's defaults, and a free address block where its
tier needs one.

The block is chosen deterministically (the same registry and stack files give the same block): the
first block of the size, in address order, that the registry's own network rules accept for the
tier in every layout of every environment the tenant deploys to (`network_rules.network_findings`:
private, big enough for its subnets, inside or outside the shared VPC, clear of the platform's
range) and that overlaps no other tenant's block. Other tenants' blocks are avoided in every
environment, not only the shared ones, so adding an environment to either tenant later needs no
renumbering; only when that leaves nothing free does a block shared with a tenant of other
environments count as free.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from ipaddress import IPv4Network

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq

from tenancy.exits import CommandError, ExitCode
from tenancy.registry.addressing import PRIVATE_RANGES, largest_prefix_for
from tenancy.registry.loader import Registry
from tenancy.registry.models import Environment, Network, Service, Tenant, Tier
from tenancy.registry.network_rules import Layouts, network_findings
from tenancy.registry.problems import TenantSource
from tenancy.registry.settings import NetworkSettings
from tenancy.registry.source import Document
from tenancy.registry.tiers import resolve, subnet_roles

SCHEMA_COMMENT = "yaml-language-server: $schema=./schema.json"
# Default block sizes: room to grow beyond the smallest block the subnets need (a /24 slice holds
# four /26 subnets, two zones x app and data; the sample's VPCs are /20).
DEFAULT_PREFIX = {Tier.dedicated: 22, Tier.isolated: 20}


class NoFreeBlock(CommandError):
    code = ExitCode.FAILED


def with_default_layouts(layouts: Layouts) -> Layouts:
    """Every environment's layouts, the default network settings where no stack file deploys it (as
    `load_registry` checks them)."""
    return {**{env: [("default network settings", NetworkSettings())] for env in Environment}, **layouts}


def block_prefix(tier: Tier, environments: list[Environment], layouts: Layouts, asked: int | None = None) -> int:
    """The prefix length of a new block: as asked, else the default for the tier, made large enough
    for the tier's subnets in the environment with the most zones."""
    roles = subnet_roles(tier)
    zones = max((layout.az_count for env in environments for _, layout in layouts.get(env, [])), default=2)
    needed = largest_prefix_for(roles, zones)
    if asked is not None and asked > needed:
        raise CommandError(f"a /{asked} is too small for a {tier.value} tenant's subnets ({zones} zones x "
                           f"{', '.join(roles)}); use /{needed} or larger")
    return asked if asked is not None else min(DEFAULT_PREFIX[tier], needed)


def _candidates(tier: Tier, prefix: int, environments: list[Environment], layouts: Layouts) -> Iterator[IPv4Network]:
    if tier is Tier.dedicated:  # a slice of the shared VPC: walk the first layout's VPC
        vpcs = [layout.vpc for env in environments for _, layout in layouts.get(env, [])]
        ranges = [vpcs[0]] if vpcs else []
    else:
        ranges = list(PRIVATE_RANGES)
    for space in ranges:
        if prefix < space.prefixlen:
            continue
        yield from space.subnets(new_prefix=prefix)


def free_block(registry: Registry, tenant: Tenant, tier: Tier, layouts: Layouts, prefix: int | None = None) -> str:
    """The first block that `tenant` (on `tier`) may use; NoFreeBlock (exit 1) when there is none."""
    layouts = with_default_layouts(layouts)
    environments = list(tenant.environments)
    size = block_prefix(tier, environments, layouts, prefix)
    taken = [(t.tenant.network.network, set(t.tenant.environments)) for t in registry.tenants
             if t.has_own_network and t.tenant.network is not None]
    mine = set(environments)
    source = TenantSource(f"{tenant.id}.yaml", Document(data={}))
    fallback = None
    for candidate in _candidates(tier, size, environments, layouts):
        clashes = [envs for block, envs in taken if block.overlaps(candidate)]
        if any(envs & mine for envs in clashes):
            continue
        probe = tenant.model_copy(update={"network": Network(cidr=str(candidate))})
        effective, _ = resolve(probe, registry.plans.plans)
        if effective is None or any(True for _ in network_findings([(effective, source)], layouts)):
            continue
        if not clashes:
            return str(candidate)
        fallback = fallback or str(candidate)
    if fallback:
        return fallback
    where = "the shared VPC" if tier is Tier.dedicated else "the private ranges"
    raise NoFreeBlock(f"no free /{size} for a {tier.value} tenant in {where} of {', '.join(e.value for e in environments)}; "
                      f"choose a smaller block (--prefix-length) or give one (--cidr)")


def scaffold(tenant_id: str, name: str, plan_name: str, registry: Registry | None, environments: list[str],
             isolation: str | None, cidr: str | None, cost_center: str | None, cell: str | None = None) -> str:
    """The new file's text: the schema comment, identity, tier, environments, its cell (when the
    registry declares cells), the plan's default quotas and budget (written out, so the file says
    what the tenant gets: remove a quota to follow the plan's default), and the address block when
    the tier has its own network."""
    plan = registry.plans.plans.get(plan_name) if registry else None
    doc = CommentedMap()
    doc["id"] = tenant_id
    doc["name"] = name
    doc["plan"] = plan_name
    tier = isolation or (plan.default_isolation.value if plan else None)
    if tier:
        doc["isolationLevel"] = tier
    doc["status"] = "active"
    doc["environments"] = _flow(CommentedSeq(environments))
    if cell:
        doc["cell"] = cell
    if cidr:
        doc["network"] = _flow(CommentedMap(cidr=cidr))
        doc.yaml_add_eol_comment("its own VPC, outside the shared one" if tier == Tier.isolated.value
                                 else "its slice of the shared VPC", "network", column=32)
    if plan is not None:
        quotas = {k: _number(v) for k, v in plan.quotas.model_dump(by_alias=True, mode="json").items()}
        doc["quotas"] = _flow(CommentedMap(quotas))
        doc.yaml_set_comment_before_after_key(
            "quotas", before=f"plan {plan_name}'s defaults, written out: remove one to follow the plan's")
    doc["features"] = _flow(CommentedSeq())
    billing = CommentedMap(costCenter=cost_center or tenant_id)
    if plan is not None:
        billing["monthlyBudget"] = _number(plan.default_monthly_budget)
    doc["billing"] = _flow(billing)
    doc.yaml_set_start_comment(SCHEMA_COMMENT)
    rt = YAML()
    rt.width = 1 << 16
    out = io.StringIO()
    rt.dump(doc, out)
    return out.getvalue()


def own_network_tier(tenant: Tenant, registry: Registry) -> Tier | None:
    """The network tier of a would-be tenant when it has a network of its own, else None."""
    probe = tenant.model_copy(update={"network": None})
    effective, _ = resolve(probe, registry.plans.plans)
    if effective is None:
        return None
    tier = effective.tier(Service.network)
    return None if tier is Tier.shared else tier


def _flow(node):
    node.fa.set_flow_style()
    return node


def _number(value: float) -> int | float:
    return int(value) if float(value).is_integer() else value


def new_tenant_cell(registry: Registry, tenant: Tenant) -> str | None:
    """The cell `tenancy tenant new` writes: none without cells.yaml (the tenant lives in `default`);
    else the first cell, in declaration order, that serves the tenant's environments and has room for
    it (`cells.place`); NoFreeBlock (exit 1) when none has."""
    from tenancy.registry.cells import place

    if not registry.cells.declared:
        return None
    effective, _ = resolve(tenant.model_copy(update={"cell": None}), registry.plans.plans)
    if effective is None:
        return None  # the registry's validation reports the tenant
    cell = place(registry.cells, registry.tenants, effective)
    if cell is None:
        envs = ", ".join(e.value for e in tenant.environments)
        raise NoFreeBlock(f"no cell has room for {tenant.id} in {envs} (cells: {', '.join(registry.cells.names)}); "
                          f"declare a cell or raise a capacity in cells.yaml, or name one with --cell")
    return cell


def cell_layouts(registry: Registry, layouts: Layouts, cell: str | None) -> Layouts:
    """The stacks' layouts with the cell's network over them (a new dedicated tenant's block is cut
    from its cell's VPC)."""
    from tenancy.registry.cells import cell_network

    definition = registry.cells.get(cell) if cell else None
    if definition is None:
        return layouts
    out: Layouts = {}
    for env, entries in with_default_layouts(layouts).items():
        for label, layout in entries:
            merged = cell_network(layout, definition)
            if merged is not None:
                out.setdefault(env, []).append((label, merged))
    return out
