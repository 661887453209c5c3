"""The pooled cache's tenant isolation as Redis ACL rules, generated from the registry.

Per pooled tenant a user limited to its own keys and channels (`~<id>:*`, `&<id>:*`) and to an
allowlist of commands that act only on the keys and channels they name (no scripts, functions,
CLIENT, server-wide introspection or other databases); the rules come from
`access.cache_access_string`, which the ElastiCache user resources use too. `reset` makes every rule complete on its own, so applying twice changes nothing.
The default user is switched off last, and only from a connection that is not the default user.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from tenancy.registry.access import cache_access_string
from tenancy.registry.models import Service, Tier
from tenancy.registry.naming import cache_user_id
from tenancy.registry.tiers import EffectiveTenant

MASK = ">********"


@dataclass(frozen=True)
class AclRule:
    user: str
    rules: tuple[str, ...]  # ACL SETUSER arguments after the user name
    password: Optional[str] = None

    def args(self) -> list[str]:
        extra = [f">{self.password}"] if self.password else []
        return [self.user, "reset", *self.rules[:1], *extra, *self.rules[1:]]

    def printable(self) -> str:
        extra = [MASK] if self.password else []
        return " ".join(["ACL SETUSER", self.user, "reset", *self.rules[:1], *extra, *self.rules[1:]])


def pooled_cache_tenants(tenants: list[EffectiveTenant]) -> list[EffectiveTenant]:
    return [t for t in tenants if t.tier(Service.cache) is Tier.shared]


def acl_rules(tenants: list[EffectiveTenant], environment: str, passwords: dict[str, str]) -> list[AclRule]:
    return [AclRule(cache_user_id(environment, t.id), tuple(cache_access_string(t.id, not t.suspended).split()),
                    passwords.get(t.id)) for t in pooled_cache_tenants(tenants)]


DEFAULT_OFF = AclRule("default", ("off", "-@all"))
