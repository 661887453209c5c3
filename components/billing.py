"""A tenant's monthly budget, filtered by its cost allocation tag, alerting at 80% forecast and
100% actual."""

from __future__ import annotations

import pulumi
import pulumi_aws as aws

from tenancy.registry.tiers import EffectiveTenant

from .context import DeployContext

THRESHOLDS = (("FORECASTED", 80), ("ACTUAL", 100))


def tenant_budget(name: str, ctx: DeployContext, tenant: EffectiveTenant, topic_arn: pulumi.Input[str],
                  parent: pulumi.Resource) -> aws.budgets.Budget:
    emails = list(tenant.tenant.billing.alert_emails)
    notifications = [{
        "comparison_operator": "GREATER_THAN", "notification_type": kind, "threshold": percent,
        "threshold_type": "PERCENTAGE", "subscriber_sns_topic_arns": [topic_arn],
        **({"subscriber_email_addresses": emails} if emails else {})} for kind, percent in THRESHOLDS]
    return aws.budgets.Budget(
        f"{name}-budget", name=f"tenancy-{ctx.environment}-{tenant.id}", budget_type="COST",
        limit_amount=f"{tenant.monthly_budget:.2f}", limit_unit="USD", time_unit="MONTHLY",
        cost_filters=[{"name": "TagKeyValue", "values": [f"user:tenant-id${tenant.id}"]}],
        notifications=notifications, opts=pulumi.ResourceOptions(parent=parent))
