"""A tenant's monthly budget, filtered by its cost allocation tag, alerting at 80% forecast and
100% actual."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from tenancy.registry.naming import TENANT_TAG

THRESHOLDS = (("FORECASTED", 80), ("ACTUAL", 100))


@dataclass(frozen=True)
class BudgetArgs:
    budget_name: str  # unique per account
    tenant_id: str
    monthly_usd: float
    topic_arn: pulumi.Input[str]
    alert_emails: Sequence[str] = ()


def tenant_budget(name: str, args: BudgetArgs, opts: pulumi.ResourceOptions) -> aws.budgets.Budget:
    emails = list(args.alert_emails)
    notifications = [{
        "comparison_operator": "GREATER_THAN", "notification_type": kind, "threshold": percent,
        "threshold_type": "PERCENTAGE", "subscriber_sns_topic_arns": [args.topic_arn],
        **({"subscriber_email_addresses": emails} if emails else {})} for kind, percent in THRESHOLDS]
    return aws.budgets.Budget(
        f"{name}-budget", name=args.budget_name, budget_type="COST",
        limit_amount=f"{args.monthly_usd:.2f}", limit_unit="USD", time_unit="MONTHLY",
        cost_filters=[{"name": "TagKeyValue", "values": [f"user:{TENANT_TAG}${args.tenant_id}"]}],
        notifications=notifications, opts=opts)
