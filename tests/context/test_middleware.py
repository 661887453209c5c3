"""The middleware against tokens minted by generated keys and published on a loopback JWKS server:
attacks first (each refused with the right status and nothing reaching the app), then what passes."""

from __future__ import annotations

import asyncio
import base64
import json
import time

import jwt
import pytest

from tenancy.context import current_tenant
from tenancy.context.middleware import TenantMiddleware
from tenancy.context.tokens import JwksCache, StaticResolver, TenantIssuer, TokenError, TokenVerifier

from .conftest import ALPHA, BRAVO, CHARLIE, CLIENTS, bearer, call
from .idp import new_key


class Recorder:
    """An ASGI app that records the tenant, the scope's state and headers of what reaches it."""

    def __init__(self, delay: float = 0.0):
        self.seen: list[dict] = []
        self.delay = delay

    async def __call__(self, scope, receive, send):
        before = current_tenant()
        if self.delay:
            await asyncio.sleep(self.delay)
        self.seen.append({"tenant": current_tenant(), "before_sleep": before, "path": scope["path"],
                          "state": dict(scope.get("state", {})),
                          "tenant_headers": [v.decode() for k, v in scope["headers"] if k == b"x-tenant-id"]})
        body = json.dumps({"tenant": current_tenant()}).encode()
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"application/json")]})
        await send({"type": "http.response.body", "body": body})


@pytest.fixture
def app(verifier):
    inner = Recorder()
    return TenantMiddleware(inner, verifier, public_paths={"/health"}), inner


def refused(app_and_inner, headers, status: int, reason: str | None = None, path: str = "/notes"):
    app, inner = app_and_inner
    before = len(inner.seen)
    response = call(app, "GET", path, headers)
    assert response.status_code == status, response.text
    assert len(inner.seen) == before, "a refused request reached the app"
    assert current_tenant() is None
    if status == 401:
        assert response.headers["www-authenticate"].startswith("Bearer ")
    if reason is not None:
        assert reason in response.json()["detail"]
    return response


def _segments(token: str) -> list[str]:
    return token.split(".")


def _b64(data: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


# -- attacks: no or broken credentials ------------------------------------------------------------------

def test_no_token_malformed_token_or_another_scheme_is_401(app):
    refused(app, {}, 401, "no bearer token")
    refused(app, {"X-Tenant-ID": ALPHA}, 401, "no bearer token")  # a header alone proves nothing
    refused(app, {"Authorization": "Bearer"}, 401, "no bearer token")
    refused(app, {"Authorization": "Basic YWxwaGE6cHc="}, 401, "no bearer token")
    refused(app, {"Authorization": "Bearer not.a.jwt"}, 401, "malformed")


def test_expired_and_not_yet_valid_tokens_are_401(app, pools):
    pool = pools["pooled"]
    expired = pool.token(ALPHA, CLIENTS[ALPHA], issued=time.time() - 7200, lifetime=3600)
    refused(app, bearer(expired), 401, "expired")
    future = pool.token(ALPHA, CLIENTS[ALPHA], issued=time.time() + 600)
    refused(app, bearer(future), 401, "not valid yet")
    no_expiry = pool.claims(ALPHA, CLIENTS[ALPHA])
    del no_expiry["exp"]
    refused(app, bearer(pool.sign(no_expiry)), 401, "exp")


def test_wrong_issuer_is_401(app, pools):
    pool = pools["pooled"]
    # Signed by the pooled pool's own key, but naming another issuer.
    other = pool.claims(ALPHA, CLIENTS[ALPHA], iss="https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_Other")
    refused(app, bearer(pool.sign(other)), 401, "issuer")
    # A pool nobody trusts, claiming a pooled tenant.
    refused(app, bearer(pools["rogue"].token(ALPHA, CLIENTS[ALPHA])), 401, "issuer")


def test_an_isolated_tenants_own_pool_cannot_mint_tokens_for_another_tenant(app, pools, jwks_server):
    # charlie's administrators control its user pool, and so its users' attributes: a user of that
    # pool with custom:tenant_id=alpha is signed with charlie's valid key, yet is not alpha's.
    own = pools["charlie"]
    fetched = jwks_server.hits[own.path]
    refused(app, bearer(own.token(ALPHA, CLIENTS[ALPHA])), 401, "issuer is not its tenant's")
    refused(app, bearer(own.token(ALPHA, CLIENTS[CHARLIE])), 401, "issuer is not its tenant's")
    assert jwks_server.hits[own.path] == fetched, "a foreign issuer's keys were fetched for the claimed tenant"


def test_wrong_audience_is_401(app, pools):
    pool = pools["pooled"]
    # alpha's claim, bravo's app client: the pooled pool signs both, the audience tells them apart.
    refused(app, bearer(pool.token(ALPHA, CLIENTS[BRAVO])), 401, "audience")
    refused(app, bearer(pool.token(ALPHA, "some-other-app")), 401, "audience")
    refused(app, bearer(pool.token(ALPHA, CLIENTS[BRAVO], token_use="access")), 401, "audience")
    # An ID token without aud is not rescued by client_id (that is for access tokens only).
    claims = pool.claims(ALPHA, CLIENTS[ALPHA])
    del claims["aud"]
    claims["client_id"] = CLIENTS[ALPHA]
    refused(app, bearer(pool.sign(claims)), 401, "audience")


def test_bad_signatures_are_401(app, pools):
    pool = pools["pooled"]
    # A key the issuer never published, under the issuer's real key id.
    forged = pool.sign(pool.claims(ALPHA, CLIENTS[ALPHA]), key=new_key())
    refused(app, bearer(forged), 401, "signature")
    # A genuine bravo token with its payload rewritten to alpha.
    head, payload, signature = _segments(pool.token(BRAVO, CLIENTS[BRAVO]))
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims.update({"custom:tenant_id": ALPHA, "aud": CLIENTS[ALPHA]})
    refused(app, bearer(".".join([head, _b64(claims), signature])), 401, "signature")
    # An unknown key id.
    refused(app, bearer(pool.sign(pool.claims(ALPHA, CLIENTS[ALPHA]), kid="made-up")), 401, "does not publish")


def test_algorithm_confusion_is_401(app, pools):
    pool = pools["pooled"]
    claims = pool.claims(ALPHA, CLIENTS[ALPHA])
    unsigned = jwt.encode(claims, None, algorithm="none", headers={"kid": pool.kid})
    refused(app, bearer(unsigned), 401, "algorithm")
    # HS256 keyed with the public key's JWK text, the classic confusion.
    public = pool.server.documents[pool.path].decode()
    header = _b64({"alg": "HS256", "typ": "JWT", "kid": pool.kid})
    body = _b64(claims)
    import hashlib
    import hmac
    mac = hmac.new(public.encode(), f"{header}.{body}".encode(), hashlib.sha256).digest()
    hs = f"{header}.{body}.{base64.urlsafe_b64encode(mac).rstrip(b'=').decode()}"
    refused(app, bearer(hs), 401, "algorithm")


def test_unknown_tenants_and_tokens_without_a_tenant_are_401(app, pools):
    pool = pools["pooled"]
    refused(app, bearer(pool.token("delta", CLIENTS[ALPHA])), 401, "not served here")
    refused(app, bearer(pool.token("Alpha; DROP", CLIENTS[ALPHA])), 401, "not a tenant id")
    refused(app, bearer(pool.token(None, CLIENTS[ALPHA])), 401, "no custom:tenant_id")  # the pooled pool is nobody's own
    refused(app, bearer(pool.token(ALPHA, CLIENTS[ALPHA], token_use="refresh")), 401, "token_use")


# -- attacks: a valid token, another tenant ---------------------------------------------------------------

def test_a_header_naming_another_tenant_is_403(app, pools):
    token = pools["pooled"].token(ALPHA, CLIENTS[ALPHA])
    refused(app, bearer(token, BRAVO), 403, "X-Tenant-ID")
    refused(app, bearer(token, "ALPHA"), 403, "X-Tenant-ID")
    # Two headers, one of them right: still refused (proxies disagree on which one counts).
    refused(app, [("Authorization", f"Bearer {token}"), ("X-Tenant-ID", ALPHA), ("x-tenant-id", BRAVO)], 403)


def test_a_token_of_another_tenant_is_refused(app, pools):
    # The gateway routes bravo's host and sets X-Tenant-ID: bravo; the caller brings alpha's token.
    refused(app, bearer(pools["pooled"].token(ALPHA, CLIENTS[ALPHA]), BRAVO), 403)
    # charlie's own pool, routed to alpha.
    refused(app, bearer(pools["charlie"].token(CHARLIE, CLIENTS[CHARLIE]), ALPHA), 403)


def test_a_header_is_required_when_configured(verifier, pools):
    inner = Recorder()
    app = TenantMiddleware(inner, verifier, require_header=True)
    token = pools["pooled"].token(ALPHA, CLIENTS[ALPHA])
    refused((app, inner), bearer(token), 403, "no X-Tenant-ID")
    assert call(app, "GET", "/", bearer(token, ALPHA)).status_code == 200


def test_unknown_key_ids_do_not_turn_requests_into_jwks_fetches(app, pools, jwks_server):
    pool = pools["pooled"]
    assert call(app[0], "GET", "/", bearer(pool.token(ALPHA, CLIENTS[ALPHA]))).status_code == 200
    fetched = jwks_server.hits[pool.path]
    for n in range(20):
        refused(app, bearer(pool.sign(pool.claims(ALPHA, CLIENTS[ALPHA]), kid=f"made-up-{n}")), 401)
    assert jwks_server.hits[pool.path] == fetched  # within min_refresh: no refetch at all


def test_an_unreachable_jwks_is_503_not_a_pass(resolver, pools, jwks_server):
    app = TenantMiddleware(Recorder(), TokenVerifier(resolver))
    jwks_server.failing = True
    try:
        response = call(app, "GET", "/", bearer(pools["pooled"].token(ALPHA, CLIENTS[ALPHA])))
    finally:
        jwks_server.failing = False
    assert response.status_code == 503
    assert response.json()["error"] == "jwks_unavailable"


def test_a_websocket_without_a_valid_token_is_closed_before_accept(verifier):
    sent = []

    async def go():
        async def receive():
            return {"type": "websocket.connect"}

        async def send(message):
            sent.append(message)

        scope = {"type": "websocket", "path": "/ws", "headers": [(b"x-tenant-id", ALPHA.encode())]}
        await TenantMiddleware(Recorder(), verifier)(scope, receive, send)

    asyncio.run(go())
    assert sent == [{"type": "websocket.close", "code": 1008, "reason": "no bearer token"}]


# -- what passes ------------------------------------------------------------------------------------------

def test_a_valid_token_sets_the_tenant_for_the_request_only(app, pools):
    middleware, inner = app
    response = call(middleware, "GET", "/notes", bearer(pools["pooled"].token(ALPHA, CLIENTS[ALPHA]), ALPHA))
    assert response.status_code == 200 and response.json() == {"tenant": ALPHA}
    seen = inner.seen[-1]
    assert seen["tenant"] == ALPHA and seen["state"]["tenant_id"] == ALPHA
    assert seen["state"]["token_claims"]["aud"] == CLIENTS[ALPHA]
    assert seen["tenant_headers"] == [ALPHA]
    assert current_tenant() is None


def test_without_the_header_the_app_still_sees_exactly_the_verified_tenant(app, pools):
    middleware, inner = app
    assert call(middleware, "GET", "/", bearer(pools["pooled"].token(BRAVO, CLIENTS[BRAVO]))).status_code == 200
    assert inner.seen[-1]["tenant_headers"] == [BRAVO]


def test_cognito_access_tokens_are_checked_by_client_id(app, pools):
    token = pools["pooled"].token(ALPHA, CLIENTS[ALPHA], token_use="access")
    assert call(app[0], "GET", "/", bearer(token)).json() == {"tenant": ALPHA}


def test_an_own_pool_may_leave_the_claim_out_but_a_shared_pool_may_not(app, pools):
    own = pools["charlie"]
    assert call(app[0], "GET", "/", bearer(own.token(None, CLIENTS[CHARLIE]))).json() == {"tenant": CHARLIE}
    assert call(app[0], "GET", "/", bearer(own.token(CHARLIE, CLIENTS[CHARLIE]))).json() == {"tenant": CHARLIE}


def test_public_paths_need_no_token_and_carry_no_tenant(app, pools):
    middleware, inner = app
    response = call(middleware, "GET", "/health", {"X-Tenant-ID": ALPHA})
    assert response.status_code == 200 and response.json() == {"tenant": None}
    # Exact paths only: nothing below /health is public.
    refused(app, {}, 401, path="/health/../notes")
    refused(app, {}, 401, path="/healthz")


def test_the_jwks_is_fetched_once_for_many_requests(verifier, pools, jwks_server):
    app = TenantMiddleware(Recorder(), verifier)
    pool = pools["pooled"]
    before = jwks_server.hits[pool.path]
    for tenant in (ALPHA, BRAVO) * 5:
        assert call(app, "GET", "/", bearer(pool.token(tenant, CLIENTS[tenant]))).status_code == 200
    assert jwks_server.hits[pool.path] == before + 1


def test_concurrent_requests_of_two_tenants_keep_their_own_tenant(verifier, pools):
    inner = Recorder(delay=0.02)
    app = TenantMiddleware(inner, verifier)
    pool = pools["pooled"]
    import httpx

    async def go():
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://service") as client:
            requests = [client.get("/", headers=bearer(pool.token(t, CLIENTS[t]))) for t in (ALPHA, BRAVO) * 10]
            return await asyncio.gather(*requests)

    responses = asyncio.run(go())
    assert [r.json()["tenant"] for r in responses] == [ALPHA, BRAVO] * 10
    assert all(s["tenant"] == s["before_sleep"] == s["tenant_headers"][0] for s in inner.seen)


def test_a_rotated_key_is_picked_up(resolver, pools, jwks_server):
    pool = pools["pooled"]
    verifier = TokenVerifier(resolver, jwks=lambda url: JwksCache(url, min_refresh=0))
    app = TenantMiddleware(Recorder(), verifier)
    assert call(app, "GET", "/", bearer(pool.token(ALPHA, CLIENTS[ALPHA]))).status_code == 200
    from .idp import public_jwk

    rotated = new_key()
    original = jwks_server.documents[pool.path]
    jwks_server.publish(pool.path, {"keys": [*json.loads(original)["keys"], public_jwk(rotated, "pooled-key-2")]})
    try:
        token = pool.sign(pool.claims(ALPHA, CLIENTS[ALPHA]), key=rotated, kid="pooled-key-2")
        assert call(app, "GET", "/", bearer(token)).status_code == 200
    finally:
        jwks_server.documents[pool.path] = original


def test_the_verifier_refuses_symmetric_algorithms_and_inconsistent_resolvers(pools):
    with pytest.raises(ValueError):
        TokenVerifier(StaticResolver({}), algorithms=["HS256"])
    own = pools["charlie"]
    with pytest.raises(ValueError, match="own pool"):
        StaticResolver({CHARLIE: own.entry("c", own_pool=True), ALPHA: own.entry("a")})
    with pytest.raises(ValueError):
        StaticResolver({"Not_An_Id": own.entry("c")})
    assert TenantIssuer.cognito("eu-west-1", "eu-west-1_X", "c").jwks_url == \
        "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_X/.well-known/jwks.json"


def test_plain_http_jwks_is_refused_unless_on_loopback():
    cache = JwksCache("http://jwks.example.com/keys.json")
    with pytest.raises(TokenError) as caught:
        cache.key("k")
    assert caught.value.status == 503 and "not https" in caught.value.reason


def test_a_key_verifies_only_the_algorithm_its_jwk_declares(resolver, pools):
    pool = pools["pooled"]
    inner = Recorder()
    app = TenantMiddleware(inner, TokenVerifier(resolver, algorithms=("RS256", "RS512")))
    token = pool.sign(pool.claims(ALPHA, CLIENTS[ALPHA]), algorithm="RS512")  # its JWK says RS256
    refused((app, inner), bearer(token), 401, "not its key's")


def test_unusable_and_encryption_keys_in_a_jwks_are_skipped(pools):
    pool = pools["pooled"]
    good = json.loads(pool.server.documents[pool.path])["keys"][0]
    document = {"keys": [{"kty": "XYZ", "kid": "junk"}, {**good, "kid": "enc", "use": "enc"}, "nonsense", good]}
    cache = JwksCache("https://issuer.example/jwks.json", fetch=lambda url, timeout: json.dumps(document).encode())
    assert cache.key(pool.kid).algorithm == "RS256"
    with pytest.raises(TokenError, match="does not publish"):
        cache.key("enc")
