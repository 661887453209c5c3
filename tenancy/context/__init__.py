"""The runtime library the platform's services import: the tenant of a request, verified from its token, carried through logs, outgoing calls, database sessions and AWS credentials.

    from tenancy.context import (StaticResolver, TenantIssuer, TenantMiddleware, TokenVerifier,
                                 TenantLogFilter, current_tenant, event_hooks, TenantDatabase, TenantSessions)

    resolver = StaticResolver({"acme": TenantIssuer.cognito("eu-west-1", "eu-west-1_Pool", "client-acme")})
    app = TenantMiddleware(app, TokenVerifier(resolver), public_paths={"/health"})
    handler.addFilter(TenantLogFilter())                            # %(tenant_id)s in every record
    http = httpx.Client(event_hooks=event_hooks())                  # X-Tenant-ID on outgoing calls
    db = TenantDatabase(pool)                                       # SET LOCAL ROLE tenant_<id>
    s3 = TenantSessions(tenant_role_arn(account, "prod")).client("s3")  # AssumeRole tagged tenant-id

Modules: `tenant` (the context variable), `logs`, `outgoing` (httpx hooks), `tokens` (PyJWT against
each tenant's JWKS), `middleware` (ASGI), `database` (psycopg 3), `aws` (boto3 and STS). Only the
last three need their libraries (PyJWT, psycopg, boto3), each imported on first use of a name here.
Nothing imports Pulumi or the registry; tenant role names come from `tenancy.registry.naming`.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

from .logs import NO_TENANT, TenantLogFilter, add_tenant_to_logs
from .outgoing import event_hooks, set_tenant_header, set_tenant_header_async
from .tenant import (
    TENANT_HEADER,
    NoTenantError,
    TenantMismatchError,
    current_tenant,
    require_tenant,
    resolve_tenant,
    tenant_scope,
)

_LAZY = {
    "TenantIssuer": "tokens", "StaticResolver": "tokens", "TokenVerifier": "tokens", "TokenError": "tokens",
    "JwksCache": "tokens", "VerifiedToken": "tokens", "TENANT_CLAIM": "tokens",
    "TenantMiddleware": "middleware", "tenant_middleware": "middleware",
    "TenantDatabase": "database", "AsyncTenantDatabase": "database", "TenantDatabaseError": "database",
    "tenant_transaction": "database", "async_tenant_transaction": "database", "reset_connection": "database",
    "async_reset_connection": "database",
    "TenantSessions": "aws", "tenant_role_arn": "aws", "session_name": "aws",
}

__all__ = [
    "NO_TENANT", "TENANT_HEADER", "NoTenantError", "TenantLogFilter", "TenantMismatchError", "add_tenant_to_logs",
    "current_tenant", "event_hooks", "require_tenant", "resolve_tenant", "set_tenant_header",
    "set_tenant_header_async", "tenant_scope", *_LAZY,
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value
