"""tenant_id on log records and X-Tenant-ID on outgoing calls, from the tenant in context: inside a
verified request, inside tenant_scope, and outside any (where neither may claim a tenant)."""

from __future__ import annotations

import asyncio
import io
import logging
import threading

import httpx
import pytest

from tenancy.context import (
    NoTenantError,
    TenantLogFilter,
    TenantMismatchError,
    add_tenant_to_logs,
    current_tenant,
    event_hooks,
    require_tenant,
    resolve_tenant,
    tenant_scope,
)
from tenancy.context.middleware import TenantMiddleware

from .conftest import ALPHA, BRAVO, CLIENTS, bearer, call


@pytest.fixture
def log_lines():
    """A logger whose handler carries the filter and prints `tenant_id message`."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(tenant_id)s %(message)s"))
    add_tenant_to_logs([handler])
    logger = logging.getLogger("tests.context.service")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False
    yield logger, lambda: stream.getvalue().splitlines()
    logger.removeHandler(handler)


def test_log_records_carry_the_tenant_or_a_dash(log_lines):
    logger, lines = log_lines
    logger.info("starting")
    with tenant_scope(ALPHA):
        logger.info("job")
        logging.getLogger("tests.context.service.child").info("from a child logger")  # propagated to the handler
        logger.info("forged", extra={"tenant_id": BRAVO})  # the context wins over a caller's value
    logger.info("done")
    assert lines() == ["- starting", "alpha job", "alpha from a child logger", "alpha forged", "- done"]


def test_log_records_inside_a_request_carry_its_tenant(log_lines, verifier, pools):
    logger, lines = log_lines

    async def app(scope, receive, send):
        logger.info("handling %s", scope["path"])
        await asyncio.to_thread(logger.info, "in a worker thread")
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    middleware = TenantMiddleware(app, verifier)
    pool = pools["pooled"]
    for tenant in (ALPHA, BRAVO):
        assert call(middleware, "GET", "/x", bearer(pool.token(tenant, CLIENTS[tenant]))).status_code == 204
    logger.info("after")
    assert lines() == ["alpha handling /x", "alpha in a worker thread", "bravo handling /x",
                       "bravo in a worker thread", "- after"]


def test_the_filter_sets_the_attribute_for_any_formatter():
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "m", (), None)
    assert TenantLogFilter().filter(record) and record.tenant_id == "-"
    with tenant_scope(BRAVO):
        TenantLogFilter().filter(record)
    assert record.tenant_id == BRAVO


def _echo(request: httpx.Request) -> httpx.Response:
    return httpx.Response(200, json={"tenant": request.headers.get_list("x-tenant-id")})


def test_outgoing_calls_carry_the_tenant_and_overwrite_a_callers_value():
    with httpx.Client(transport=httpx.MockTransport(_echo), event_hooks=event_hooks()) as client:
        with tenant_scope(ALPHA):
            assert client.get("http://svc/", headers={"X-Tenant-ID": BRAVO}).json() == {"tenant": [ALPHA]}
            assert client.get("http://svc/", headers=[("x-tenant-id", BRAVO), ("X-TENANT-ID", "c")]).json() == \
                {"tenant": [ALPHA]}
            assert client.get("http://svc/").json() == {"tenant": [ALPHA]}
        # Outside any tenant, no tenant header leaves the service, whatever the caller set.
        assert client.get("http://svc/", headers={"X-Tenant-ID": BRAVO}).json() == {"tenant": []}


def test_outgoing_async_calls_carry_the_tenant_of_their_own_task():
    async def one(client, tenant):
        with tenant_scope(tenant):
            await asyncio.sleep(0.01)
            return (await client.get("http://svc/", headers={"X-Tenant-ID": "forged"})).json()["tenant"]

    async def go():
        async with httpx.AsyncClient(transport=httpx.MockTransport(_echo),
                                     event_hooks=event_hooks(asynchronous=True)) as client:
            return await asyncio.gather(*(one(client, t) for t in (ALPHA, BRAVO) * 5))

    assert asyncio.run(go()) == [[ALPHA], [BRAVO]] * 5


def test_scopes_never_switch_tenants_and_explicit_tenants_must_match():
    assert current_tenant() is None
    with pytest.raises(NoTenantError):
        require_tenant()
    with pytest.raises(ValueError):
        tenant_scope("Bravo").__enter__()
    with tenant_scope(ALPHA):
        with pytest.raises(TenantMismatchError), tenant_scope(BRAVO):
            pass
        with tenant_scope(ALPHA):  # re-entering the same tenant is fine
            assert resolve_tenant() == resolve_tenant(ALPHA) == ALPHA
        with pytest.raises(TenantMismatchError):
            resolve_tenant(BRAVO)
    assert resolve_tenant(BRAVO) == BRAVO  # outside a request, a job may name its tenant
    assert current_tenant() is None


def test_a_bare_thread_does_not_inherit_the_tenant():
    seen = []
    with tenant_scope(ALPHA):
        thread = threading.Thread(target=lambda: seen.append(current_tenant()))
        thread.start()
        thread.join()
    assert seen == [None]  # documented: use contextvars.copy_context().run for bare threads
