"""KMS keys: one per tenant in every tier, one for the platform's shared infrastructure."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from tenancy.registry.naming import key_alias, log_group_prefix

from .context import Account, stateful
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


@dataclass(frozen=True)
class KeyArgs:
    account: Account
    environment: str
    owner: str  # a tenant id, or "platform"
    user_arns: Sequence[pulumi.Input[str]] = ()  # the workload roles that encrypt and decrypt with it
    protect: bool = True


def key_policy_statements(args: KeyArgs) -> list[dict]:
    """The account administers the key; only `user_arns` and AWS services (for this account, and
    only through them) use it; CloudWatch Logs may use it for this owner's log groups."""
    account, owner = args.account, args.owner
    statements = [
        {"Sid": "AccountAdministers", "Effect": "Allow", "Principal": {"AWS": account.root},
         "Action": ADMIN_ACTIONS, "Resource": "*"},
        {"Sid": "ServicesActForOwner", "Effect": "Allow", "Principal": {"AWS": account.root},
         "Action": USE_ACTIONS + ["kms:CreateGrant", "kms:ListGrants"], "Resource": "*",
         "Condition": {"StringEquals": {
             "kms:CallerAccount": account.account_id,
             "kms:ViaService": [f"{service}.{account.region}.amazonaws.com" for service in SERVICES]}}},
        {"Sid": "LogsForOwner", "Effect": "Allow", "Principal": {"Service": f"logs.{account.region}.amazonaws.com"},
         "Action": ["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"],
         "Resource": "*",
         "Condition": {"ArnLike": {"kms:EncryptionContext:aws:logs:arn":
                                   account.arn("logs", f"log-group:{log_group_prefix(args.environment, owner)}/*")}}},
    ]
    statements.append(
        {"Sid": "AlarmsAndBudgetsForOwner", "Effect": "Allow",
         "Principal": {"Service": ["cloudwatch.amazonaws.com", "budgets.amazonaws.com"]},
         "Action": ["kms:Decrypt", "kms:GenerateDataKey*"], "Resource": "*",
         "Condition": {"StringEquals": {"aws:SourceAccount": account.account_id}}})
    if args.user_arns:
        statements.append({"Sid": "WorkloadUses", "Effect": "Allow", "Principal": {"AWS": list(args.user_arns)},
                           "Action": USE_ACTIONS, "Resource": "*"})
    return statements


class Key(pulumi.ComponentResource):
    """A customer-managed key with rotation, a 30-day deletion window, an alias and a narrow policy."""

    arn: pulumi.Output[str]
    key_id: pulumi.Output[str]
    alias: str

    def __init__(self, name: str, args: KeyArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("tenancy:keys:Key", name, None, opts)
        self.alias = key_alias(args.environment, args.owner)
        child = pulumi.ResourceOptions(parent=self)
        key = aws.kms.Key(
            f"{name}-cmk",
            description=f"tenancy {args.environment}: data key of {args.owner}",
            enable_key_rotation=True,
            deletion_window_in_days=DELETION_WINDOW_DAYS,
            bypass_policy_lockout_safety_check=False,
            policy=document(key_policy_statements(args)),
            opts=pulumi.ResourceOptions.merge(child, stateful(args.protect, retain=True)),
        )
        aws.kms.Alias(f"{name}-alias", name=self.alias, target_key_id=key.key_id, opts=child)
        self.arn = key.arn
        self.key_id = key.key_id
        self.register_outputs({"arn": self.arn, "keyId": self.key_id, "alias": self.alias})
