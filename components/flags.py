"""Feature flags and limits per tenant in AWS AppConfig: the platform's application, and per tenant
an environment, a feature-flags profile, a hosted version and its deployment. Each tenant deploys
to its own AppConfig environment, so tenants never wait on (or depend on) each other's deployments."""

from __future__ import annotations

import pulumi
import pulumi_aws as aws

from tenancy.registry.flags import feature_flags_json
from tenancy.registry.tiers import EffectiveTenant

ALL_AT_ONCE = "AppConfig.AllAtOnce"


def application(name: str, environment: str, parent: pulumi.Resource) -> aws.appconfig.Application:
    return aws.appconfig.Application(name, name=f"tenancy-{environment}",
                                     description="Feature flags and limits of the tenants",
                                     opts=pulumi.ResourceOptions(parent=parent))


class TenantFlags(pulumi.ComponentResource):
    profile_id: pulumi.Output[str]

    def __init__(self, name: str, tenant: EffectiveTenant, application_id: pulumi.Input[str],
                 opts: pulumi.ResourceOptions | None = None):
        super().__init__("tenancy:flags:TenantFlags", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        environment = aws.appconfig.Environment(f"{name}-environment", application_id=application_id,
                                                name=tenant.id, opts=child)
        profile = aws.appconfig.ConfigurationProfile(f"{name}-profile", application_id=application_id,
                                                     name=f"{tenant.id}-flags", location_uri="hosted",
                                                     type="AWS.AppConfig.FeatureFlags", opts=child)
        version = aws.appconfig.HostedConfigurationVersion(
            f"{name}-version", application_id=application_id, configuration_profile_id=profile.configuration_profile_id,
            content_type="application/json", content=feature_flags_json(tenant), opts=child)
        aws.appconfig.Deployment(
            f"{name}-deployment", application_id=application_id, environment_id=environment.environment_id,
            configuration_profile_id=profile.configuration_profile_id,
            configuration_version=version.version_number.apply(str), deployment_strategy_id=ALL_AT_ONCE, opts=child)
        self.profile_id = profile.configuration_profile_id
        self.register_outputs({"profileId": self.profile_id})
