"""Pure ASGI middleware: every HTTP request and WebSocket (but the public paths) needs a bearer token
that verifies for the tenant it claims (tokens.TokenVerifier), and an `X-Tenant-ID` header, if sent,
must name that same tenant. Then the tenant is the context's (`current_tenant()`) for the whole
request, `scope["state"]["tenant_id"]` and `["token_claims"]` are set (Starlette's `request.state`),
and the app sees exactly one `X-Tenant-ID` header: the verified tenant.

Refusals: 401 (no token, malformed, expired, not yet valid, bad signature, unknown key, wrong
issuer or audience, unknown tenant) with `WWW-Authenticate: Bearer`; 403 (a valid token, but the
header names another tenant); 503 (the tenant's JWKS cannot be fetched). A refused WebSocket is
closed with 1008 before it is accepted. Lifespan events pass through."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable, Iterable, MutableMapping
from typing import Any

from .tenant import TENANT_HEADER, _bind, _unbind
from .tokens import TokenError, TokenVerifier

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

log = logging.getLogger("tenancy.context")

_HEADER = TENANT_HEADER.lower().encode("latin-1")
_ERRORS = {401: "invalid_token", 403: "tenant_mismatch", 503: "jwks_unavailable"}


class TenantMiddleware:
    def __init__(self, app: ASGIApp, verifier: TokenVerifier, public_paths: Iterable[str] = ("/health",),
                 require_header: bool = False):
        """`public_paths`: exact paths served without a token and without a tenant (health checks).
        `require_header`: refuse (403) a request without `X-Tenant-ID` (behind a gateway that always
        sets it)."""
        self.app, self.verifier = app, verifier
        self.public_paths = frozenset(public_paths)
        self.require_header = require_header

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind not in ("http", "websocket") or scope.get("path") in self.public_paths:
            await self.app(scope, receive, send)
            return
        try:
            tenant, claims = await self._authenticate(scope)
        except TokenError as exc:
            log.info("refused %s %s: %s", scope.get("method", "WEBSOCKET"), scope.get("path"), exc.reason)
            await _refuse(scope, send, exc)
            return
        headers = [(k, v) for k, v in scope.get("headers", []) if k.lower() != _HEADER]
        headers.append((_HEADER, tenant.encode("ascii")))
        state = {**scope.get("state", {}), "tenant_id": tenant, "token_claims": claims}
        token = _bind(tenant)
        try:
            await self.app({**scope, "headers": headers, "state": state}, receive, send)
        finally:
            _unbind(token)

    async def _authenticate(self, scope: Scope) -> tuple[str, Any]:
        authorizations, sent = [], []
        for key, value in scope.get("headers", []):
            key = key.lower()
            if key == b"authorization":
                authorizations.append(value)
            elif key == _HEADER:
                sent.append(value.decode("latin-1"))
        if len(authorizations) != 1:
            raise TokenError("no bearer token" if not authorizations else "more than one Authorization header")
        scheme, _, token = authorizations[0].decode("latin-1").partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            raise TokenError("no bearer token")
        verified = await asyncio.to_thread(self.verifier.verify, token)
        if any(value.strip() != verified.tenant_id for value in sent):
            raise TokenError(f"{TENANT_HEADER} does not name the token's tenant", 403)
        if self.require_header and not sent:
            raise TokenError(f"no {TENANT_HEADER} header", 403)
        return verified.tenant_id, verified.claims


async def _refuse(scope: Scope, send: Send, exc: TokenError) -> None:
    if scope["type"] == "websocket":
        await send({"type": "websocket.close", "code": 1008, "reason": exc.reason[:120]})
        return
    error = _ERRORS.get(exc.status, "refused")
    body = json.dumps({"error": error, "detail": exc.reason}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    if exc.status == 401:
        description = exc.reason.replace('"', "'")
        headers.append((b"www-authenticate", f'Bearer error="{error}", error_description="{description}"'.encode()))
    await send({"type": "http.response.start", "status": exc.status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def tenant_middleware(verifier: TokenVerifier, **options: Any) -> Callable[[ASGIApp], TenantMiddleware]:
    """For frameworks that take a factory: `app = tenant_middleware(verifier)(app)`."""
    return lambda app: TenantMiddleware(app, verifier, **options)

