"""Who is asking: a platform admin, a tenant's admin, or nobody.

Both kinds sign in with an ID token (or send it as a bearer token), verified by the runtime
library's `TokenVerifier` (signature by a key of the issuer's JWKS, issuer, audience, expiry, RS256):

- **Tenant admins** present a token of their tenant's identity, exactly as the platform's services
  accept it (`custom:tenant_id` names the tenant; the token must come from that tenant's issuer, for
  its audience; a pool of one tenant alone may leave the claim out). They must also be in the tenant
  admin group (`tenantAdmins.group`, default `tenant-admins`, read from `cognito:groups`), so a
  tenant's ordinary users cannot change its registry entry. They see their own tenant only.
- **Platform admins** present a token of the *platform's* issuer (its own user pool) whose groups
  claim holds the platform admin group (`platform.group`, default `platform-admins`). The group is
  honoured from that issuer alone: an isolated tenant's administrators manage their own pool and
  could put anyone in a group of any name there.

The configuration is a YAML or JSON file (`tenancy portal --auth FILE`):

```yaml
platform:                      # the platform team's user pool
  issuer: https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_Platform
  jwksUrl: https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_Platform/.well-known/jwks.json
  audience: [portal-client-id]
  groupsClaim: cognito:groups  # default
  group: platform-admins       # default
tenantAdmins: {groupsClaim: cognito:groups, group: tenant-admins}   # group: null admits every user
tenants:                       # as the services' resolver reads them (StaticResolver.from_mapping)
  default: {issuer: ..., jwksUrl: ..., audience: [portal-tenants]}   # every registry tenant not listed
  acme: {issuer: ..., jwksUrl: ..., audience: [acme-portal], ownPool: true}
```
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

import jwt

from tenancy.context.tokens import (
    TENANT_CLAIM,
    JwksCache,
    StaticResolver,
    TenantIssuer,
    TokenError,
    TokenVerifier,
)
from tenancy.exits import CommandError

DEFAULT_GROUPS_CLAIM = "cognito:groups"
PLATFORM_ADMIN_GROUP = "platform-admins"
TENANT_ADMIN_GROUP = "tenant-admins"
PLATFORM = "platform"  # the platform's pool, as the one "tenant" of its resolver


class AuthError(Exception):
    """A refused identity: 401 (no or invalid token) or 403 (valid, but not an admin)."""

    def __init__(self, reason: str, status: int = 401):
        super().__init__(reason)
        self.reason, self.status = reason, status


@dataclass(frozen=True)
class Identity:
    subject: str
    name: str
    platform_admin: bool
    tenant: Optional[str] = None  # the tenant a tenant admin administers

    def can_see(self, tenant_id: str) -> bool:
        return self.platform_admin or self.tenant == tenant_id

    @property
    def role(self) -> str:
        return "platform admin" if self.platform_admin else f"tenant admin of {self.tenant}"

    @property
    def email(self) -> str:
        return self.name if "@" in self.name else f"{self.subject}@portal.invalid"


@dataclass(frozen=True)
class PlatformIssuer:
    entry: TenantIssuer
    groups_claim: str = DEFAULT_GROUPS_CLAIM
    group: str = PLATFORM_ADMIN_GROUP


class _PlatformPool:
    """The platform's user pool as a resolver of one pseudo-tenant, so that `TokenVerifier` applies
    every check it applies to a tenant's token, unchanged."""

    def __init__(self, entry: TenantIssuer):
        self.entry = entry

    def issuer_for(self, tenant_id: str) -> Optional[TenantIssuer]:
        return self.entry if tenant_id == PLATFORM else None

    def tenant_for_issuer(self, issuer: str) -> Optional[str]:
        return PLATFORM if issuer == self.entry.issuer else None


class RegistryResolver:
    """Tenants' issuers: the ones listed, and a default issuer for every other tenant the registry
    holds now (`known` is asked each time, so a tenant added to the registry can sign in)."""

    def __init__(self, listed: StaticResolver, default: Optional[TenantIssuer], known: Callable[[], Iterable[str]]):
        self.listed, self.default, self.known = listed, default, known

    def issuer_for(self, tenant_id: str) -> Optional[TenantIssuer]:
        entry = self.listed.issuer_for(tenant_id)
        if entry is None and self.default is not None and tenant_id in set(self.known()):
            return self.default
        return entry

    def tenant_for_issuer(self, issuer: str) -> Optional[str]:
        return self.listed.tenant_for_issuer(issuer)


def _issuer(data: Mapping[str, Any], where: str, own_pool: bool = False) -> TenantIssuer:
    try:
        return TenantIssuer(data["issuer"], data["jwksUrl"], data["audience"], bool(data.get("ownPool", own_pool)))
    except (KeyError, TypeError, ValueError) as exc:
        raise CommandError(f"{where}: needs issuer, jwksUrl and audience ({exc})") from None


@dataclass
class AuthConfig:
    platform: Optional[PlatformIssuer]
    tenants: StaticResolver
    default_tenant_issuer: Optional[TenantIssuer] = None
    tenant_groups_claim: str = DEFAULT_GROUPS_CLAIM
    tenant_admin_group: Optional[str] = TENANT_ADMIN_GROUP
    algorithms: tuple[str, ...] = ("RS256",)
    leeway: float = 30.0
    jwks: Optional[Callable[[str], JwksCache]] = field(default=None, repr=False)

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any], where: str = "auth") -> AuthConfig:
        if not isinstance(data, Mapping):
            raise CommandError(f"{where}: must be a mapping with platform, tenants and tenantAdmins")
        unknown = set(data) - {"platform", "tenants", "tenantAdmins"}
        if unknown:
            raise CommandError(f"{where}: unknown keys {', '.join(sorted(unknown))}; allowed: platform, tenants, "
                               "tenantAdmins")
        platform = None
        if data.get("platform"):
            p = data["platform"]
            platform = PlatformIssuer(_issuer(p, f"{where}: platform"), p.get("groupsClaim", DEFAULT_GROUPS_CLAIM),
                                      p.get("group", PLATFORM_ADMIN_GROUP))
        tenants = dict(data.get("tenants") or {})
        default = tenants.pop("default", None)
        try:
            listed = StaticResolver.from_mapping(tenants)
        except (KeyError, TypeError, ValueError) as exc:
            raise CommandError(f"{where}: tenants: {exc}") from None
        admins = data.get("tenantAdmins") or {}
        return cls(platform, listed, _issuer(default, f"{where}: tenants.default") if default else None,
                   admins.get("groupsClaim", DEFAULT_GROUPS_CLAIM), admins.get("group", TENANT_ADMIN_GROUP))

    @classmethod
    def from_file(cls, path: Path | str) -> AuthConfig:
        import yaml

        path = Path(path)
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise CommandError(f"cannot read {path}: {exc.strerror}") from None
        try:
            data = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
        except (ValueError, yaml.YAMLError) as exc:
            raise CommandError(f"{path}: not {'JSON' if path.suffix == '.json' else 'YAML'}: {exc}") from None
        return cls.from_mapping(data or {}, str(path))


def _groups(claims: Mapping[str, Any], claim: str) -> set[str]:
    value = claims.get(claim)
    if isinstance(value, str):
        return {g.strip() for g in value.replace(",", " ").split() if g.strip()}
    if isinstance(value, list):
        return {str(g) for g in value}
    return set()


def _name(claims: Mapping[str, Any]) -> str:
    for key in ("email", "cognito:username", "preferred_username", "username", "sub"):
        if isinstance(claims.get(key), str) and claims[key]:
            return claims[key]
    return "unknown"


class Authenticator:
    """Turns a token into an Identity, or raises AuthError. Blocks (it may fetch a JWKS)."""

    def __init__(self, config: AuthConfig, known_tenants: Callable[[], Iterable[str]]):
        self.config = config
        options = {"algorithms": config.algorithms, "leeway": config.leeway}
        if config.jwks is not None:
            options["jwks"] = config.jwks
        resolver = RegistryResolver(config.tenants, config.default_tenant_issuer, known_tenants)
        self.tenants = TokenVerifier(resolver, **options)
        self.platform = TokenVerifier(_PlatformPool(config.platform.entry), **options) if config.platform else None

    def authenticate(self, token: str) -> Identity:
        token = (token or "").strip()
        if not token:
            raise AuthError("no token")
        try:
            issuer = jwt.decode(token, options={"verify_signature": False}).get("iss")
        except jwt.PyJWTError:
            raise AuthError("malformed token") from None
        try:
            if self.platform is not None and issuer == self.config.platform.entry.issuer:
                return self._platform_admin(token)
            return self._tenant_admin(token)
        except TokenError as exc:
            raise AuthError(exc.reason, 401 if exc.status == 401 else exc.status) from None

    def _platform_admin(self, token: str) -> Identity:
        platform = self.config.platform
        verified = self.platform.verify(token)
        if TENANT_CLAIM in verified.claims:
            raise AuthError("a platform token must not claim a tenant", 403)
        if platform.group not in _groups(verified.claims, platform.groups_claim):
            raise AuthError(f"not in the {platform.group} group of the platform's identity provider", 403)
        return Identity(str(verified.claims.get("sub", "")), _name(verified.claims), True)

    def _tenant_admin(self, token: str) -> Identity:
        verified = self.tenants.verify(token)
        group = self.config.tenant_admin_group
        if group and group not in _groups(verified.claims, self.config.tenant_groups_claim):
            raise AuthError(f"not an admin of tenant {verified.tenant_id} (the {group} group)", 403)
        return Identity(str(verified.claims.get("sub", "")), _name(verified.claims), False, verified.tenant_id)
