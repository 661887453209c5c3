"""Stack scopes: which part of an environment's cell one stack deploys (`tenancy:scope`, in the
cell `tenancy:cell`)."""

from __future__ import annotations

from dataclasses import dataclass

from tenancy.registry.loader import Registry
from tenancy.registry.naming import DEFAULT_CELL
from tenancy.registry.tiers import EffectiveTenant

SCOPES = "all | platform | pool | pool/<shard> | tenant/<id>"


class ScopeError(ValueError):
    pass


@dataclass(frozen=True)
class Scope:
    kind: str  # all | platform | pool | tenant
    tenant_id: str | None = None
    shard: int | None = None  # pool/<shard>: one shard of a sharded pool

    @classmethod
    def parse(cls, text: str) -> Scope:
        text = (text or "all").strip()
        if text in ("all", "platform", "pool"):
            return cls(text)
        if text.startswith("pool/") and text[len("pool/"):].isdigit():
            return cls("pool", shard=int(text[len("pool/"):]))
        if text.startswith("tenant/") and len(text) > len("tenant/"):
            return cls("tenant", text[len("tenant/"):])
        raise ScopeError(f"tenancy:scope {text!r} is not one of {SCOPES}")

    def __str__(self) -> str:
        if self.kind == "tenant":
            return f"tenant/{self.tenant_id}"
        if self.kind == "pool" and self.shard is not None:
            return f"pool/{self.shard}"
        return self.kind

    @property
    def deploys_platform(self) -> bool:
        return self.kind in ("all", "platform")

    def tenants(self, registry: Registry, environment: str, cell: str | None = None) -> list[EffectiveTenant]:
        """The tenants this scope deploys in `environment` and `cell` (default: the cell named
        `default`), or a ScopeError that says why not."""
        cell = cell or DEFAULT_CELL
        definition = registry.cells.get(cell)
        if definition is None:
            raise ScopeError(f"tenancy:cell {cell!r} is not a cell of the registry; cells: "
                             f"{', '.join(registry.cells.names) or 'none'}")
        if environment not in {e.value for e in definition.environments}:
            raise ScopeError(f"cell {cell} does not serve {environment} (its environments: "
                             f"{', '.join(e.value for e in definition.environments)})")
        present = registry.in_cell(environment, cell)
        if self.kind == "all":
            return present
        if self.kind == "platform":
            return []
        if self.kind == "pool":
            shards = definition.pool_shards
            if self.shard is None and shards > 1:
                raise ScopeError(f"tenancy:scope pool: cell {cell}'s pool has {shards} shards; deploy each as "
                                 f"pool/<shard>, 0 to {shards - 1}")
            if self.shard is not None and not (shards > 1 and self.shard < shards):
                raise ScopeError(f"tenancy:scope {self}: cell {cell}'s pool has "
                                 + (f"shards 0 to {shards - 1}" if shards > 1 else "one stack: use scope pool"))
            pooled = [t for t in present if not t.has_own_stack]
            return pooled if self.shard is None else [t for t in pooled if registry.shard_of(t) == self.shard]
        tenant = next((t for t in present if t.id == self.tenant_id), None)
        if tenant is None:
            known = ", ".join(t.id for t in present if t.has_own_stack) or "none"
            other = registry.get(self.tenant_id or "")
            where = (f"; it lives in cell {registry.cell_of(other)}" if other is not None
                     and registry.cell_of(other) != cell else "")
            raise ScopeError(f"tenancy:scope {self}: no such tenant in {environment}, cell {cell}{where}; "
                             f"tenants with their own stack: {known}")
        if not tenant.has_own_stack:
            raise ScopeError(f"tenancy:scope {self}: {tenant.id} is a shared tenant; it deploys in the pool stack")
        return [tenant]
