"""A pooled notes service wired with tenancy.context: every request needs a token of its tenant, the
tenant travels into the database (its own role, so row security filters: no WHERE tenant_id here),
into outgoing calls (X-Tenant-ID) and into every log line.

    TENANCY_ISSUERS=issuers.json DATABASE_URL="host=... user=tenancy_pool ..." AUDIT_URL=http://audit \\
        uvicorn --factory examples.notes_service:from_environment

issuers.json: {"<tenant>": {"issuer": ..., "jwksUrl": ..., "audience": "<app client id>", "ownPool": false}}.
The table is shared.notes (tenant_id text DEFAULT tenancy.current_tenant(), body text, ...)."""

from __future__ import annotations

import contextlib
import json
import logging
import os

import httpx
from psycopg_pool import AsyncConnectionPool
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from tenancy.context import (
    AsyncTenantDatabase,
    StaticResolver,
    TenantLogFilter,
    TenantMiddleware,
    TokenVerifier,
    add_tenant_to_logs,
    async_reset_connection,
    current_tenant,
    event_hooks,
)

log = logging.getLogger("examples.notes")
log.addFilter(TenantLogFilter())  # every record of this logger carries tenant_id, whatever the handlers


def create_app(resolver: StaticResolver, db: AsyncTenantDatabase, audit: httpx.AsyncClient,
               lifespan=None) -> Starlette:
    async def health(request: Request) -> JSONResponse:
        return JSONResponse({"status": "ok"})

    async def list_notes(request: Request) -> JSONResponse:
        async with db.transaction() as conn:
            rows = await (await conn.execute("SELECT body FROM notes ORDER BY body")).fetchall()
        log.info("listed %d notes", len(rows))
        return JSONResponse({"tenant": request.state.tenant_id, "notes": [body for (body,) in rows]})

    async def add_note(request: Request) -> JSONResponse:
        body = str((await request.json())["body"])
        async with db.transaction() as conn:
            await conn.execute("INSERT INTO notes (body) VALUES (%s)", [body])
        await audit.post("/events", json={"event": "note.created"})  # X-Tenant-ID set by the hook
        log.info("added a note")
        return JSONResponse({"tenant": current_tenant()}, status_code=201)

    routes = [Route("/health", health), Route("/notes", list_notes, methods=["GET"]),
              Route("/notes", add_note, methods=["POST"])]
    verifier = TokenVerifier(resolver)
    return Starlette(routes=routes, lifespan=lifespan,
                     middleware=[Middleware(TenantMiddleware, verifier=verifier, public_paths={"/health"})])


def from_environment() -> Starlette:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s tenant=%(tenant_id)s %(name)s %(message)s")
    add_tenant_to_logs()
    with open(os.environ["TENANCY_ISSUERS"]) as issuers:
        resolver = StaticResolver.from_mapping(json.load(issuers))
    pool = AsyncConnectionPool(os.environ["DATABASE_URL"], kwargs={"autocommit": True},
                               reset=async_reset_connection, open=False)
    audit = httpx.AsyncClient(base_url=os.environ["AUDIT_URL"], event_hooks=event_hooks(asynchronous=True))

    @contextlib.asynccontextmanager
    async def lifespan(app):
        async with pool, audit:
            yield

    return create_app(resolver, AsyncTenantDatabase(pool), audit, lifespan)
