"""`tenancy affected`: which stacks a git change touches, so CI previews and deploys only those.

The smallest set that holds every stack whose resources may change:

- a tenant file touches that tenant's stack before and after the change: its own stack, or its
  cell's pool stack (its shard of it) for a pooled tenant. A tenant that moves from the pool to its
  own stack, or to another cell, touches both. A file whose content is unchanged (comments, key
  order) touches nothing;
- plans.yaml touches the stacks of the tenants on the plans whose deployed settings changed (what
  only validation reads, `allowedIsolation`, `allowedOverrides` and `quotaCeilings`, touches none);
  anything else in it than `plans` touches every stack;
- cells.yaml touches, per cell: every stack of a cell added, removed, or whose `aws` or `settings`
  changed; the pool stacks of a cell whose `poolShards` changed; the stacks of the environments a
  cell gains or loses. `canary` and `capacity` change no resource;
- a stack file touches its environment (`Pulumi.<env>.yaml`) or its own stack;
- the program itself (components, policies, tenancy, __main__.py, requirements, Pulumi.yaml)
  touches every stack. Anything else touches none.

Stacks are listed in deployment order (waves), then the stacks that the change removes.
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, Optional

import yaml
from pydantic import ValidationError

from tenancy.exits import CommandError
from tenancy.registry.cells import CELLS_FILE, IMPLICIT_CELLS, Cell, CellCatalog, Cells, pool_shard
from tenancy.registry.loader import PLANS_FILE, Registry
from tenancy.registry.models import Environment, Plan
from tenancy.registry.naming import DEFAULT_CELL
from tenancy.registry.problems import RegistryInvalid
from tenancy.registry.project import validate_project
from tenancy.stacks.catalog import StackRef, pool_scopes, stack_for_scope, stacks_of, tenant_stack, waves

PROGRAM_PATHS = ("components/", "policies/", "tenancy/", "__main__.py", "Pulumi.yaml", "requirements.txt",
                 "requirements-dev.txt")
# Plan fields that only validation reads: changing them changes no resource.
VALIDATION_ONLY_PLAN_FIELDS = frozenset({"allowedIsolation", "allowedOverrides", "quotaCeilings"})
# Cell fields that change no resource: deployment order and what validation allows.
ORDER_ONLY_CELL_FIELDS = frozenset({"canary", "capacity"})

OldYaml = Callable[[str], Optional[Any]]  # a path relative to the project -> its parsed YAML at the base


class AffectedError(CommandError):
    """git failed or the registry cannot be read: exit 2."""


def _git(cwd: Path, *args: str) -> str:
    result = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True)
    if result.returncode != 0:
        raise AffectedError(f"git {' '.join(args)}: {result.stderr.strip() or 'failed'}")
    return result.stdout


def changed_paths(project: Path, base: str) -> list[str]:
    """Paths below the project, relative to it, that differ from `base` (tracked or new)."""
    top = Path(_git(project, "rev-parse", "--show-toplevel").strip())
    _git(project, "rev-parse", "--verify", "--quiet", f"{base}^{{commit}}")
    prefix = project.resolve().relative_to(top.resolve()).as_posix()
    prefix = "" if prefix == "." else prefix + "/"
    names = _git(top, "diff", "--name-only", base, "--").splitlines()
    names += _git(top, "ls-files", "--others", "--exclude-standard").splitlines()
    return sorted({n[len(prefix):] for n in names if n.startswith(prefix)})


def git_old_yaml(project: Path, base: str) -> OldYaml:
    """A reader of files as they were at `base` (None: absent there, or not YAML)."""
    top = Path(_git(project, "rev-parse", "--show-toplevel").strip())

    def read(path: str) -> Optional[Any]:
        rel = (project.resolve() / path).relative_to(top.resolve()).as_posix()
        result = subprocess.run(["git", "show", f"{base}:{rel}"], cwd=top, capture_output=True, text=True)
        if result.returncode != 0:
            return None
        try:
            return yaml.safe_load(result.stdout)
        except yaml.YAMLError:
            return None

    return read


def affected_stacks(project: Path, base: str, environment: Optional[str] = None) -> list[StackRef]:
    """The stacks a change from git ref `base` to the working tree touches, in deployment order."""
    try:
        registry = validate_project(project)
    except RegistryInvalid as exc:
        raise AffectedError(f"the registry is invalid:\n{exc}") from None
    environments = [environment] if environment else [e.value for e in Environment]
    return stacks_for_paths(registry, changed_paths(project, base), git_old_yaml(project, base), environments,
                            _current_yaml(project))


def _current_yaml(project: Path) -> OldYaml:
    def read(path: str) -> Optional[Any]:
        try:
            return yaml.safe_load((project / path).read_text())
        except (OSError, yaml.YAMLError):
            return None
    return read


def stacks_for_paths(registry: Registry, paths: Iterable[str], old_yaml: OldYaml,
                     environments: Optional[list[str]] = None, new_yaml: Optional[OldYaml] = None) -> list[StackRef]:
    """The stacks that changes to `paths` touch (the registry as it is now, `old_yaml` reading each
    path as it was), in deployment order, then the stacks the change removes."""
    environments = environments or [e.value for e in Environment]
    every = {env: stacks_of(registry, env) for env in environments}
    registry_dir = registry.directory.name
    old_cells = _old_cells(old_yaml(f"{registry_dir}/{CELLS_FILE}"), registry) if any(
        p == f"{registry_dir}/{CELLS_FILE}" for p in paths) else registry.cells
    touched: set[StackRef] = set()
    for path in paths:
        if path.startswith(PROGRAM_PATHS) or path in PROGRAM_PATHS:
            touched.update(s for stacks in every.values() for s in stacks)
        elif path.startswith("Pulumi.") and path.endswith(".yaml"):
            name = path[len("Pulumi."):-len(".yaml")]
            env, _, rest = name.partition("-")
            if env in every:
                touched.update(every[env] if not rest else [s for s in every[env] if s.name == name])
        elif path == f"{registry_dir}/{PLANS_FILE}":
            touched.update(_plans_change(registry, old_yaml(path), new_yaml(path) if new_yaml else None, every))
        elif path == f"{registry_dir}/{CELLS_FILE}":
            touched.update(_cells_change(registry, old_cells, environments))
        elif path.startswith(f"{registry_dir}/") and path.endswith((".yaml", ".yml")):
            tenant_id = Path(path).stem
            old = old_yaml(path)
            new = new_yaml(path) if new_yaml else None
            if new_yaml is not None and old is not None and old == new:
                continue  # comments or formatting only
            touched.update(_tenant_change(registry, tenant_id, old if isinstance(old, dict) else None, old_cells))
    touched = {s for s in touched if s.environment in environments}
    order = [s for wave in waves(registry, environments) for s in wave.stacks]
    known = [s for s in order if s in touched]
    gone = sorted((s for s in touched if s not in order), key=lambda s: (s.wave, s.name))
    return known + gone


def _old_cells(data: Any, registry: Registry) -> Cells:
    if data is None:
        return IMPLICIT_CELLS
    try:
        return Cells(cells=dict(CellCatalog.model_validate(data).cells), declared=True)
    except ValidationError:
        return registry.cells  # unreadable at the base: judge by the cells now


def _tenant_change(registry: Registry, tenant_id: str, old: Optional[dict], old_cells: Cells) -> set[StackRef]:
    out = set()
    current = registry.get(tenant_id)
    if current is not None:
        out.update(tenant_stack(env.value, current, registry) for env in current.tenant.environments)
    if old:
        plan = registry.plans.plans.get(str(old.get("plan")))
        isolation = old.get("isolationLevel") or (plan.default_isolation.value if plan else "shared")
        cell = old.get("cell") if isinstance(old.get("cell"), str) else DEFAULT_CELL
        definition = old_cells.get(cell) or registry.cells.get(cell)
        canary = bool(definition and definition.canary)
        for env in old.get("environments") or []:
            if str(env) not in {e.value for e in Environment}:
                continue
            if isolation != "shared":
                out.add(stack_for_scope(str(env), f"tenant/{tenant_id}", cell, canary))
            else:
                shards = definition.pool_shards if definition else 1
                scope = "pool" if shards <= 1 else f"pool/{pool_shard(tenant_id, shards)}"
                out.add(stack_for_scope(str(env), scope, cell, canary))
    return out


def _plan_view(raw: Any) -> Optional[dict]:
    """A plan as deployed: validated (defaults filled in), without the fields only validation reads."""
    if raw is None:
        return None
    try:
        dumped = Plan.model_validate(raw).model_dump(by_alias=True, mode="json")
    except ValueError:
        return {"unreadable": raw}
    return {k: v for k, v in dumped.items() if k not in VALIDATION_ONLY_PLAN_FIELDS}


def _plans_change(registry: Registry, old: Any, new_raw: Any, every: dict[str, list[StackRef]]) -> set[StackRef]:
    old = old if isinstance(old, dict) else {}
    if isinstance(new_raw, dict) and {k: v for k, v in old.items() if k != "plans"} != {
            k: v for k, v in new_raw.items() if k != "plans"}:
        return {s for stacks in every.values() for s in stacks}  # the rest of plans.yaml: every stack
    old_plans = old.get("plans") if isinstance(old.get("plans"), dict) else {}
    new_plans = {name: plan.model_dump(by_alias=True, mode="json") for name, plan in registry.plans.plans.items()}
    changed = {name for name in set(old_plans) | set(new_plans)
               if _plan_view(old_plans.get(name)) != _plan_view(new_plans.get(name))}
    return {tenant_stack(env.value, t, registry) for t in registry.tenants if t.tenant.plan in changed
            for env in t.tenant.environments}


def _cell_stacks(registry: Registry, cells: Cells, cell: str, environment: str, kinds=("platform", "pool", "tenant"),
                 ) -> set[StackRef]:
    """A cell's stacks as `cells` declares it (its tenants as the registry places them now)."""
    definition: Optional[Cell] = cells.get(cell)
    if definition is None or Environment(environment) not in definition.environments:
        return set()
    canary = definition.canary
    out = set()
    if "platform" in kinds:
        out.add(stack_for_scope(environment, "platform", cell, canary))
    if "pool" in kinds:
        out.update(stack_for_scope(environment, scope, cell, canary) for scope in pool_scopes(definition.pool_shards))
    if "tenant" in kinds:
        out.update(stack_for_scope(environment, f"tenant/{t.id}", cell, canary)
                   for t in registry.in_cell(environment, cell) if t.has_own_stack)
    return out


def _cells_change(registry: Registry, old: Cells, environments: list[str]) -> set[StackRef]:
    new = registry.cells
    out: set[StackRef] = set()
    for name in dict.fromkeys([*old.names, *new.names]):
        before, after = old.get(name), new.get(name)
        if before == after:
            continue
        if before is None or after is None:
            kinds: tuple[str, ...] = ("platform", "pool", "tenant")
        else:
            differs = {key for key in Cell.model_fields if getattr(before, key) != getattr(after, key)}
            differs -= {"canary", "capacity"}
            kinds = ("platform", "pool", "tenant") if differs & {"aws", "settings"} else (
                ("pool",) if "pool_shards" in differs else ())
            # environments gained or lost: every stack of the cell there
            for env in set(before.environments) ^ set(after.environments):
                out |= _cell_stacks(registry, old, name, env.value) | _cell_stacks(registry, new, name, env.value)
        for env in environments:
            out |= _cell_stacks(registry, old, name, env, kinds) | _cell_stacks(registry, new, name, env, kinds)
    return out
