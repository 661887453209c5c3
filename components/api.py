"""A tenant's API rate limit and quota: an API Gateway usage plan and API key, attached to the
platform's API stage when one is configured."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws


@dataclass(frozen=True)
class ApiAccessArgs:
    tenant_id: str
    plan_name: str
    rate_limit: float  # requests per second, steady
    burst_limit: int
    quota_limit: int  # requests per quota period (the tenant's maxAIRequests)
    quota_period: str  # DAY | WEEK | MONTH
    enabled: bool  # False while the tenant is suspended
    rest_api_id: str | None = None  # the platform's stage, when configured
    stage: str | None = None


class ApiAccess(pulumi.ComponentResource):
    """Throttle rate and burst from the plan, a request quota per period from maxAIRequests; the key
    is a secret output and is disabled while the tenant is suspended."""

    usage_plan_id: pulumi.Output[str]
    api_key_id: pulumi.Output[str]
    api_key: pulumi.Output[str]

    def __init__(self, name: str, args: ApiAccessArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("tenancy:api:ApiAccess", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        stages = [{"api_id": args.rest_api_id, "stage": args.stage}] if args.rest_api_id else []
        plan = aws.apigateway.UsagePlan(
            f"{name}-plan", description=f"{args.tenant_id}: {args.plan_name} plan limits", api_stages=stages,
            throttle_settings={"rate_limit": args.rate_limit, "burst_limit": args.burst_limit},
            quota_settings={"limit": args.quota_limit, "period": args.quota_period},
            opts=child)
        key = aws.apigateway.ApiKey(f"{name}-key", description=f"{args.tenant_id} API key", enabled=args.enabled,
                                    opts=pulumi.ResourceOptions(parent=self, additional_secret_outputs=["value"]))
        aws.apigateway.UsagePlanKey(f"{name}-plan-key", key_id=key.id, key_type="API_KEY", usage_plan_id=plan.id,
                                    opts=child)
        self.usage_plan_id = plan.id
        self.api_key_id = key.id
        self.api_key = pulumi.Output.secret(key.value)
        self.register_outputs({"usagePlanId": self.usage_plan_id, "apiKeyId": self.api_key_id,
                               "apiKey": self.api_key})
