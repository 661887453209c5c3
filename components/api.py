"""A tenant's API rate limit and quota: an API Gateway usage plan and API key, attached to the
platform's API stage when one is configured."""

from __future__ import annotations

import pulumi
import pulumi_aws as aws

from tenancy.registry.tiers import EffectiveTenant

from .context import DeployContext


class ApiAccess(pulumi.ComponentResource):
    """Throttle rate and burst from the plan, a request quota per period from maxAIRequests; the key
    is a secret output and is disabled while the tenant is suspended."""

    usage_plan_id: pulumi.Output[str]
    api_key_id: pulumi.Output[str]
    api_key: pulumi.Output[str]

    def __init__(self, name: str, ctx: DeployContext, tenant: EffectiveTenant,
                 opts: pulumi.ResourceOptions | None = None):
        super().__init__("tenancy:api:ApiAccess", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        limits, api = tenant.plan.api, ctx.settings.api
        stages = [{"api_id": api.rest_api_id, "stage": api.stage}] if api else []
        plan = aws.apigateway.UsagePlan(
            f"{name}-plan", description=f"{tenant.id}: {tenant.tenant.plan} plan limits", api_stages=stages,
            throttle_settings={"rate_limit": limits.rate_limit, "burst_limit": limits.burst_limit},
            quota_settings={"limit": tenant.quotas.max_ai_requests, "period": limits.quota_period.value},
            opts=child)
        key = aws.apigateway.ApiKey(f"{name}-key", description=f"{tenant.id} API key", enabled=not tenant.suspended,
                                    opts=pulumi.ResourceOptions(parent=self, additional_secret_outputs=["value"]))
        aws.apigateway.UsagePlanKey(f"{name}-plan-key", key_id=key.id, key_type="API_KEY", usage_plan_id=plan.id,
                                    opts=child)
        self.usage_plan_id = plan.id
        self.api_key_id = key.id
        self.api_key = pulumi.Output.secret(key.value)
        self.register_outputs({"usagePlanId": self.usage_plan_id, "apiKeyId": self.api_key_id})
