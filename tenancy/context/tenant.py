"""The tenant of the work in progress: one context variable, set by the middleware for a request
(or by `tenant_scope` for a job), read by the log filter, the outgoing-call hooks, the database
helper and the AWS session factory.

A context variable follows the work, not the thread: asyncio tasks created during a request and
`asyncio.to_thread`/Starlette's thread pool inherit it; a bare `ThreadPoolExecutor.submit` does not
(run the function through `contextvars.copy_context().run`)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Optional

TENANT_HEADER = "X-Tenant-ID"

# The registry's ids: lowercase words joined by single hyphens (it also bounds the length tighter).
_TENANT_ID = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
MAX_TENANT_ID = 63

_current: ContextVar[Optional[str]] = ContextVar("tenancy_current_tenant", default=None)


class NoTenantError(LookupError):
    """Work that needs a tenant runs outside any tenant's request or `tenant_scope`."""


class TenantMismatchError(PermissionError):
    """Work for one tenant was asked for while another tenant's request is in progress."""


def is_tenant_id(value: object) -> bool:
    return isinstance(value, str) and len(value) <= MAX_TENANT_ID and _TENANT_ID.fullmatch(value) is not None


def check_tenant_id(value: object) -> str:
    if not is_tenant_id(value):
        raise ValueError(f"not a tenant id: {value!r} (lowercase letters and digits in words joined by single "
                         f"hyphens, at most {MAX_TENANT_ID} characters)")
    return value  # type: ignore[return-value]


def current_tenant() -> Optional[str]:
    """The tenant of the request (or job) in progress; None outside any."""
    return _current.get()


def require_tenant() -> str:
    tenant = _current.get()
    if tenant is None:
        raise NoTenantError("no tenant: this runs outside a tenant's request (use tenant_scope for jobs)")
    return tenant


def resolve_tenant(tenant_id: Optional[str] = None) -> str:
    """The tenant to act for: the current one by default. An explicit tenant is allowed outside a
    request, or when it is the current one: inside tenant A's request nothing acts for tenant B."""
    current = _current.get()
    if tenant_id is None:
        return require_tenant()
    check_tenant_id(tenant_id)
    if current is not None and tenant_id != current:
        raise TenantMismatchError(f"refused: work for tenant {tenant_id} inside tenant {current}'s request")
    return tenant_id


@contextmanager
def tenant_scope(tenant_id: str) -> Iterator[str]:
    """Act for a tenant outside a request (a queue consumer, a scheduled job). Nested inside another
    tenant's request or scope, it is refused: a scope never switches tenants."""
    check_tenant_id(tenant_id)
    current = _current.get()
    if current is not None and current != tenant_id:
        raise TenantMismatchError(f"refused: tenant_scope({tenant_id}) inside tenant {current}'s request")
    token = _current.set(tenant_id)
    try:
        yield tenant_id
    finally:
        _current.reset(token)


def _bind(tenant_id: str):
    """For the middleware: set the tenant of a request; returns the token to reset."""
    return _current.set(tenant_id)


def _unbind(token) -> None:
    _current.reset(token)
