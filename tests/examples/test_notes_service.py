"""The example service end to end through its ASGI app (httpx's ASGITransport): a real PostgreSQL
bootstrapped by the project, tokens from generated keys on a loopback JWKS, an audit service that
records what reaches it. Attacks first: forged headers, other tenants' tokens, expired, wrong
issuer or audience; none reaches the database or the audit service."""

from __future__ import annotations

import logging
import time

import httpx
import pytest

from examples.notes_service import create_app
from tenancy.context import AsyncTenantDatabase
from tenancy.context.tokens import StaticResolver

from ..context.conftest import CLIENTS, call
from ..context.pooled import make_pooled


class Client:
    def __init__(self, app):
        self.app = app

    def get(self, path: str, headers: dict | None = None) -> httpx.Response:
        return call(self.app, "GET", path, headers)

    def post(self, path: str, json: dict, headers: dict | None = None) -> httpx.Response:
        return call(self.app, "POST", path, headers, json=json)


@pytest.fixture
def service(database, base, pool_login, pools):
    pooled = make_pooled(database, base)
    pooled.grant()
    a, b = pooled.id("a"), pooled.id("b")
    pool = pools["pooled"]
    resolver = StaticResolver({a: pool.entry(CLIENTS["alpha"]), b: pool.entry(CLIENTS["bravo"])})
    audited: list[dict] = []

    def audit_endpoint(request: httpx.Request) -> httpx.Response:
        audited.append({"path": request.url.path, "tenant": request.headers.get_list("x-tenant-id")})
        return httpx.Response(204)

    from tenancy.context import event_hooks

    audit = httpx.AsyncClient(transport=httpx.MockTransport(audit_endpoint), base_url="http://audit",
                              event_hooks=event_hooks(asynchronous=True))
    app = create_app(resolver, AsyncTenantDatabase(pooled.conninfo()), audit)
    client = Client(app)

    def token(key: str, **options) -> str:
        return pool.token(pooled.id(key), CLIENTS["alpha" if key == "a" else "bravo"], **options)

    def headers(key: str, tenant_header: str | None = None, **options) -> dict:
        out = {"Authorization": f"Bearer {token(key, **options)}"}
        if tenant_header is not None:
            out["X-Tenant-ID"] = tenant_header
        return out

    return pooled, client, headers, audited


def seed(service) -> None:
    pooled, client, headers, _ = service
    for key, body in (("a", "a-1"), ("a", "a-2"), ("b", "b-secret")):
        assert client.post("/notes", json={"body": body}, headers=headers(key)).status_code == 201


def test_a_forged_tenant_header_never_reaches_another_tenants_rows(service):
    seed(service)
    pooled, client, headers, audited = service
    a, b = pooled.id("a"), pooled.id("b")
    before = pooled.superuser_rows()
    audits = len(audited)
    # alpha's token, bravo's header: refused before any query or call.
    response = client.get("/notes", headers=headers("a", b))
    assert response.status_code == 403 and "b-secret" not in response.text
    assert client.post("/notes", json={"body": "planted"}, headers=headers("a", b)).status_code == 403
    assert pooled.superuser_rows() == before and len(audited) == audits
    # alpha's token alone: alpha's rows alone, though the handler has no WHERE.
    assert client.get("/notes", headers=headers("a")).json() == {"tenant": a, "notes": ["a-1", "a-2"]}
    assert client.get("/notes", headers=headers("b", b)).json() == {"tenant": b, "notes": ["b-secret"]}


def test_invalid_tokens_are_refused_with_401(service, pools):
    pooled, client, headers, _ = service
    a = pooled.id("a")
    expired = headers("a", issued=time.time() - 7200)
    wrong_issuer = {"Authorization": f"Bearer {pools['rogue'].token(a, CLIENTS['alpha'])}"}
    wrong_audience = {"Authorization": f"Bearer {pools['pooled'].token(a, CLIENTS['bravo'])}"}
    for bad in ({}, {"X-Tenant-ID": a}, expired, wrong_issuer, wrong_audience):
        response = client.get("/notes", headers=bad)
        assert response.status_code == 401, bad
        assert response.headers["www-authenticate"].startswith("Bearer")


def test_a_token_of_another_tenant_is_refused_with_403(service):
    pooled, client, headers, _ = service
    # The gateway routed alpha's host (X-Tenant-ID: alpha); the caller brings bravo's token.
    assert client.get("/notes", headers=headers("b", pooled.id("a"))).status_code == 403


def test_health_needs_no_token(service):
    _, client, _, _ = service
    assert client.get("/health").json() == {"status": "ok"}


def test_outgoing_calls_and_log_records_carry_the_verified_tenant(service, caplog):
    pooled, client, headers, audited = service
    a = pooled.id("a")
    with caplog.at_level(logging.INFO, logger="examples.notes"):
        response = client.post("/notes", json={"body": "x"}, headers=headers("a", a))
        assert response.status_code == 201
        logging.getLogger("examples.notes").info("outside any request")
    assert audited[-1] == {"path": "/events", "tenant": [a]}
    records = [r for r in caplog.records if r.name == "examples.notes"]
    assert [(r.getMessage(), r.tenant_id) for r in records] == [("added a note", a), ("outside any request", "-")]


def test_the_service_starts_from_its_environment(tmp_path, monkeypatch, pools):
    from examples.notes_service import from_environment

    pool = pools["pooled"]
    issuers = tmp_path / "issuers.json"
    issuers.write_text(f'{{"alpha": {{"issuer": "{pool.issuer}", "jwksUrl": "{pool.jwks_url}", '
                       f'"audience": "{CLIENTS["alpha"]}"}}}}')
    monkeypatch.setenv("TENANCY_ISSUERS", str(issuers))
    monkeypatch.setenv("DATABASE_URL", "host=127.0.0.1 port=1 dbname=none")  # opened by the lifespan only
    monkeypatch.setenv("AUDIT_URL", "http://audit")
    app = from_environment()
    assert call(app, "GET", "/health").json() == {"status": "ok"}
    token = pool.token("alpha", CLIENTS["bravo"])
    assert call(app, "GET", "/notes", {"Authorization": f"Bearer {token}"}).status_code == 401
