"""Cells: units of the platform (shared VPC, pooled database and cache, pool namespace) with a
declared capacity, each possibly in an account and region of its own.

`tenants/cells.yaml` declares them; without it the install is one cell, `default`, with no declared
capacity (what every registry was before cells). A tenant names its cell (`cell: eu-2`); without
one it lives in the cell named `default`. Placement is therefore explicit and nothing moves a
tenant but an edit of its own file: adding or removing tenants or cells never moves another tenant
(`tenancy tenant new` writes the first cell, in declaration order, with room for the new tenant).

Inside a cell the pooled tenants are split over `poolShards` pool stacks by a hash of the tenant id
alone (`pool_shard`), so a tenant's shard never depends on the other tenants. The shard count is
fixed for the life of a cell: changing it moves pooled tenants between stacks (their resources
would be deleted and created again); a cell that grows past its pool gets a sibling cell instead.

Plain Python, like the rest of the registry: no Pulumi, no boto3.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Annotated, Any, Optional

from pydantic import Field, ValidationError, field_validator, model_validator

from tenancy.registry.models import Environment, Service, Strict, Tier
from tenancy.registry.naming import (
    CELL_NAME_MAX,
    CELL_NAME_PATTERN,
    DEFAULT_CELL,
    PLATFORM_OWNER,
    POOL_OWNER,
    cell_owner,
)
from tenancy.registry.problems import Problem, field_path
from tenancy.registry.settings import NetworkSettings, StackSettings
from tenancy.registry.source import Document
from tenancy.registry.validation import findings_from

if TYPE_CHECKING:
    from tenancy.registry.problems import TenantSource
    from tenancy.registry.tiers import EffectiveTenant

CELLS_FILE = "cells.yaml"
CellName = Annotated[str, Field(pattern=CELL_NAME_PATTERN, min_length=2, max_length=CELL_NAME_MAX, description=(
    f"2-{CELL_NAME_MAX} lowercase letters, digits and single hyphens, starting with a letter"))]
# Stack settings a cell may not override: they say which stack this is, not how the cell is built.
FIXED_SETTINGS = frozenset({"environment", "scope", "registry", "platformStack", "cell"})
MAX_POOL_SHARDS = 64


class CellCapacity(Strict):
    """What one cell holds in each environment; unset: no declared limit."""

    pooled_tenants: Optional[Annotated[int, Field(ge=0, strict=True)]] = Field(
        None, description="tenants in the cell's pool (shared isolation), per environment")
    connections: Optional[Annotated[int, Field(gt=0, strict=True)]] = Field(
        None, description="the pooled-database tenants' connection limits, summed, per environment")
    dedicated_slices: Optional[Annotated[int, Field(ge=0, strict=True)]] = Field(
        None, description="dedicated tenants' slices of the cell's shared VPC, per environment")


class CellAws(Strict):
    """Where the cell's stacks deploy: written into each stack's `aws:*` config."""

    region: Optional[Annotated[str, Field(pattern=r"^[a-z]{2}(-[a-z]+)+-\d$", description=(
        "an AWS region such as eu-west-1"))]] = None
    account_id: Optional[Annotated[str, Field(pattern=r"^\d{12}$", description=(
        "a 12-digit AWS account id, quoted"))]] = None
    role_arn: Optional[Annotated[str, Field(pattern=r"^arn:aws[a-z-]*:iam::\d{12}:role/[\w+=,.@/-]+$", description=(
        "an IAM role ARN such as arn:aws:iam::123456789012:role/tenancy-deploy"))]] = None

    @model_validator(mode="after")
    def _role_in_account(self) -> CellAws:
        if self.role_arn and self.account_id and self.role_arn.split(":")[4] != self.account_id:
            raise ValueError(f"roleArn {self.role_arn} is not in accountId {self.account_id}")
        return self


class Cell(Strict):
    environments: Annotated[list[Environment], Field(min_length=1)] = list(Environment)
    canary: bool = Field(False, description="deploy this cell first, in waves of its own")
    pool_shards: Annotated[int, Field(ge=1, le=MAX_POOL_SHARDS, strict=True)] = Field(1, description=(
        "pool stacks per environment; fixed for the life of the cell (a change moves pooled tenants)"))
    capacity: CellCapacity = CellCapacity()
    aws: CellAws = CellAws()
    settings: dict[str, Any] = Field({}, description="tenancy:* stack settings of this cell's stacks, "
                                                     "over those of Pulumi.<env>.yaml")

    @field_validator("environments")
    @classmethod
    def _unique(cls, values: list) -> list:
        if len(set(values)) != len(values):
            raise ValueError("an environment is listed twice")
        return values

    @field_validator("settings")
    @classmethod
    def _settings_keys(cls, value: dict) -> dict:
        allowed = [info.alias or name for name, info in StackSettings.model_fields.items()
                   if (info.alias or name) not in FIXED_SETTINGS]
        for key in value:
            if key not in allowed:
                raise ValueError(f"{key!r} is not a setting a cell may override; allowed: {', '.join(allowed)}")
        return value


class CellCatalog(Strict):
    """tenants/cells.yaml."""

    cells: Annotated[dict[CellName, Cell], Field(min_length=1)]


IMPLICIT_CELL = Cell()


@dataclass(frozen=True)
class Cells:
    """The registry's cells in declaration order; `declared` is False for an install without
    cells.yaml (one implicit cell, `default`)."""

    cells: dict[str, Cell] = field(default_factory=lambda: {DEFAULT_CELL: IMPLICIT_CELL})
    declared: bool = False
    file: str = CELLS_FILE
    document: Optional[Document] = None
    broken: bool = False  # cells.yaml did not validate (reported): tenants' cells are not judged

    @property
    def names(self) -> list[str]:
        return list(self.cells)

    def get(self, name: str) -> Optional[Cell]:
        return self.cells.get(name)

    def __getitem__(self, name: str) -> Cell:
        return self.cells[name]

    def in_environment(self, environment: Environment | str) -> list[str]:
        env = Environment(environment)
        return [name for name, cell in self.cells.items() if env in cell.environments]

    def line_of(self, *path) -> int:
        return self.document.line_of(("cells", *path)) if self.document else 1

    def problem(self, cell: str, path: tuple, message: str) -> Problem:
        return Problem(self.file, self.line_of(cell, *path), f"cell {cell}", field_path(path), message)


IMPLICIT_CELLS = Cells()


def cell_of(tenant) -> str:
    """A tenant's cell: the one its file names, else `default`. Accepts a Tenant or EffectiveTenant."""
    model = getattr(tenant, "tenant", tenant)
    return model.cell or DEFAULT_CELL


def pool_shard(tenant_id: str, shards: int) -> int:
    """A pooled tenant's shard of its cell's pool: a hash of its id alone (salted, so shards and the
    flags applications of `naming.flags_shard` spread independently)."""
    if shards <= 1:
        return 0
    return int(hashlib.sha256(f"pool-shard:{tenant_id}".encode()).hexdigest(), 16) % shards


def cells_from_document(doc: Optional[Document], file: str, problems: list[Problem]) -> Cells:
    """The cells of a parsed cells.yaml (None: it could not be parsed, already reported); every
    problem is added to `problems`, located in the file."""
    if doc is None:
        return Cells(cells={}, declared=True, file=file, broken=True)
    try:
        catalog = CellCatalog.model_validate(doc.data)
    except ValidationError as exc:
        for loc, message in findings_from(exc, CellCatalog):
            in_cell = len(loc) > 1 and loc[0] == "cells"
            who = f"cell {loc[1]}" if in_cell else "-"
            problems.append(Problem(file, doc.line_of(loc), who, field_path(loc[2:] if in_cell else loc), message))
        return Cells(cells={}, declared=True, file=file, document=doc, broken=True)
    cells = Cells(cells=dict(catalog.cells), declared=True, file=file, document=doc)
    for name, cell in cells.cells.items():
        if cell.settings:
            # what can be checked without a stack file: keys and value types (over the defaults)
            try:
                apply_cell_settings(StackSettings(environment=cell.environments[0]), cell)
            except ValidationError as exc:
                problems.extend(_settings_problems(cells, name, exc))
    return cells


def _settings_problems(cells: Cells, name: str, exc: ValidationError, label: str = "") -> list[Problem]:
    out = []
    for loc, message in findings_from(exc, StackSettings):
        out.append(cells.problem(name, ("settings", *loc), message + (f" ({label})" if label else "")))
    return out


def deep_merge(base: Any, override: Any) -> Any:
    if isinstance(base, dict) and isinstance(override, dict):
        merged = dict(base)
        for key, value in override.items():
            merged[key] = deep_merge(base.get(key), value)
        return merged
    return override


def apply_cell_settings(settings: StackSettings, cell: Optional[Cell]) -> StackSettings:
    """A stack's settings with its cell's overrides applied (mappings merged key by key). Applying
    them twice gives the same settings. Raises pydantic's ValidationError."""
    if cell is None or not cell.settings:
        return settings
    raw = settings.model_dump(by_alias=True, mode="json", exclude_none=True)
    return StackSettings.model_validate(deep_merge(raw, cell.settings))


def cell_network(network: NetworkSettings, cell: Optional[Cell]) -> Optional[NetworkSettings]:
    """The cell's shared VPC layout over an environment's; None when the override does not validate
    (reported by `load_cells` or `cell_settings_problems`)."""
    override = (cell.settings.get("network") if cell else None) or {}
    if not override:
        return network
    if not isinstance(override, dict):
        return None
    try:
        return NetworkSettings.model_validate(deep_merge(network.model_dump(by_alias=True, mode="json"), override))
    except ValidationError:
        return None


def cell_settings_problems(cells: Cells, name: str, settings: StackSettings, label: str) -> list[Problem]:
    """The cell's overrides over one stack file's settings: every way they fail, located in cells.yaml."""
    try:
        apply_cell_settings(settings, cells.get(name))
    except ValidationError as exc:
        return _settings_problems(cells, name, exc, label)
    return []


# -- checks across tenants ------------------------------------------------------------------------

def reserved_by_cells(cells: Cells) -> dict[str, str]:
    """Tenant ids a cell's stack or platform names would collide with -> what uses them: the stack
    name suffixes (`<env>-<cell>-platform`, `<env>-<cell>-pool-3`, the default cell's `<env>-pool-3`)
    and the non-default cells' platform owners (`pool-<cell>`, `platform-<cell>`)."""
    out: dict[str, str] = {}
    for name, cell in cells.cells.items():
        prefix = "" if name == DEFAULT_CELL else f"{name}-"
        out[f"{prefix}platform"] = f"cell {name}'s platform stack"
        out[f"{prefix}pool"] = f"cell {name}'s pool stack"
        for shard in range(cell.pool_shards if cell.pool_shards > 1 else 0):
            out[f"{prefix}pool-{shard}"] = f"cell {name}'s pool shard {shard}"
        if name != DEFAULT_CELL:
            for owner in (POOL_OWNER, PLATFORM_OWNER):
                out[cell_owner(owner, name)] = f"cell {name}'s platform resource names"
    return out


def cell_findings(loaded: list[tuple[EffectiveTenant, TenantSource]], cells: Cells) -> Iterator[Problem]:
    """Each tenant's cell exists and serves its environments; no tenant id collides with a cell's
    names; no cell holds more than its capacity."""
    if cells.broken:
        return
    reserved = reserved_by_cells(cells)
    placed: list[EffectiveTenant] = []
    for tenant, source in loaded:
        if tenant.id in reserved:
            yield source.problem(tenant.id, ("id",), f"{tenant.id!r} is taken by {reserved[tenant.id]}; "
                                 "choose another id")
        name = cell_of(tenant)
        cell = cells.get(name)
        if cell is None:
            known = ", ".join(cells.names) or "none"
            if tenant.tenant.cell is None:
                yield source.problem(tenant.id, ("id",), f"a tenant without `cell:` lives in the cell named "
                                     f"{DEFAULT_CELL!r}, which {cells.file} does not declare; add `cell:` "
                                     f"(cells: {known})")
            else:
                yield source.problem(tenant.id, ("cell",), f"unknown cell {name!r}; cells: {known}")
            continue
        missing = [e.value for e in tenant.tenant.environments if e not in cell.environments]
        if missing:
            yield source.problem(tenant.id, ("cell",) if tenant.tenant.cell else ("environments",),
                                 f"cell {name!r} does not serve {', '.join(missing)} (its environments: "
                                 f"{', '.join(e.value for e in cell.environments)}); choose another cell")
            continue
        placed.append(tenant)
    yield from capacity_findings(cells, placed)


@dataclass(frozen=True)
class Usage:
    """What a cell holds in one environment."""

    pooled: list[str] = field(default_factory=list)  # tenants in its pool stacks
    slices: list[str] = field(default_factory=list)  # dedicated-network tenants (slices of its VPC)
    connections: int = 0  # pooled-database tenants' connection limits, summed

    def add(self, tenant: EffectiveTenant) -> Usage:
        pooled = self.pooled + ([tenant.id] if not tenant.has_own_stack else [])
        slices = self.slices + ([tenant.id] if tenant.tier(Service.network) is Tier.dedicated else [])
        connections = self.connections + (tenant.plan.database.connection_limit
                                          if tenant.tier(Service.database) is Tier.shared else 0)
        return Usage(pooled, slices, connections)


def usage(tenants: Iterable[EffectiveTenant], cell: str, environment: Environment | str) -> Usage:
    env = Environment(environment)
    out = Usage()
    for tenant in tenants:
        if cell_of(tenant) == cell and env in tenant.tenant.environments:
            out = out.add(tenant)
    return out


def over_capacity(capacity: CellCapacity, used: Usage) -> list[tuple[str, int, int, str]]:
    """(field, used, capacity, what) for every limit `used` exceeds."""
    out = []
    for key, amount, what in (("pooledTenants", len(used.pooled), "pooled tenants"),
                              ("connections", used.connections, "pooled database connections"),
                              ("dedicatedSlices", len(used.slices), "dedicated slices")):
        limit = getattr(capacity, {"pooledTenants": "pooled_tenants", "connections": "connections",
                                   "dedicatedSlices": "dedicated_slices"}[key])
        if limit is not None and amount > limit:
            out.append((key, amount, limit, what))
    return out


def capacity_findings(cells: Cells, tenants: list[EffectiveTenant]) -> Iterator[Problem]:
    for name, cell in cells.cells.items():
        for env in cell.environments:
            used = usage(tenants, name, env)
            for key, amount, limit, what in over_capacity(cell.capacity, used):
                room = [f"{other} ({free})" for other, free in _room(cells, tenants, env, key) if other != name]
                yield cells.problem(name, ("capacity", key), (
                    f"cell {name} is full in {env.value}: {amount} {what}, capacity {limit}; place tenants in "
                    f"another cell ({', '.join(room) if room else f'no cell has room in {env.value}: declare one'}) "
                    f"or raise the capacity"))


def _room(cells: Cells, tenants: list[EffectiveTenant], env: Environment, key: str) -> Iterator[tuple[str, str]]:
    for name, cell in cells.cells.items():
        if env not in cell.environments:
            continue
        used = usage(tenants, name, env)
        amount = {"pooledTenants": len(used.pooled), "connections": used.connections,
                  "dedicatedSlices": len(used.slices)}[key]
        limit = {"pooledTenants": cell.capacity.pooled_tenants, "connections": cell.capacity.connections,
                 "dedicatedSlices": cell.capacity.dedicated_slices}[key]
        if limit is None:
            yield name, "no limit"
        elif limit > amount:
            yield name, f"{limit - amount} free"


def place(cells: Cells, tenants: Iterable[EffectiveTenant], new: EffectiveTenant) -> Optional[str]:
    """Where `tenancy tenant new` puts a tenant: the first cell, in declaration order, that serves
    every environment of the tenant and has room for it in each. None when no cell has room."""
    others = [t for t in tenants if t.id != new.id]
    for name, cell in cells.cells.items():
        if any(env not in cell.environments for env in new.tenant.environments):
            continue
        if all(not over_capacity(cell.capacity, usage(others, name, env).add(new))
               for env in new.tenant.environments):
            return name
    return None
