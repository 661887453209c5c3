"""What one stack deploys: read its settings and the registry, pick the scope's part, build it.

Every input problem (registry, settings, scope) becomes one `pulumi.RunError` listing all of them,
raised before any resource is registered, so nothing is half-applied and no traceback is shown.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pulumi
from pydantic import ValidationError

from tenancy.registry import naming
from tenancy.registry.cells import apply_cell_settings
from tenancy.registry.loader import Registry, load_cells, load_registry
from tenancy.registry.models import CatalogService, Environment
from tenancy.registry.problems import RegistryInvalid
from tenancy.registry.settings import StackSettings, settings_from_config
from tenancy.registry.tiers import EffectiveTenant
from tenancy.stacks.scopes import Scope, ScopeError

from .context import DeployContext, create_context
from .kubernetes import kubernetes_provider
from .platform import Platform
from .refs import PlatformRefs
from .tenant import Tenant


@dataclass(frozen=True)
class StackInputs:
    settings: StackSettings
    scope: Scope
    tenants: list[EffectiveTenant]
    services: tuple[CatalogService, ...] = ()  # the service catalog (plans.yaml), for the pool's instances


def read_inputs(project_dir: Path) -> StackInputs:
    """Settings from `tenancy:*` config and the validated registry, or a RunError that lists
    everything wrong with them."""
    stack = pulumi.get_stack()
    config = pulumi.Config("tenancy")
    try:
        settings = settings_from_config(config.get)
    except ValidationError as exc:
        lines = [f"tenancy:{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors(include_url=False)]
        raise pulumi.RunError(f"stack {stack}: invalid tenancy settings:\n" + "\n".join(lines)) from None
    try:
        scope = Scope.parse(settings.scope)
        settings = cell_settings(stack, settings, project_dir)
        layouts = {Environment(settings.environment): [(f"stack {stack}", settings.network)]}
        registry: Registry = load_registry(project_dir / settings.registry, layouts, default_layout=False,
                                           cell=settings.cell or naming.DEFAULT_CELL)
        tenants = scope.tenants(registry, settings.environment.value, settings.cell)
        if scope.kind in ("pool", "tenant") and not settings.platform_stack:
            raise ScopeError(f"tenancy:scope {scope} reads the platform through a StackReference: "
                             "set tenancy:platformStack (for example myorg/tenancy/dev-platform)")
    except RegistryInvalid as exc:
        raise pulumi.RunError(f"the tenant registry is invalid ({len(exc.problems)} problems):\n{exc}") from None
    except ScopeError as exc:
        raise pulumi.RunError(str(exc)) from None
    return StackInputs(settings, scope, tenants, tuple(registry.plans.services))


def cell_settings(stack: str, settings: StackSettings, project_dir: Path) -> StackSettings:
    """The stack's settings with its cell's overrides (cells.yaml `settings`) applied, after checking
    that the stack deploys where the cell lives (`aws:region`, which `tenancy stack-config` writes).
    A cells.yaml that does not validate is left to the registry's load, which reports it."""
    cell_name = settings.cell or naming.DEFAULT_CELL
    cell = load_cells(project_dir / settings.registry, []).get(cell_name)
    if cell is None:
        return settings
    region = pulumi.Config("aws").get("region")
    if cell.aws.region and region != cell.aws.region:
        raise ScopeError(f"stack {stack} deploys cell {cell_name}, which lives in {cell.aws.region}, but its "
                         f"aws:region is {region}; write its settings with `tenancy stack-config --stack {stack}`")
    try:
        return apply_cell_settings(settings, cell)
    except ValidationError as exc:
        lines = [f"tenancy:{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors(include_url=False)]
        raise ScopeError(f"stack {stack}: cell {cell_name}'s settings do not apply:\n" + "\n".join(lines)) from None


@dataclass
class Deployment:
    """What a stack built: its stack outputs, and the components for programs that extend it."""

    outputs: dict
    platform: Platform | None
    tenants: dict[str, Tenant]
    context: DeployContext
    platform_refs: PlatformRefs


def build(inputs: StackInputs) -> Deployment:
    """Create the scope's resources."""
    settings, scope = inputs.settings, inputs.scope
    env = settings.environment.value
    ctx = create_context(settings, kubernetes_provider(settings, f"{env}-kubernetes"))
    outputs: dict = {"environment": env, "scope": str(scope)}
    if settings.cell not in (None, naming.DEFAULT_CELL):
        outputs["cell"] = settings.cell
    platform = None
    if scope.deploys_platform:
        platform = Platform(naming.platform_prefix(env), ctx, services=inputs.services)
        outputs["platform"] = platform.exports()
        refs = PlatformRefs(platform.exports())
    else:
        refs = PlatformRefs.from_stack(settings.platform_stack)
    tenants = {t.id: Tenant(t, ctx, refs) for t in inputs.tenants}
    outputs["tenants"] = {tenant_id: tenant.outputs for tenant_id, tenant in tenants.items()}
    return Deployment(outputs, platform, tenants, ctx, refs)
