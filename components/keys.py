"""KMS keys: one per tenant in every tier, one for the platform's shared infrastructure."""

from __future__ import annotations

from collections.abc import Sequence

import pulumi
import pulumi_aws as aws

from tenancy.registry.naming import key_alias

from .context import DeployContext
from .policydoc import document

DELETION_WINDOW_DAYS = 30
ADMIN_ACTIONS = [
    "kms:Create*", "kms:Describe*", "kms:Enable*", "kms:List*", "kms:Put*", "kms:Update*",
    "kms:Revoke*", "kms:Disable*", "kms:Get*", "kms:Delete*", "kms:TagResource", "kms:UntagResource",
    "kms:ScheduleKeyDeletion", "kms:CancelKeyDeletion",
]
USE_ACTIONS = ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:DescribeKey"]
# Services that encrypt a tenant's data with its key on its behalf.
SERVICES = ("rds", "elasticache", "sqs", "secretsmanager", "sns")


def key_policy_statements(ctx: DeployContext, user_arns: Sequence[pulumi.Input[str]], owner: str) -> list[dict]:
    """The account administers the key; only `user_arns` and AWS services (for this account, and
    only through them) use it; CloudWatch Logs may use it for this owner's log groups."""
    statements = [
        {"Sid": "AccountAdministers", "Effect": "Allow", "Principal": {"AWS": ctx.account_root},
         "Action": ADMIN_ACTIONS, "Resource": "*"},
        {"Sid": "ServicesActForOwner", "Effect": "Allow", "Principal": {"AWS": ctx.account_root},
         "Action": USE_ACTIONS + ["kms:CreateGrant", "kms:ListGrants"], "Resource": "*",
         "Condition": {"StringEquals": {
             "kms:CallerAccount": ctx.account_id,
             "kms:ViaService": [f"{service}.{ctx.region}.amazonaws.com" for service in SERVICES]}}},
        {"Sid": "LogsForOwner", "Effect": "Allow", "Principal": {"Service": f"logs.{ctx.region}.amazonaws.com"},
         "Action": ["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"],
         "Resource": "*",
         "Condition": {"ArnLike": {"kms:EncryptionContext:aws:logs:arn":
                                   ctx.arn("logs", f"log-group:/tenancy/{ctx.environment}/{owner}/*")}}},
    ]
    statements.append(
        {"Sid": "AlarmsAndBudgetsForOwner", "Effect": "Allow",
         "Principal": {"Service": ["cloudwatch.amazonaws.com", "budgets.amazonaws.com"]},
         "Action": ["kms:Decrypt", "kms:GenerateDataKey*"], "Resource": "*",
         "Condition": {"StringEquals": {"aws:SourceAccount": ctx.account_id}}})
    if user_arns:
        statements.append({"Sid": "WorkloadUses", "Effect": "Allow", "Principal": {"AWS": list(user_arns)},
                           "Action": USE_ACTIONS, "Resource": "*"})
    return statements


class Key(pulumi.ComponentResource):
    """A customer-managed key with rotation, a 30-day deletion window, an alias and a narrow policy."""

    arn: pulumi.Output[str]
    key_id: pulumi.Output[str]
    alias: str

    def __init__(self, name: str, ctx: DeployContext, owner: str, user_arns: Sequence[pulumi.Input[str]],
                 opts: pulumi.ResourceOptions | None = None):
        super().__init__("tenancy:keys:Key", name, None, opts)
        self.alias = key_alias(ctx.environment, owner)
        child = pulumi.ResourceOptions(parent=self)
        key = aws.kms.Key(
            f"{name}-cmk",
            description=f"tenancy {ctx.environment}: data key of {owner}",
            enable_key_rotation=True,
            deletion_window_in_days=DELETION_WINDOW_DAYS,
            bypass_policy_lockout_safety_check=False,
            policy=document(key_policy_statements(ctx, user_arns, owner)),
            opts=pulumi.ResourceOptions.merge(child, ctx.stateful(retain=True)),
        )
        aws.kms.Alias(f"{name}-alias", name=self.alias, target_key_id=key.key_id, opts=child)
        self.arn = key.arn
        self.key_id = key.key_id
        self.register_outputs({"arn": self.arn, "keyId": self.key_id, "alias": self.alias})
