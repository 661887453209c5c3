"""A tenant's workload identity: one IAM role, allowed to use only that tenant's key, queues, secrets,
cache user and database user; assumable only by the tenant's own Kubernetes service account (a
tenant with its own namespace), or, for a pooled tenant, only by the pool's one workload identity
with the session tag `tenant-id` set to that tenant (the pooled services ask for one tenant's
credentials per request: no pod of the pool namespace holds a tenant's role of its own)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws

from tenancy.registry import naming

from .context import Account
from .policydoc import document
from .queues import DATA_ACTIONS as QUEUE_ACTIONS


@dataclass(frozen=True)
class IdentityArgs:
    account: Account
    role_name: str
    namespace: str
    service_account: str
    oidc_issuer: str | None = None  # the cluster's IRSA issuer; None: EKS Pod Identity
    oidc_provider_arn: pulumi.Input[str] | None = None  # the IAM OIDC provider of that issuer, looked up
    pool_role_arn: pulumi.Input[str] | None = None  # a pooled tenant's: the pool identity that assumes it
    tenant_id: str | None = None  # with pool_role_arn: the session tag value the trust requires


def pool_session_trust(pool_role_arn: pulumi.Input[str], tenant_id: str) -> list[dict]:
    """Only the pool identity, and only for a session tagged with this tenant (exactly: StringEquals,
    never ...IfExists, which would pass an untagged session)."""
    return [{"Effect": "Allow", "Principal": {"AWS": pool_role_arn}, "Action": ["sts:AssumeRole", "sts:TagSession"],
             "Condition": {"StringEquals": {f"aws:RequestTag/{naming.SESSION_TAG}": tenant_id}}}]


def trust_statements(args: IdentityArgs) -> list[dict]:
    """A pooled tenant's role: the pool identity's tagged sessions. Otherwise IRSA through the
    cluster's OIDC provider when one is configured, else EKS Pod Identity; in both cases bound to
    exactly one namespace and service account."""
    if args.pool_role_arn is not None:
        if not args.tenant_id:
            raise ValueError("a pooled tenant's identity needs its tenant id for the session tag")
        return pool_session_trust(args.pool_role_arn, args.tenant_id)
    namespace, service_account = args.namespace, args.service_account
    subject = f"system:serviceaccount:{namespace}:{service_account}"
    if args.oidc_issuer is not None:
        issuer = args.oidc_issuer
        # IAM refuses a trust policy naming a federated principal that does not exist, so the
        # provider's ARN comes from a lookup (`oidc_provider`), never from a formula.
        provider = args.oidc_provider_arn or args.account.arn("iam", f"oidc-provider/{issuer}", region=False)
        return [{"Effect": "Allow", "Principal": {"Federated": provider},
                 "Action": "sts:AssumeRoleWithWebIdentity",
                 "Condition": {"StringEquals": {f"{issuer}:sub": subject, f"{issuer}:aud": "sts.amazonaws.com"}}}]
    return [{"Effect": "Allow", "Principal": {"Service": "pods.eks.amazonaws.com"},
             "Action": ["sts:AssumeRole", "sts:TagSession"],
             "Condition": {"StringEquals": {"aws:RequestTag/kubernetes-namespace": namespace,
                                            "aws:RequestTag/kubernetes-service-account": service_account,
                                            "aws:SourceAccount": args.account.account_id}}}]


@dataclass
class Grants:
    """Everything a tenant's workloads may use, by ARN; nothing else is named in its policy."""

    key_arn: pulumi.Input[str]
    queue_arns: Sequence[pulumi.Input[str]] = ()
    secret_arns: Sequence[pulumi.Input[str]] = ()
    cache_arns: Sequence[pulumi.Input[str]] = ()  # the replication group and the tenant's user
    database_user_arns: Sequence[pulumi.Input[str]] = field(default_factory=list)
    log_group_arns: Sequence[pulumi.Input[str]] = ()
    appconfig_arns: Sequence[pulumi.Input[str]] = ()  # the tenant's flags profile and environment


def access_statements(grants: Grants) -> list[dict]:
    statements = [{"Sid": "UseOwnKey", "Effect": "Allow", "Resource": [grants.key_arn],
                   "Action": ["kms:Encrypt", "kms:Decrypt", "kms:GenerateDataKey*", "kms:DescribeKey"]}]
    for sid, actions, arns in (
        ("UseOwnQueues", QUEUE_ACTIONS, grants.queue_arns),
        ("ReadOwnSecrets", ["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"], grants.secret_arns),
        ("ConnectOwnCacheUser", ["elasticache:Connect"], grants.cache_arns),
        ("ConnectOwnDatabaseUser", ["rds-db:connect"], grants.database_user_arns),
        ("ShipOwnLogs", ["logs:CreateLogStream", "logs:PutLogEvents"], grants.log_group_arns),
        ("ReadOwnFlags", ["appconfig:StartConfigurationSession", "appconfig:GetLatestConfiguration"],
         grants.appconfig_arns),
    ):
        if arns:
            statements.append({"Sid": sid, "Effect": "Allow", "Action": actions, "Resource": list(arns)})
    return statements


class WorkloadIdentity(pulumi.ComponentResource):
    """The role exists before the key (whose policy names it); its access policy comes last, once
    every resource it names exists (`grant`)."""

    role_arn: pulumi.Output[str]
    role_name: pulumi.Output[str]

    def __init__(self, name: str, args: IdentityArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("tenancy:identity:WorkloadIdentity", name, None, opts)
        self._prefix = name
        role = aws.iam.Role(f"{name}-role", name=args.role_name, max_session_duration=3600,
                            assume_role_policy=document(trust_statements(args)),
                            opts=pulumi.ResourceOptions(parent=self))
        self.role_arn = role.arn
        self.role_name = role.name
        self.register_outputs({"roleArn": self.role_arn, "roleName": self.role_name})

    def allow_tenant_sessions(self, tenant_roles: pulumi.Input[str]) -> aws.iam.RolePolicy:
        """The pool identity's one permission: assume tenants' roles (ARN pattern), tagging the session.
        Each pooled tenant's trust policy decides whether, and for which tag (`pool_session_trust`)."""
        return aws.iam.RolePolicy(f"{self._prefix}-sessions", role=self.role_name, policy=document([{
            "Sid": "AssumeTenantRolesTagged", "Effect": "Allow", "Action": ["sts:AssumeRole", "sts:TagSession"],
            "Resource": tenant_roles,
            "Condition": {"StringLike": {f"aws:RequestTag/{naming.SESSION_TAG}": "?*"}}}]),
            opts=pulumi.ResourceOptions(parent=self))

    def allow_database_login(self, database_user_arn: pulumi.Input[str]) -> aws.iam.RolePolicy:
        """IAM authentication as one database login (`rds-db:connect` on its dbuser ARN)."""
        return aws.iam.RolePolicy(f"{self._prefix}-database", role=self.role_name, policy=document([{
            "Sid": "ConnectPoolLogin", "Effect": "Allow", "Action": ["rds-db:connect"],
            "Resource": [database_user_arn]}]), opts=pulumi.ResourceOptions(parent=self))

    def grant(self, grants: Grants) -> aws.iam.RolePolicy:
        return aws.iam.RolePolicy(f"{self._prefix}-access", role=self.role_name,
                                  policy=document(access_statements(grants)),
                                  opts=pulumi.ResourceOptions(parent=self))
