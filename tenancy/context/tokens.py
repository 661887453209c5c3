"""Bearer tokens verified per tenant: the tenant comes from the token's claim (`custom:tenant_id`,
immutable in the user pools), then the token must be signed by a key of that tenant's JWKS, issued
by that tenant's issuer, for that tenant's audience, and current.

Pooled tenants share one Cognito user pool (one issuer) and differ by the claim; isolated tenants
have a pool (an issuer) of their own. Checking the issuer *of the claimed tenant* is what stops an
isolated tenant's pool, whose administrators may write any attribute, from minting a token that
claims another tenant. A pool of one tenant alone (`own_pool`) may also leave the claim out.

Cognito specifics: ID tokens carry the app client in `aud`; access tokens carry no `aud` but
`client_id` and `token_use: access`, so an access token's `client_id` is checked against the
audience instead. Only RS256 (what Cognito signs with) is accepted unless configured otherwise."""

from __future__ import annotations

import contextlib
import ipaddress
import json
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple, Optional, Protocol

import jwt

from .tenant import is_tenant_id

TENANT_CLAIM = "custom:tenant_id"
MAX_JWKS_BYTES = 1 << 20


class TokenError(Exception):
    """A request refused: `status` 401 (no or invalid token) or 403 (valid token, wrong tenant)."""

    def __init__(self, reason: str, status: int = 401):
        super().__init__(reason)
        self.reason = reason
        self.status = status


class JwksUnavailable(TokenError):
    """The tenant's JWKS could not be fetched: the service's fault, not the caller's (503)."""

    def __init__(self, reason: str):
        super().__init__(reason, 503)


@dataclass(frozen=True)
class TenantIssuer:
    """Who may speak for a tenant: its issuer, where that issuer publishes its keys, the audiences
    (app client ids) its tokens must be for, and whether the pool is the tenant's alone."""

    issuer: str
    jwks_url: str
    audience: tuple[str, ...]
    own_pool: bool = False

    def __init__(self, issuer: str, jwks_url: str, audience: str | Iterable[str], own_pool: bool = False):
        audiences = (audience,) if isinstance(audience, str) else tuple(audience)
        if not issuer or not jwks_url or not audiences or not all(audiences):
            raise ValueError("a tenant issuer needs an issuer, a JWKS URL and at least one audience")
        object.__setattr__(self, "issuer", issuer)
        object.__setattr__(self, "jwks_url", jwks_url)
        object.__setattr__(self, "audience", audiences)
        object.__setattr__(self, "own_pool", own_pool)

    @classmethod
    def cognito(cls, region: str, user_pool_id: str, client_ids: str | Iterable[str],
                own_pool: bool = False) -> TenantIssuer:
        issuer = f"https://cognito-idp.{region}.amazonaws.com/{user_pool_id}"
        return cls(issuer, f"{issuer}/.well-known/jwks.json", client_ids, own_pool)


class TenantResolver(Protocol):
    def issuer_for(self, tenant_id: str) -> Optional[TenantIssuer]:
        """The tenant's issuer, or None for a tenant this service does not serve."""

    def tenant_for_issuer(self, issuer: str) -> Optional[str]:
        """The tenant whose own pool this issuer is, for tokens without the tenant claim; else None."""


@dataclass
class StaticResolver:
    """Tenants and their issuers, fixed at start (from the plan's outputs, a file, the environment)."""

    tenants: Mapping[str, TenantIssuer]
    _own: dict[str, str] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        for tenant_id in self.tenants:
            if not is_tenant_id(tenant_id):
                raise ValueError(f"not a tenant id: {tenant_id!r}")
        by_issuer: dict[str, list[str]] = {}
        for tenant_id, entry in self.tenants.items():
            by_issuer.setdefault(entry.issuer, []).append(tenant_id)
        for issuer, owners in by_issuer.items():
            own = [t for t in owners if self.tenants[t].own_pool]
            if own and len(owners) > 1:
                raise ValueError(f"issuer {issuer} is the own pool of {', '.join(own)} but also serves "
                                 f"{', '.join(sorted(set(owners) - set(own)))}")
        self._own = {e.issuer: t for t, e in self.tenants.items() if e.own_pool}

    @classmethod
    def from_mapping(cls, data: Mapping[str, Mapping[str, Any]]) -> StaticResolver:
        """`{tenant: {issuer, jwksUrl, audience, ownPool}}`, as JSON or YAML would give it."""
        return cls({tenant: TenantIssuer(e["issuer"], e["jwksUrl"], e["audience"], bool(e.get("ownPool", False)))
                    for tenant, e in data.items()})

    def issuer_for(self, tenant_id: str) -> Optional[TenantIssuer]:
        return self.tenants.get(tenant_id)

    def tenant_for_issuer(self, issuer: str) -> Optional[str]:
        return self._own.get(issuer)


def _fetch_url(url: str, timeout: float) -> bytes:
    parts = urllib.parse.urlsplit(url)
    host = (parts.hostname or "").strip("[]")
    loopback = host == "localhost"
    with contextlib.suppress(ValueError):
        loopback = loopback or ipaddress.ip_address(host).is_loopback
    if parts.scheme != "https" and not (parts.scheme == "http" and loopback):
        raise JwksUnavailable(f"JWKS URL {url} is not https")
    request = urllib.request.Request(url, headers={"Accept": "application/json"})
    with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 (scheme checked above)
        body = response.read(MAX_JWKS_BYTES + 1)
    if len(body) > MAX_JWKS_BYTES:
        raise JwksUnavailable(f"JWKS at {url} is larger than {MAX_JWKS_BYTES} bytes")
    return body


class SigningKey(NamedTuple):
    key: Any
    algorithm: Optional[str]  # the JWK's `alg`, when it declares one: the only algorithm it verifies


class JwksCache:
    """One issuer's signing keys, fetched once and kept for `ttl` seconds. A key id it does not know
    refetches the set (keys rotate), but at most once per `min_refresh` seconds, so tokens with made-up
    key ids cannot turn every request into a fetch. Thread-safe."""

    def __init__(self, url: str, *, ttl: float = 3600.0, min_refresh: float = 30.0, timeout: float = 5.0,
                 fetch: Callable[[str, float], bytes] = _fetch_url, clock: Callable[[], float] = time.monotonic):
        self.url, self.ttl, self.min_refresh, self.timeout = url, ttl, min_refresh, timeout
        self._fetch, self._clock = fetch, clock
        self._keys: dict[str, SigningKey] = {}
        self._fetched_at: Optional[float] = None
        self._failure: Optional[str] = None  # why the last fetch failed, while it is the last
        self._lock = threading.Lock()
        self.fetches = 0

    def _refresh(self) -> None:
        self.fetches += 1
        self._fetched_at = self._clock()  # a failed fetch also waits min_refresh before the next
        try:
            data = json.loads(self._fetch(self.url, self.timeout))
            entries = data["keys"]
            if not isinstance(entries, list):
                raise ValueError("keys is not a list")
        except JwksUnavailable as exc:
            self._failure = exc.reason
            raise
        except (OSError, ValueError, KeyError, TypeError) as exc:
            self._failure = f"cannot read the JWKS at {self.url}: {exc}"
            raise JwksUnavailable(self._failure) from None
        keys = {}
        for entry in entries:
            # Signing keys with an id; a key this PyJWT cannot use is skipped, not fatal to the others.
            if not isinstance(entry, dict) or entry.get("use", "sig") != "sig" or not entry.get("kid"):
                continue
            try:
                keys[entry["kid"]] = SigningKey(jwt.PyJWK(entry).key, entry.get("alg"))
            except jwt.PyJWTError:
                continue
        self._failure = None
        self._keys = keys

    def key(self, kid: object) -> SigningKey:
        if not isinstance(kid, str) or not kid:
            raise TokenError("the token names no signing key (kid)")
        with self._lock:
            now = self._clock()
            stale = self._fetched_at is None or now - self._fetched_at >= self.ttl
            if stale or (kid not in self._keys and now - self._fetched_at >= self.min_refresh):
                try:
                    self._refresh()
                except JwksUnavailable:
                    if kid not in self._keys:
                        raise
            found, failure = self._keys.get(kid), self._failure
        if found is None and failure is not None:
            raise JwksUnavailable(failure)
        if found is None:
            raise TokenError("the token is signed by a key its issuer does not publish")
        return found


@dataclass(frozen=True)
class VerifiedToken:
    tenant_id: str
    claims: Mapping[str, Any]


class TokenVerifier:
    """Verifies a bearer token for the tenant it claims. `verify` blocks (it may fetch a JWKS)."""

    def __init__(self, resolver: TenantResolver, *, tenant_claim: str = TENANT_CLAIM,
                 algorithms: Sequence[str] = ("RS256",), leeway: float = 30.0,
                 token_uses: Optional[Iterable[str]] = ("id", "access"),
                 jwks: Optional[Callable[[str], JwksCache]] = None):
        self.resolver, self.tenant_claim, self.leeway = resolver, tenant_claim, leeway
        self.algorithms = tuple(algorithms)
        if not self.algorithms or any(a == "none" or a.startswith("HS") for a in self.algorithms):
            raise ValueError("asymmetric algorithms only: a JWKS publishes public keys")
        self.token_uses = None if token_uses is None else frozenset(token_uses)
        self._jwks_factory = jwks or (lambda url: JwksCache(url))
        self._jwks: dict[str, JwksCache] = {}
        self._lock = threading.Lock()

    def jwks(self, url: str) -> JwksCache:
        with self._lock:
            cache = self._jwks.get(url)
            if cache is None:
                cache = self._jwks[url] = self._jwks_factory(url)
            return cache

    def verify(self, token: str) -> VerifiedToken:
        try:
            header = jwt.get_unverified_header(token)
            unverified = jwt.decode(token, options={"verify_signature": False})
        except jwt.PyJWTError:
            raise TokenError("malformed token") from None
        alg = header.get("alg")
        if alg not in self.algorithms:
            raise TokenError(f"signing algorithm {alg!r} is not accepted")

        # Who the token says it speaks for; nothing below trusts it until the signature is checked.
        claimed, issuer = unverified.get(self.tenant_claim), unverified.get("iss")
        if claimed is None:
            tenant = self.resolver.tenant_for_issuer(issuer) if isinstance(issuer, str) else None
            if tenant is None:
                raise TokenError(f"the token has no {self.tenant_claim} claim")
        elif is_tenant_id(claimed):
            tenant = claimed
        else:
            raise TokenError(f"the token's {self.tenant_claim} claim is not a tenant id")
        expected = self.resolver.issuer_for(tenant)
        if expected is None:
            raise TokenError("the token's tenant is not served here")
        if issuer != expected.issuer:
            raise TokenError("the token's issuer is not its tenant's")

        key = self.jwks(expected.jwks_url).key(header.get("kid"))
        if key.algorithm is not None and key.algorithm != alg:
            raise TokenError(f"the token's algorithm {alg} is not its key's ({key.algorithm})")
        has_aud = "aud" in unverified
        try:
            claims = jwt.decode(
                token, key.key, algorithms=[alg], issuer=expected.issuer,
                audience=list(expected.audience) if has_aud else None, leeway=self.leeway,
                options={"require": ["exp", "iat", "iss"], "verify_aud": has_aud})
        except jwt.ExpiredSignatureError:
            raise TokenError("the token has expired") from None
        except jwt.ImmatureSignatureError:
            raise TokenError("the token is not valid yet") from None
        except jwt.InvalidAudienceError:
            raise TokenError("the token is not for this tenant's audience") from None
        except jwt.InvalidIssuerError:
            raise TokenError("the token's issuer is not its tenant's") from None
        except jwt.InvalidSignatureError:
            raise TokenError("the token's signature does not verify") from None
        except jwt.PyJWTError as exc:
            raise TokenError(f"invalid token: {exc}") from None

        use = claims.get("token_use")
        if self.token_uses is not None and use not in self.token_uses:
            raise TokenError(f"token_use {use!r} is not accepted")
        if not has_aud and not (use == "access" and claims.get("client_id") in expected.audience):
            raise TokenError("the token is not for this tenant's audience")
        if claims.get(self.tenant_claim, tenant) != tenant:  # the same token: cannot differ, kept as a guard
            raise TokenError("the token's tenant changed under verification")
        return VerifiedToken(tenant, claims)
