"""Sign-in (Cognito): the user pools and each tenant's app client, alone under the harness's mocks
(`run_function`) and on the fixture's dev plan. What must hold: no user can pick or change their
tenant (immutable attribute, administrators create users, no client writes it), pooled tenants share
the platform's pool with a group each, isolated tenants (and the plans that say so) get a pool of
their own, pools are protected, and each tenant's outputs are what `tenancy.context` verifies with."""

from __future__ import annotations

import pulumi
import pytest

from components.auth import WRITE_ATTRIBUTES, LoginArgs, TenantLogin, UserPool, UserPoolArgs
from tenancy.context.tokens import StaticResolver, TenantIssuer
from tenancy.plan.constraints import check_constraints
from tenancy.plan.harness import Recording, run_function
from tenancy.registry import naming
from tenancy.registry.models import Tier

from .conftest import DEV_TENANTS

REGION = "eu-west-1"
POOL, CLIENT, GROUP = "aws:cognito/userPool:UserPool", "aws:cognito/userPoolClient:UserPoolClient", \
    "aws:cognito/userGroup:UserGroup"
ISSUER = f"https://cognito-idp.{REGION}.amazonaws.com/eu-west-1_Pool1"


def alone(build) -> Recording:
    return run_function(build, config={"aws:region": REGION})


def one(rec: Recording, type_: str):
    found = rec.of_type(type_)
    assert len(found) == 1, [r.name for r in found]
    return found[0]


def login(own_pool: bool, callback: bool = True) -> Recording:
    def build():
        made = TenantLogin("dev-acme-login", LoginArgs(
            tenant_id="acme", client_name="tenancy-dev-acme", user_pool_id="eu-west-1_Pool1", issuer=ISSUER,
            own_pool=own_pool, callback_urls=["https://acme.dev.example.com/auth/callback"] if callback else (),
            logout_urls=["https://acme.dev.example.com/"] if callback else ()))
        pulumi.export("identity", made.identity)
    return alone(build)


# -- the user pool -----------------------------------------------------------------------------------

@pytest.mark.parametrize("protect", [True, False])
def test_a_user_pool_holds_an_immutable_tenant_attribute_only_administrators_set(protect):
    rec = alone(lambda: pulumi.export("issuer", UserPool("users", UserPoolArgs("tenancy-dev-pool", REGION,
                                                                                protect=protect)).issuer))
    pool = one(rec, POOL)
    (attribute,) = pool.input("schemas")
    assert attribute["name"] == naming.TENANT_ATTRIBUTE and attribute["mutable"] is False
    assert attribute["attributeDataType"] == "String" and attribute["developerOnlyAttribute"] is False
    assert pool.input("adminCreateUserConfig")["allowAdminCreateUserOnly"] is True  # no self sign-up
    assert pool.input("deletionProtection") == "ACTIVE"
    assert (pool.protect, pool.retain_on_delete) == (protect, False)
    assert pool.input("passwordPolicy")["minimumLength"] >= 12
    assert rec.outputs["issuer"] == f"https://cognito-idp.{REGION}.amazonaws.com/{pool.id}"
    assert check_constraints(rec) == []


# -- the app client ------------------------------------------------------------------------------------

@pytest.mark.parametrize("own_pool", [True, False])
def test_an_app_client_is_public_with_code_flow_and_can_never_write_the_tenant(own_pool):
    rec = login(own_pool)
    client = one(rec, CLIENT)
    assert client.input("generateSecret") is False
    assert client.input("allowedOauthFlows") == ["code"] and client.input("allowedOauthFlowsUserPoolClient") is True
    assert client.input("callbackUrls") == ["https://acme.dev.example.com/auth/callback"]
    assert f"custom:{naming.TENANT_ATTRIBUTE}" in client.input("readAttributes")
    assert not any(a.startswith("custom:") for a in client.input("writeAttributes"))
    assert client.input("writeAttributes") == list(WRITE_ATTRIBUTES)
    assert client.input("enableTokenRevocation") is True
    assert client.input("preventUserExistenceErrors") == "ENABLED"
    assert (client.input("accessTokenValidity"), client.input("idTokenValidity")) == (60, 60)
    assert client.input("tokenValidityUnits") == {"accessToken": "minutes", "idToken": "minutes",
                                                  "refreshToken": "days"}
    groups = rec.of_type(GROUP)
    assert [g.input("name") for g in groups] == ([] if own_pool else ["acme"])
    assert all(g.input("userPoolId") == "eu-west-1_Pool1" and not g.input("roleArn") for g in groups)
    assert check_constraints(rec) == []


def test_the_identity_output_is_what_the_runtime_library_resolves_tenants_with():
    rec = login(own_pool=True)
    identity = rec.outputs["identity"]
    assert set(identity) == {"issuer", "jwksUrl", "audience", "userPoolId", "ownPool"}
    assert identity["jwksUrl"] == f"{ISSUER}/.well-known/jwks.json"
    assert identity["audience"] == one(rec, CLIENT).id
    resolver = StaticResolver.from_mapping({"acme": identity})
    assert resolver.issuer_for("acme") == TenantIssuer.cognito(REGION, "eu-west-1_Pool1", identity["audience"], True)
    assert resolver.tenant_for_issuer(ISSUER) == "acme"


def test_without_a_host_to_return_to_the_client_has_no_oauth_flow():
    client = one(login(own_pool=False, callback=False), CLIENT)
    assert client.input("allowedOauthFlowsUserPoolClient") is False
    assert not client.input("allowedOauthFlows") and not client.input("callbackUrls")
    assert client.input("explicitAuthFlows") == ["ALLOW_USER_SRP_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"]


@pytest.mark.parametrize("change, field", [
    ({"callbackUrls": ["http://acme.example.com/cb"]}, "callbackUrls"),
    ({"callbackUrls": None}, "callbackUrls"),
    ({"accessTokenValidity": 2}, "accessTokenValidity"),
    ({"refreshTokenValidity": 3651}, "refreshTokenValidity"),
    ({"name": "tenancy dev/acme"}, "name"),
])
def test_the_offline_plan_refuses_what_cognito_refuses_of_a_client(change, field):
    rec = login(own_pool=False)
    client = one(rec, CLIENT)
    client.inputs.update(change)
    assert [b.field for b in check_constraints(rec)] == [field]


def test_the_offline_plan_refuses_a_custom_attribute_name_over_twenty_characters():
    rec = alone(lambda: UserPool("users", UserPoolArgs("tenancy-dev-pool", REGION)))
    pool = one(rec, POOL)
    pool.inputs["schemas"] = [{**pool.input("schemas")[0], "name": "tenant_identifier_long"}]
    assert [b.field for b in check_constraints(rec)] == ["schemas[0].name"]


# -- on the fixture's dev plan -------------------------------------------------------------------------

def _identities(dev) -> dict:
    return {t: dev.outputs["tenants"][t]["identity"] for t in DEV_TENANTS}


def test_pooled_tenants_sign_in_through_the_platforms_pool_others_through_their_own(dev, registry):
    platform_pool = dev.named("dev-platform-users-pool")
    assert platform_pool.protect and platform_pool.input("name") == naming.user_pool_name("dev", naming.POOL_OWNER)
    for tenant_id, identity in _identities(dev).items():
        tenant = registry.get(tenant_id)
        own = [r for r in dev.tenant("dev", tenant_id) if r.type == POOL]
        groups = [r for r in dev.tenant("dev", tenant_id) if r.type == GROUP]
        assert identity["ownPool"] is tenant.own_user_pool
        if tenant.isolation is Tier.isolated:
            assert identity["ownPool"], tenant_id  # always, whatever the plan says
        if identity["ownPool"]:
            assert [p.id for p in own] == [identity["userPoolId"]] and own[0].protect and groups == []
        else:
            assert own == [] and identity["userPoolId"] == platform_pool.id
            assert [(g.input("name"), g.input("userPoolId")) for g in groups] == [(tenant_id, platform_pool.id)]
        (client,) = [r for r in dev.tenant("dev", tenant_id) if r.type == CLIENT]
        assert client.input("userPoolId") == identity["userPoolId"] and client.id == identity["audience"]


def test_every_tenant_has_its_own_audience_and_the_runtime_library_accepts_the_plans_outputs(dev):
    identities = _identities(dev)
    assert len({i["audience"] for i in identities.values()}) == len(identities)
    resolver = StaticResolver.from_mapping(identities)  # refuses an own pool shared with another tenant
    for tenant_id, identity in identities.items():
        assert resolver.issuer_for(tenant_id).issuer == identity["issuer"]
        assert (resolver.tenant_for_issuer(identity["issuer"]) == tenant_id) is identity["ownPool"]


def test_the_callback_is_the_tenants_own_host(dev):
    for tenant_id in DEV_TENANTS:
        (client,) = [r for r in dev.tenant("dev", tenant_id) if r.type == CLIENT]
        host = dev.outputs["tenants"][tenant_id]["route"]["host"]
        assert client.input("callbackUrls") == [f"https://{host}/auth/callback"]
