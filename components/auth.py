"""Sign-in with Amazon Cognito: user pools, and each tenant's app client.

Pooled tenants sign in through the platform's one shared user pool, where each has an app client and
a group. What says which tenant a user belongs to is the pool's custom attribute `tenant_id` (the
`custom:tenant_id` claim of its ID tokens, which `tenancy.context` reads): immutable (set once, when
an administrator creates the user), never writable through an app client, and self sign-up is off,
so no user can choose or change their tenant. Isolated tenants (and dedicated ones whose plan says
`identity: own`) have a user pool of their own, with the same attribute.

App clients are public (no secret): the tenants' front ends run in browsers, which cannot keep a
secret; they use the authorization code flow with PKCE (and SRP for SDK sign-in). Tokens last an
hour, refresh tokens 30 days, revocable. The OAuth code flow is on only where the tenant has a host
to return to (`tenancy:routing`)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from tenancy.registry.naming import TENANT_ATTRIBUTE

from .context import stateful

ACCESS_TOKEN_MINUTES = 60  # Cognito allows 5 minutes to 1 day
ID_TOKEN_MINUTES = 60
REFRESH_TOKEN_DAYS = 30  # 1 hour to 10 years
OAUTH_SCOPES = ("openid", "email", "profile")
READ_ATTRIBUTES = ("email", "email_verified", "name", f"custom:{TENANT_ATTRIBUTE}")
WRITE_ATTRIBUTES = ("email", "name")  # never custom:tenant_id


def issuer_url(region: str, user_pool_id: pulumi.Input[str]) -> pulumi.Output[str]:
    """The `iss` of the pool's tokens (also where its OpenID configuration lives)."""
    return pulumi.Output.concat(f"https://cognito-idp.{region}.amazonaws.com/", user_pool_id)


def jwks_url(issuer: pulumi.Input[str]) -> pulumi.Output[str]:
    return pulumi.Output.concat(issuer, "/.well-known/jwks.json")


@dataclass(frozen=True)
class UserPoolArgs:
    pool_name: str
    region: str
    protect: bool = True


class UserPool(pulumi.ComponentResource):
    """A user pool whose users carry an immutable `tenant_id`, created by administrators only.
    Stateful (it holds the users): deletion protection on, and `protect`ed unless the stack lifts it."""

    id: pulumi.Output[str]
    arn: pulumi.Output[str]
    issuer: pulumi.Output[str]
    jwks_url: pulumi.Output[str]

    def __init__(self, name: str, args: UserPoolArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("tenancy:auth:UserPool", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        pool = aws.cognito.UserPool(
            f"{name}-pool", name=args.pool_name, deletion_protection="ACTIVE",
            schemas=[aws.cognito.UserPoolSchemaArgs(
                name=TENANT_ATTRIBUTE, attribute_data_type="String", mutable=False, required=False,
                developer_only_attribute=False,
                string_attribute_constraints=aws.cognito.UserPoolSchemaStringAttributeConstraintsArgs(
                    min_length="3", max_length="32"))],
            admin_create_user_config=aws.cognito.UserPoolAdminCreateUserConfigArgs(allow_admin_create_user_only=True),
            username_attributes=["email"], auto_verified_attributes=["email"],
            password_policy=aws.cognito.UserPoolPasswordPolicyArgs(
                minimum_length=12, require_lowercase=True, require_uppercase=True, require_numbers=True,
                require_symbols=True, temporary_password_validity_days=3),
            mfa_configuration="OPTIONAL",
            software_token_mfa_configuration=aws.cognito.UserPoolSoftwareTokenMfaConfigurationArgs(enabled=True),
            account_recovery_setting=aws.cognito.UserPoolAccountRecoverySettingArgs(recovery_mechanisms=[
                aws.cognito.UserPoolAccountRecoverySettingRecoveryMechanismArgs(name="verified_email", priority=1)]),
            tags={},  # the owner's tags, added by its component's transformation
            opts=pulumi.ResourceOptions.merge(child, stateful(args.protect)))
        self.id = pool.id
        self.arn = pool.arn
        self.issuer = issuer_url(args.region, pool.id)
        self.jwks_url = jwks_url(self.issuer)
        self.register_outputs({"id": self.id, "arn": self.arn, "issuer": self.issuer, "jwksUrl": self.jwks_url})


@dataclass(frozen=True)
class LoginArgs:
    tenant_id: str
    client_name: str
    user_pool_id: pulumi.Input[str]
    issuer: pulumi.Input[str]
    own_pool: bool
    callback_urls: Sequence[str] = ()  # the tenant's own host; none: no OAuth code flow
    logout_urls: Sequence[str] = ()


class TenantLogin(pulumi.ComponentResource):
    """A tenant's app client (its tokens' audience) and, in a shared pool, the tenant's group.
    `identity` is what a service needs to verify the tenant's tokens (`StaticResolver.from_mapping`)."""

    client_id: pulumi.Output[str]
    identity: dict

    def __init__(self, name: str, args: LoginArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("tenancy:auth:TenantLogin", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        oauth = bool(args.callback_urls)
        client = aws.cognito.UserPoolClient(
            f"{name}-client", name=args.client_name, user_pool_id=args.user_pool_id, generate_secret=False,
            explicit_auth_flows=["ALLOW_USER_SRP_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
            allowed_oauth_flows_user_pool_client=oauth,
            allowed_oauth_flows=["code"] if oauth else None,
            allowed_oauth_scopes=list(OAUTH_SCOPES) if oauth else None,
            callback_urls=list(args.callback_urls) or None, logout_urls=list(args.logout_urls) or None,
            supported_identity_providers=["COGNITO"],
            read_attributes=list(READ_ATTRIBUTES), write_attributes=list(WRITE_ATTRIBUTES),
            prevent_user_existence_errors="ENABLED", enable_token_revocation=True,
            access_token_validity=ACCESS_TOKEN_MINUTES, id_token_validity=ID_TOKEN_MINUTES,
            refresh_token_validity=REFRESH_TOKEN_DAYS,
            token_validity_units=aws.cognito.UserPoolClientTokenValidityUnitsArgs(
                access_token="minutes", id_token="minutes", refresh_token="days"),
            opts=child)
        if not args.own_pool:
            aws.cognito.UserGroup(f"{name}-group", name=args.tenant_id, user_pool_id=args.user_pool_id,
                                  description=f"Users of tenant {args.tenant_id}", opts=child)
        self.client_id = client.id
        self.identity = {"issuer": args.issuer, "jwksUrl": jwks_url(args.issuer), "audience": client.id,
                         "userPoolId": args.user_pool_id, "ownPool": args.own_pool}
        self.register_outputs({"identity": self.identity})
