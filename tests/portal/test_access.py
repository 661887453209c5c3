"""Who sees what: a tenant admin its own tenant only (any other answers 404, exactly as a tenant that
does not exist, for pages and form posts, by session or bearer token), a platform admin every
tenant; tokens verified as the services verify them; CSRF on every form."""

from __future__ import annotations

import re
import time

import pytest

from .conftest import PLATFORM_CLIENT, TENANT_CLIENT, PortalClient, branches


def test_nobody_signed_in_goes_to_the_login_form(client):
    assert client.get("/").headers["location"] == "/login"
    assert client.get("/tenants/acme").headers["location"] == "/login?next=/tenants/acme"
    assert client.post("/tenants/acme/quotas", data={"quotas.maxUsers": "1"}).status_code == 401
    assert client.get("/healthz").text == "ok\n"


def test_a_tenant_admin_sees_its_own_tenant_and_nothing_else(client, identities, repo):
    signed = client.sign_in(identities.tenant_admin("acme"))
    assert (signed.status_code, signed.headers["location"]) == (303, "/")
    assert client.get("/").headers["location"] == "/tenants/acme"
    page = client.get("/tenants/acme")
    assert page.status_code == 200 and "Acme Corp" in page.text and "admin@acme.example" in page.text
    assert "Suspend or resume" not in page.text  # platform admins only
    other, missing = client.get("/tenants/globex"), client.get("/tenants/no-such-tenant")
    assert other.status_code == missing.status_code == 404
    assert "Globex" not in other.text and other.text.replace("globex", "x") == missing.text.replace("no-such-tenant", "x")
    csrf = client.csrf("/tenants/acme")
    for form in ("quotas", "features", "alerts", "plan", "status"):
        assert client.post(f"/tenants/globex/{form}", data={"csrf": csrf, "quotas.maxUsers": "300"}).status_code == 404
    assert client.post("/tenants/acme/status", data={"csrf": csrf, "action": "suspend"}).status_code == 403
    assert client.get("/reports/billing").status_code == 404
    assert branches(repo) == ["main"]


def test_a_platform_admin_sees_every_tenant(client, identities):
    client.sign_in(identities.platform_admin())
    index = client.get("/")
    assert index.status_code == 200
    ids = re.findall(r'<tr id="tenant-([a-z0-9-]+)">', index.text)
    assert ids == ["acme", "brightside", "globex", "initech", "northwind", "umbrella"]
    for tenant in ids:
        page = client.get(f"/tenants/{tenant}")
        assert page.status_code == 200 and f'<span class="muted">{tenant}</span>' in page.text
    assert "Suspend or resume" in client.get("/tenants/acme").text


def test_bearer_tokens_get_the_same_answers(client, identities):
    acme = {"Authorization": f"Bearer {identities.tenant_admin('acme')}"}
    assert client.get("/tenants/acme", headers=acme).status_code == 200
    assert client.get("/tenants/globex", headers=acme).status_code == 404
    platform = {"Authorization": f"Bearer {identities.platform_admin()}"}
    assert client.get("/tenants/globex", headers=platform).status_code == 200
    forged = {"Authorization": f"Bearer {identities.rogue.token('acme', TENANT_CLIENT, **{'cognito:groups': ['tenant-admins']})}"}
    assert client.get("/tenants/acme", headers=forged).status_code == 401


@pytest.mark.parametrize("token, status, reason", [
    (lambda i: i.tenant_admin("acme", groups=()), 403, "not an admin of tenant acme"),
    (lambda i: i.tenant_admin("acme", groups=("platform-admins",)), 403, "not an admin of tenant acme"),
    (lambda i: i.platform_admin(groups=("tenant-admins",)), 403, "not in the platform-admins group"),
    (lambda i: i.rogue.token(None, PLATFORM_CLIENT, **{"cognito:groups": ["platform-admins"]}), 401, ""),
    (lambda i: i.tenants.token("acme", "another-client", **{"cognito:groups": ["tenant-admins"]}), 401, "audience"),
    (lambda i: i.tenants.token("acme", TENANT_CLIENT, issued=time.time() - 7200, **{"cognito:groups": ["tenant-admins"]}),
     401, "expired"),
    (lambda i: i.tenant_admin("not-in-registry"), 401, "not served here"),
    (lambda i: "not.a.token", 401, "malformed"),
])
def test_refused_identities(client, identities, token, status, reason):
    """A tenant's pool cannot make platform admins (the group counts from the platform's issuer only);
    a token of the wrong pool, audience or age, or of a tenant not in the registry, signs nobody in."""
    refused = client.sign_in(token(identities))
    assert refused.status_code == status and reason in refused.text
    assert client.get("/").status_code == 303  # still signed out


def test_forms_need_the_session_csrf_token(client, identities, repo):
    client.sign_in(identities.tenant_admin("brightside"))
    assert client.post("/tenants/brightside/quotas", data={"quotas.maxUsers": "30"}).status_code == 403
    assert client.post("/tenants/brightside/quotas", data={"csrf": "forged", "quotas.maxUsers": "30"}).status_code == 403
    cross = client.post("/tenants/brightside/quotas", data={"csrf": client.csrf("/tenants/brightside"),
                                                            "quotas.maxUsers": "30"},
                        headers={"Origin": "https://evil.example"})
    assert cross.status_code == 403
    assert branches(repo) == ["main"]
    fresh = PortalClient(client.http._transport.app)  # another browser: no session, no token
    try:
        assert fresh.post("/login", data={"id_token": identities.tenant_admin("brightside")}).status_code == 403
    finally:
        fresh.close()


def test_signing_out_ends_the_session(client, identities):
    client.sign_in(identities.tenant_admin("acme"))
    csrf = client.csrf("/tenants/acme")
    assert client.post("/logout", data={"csrf": csrf}).headers["location"] == "/login"
    assert client.get("/tenants/acme").status_code == 303


def test_security_headers(client, identities):
    client.sign_in(identities.tenant_admin("acme"))
    page = client.get("/tenants/acme")
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
    assert page.headers["x-frame-options"] == "DENY" and page.headers["cache-control"] == "no-store"
    cookie = client.sign_in(identities.tenant_admin("acme")).headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie
