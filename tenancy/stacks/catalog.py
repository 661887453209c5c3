"""Stack names, their settings, and the deployment waves of an environment.

Per environment and cell: a platform stack, the pool stack (or one per shard) and a stack per
dedicated or isolated tenant. The cell named `default` keeps the names of an install from before
cells, so that install becomes the default cell with nothing renamed:

| stack | default cell | cell `eu-2` |
|---|---|---|
| platform | `<env>-platform` | `<env>-eu-2-platform` |
| pool | `<env>-pool`, or `<env>-pool-<n>` per shard | `<env>-eu-2-pool`, or `<env>-eu-2-pool-<n>` |
| tenant | `<env>-<id>` | `<env>-<id>` |

A split stack needs no file of its own to be planned offline: its settings are the environment's
`Pulumi.<env>.yaml` with the scope, the cell (its `aws:*` config and settings overrides) and the
platform stack filled in. `stack-config` writes that file for the real CLI.

Waves: canary cells first (their platforms, then their pools, then their tenant stacks), then the
other cells the same way. Wave numbers are fixed (1-3 canary, 4-6 the rest), so a workflow can
give each its own job; `waves` leaves the empty ones out.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

from tenancy.registry.cells import CELLS_FILE, IMPLICIT_CELLS, Cells, cells_from_document, deep_merge, pool_shard
from tenancy.registry.loader import Registry, display
from tenancy.registry.models import Environment
from tenancy.registry.naming import DEFAULT_CELL
from tenancy.registry.problems import Problem, RegistryInvalid
from tenancy.registry.project import config_from_stack_file
from tenancy.registry.source import SourceError, read_yaml

SCOPE_KEY = "tenancy:scope"
CELL_KEY = "tenancy:cell"
PLATFORM_STACK_KEY = "tenancy:platformStack"
REGISTRY_KEY = "tenancy:registry"
KINDS = ("platform", "pool", "tenant")
# (number, name) of each wave; a canary cell's stacks go in the first three.
WAVES = ((1, "canary platforms"), (2, "canary pools"), (3, "canary tenant stacks"),
         (4, "platforms"), (5, "pools"), (6, "tenant stacks"))


def wave_of(kind: str, canary: bool = False) -> int:
    """The wave of a stack: 1-3 for a canary cell's platform, pool and tenant stacks, 4-6 for others'."""
    if kind == "all":
        kind = "platform"
    return (0 if canary else 3) + KINDS.index(kind) + 1


@dataclass(frozen=True)
class StackRef:
    name: str
    environment: str
    scope: str  # all | platform | pool | pool/<shard> | tenant/<id>
    cell: str = DEFAULT_CELL
    wave: int = field(default=0, compare=False)  # 1-6 (see WAVES); 0: unknown

    @property
    def kind(self) -> str:
        """platform | pool | tenant | all"""
        return self.scope.split("/")[0]

    @property
    def tenant_id(self) -> Optional[str]:
        return self.scope[len("tenant/"):] if self.scope.startswith("tenant/") else None

    def as_dict(self) -> dict:
        return {"stack": self.name, "environment": self.environment, "scope": self.scope, "cell": self.cell,
                "wave": self.wave}


@dataclass(frozen=True)
class Wave:
    number: int
    name: str
    stacks: list[StackRef]

    def as_dict(self) -> dict:
        return {"wave": self.number, "name": self.name, "include": [s.as_dict() for s in self.stacks]}


def _cell_prefix(cell: Optional[str]) -> str:
    return "" if cell in (None, DEFAULT_CELL) else f"{cell}-"


def platform_stack_name(environment: str, cell: Optional[str] = None) -> str:
    return f"{environment}-{_cell_prefix(cell)}platform"


def stack_for_scope(environment: str, scope: str, cell: Optional[str] = None, canary: bool = False) -> StackRef:
    """The stack that deploys `scope` of `cell` in `environment`."""
    cell = cell or DEFAULT_CELL
    prefix = _cell_prefix(cell)
    if scope.startswith("tenant/"):
        name = f"{environment}-{scope[len('tenant/'):]}"
    elif scope.startswith("pool/"):
        name = f"{environment}-{prefix}pool-{scope[len('pool/'):]}"
    elif scope == "all":
        name = f"{environment}{'-' + cell if prefix else ''}"
    else:
        name = f"{environment}-{prefix}{scope}"
    kind = scope.split("/")[0]
    return StackRef(name, environment, scope, cell, wave_of(kind, canary))


def pool_scopes(shards: int) -> list[str]:
    return ["pool"] if shards <= 1 else [f"pool/{n}" for n in range(shards)]


def tenant_stack(environment: str, tenant, registry: Optional[Registry] = None) -> StackRef:
    """The stack that deploys `tenant` in `environment`: its own, or its cell's pool (its shard).
    Without `registry`, the tenant's cell is taken as unsharded and not canary."""
    cells = registry.cells if registry is not None else IMPLICIT_CELLS
    cell = tenant.tenant.cell or DEFAULT_CELL
    definition = cells.get(cell)
    canary = bool(definition and definition.canary)
    if tenant.has_own_stack:
        return stack_for_scope(environment, f"tenant/{tenant.id}", cell, canary)
    shards = definition.pool_shards if definition else 1
    scope = "pool" if shards <= 1 else f"pool/{pool_shard(tenant.id, shards)}"
    return stack_for_scope(environment, scope, cell, canary)


def cell_stacks(registry: Registry, environment: str, cell: str) -> list[StackRef]:
    """One cell's stacks in an environment: platform, pool stacks, tenant stacks."""
    definition = registry.cells[cell]
    canary = definition.canary
    out = [stack_for_scope(environment, "platform", cell, canary)]
    out += [stack_for_scope(environment, scope, cell, canary) for scope in pool_scopes(definition.pool_shards)]
    out += [stack_for_scope(environment, f"tenant/{t.id}", cell, canary)
            for t in registry.in_cell(environment, cell) if t.has_own_stack]
    return out


def stacks_of(registry: Registry, environment: str) -> list[StackRef]:
    """An environment's split stacks in deployment order: wave by wave (see WAVES); in a wave, cells
    in declaration order, shards in order, tenants by id."""
    return [s for wave in waves(registry, [environment]) for s in wave.stacks]


def waves(registry: Registry, environments: Optional[list[str]] = None) -> list[Wave]:
    """The non-empty deployment waves of these environments (default: all), each in stack order."""
    environments = environments or [e.value for e in Environment]
    every = [s for env in environments for cell in registry.cells.in_environment(env)
             for s in cell_stacks(registry, env, cell)]
    return group_waves(every)


def group_waves(stacks: list[StackRef]) -> list[Wave]:
    """Stacks (already in order within their kind) grouped by wave, empty waves left out."""
    out = []
    for number, name in WAVES:
        members = [s for s in stacks if s.wave == number]
        if members:
            out.append(Wave(number, name, members))
    return out


# -- resolving a stack name to its settings -------------------------------------------------------

@dataclass(frozen=True)
class ResolvedStack:
    name: str
    config: dict[str, str]
    source: Path  # the Pulumi.<stack>.yaml its settings came from
    platform_stack: Optional[str]  # a stack to run first for the StackReference, when split
    cell: str = DEFAULT_CELL
    # what the cell adds to the environment's file (structured values, for `stack-config`)
    cell_config: dict[str, Any] = field(default_factory=dict)


def read_cells(registry_dir: Path) -> Cells:
    """The cells of a registry directory, read alone (a stack name resolves without loading every
    tenant); RegistryInvalid when cells.yaml does not validate."""
    path = registry_dir / CELLS_FILE
    if not path.exists():
        return IMPLICIT_CELLS
    problems: list[Problem] = []
    try:
        doc = read_yaml(path)
    except SourceError as exc:
        raise RegistryInvalid([Problem(display(path), exc.line, "-", "", exc.message)]) from None
    cells = cells_from_document(doc, display(path), problems)
    if problems:
        raise RegistryInvalid(problems)
    return cells


def parse_stack_name(cells: Cells, name: str) -> Optional[tuple[str, str, str]]:
    """(environment, cell, scope) of a split stack's name, or None when it names no split stack. A
    name that is no cell's platform or pool names a tenant (the tenant's cell is not known here)."""
    environment, _, suffix = name.partition("-")
    if not suffix or environment not in {e.value for e in Environment}:
        return None
    for cell_name, cell in cells.cells.items():
        prefix = _cell_prefix(cell_name)
        if not suffix.startswith(prefix):
            continue
        rest = suffix[len(prefix):]
        if rest == "platform":
            return environment, cell_name, "platform"
        if rest == "pool" and cell.pool_shards <= 1:
            return environment, cell_name, "pool"
        if rest.startswith("pool-") and rest[len("pool-"):].isdigit() and cell.pool_shards > 1:
            return environment, cell_name, f"pool/{int(rest[len('pool-'):])}"
    return environment, "", f"tenant/{suffix}"


def _tenant_cell(registry_dir: Path, tenant_id: str) -> str:
    for suffix in (".yaml", ".yml"):
        path = registry_dir / f"{tenant_id}{suffix}"
        if path.is_file():
            try:
                data = read_yaml(path).data
            except SourceError:
                return DEFAULT_CELL  # the registry's validation reports it
            cell = data.get("cell") if isinstance(data, dict) else None
            return cell if isinstance(cell, str) else DEFAULT_CELL
    return DEFAULT_CELL


def cell_config(cells: Cells, cell: str, stack: str, env_config: dict[str, Any]) -> dict[str, Any]:
    """What a cell adds to its stacks' config, as structured values: `tenancy:cell`, the `aws:*`
    keys of its account and region, and its settings overrides merged over the environment's
    (`env_config`: the environment file's config, structured). Nothing for the default cell
    without overrides, so its stacks' config is what it was before cells."""
    definition = cells.get(cell)
    out: dict[str, Any] = {}
    if cell != DEFAULT_CELL:
        out[CELL_KEY] = cell
    if definition is None:
        return out
    aws = definition.aws
    if aws.region:
        out["aws:region"] = aws.region
    if aws.account_id:
        out["aws:allowedAccountIds"] = [aws.account_id]
    if aws.role_arn:
        out["aws:assumeRoles"] = [{"roleArn": aws.role_arn, "sessionName": f"tenancy-{stack}"[:64]}]
    for key, value in definition.settings.items():
        full = f"tenancy:{key}"
        out[full] = deep_merge(env_config.get(full), value)
    return out


def _as_config_string(value: Any) -> str:
    if isinstance(value, (dict, list)):
        return json.dumps(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def resolve_stack(project: Path, name: str, scope_override: Optional[str] = None) -> Optional[ResolvedStack]:
    """The config of stack `name`: its own file, or its environment's file plus what its name (scope,
    cell) implies. None when neither exists."""
    own = project / f"Pulumi.{name}.yaml"
    if own.exists():
        config = config_from_stack_file(own)
        if scope_override:
            config[SCOPE_KEY] = scope_override
        return ResolvedStack(name, config, own, config.get(PLATFORM_STACK_KEY) if _is_split(config) else None,
                             config.get(CELL_KEY) or DEFAULT_CELL)
    environment, _, suffix = name.partition("-")
    env_file = project / f"Pulumi.{environment}.yaml"
    if not suffix or environment not in {e.value for e in Environment} or not env_file.exists():
        return None
    config = config_from_stack_file(env_file)
    registry_dir = project / config.get(REGISTRY_KEY, "tenants")
    cells = read_cells(registry_dir)
    parsed = parse_stack_name(cells, name)
    assert parsed is not None
    _, cell, scope = parsed
    if scope.startswith("tenant/"):
        cell = _tenant_cell(registry_dir, scope[len("tenant/"):])
    structured = (read_yaml(env_file).data or {}).get("config") or {}
    extra = cell_config(cells, cell, name, structured)
    config.update({key: _as_config_string(value) for key, value in extra.items()})
    config[SCOPE_KEY] = scope_override or scope
    platform = None
    if _is_split(config):
        platform = config.setdefault(PLATFORM_STACK_KEY, platform_stack_name(environment, cell))
    return ResolvedStack(name, config, env_file, platform, cell, extra)


def _is_split(config: dict) -> bool:
    scope = config.get(SCOPE_KEY, "all")
    return scope == "pool" or scope.startswith(("pool/", "tenant/"))


def write_stack_config(project: Path, name: str, organization: Optional[str] = None) -> Path:
    """Write Pulumi.<name>.yaml for a split stack from its environment's settings and its cell (for
    the CLI).

    With `organization`, the platform stack is named in full (`org/tenancy/<env>-platform`), as a
    StackReference on Pulumi Cloud needs; the self-managed backends use `organization`."""
    import yaml

    resolved = resolve_stack(project, name)
    if resolved is None:
        raise ValueError(f"no stack {name!r}: neither Pulumi.{name}.yaml nor its environment's file exists")
    source = yaml.safe_load(resolved.source.read_text()) or {}
    config = dict(source.get("config") or {})
    config.update(resolved.cell_config)
    config[SCOPE_KEY] = resolved.config[SCOPE_KEY]
    if resolved.platform_stack:
        platform = resolved.platform_stack
        if organization and "/" not in platform:
            platform = f"{organization}/{(yaml.safe_load((project / 'Pulumi.yaml').read_text()) or {}).get('name', 'tenancy')}/{platform}"
        config[PLATFORM_STACK_KEY] = platform
    target = project / f"Pulumi.{name}.yaml"
    header = f"# Generated by `python -m tenancy stack-config --stack {name}` from {resolved.source.name}" + (
        f" and cell {resolved.cell} of {CELLS_FILE}" if resolved.cell_config else "") + ".\n"
    target.write_text(header + yaml.safe_dump({"config": config}, sort_keys=False))
    return target
