"""Identity providers on a loopback JWKS server, the dataplane tests' PostgreSQL (imported, not
copied), and a moto server."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from tenancy.context.tokens import StaticResolver, TokenVerifier

from ..dataplane.conftest import database, dev_tenants
from ..dataplane.servers import Postgres
from .idp import JwksServer, UserPool

# The dataplane tests' fixtures, shared with this directory (and tests/examples).
__all__ = ["database", "dev_tenants"]

# Two pooled tenants share a user pool; charlie's is its own (an isolated tenant).
ALPHA, BRAVO, CHARLIE = "alpha", "bravo", "charlie"
CLIENTS = {ALPHA: "client-alpha", BRAVO: "client-bravo", CHARLIE: "client-charlie"}


@pytest.fixture(scope="session")
def jwks_server():
    server = JwksServer()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def pools(jwks_server):
    """The pooled user pool, charlie's own pool, and a pool nobody trusts."""
    return {"pooled": UserPool(jwks_server, "Pooled"), "charlie": UserPool(jwks_server, "Charlie"),
            "rogue": UserPool(jwks_server, "Rogue")}


@pytest.fixture
def resolver(pools):
    pooled, own = pools["pooled"], pools["charlie"]
    return StaticResolver({ALPHA: pooled.entry(CLIENTS[ALPHA]), BRAVO: pooled.entry(CLIENTS[BRAVO]),
                           CHARLIE: own.entry(CLIENTS[CHARLIE], own_pool=True)})


@pytest.fixture
def verifier(resolver):
    """A fresh verifier (and so fresh JWKS caches) per test."""
    return TokenVerifier(resolver)


def call(app, method: str = "GET", path: str = "/", headers: dict | None = None, **kwargs) -> httpx.Response:
    async def go():
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://service") as client:
            return await client.request(method, path, headers=headers, **kwargs)

    return asyncio.run(go())


def bearer(token: str, tenant_header: str | None = None) -> dict:
    headers = {"Authorization": f"Bearer {token}"}
    if tenant_header is not None:
        headers["X-Tenant-ID"] = tenant_header
    return headers


_servers: dict[str, Postgres] = {}


@pytest.fixture(scope="session")
def postgres(request):
    """The dataplane tests' PostgreSQL, one for tests/context and tests/examples together (each
    directory's conftest names this fixture; the server starts once and stops at the session's end)."""
    if "postgres" not in _servers:
        server = _servers["postgres"] = Postgres.start()
        request.config.add_cleanup(server.stop)
    return _servers["postgres"]


@pytest.fixture(scope="session")
def pool_login(postgres):
    """The pooled-services login (roles are cluster-wide: created once per server)."""
    from .pooled import create_pool_login

    return create_pool_login(postgres)


@pytest.fixture
def base(dev_tenants):
    """The pooled tenant the dataplane attack tests copy their tenants from."""
    return next(t for t in dev_tenants if t.id == "northwind")
