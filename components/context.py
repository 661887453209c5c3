"""What every component needs to know about where it deploys, gathered once per program run."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import pulumi
import pulumi_aws as aws

from tenancy.registry.settings import StackSettings


@dataclass(frozen=True)
class DeployContext:
    settings: StackSettings
    account_id: pulumi.Output[str]
    region: str
    partition: str
    kubernetes: Optional[pulumi.ProviderResource]  # None: Kubernetes resources are skipped

    @property
    def environment(self) -> str:
        return self.settings.environment.value

    def arn(self, service: str, resource: str, region: bool = True) -> pulumi.Output[str]:
        """An ARN in this account, for policies that must name a resource before it exists."""
        where = self.region if region else ""
        return self.account_id.apply(lambda acct: f"arn:{self.partition}:{service}:{where}:{acct}:{resource}")

    @property
    def account_root(self) -> pulumi.Output[str]:
        return self.account_id.apply(lambda acct: f"arn:{self.partition}:iam::{acct}:root")

    def stateful(self, retain: bool = False) -> pulumi.ResourceOptions:
        """Options for resources whose loss loses data: protected unless the stack lifts it.

        `retain` also keeps the cloud resource if it ever leaves the program (keys, secrets)."""
        guard = self.settings.protect_stateful_resources
        return pulumi.ResourceOptions(protect=guard, retain_on_delete=guard and retain)


def create_context(settings: StackSettings, kubernetes: Optional[pulumi.ProviderResource]) -> DeployContext:
    region = pulumi.Config("aws").require("region")
    partition = "aws-cn" if region.startswith("cn-") else "aws-us-gov" if region.startswith("us-gov-") else "aws"
    identity = aws.get_caller_identity_output()
    return DeployContext(settings=settings, account_id=identity.account_id, region=region,
                         partition=partition, kubernetes=kubernetes)
