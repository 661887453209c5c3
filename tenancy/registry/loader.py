"""Load the tenant registry: every file, every problem, or a fully validated set of tenants.

Loading never stops at the first problem: a pull request that breaks three files hears about all
three. Nothing downstream (components, plans, audits) sees a registry that did not validate.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from pydantic import ValidationError

from tenancy.registry import naming
from tenancy.registry.cells import (
    CELLS_FILE,
    IMPLICIT_CELLS,
    Cells,
    cell_findings,
    cell_network,
    cell_of,
    cells_from_document,
    pool_shard,
)
from tenancy.registry.instances import catalog_problems, tenant_fit_problems
from tenancy.registry.models import Environment, PlanCatalog, Tenant
from tenancy.registry.network_rules import Layouts, network_findings
from tenancy.registry.problems import Problem, RegistryInvalid, TenantSource, field_path
from tenancy.registry.settings import NetworkSettings
from tenancy.registry.source import Document, SourceError, decode_yaml, read_bytes, read_yaml
from tenancy.registry.tiers import EffectiveTenant, resolve
from tenancy.registry.validation import findings_from

PLANS_FILE = "plans.yaml"
SCHEMA_FILE = "schema.json"


@dataclass(frozen=True)
class Registry:
    directory: Path
    plans: PlanCatalog
    tenants: tuple[EffectiveTenant, ...]  # sorted by id
    cells: Cells = IMPLICIT_CELLS  # tenants/cells.yaml, or the one implicit cell `default`

    def in_environment(self, environment: Environment | str) -> list[EffectiveTenant]:
        env = Environment(environment)
        return [t for t in self.tenants if env in t.tenant.environments]

    def in_cell(self, environment: Environment | str, cell: str | None = None) -> list[EffectiveTenant]:
        """The tenants of one cell (default: `default`) in an environment."""
        wanted = cell or naming.DEFAULT_CELL
        return [t for t in self.in_environment(environment) if cell_of(t) == wanted]

    def cell_of(self, tenant: EffectiveTenant) -> str:
        return cell_of(tenant)

    def shard_of(self, tenant: EffectiveTenant) -> int:
        """A pooled tenant's shard of its cell's pool (0 when the pool is one stack)."""
        cell = self.cells.get(cell_of(tenant))
        return pool_shard(tenant.id, cell.pool_shards if cell else 1)

    def get(self, tenant_id: str) -> EffectiveTenant | None:
        return next((t for t in self.tenants if t.id == tenant_id), None)


def display(path: Path) -> str:
    """A path as the user would type it: relative to the working directory when below it."""
    try:
        rel = os.path.relpath(path)
    except ValueError:
        return str(path)
    return str(path) if rel.startswith("..") else rel


def tenant_files(directory: Path) -> list[Path]:
    files = [p for p in directory.iterdir() if p.suffix in (".yaml", ".yml") and p.name not in (PLANS_FILE, CELLS_FILE)]
    return sorted(files)


def _load_document(path: Path, tenant: str, problems: list[Problem]) -> Document | None:
    try:
        doc = read_yaml(path)
    except SourceError as exc:
        problems.append(Problem(display(path), exc.line, tenant, "", exc.message))
        return None
    return _checked_document(doc, display(path), tenant, problems)


def _checked_document(doc: Document, shown: str, tenant: str, problems: list[Problem]) -> Document | None:
    """The document when it holds a mapping (its duplicate keys reported), else None."""
    for dup_path, line, first in doc.duplicates:
        problems.append(Problem(shown, line, tenant, field_path(dup_path),
                                f"duplicate key (first given on line {first}); keep one"))
    if not isinstance(doc.data, dict):
        kind = "a list" if isinstance(doc.data, list) else f"a {type(doc.data).__name__}"
        problems.append(Problem(shown, 1, tenant, "",
                                f"the file holds {kind}; it must hold a mapping of keys to values"))
        return None
    return doc


# What one tenant file gives (its tenant with the plan applied, and its own problems), by its path as
# displayed, kept with the bytes it was read from and plans.yaml's: a plan that loads the registry
# more than once in one process (validation, the platform's program, the stack's) reads each file
# once; only the checks across tenants run again. One entry per path: an edited file replaces its
# entry, so a long-running process (the portal) keeps one reading per file.
_FILE_CACHE: dict[str, tuple[bytes, bytes | None, tuple]] = {}
_FILE_CACHE_LIMIT = 50_000


def _bytes_or_none(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except OSError:
        return None


def _tenant_from_file(path: Path, catalog: PlanCatalog | None, plans_bytes: bytes | None):
    shown = display(path)
    try:
        raw = read_bytes(path)
    except SourceError as exc:
        return None, None, (Problem(shown, exc.line, path.stem, "", exc.message),)
    plans_key = plans_bytes if catalog is not None else None
    kept = _FILE_CACHE.get(shown)
    if kept is not None and kept[0] == raw and kept[1] == plans_key:
        return kept[2]
    if len(_FILE_CACHE) >= _FILE_CACHE_LIMIT:
        _FILE_CACHE.clear()
    result = _read_tenant(path, shown, raw, catalog)
    _FILE_CACHE[shown] = (raw, plans_key, result)
    return result


def _read_tenant(path: Path, shown: str, raw: bytes, catalog: PlanCatalog | None):
    """One tenant file, checked on its own: (effective tenant or None, its source, its problems)."""
    stem = path.stem
    problems: list[Problem] = []
    try:
        doc = decode_yaml(raw)
    except SourceError as exc:
        return None, None, (Problem(shown, exc.line, stem, "", exc.message),)
    doc = _checked_document(doc, shown, stem, problems)
    if doc is None:
        return None, None, tuple(problems)
    name = doc.data.get("id") if isinstance(doc.data.get("id"), str) else stem
    source = TenantSource(shown, doc)
    try:
        tenant = Tenant.model_validate(doc.data)
    except ValidationError as exc:
        problems.extend(source.problem(name, loc, msg) for loc, msg in findings_from(exc, Tenant))
        return None, source, tuple(problems)
    problems.extend(source.problem(tenant.id, ("id",), message) for message in id_problems(tenant.id))
    if tenant.id != stem:
        problems.append(source.problem(tenant.id, ("id",),
                                       f"the id must equal the file name; rename the file to {tenant.id}.yaml "
                                       f"or set id: {stem}"))
    if catalog is None:
        return None, source, tuple(problems)
    effective, findings = resolve(tenant, catalog.plans, catalog.services)
    problems.extend(source.problem(tenant.id, loc, msg) for loc, msg in findings)
    if effective is not None:
        problems.extend(source.problem(tenant.id, loc, msg) for loc, msg in tenant_fit_problems(effective))
    return effective, source, tuple(problems)


def load_plans(directory: Path, problems: list[Problem]) -> PlanCatalog | None:
    path = directory / PLANS_FILE
    if not path.exists():
        problems.append(Problem(display(path), 1, "-", "", "plans.yaml is missing; it defines every plan"))
        return None
    doc = _load_document(path, "-", problems)
    if doc is None:
        return None
    try:
        catalog = PlanCatalog.model_validate(doc.data)
    except ValidationError as exc:
        for loc, message in findings_from(exc, PlanCatalog):
            tenant = f"plan {loc[1]}" if len(loc) > 1 and loc[0] == "plans" else "-"
            problems.append(Problem(display(path), doc.line_of(loc), tenant, field_path(loc), message))
        return None
    for loc, message in catalog_problems(catalog):  # the service catalog, and plans against it
        tenant = f"plan {loc[1]}" if loc[0] == "plans" else "-"
        problems.append(Problem(display(path), doc.line_of(loc), tenant, field_path(loc), message))
    return catalog


def load_registry(directory: Path | str, layouts: Layouts | None = None, default_layout: bool = True,
                  cell: str | None = None) -> Registry:
    """Validate the registry in `directory` against the network layouts of its environments.

    `layouts` maps an environment to the (label, network settings) of each stack that deploys it;
    environments without one are checked against the default network settings, unless
    `default_layout` is off (a stack checks its own environment only). Each tenant is checked against
    its cell's layouts: these, with the cell's `settings.network` over them; with `cell` (a stack of
    that cell, whose layouts already are the cell's), only that cell's tenants are.
    """
    directory = Path(directory)
    if not directory.is_dir():
        raise RegistryInvalid([Problem(display(directory), 1, "-", "", "the registry directory does not exist")])
    problems: list[Problem] = []
    catalog = load_plans(directory, problems)
    cells = load_cells(directory, problems)
    loaded: list[tuple[EffectiveTenant, TenantSource]] = []
    plans_bytes = _bytes_or_none(directory / PLANS_FILE)
    for path in tenant_files(directory):
        effective, source, found = _tenant_from_file(path, catalog, plans_bytes)
        problems.extend(found)
        if effective is not None:  # still cross-checked, so that every problem is reported
            loaded.append((effective, source))
    problems.extend(_duplicate_ids(loaded))
    problems.extend(cell_findings(loaded, cells))
    default = {env: [("default network settings", NetworkSettings())] for env in Environment} if default_layout else {}
    base = {**default, **(layouts or {})}
    problems.extend(network_findings(loaded, base, _cell_layouts(cells, base, cell)))
    if problems:
        raise RegistryInvalid(problems)
    assert catalog is not None
    tenants = tuple(sorted((t for t, _ in loaded), key=lambda t: t.id))
    return Registry(directory=directory, plans=catalog, tenants=tenants, cells=cells)


def load_cells(directory: Path, problems: list[Problem]) -> Cells:
    """tenants/cells.yaml, or the one implicit cell `default` when there is none."""
    path = directory / CELLS_FILE
    if not path.exists():
        return IMPLICIT_CELLS
    return cells_from_document(_load_document(path, "-", problems), display(path), problems)


def _cell_layouts(cells: Cells, base: Layouts, only: str | None):
    """Each tenant's layouts: its cell's network over each stack's (a cell's override that does not
    validate is reported on its own and skipped here)."""
    memo: dict[str, Layouts] = {}

    def of(tenant: EffectiveTenant) -> Layouts:
        name = cell_of(tenant)
        if only is not None:
            return base if name == only else {}
        if name not in memo:
            definition = cells.get(name)
            out: Layouts = {}
            if definition is None and cells.declared:  # an unknown cell, or cells.yaml broken: reported
                memo[name] = out
                return out
            for env, entries in base.items():
                for label, layout in entries:
                    merged = cell_network(layout, definition)
                    if merged is not None:
                        out.setdefault(env, []).append(
                            (label if merged is layout else f"{label}, cell {name}", merged))
            memo[name] = out
        return memo[name]

    return of


def id_problems(tenant_id: str) -> list[str]:
    """Ids the program cannot deploy: colliding with a derived name, or too long for a name derived
    from it in some environment (reserved ids are refused by the model)."""
    problems = []
    for suffix in naming.RESERVED_SUFFIXES:
        if tenant_id.endswith(suffix):
            owner = tenant_id[:-len(suffix)]
            problems.append(f"an id ending in {suffix!r} collides with names the program derives for {owner!r} "
                            f"(its {suffix.strip('-')} resources); choose another id")
    for environment in Environment:
        for what, name, limit, source in naming.id_derived_names(environment.value, tenant_id):
            if len(name) > limit:
                problems.append(f"too long: in {environment.value} its {what} {name!r} would be {len(name)} "
                                f"characters, {source} allows {limit}; use at most "
                                f"{len(tenant_id) - (len(name) - limit)} characters")
                return problems  # the first that overflows says how long the id may be
    return problems


def max_tenant_id_length() -> int:
    """The longest id every derived name accepts in every environment."""
    probe = "x" * 32
    return min(limit - (len(name) - len(probe)) for env in Environment
               for _, name, limit, _ in naming.id_derived_names(env.value, probe))


def _duplicate_ids(loaded: list[tuple[EffectiveTenant, TenantSource]]) -> list[Problem]:
    seen: dict[str, TenantSource] = {}
    out = []
    for tenant, source in loaded:
        if tenant.id in seen:
            out.append(source.problem(tenant.id, ("id",), f"id {tenant.id!r} is already used by {seen[tenant.id].file}"))
        else:
            seen[tenant.id] = source
    return out
