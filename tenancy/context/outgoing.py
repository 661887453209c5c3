"""`X-Tenant-ID` on outgoing httpx requests, from the tenant in context:

    httpx.Client(event_hooks=event_hooks())               # sync
    httpx.AsyncClient(event_hooks=event_hooks(asynchronous=True))

Inside a tenant's request the header is set to that tenant, overwriting whatever the caller put
there (code that copies an inbound header or builds one from user input cannot speak for another
tenant); outside any request the header is removed (no tenant, no claim to be one). Use these
clients for the platform's own services: the header tells a third party which tenant is calling."""

from __future__ import annotations

from typing import Any

from .tenant import TENANT_HEADER, current_tenant


def set_tenant_header(request: Any) -> None:
    """An httpx request hook (any object with a mutable `headers` mapping)."""
    tenant = current_tenant()
    headers = request.headers
    if TENANT_HEADER in headers:
        del headers[TENANT_HEADER]  # every value, whatever its case
    if tenant is not None:
        headers[TENANT_HEADER] = tenant


async def set_tenant_header_async(request: Any) -> None:
    """The same hook for httpx.AsyncClient, whose hooks must be coroutines."""
    set_tenant_header(request)


def event_hooks(asynchronous: bool = False) -> dict[str, list]:
    return {"request": [set_tenant_header_async if asynchronous else set_tenant_header]}
