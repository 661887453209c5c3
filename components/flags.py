"""Feature flags and limits per tenant in AWS AppConfig: the platform's application, and per tenant
an environment, a feature-flags profile, a hosted version and its deployment. Each tenant deploys
to its own AppConfig environment, so tenants never wait on (or depend on) each other's deployments."""

from __future__ import annotations

import pulumi
import pulumi_aws as aws

ALL_AT_ONCE = "AppConfig.AllAtOnce"


def application(name: str, *, application_name: str, opts: pulumi.ResourceOptions) -> aws.appconfig.Application:
    return aws.appconfig.Application(name, name=application_name,
                                     description="Feature flags and limits of the tenants", opts=opts)


class TenantFlags(pulumi.ComponentResource):
    """`flags_json`: the tenant's document in the AWS.AppConfig.FeatureFlags format."""

    profile_id: pulumi.Output[str]

    def __init__(self, name: str, *, tenant_id: str, flags_json: str, application_id: pulumi.Input[str],
                 opts: pulumi.ResourceOptions | None = None):
        super().__init__("tenancy:flags:TenantFlags", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        environment = aws.appconfig.Environment(f"{name}-environment", application_id=application_id,
                                                name=tenant_id, opts=child)
        profile = aws.appconfig.ConfigurationProfile(f"{name}-profile", application_id=application_id,
                                                     name=f"{tenant_id}-flags", location_uri="hosted",
                                                     type="AWS.AppConfig.FeatureFlags", opts=child)
        version = aws.appconfig.HostedConfigurationVersion(
            f"{name}-version", application_id=application_id, configuration_profile_id=profile.configuration_profile_id,
            content_type="application/json", content=flags_json, opts=child)
        aws.appconfig.Deployment(
            f"{name}-deployment", application_id=application_id, environment_id=environment.environment_id,
            configuration_profile_id=profile.configuration_profile_id,
            configuration_version=version.version_number.apply(str), deployment_strategy_id=ALL_AT_ONCE, opts=child)
        self.profile_id = profile.configuration_profile_id
        self.register_outputs({"profileId": self.profile_id})
