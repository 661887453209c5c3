"""Stack scopes: which part of an environment one stack deploys (`tenancy:scope`)."""

from __future__ import annotations

from dataclasses import dataclass

from tenancy.registry.loader import Registry
from tenancy.registry.tiers import EffectiveTenant

SCOPES = "all | platform | pool | tenant/<id>"


class ScopeError(ValueError):
    pass


@dataclass(frozen=True)
class Scope:
    kind: str  # all | platform | pool | tenant
    tenant_id: str | None = None

    @classmethod
    def parse(cls, text: str) -> Scope:
        text = (text or "all").strip()
        if text in ("all", "platform", "pool"):
            return cls(text)
        if text.startswith("tenant/") and len(text) > len("tenant/"):
            return cls("tenant", text[len("tenant/"):])
        raise ScopeError(f"tenancy:scope {text!r} is not one of {SCOPES}")

    def __str__(self) -> str:
        return f"tenant/{self.tenant_id}" if self.kind == "tenant" else self.kind

    @property
    def deploys_platform(self) -> bool:
        return self.kind in ("all", "platform")

    def tenants(self, registry: Registry, environment: str) -> list[EffectiveTenant]:
        """The tenants this scope deploys in `environment`, or a ScopeError that says why not."""
        present = registry.in_environment(environment)
        if self.kind == "all":
            return present
        if self.kind == "platform":
            return []
        if self.kind == "pool":
            return [t for t in present if not t.has_own_stack]
        tenant = next((t for t in present if t.id == self.tenant_id), None)
        if tenant is None:
            known = ", ".join(t.id for t in present if t.has_own_stack) or "none"
            raise ScopeError(f"tenancy:scope {self}: no such tenant in {environment}; "
                             f"tenants with their own stack: {known}")
        if not tenant.has_own_stack:
            raise ScopeError(f"tenancy:scope {self}: {tenant.id} is a shared tenant; it deploys in the pool stack")
        return [tenant]
