"""Where a program deploys, gathered once per run: the account (for ARNs that must be named before
their resources exist), the stack's settings and the cluster provider.

Leaf components take an `Account` and plain values; only the composing components (tenant,
platform) read the whole `DeployContext`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import pulumi
import pulumi_aws as aws

from tenancy.registry.settings import StackSettings


@dataclass(frozen=True)
class Account:
    """The AWS account and region a stack deploys into."""

    account_id: pulumi.Input[str]
    region: str
    partition: str = "aws"

    def arn(self, service: str, resource: str, region: bool = True) -> pulumi.Output[str]:
        """An ARN in this account, for policies that must name a resource before it exists."""
        where = self.region if region else ""
        return pulumi.Output.from_input(self.account_id).apply(
            lambda acct: f"arn:{self.partition}:{service}:{where}:{acct}:{resource}")

    @property
    def root(self) -> pulumi.Output[str]:
        return self.arn("iam", "root", region=False)


@dataclass(frozen=True)
class DeployContext:
    settings: StackSettings
    account: Account
    kubernetes: Optional[pulumi.ProviderResource]  # None: Kubernetes resources are skipped
    oidc_provider_arn: Optional[pulumi.Output[str]] = None  # the cluster's IAM OIDC provider (IRSA)

    @property
    def environment(self) -> str:
        return self.settings.environment.value

    @property
    def protect(self) -> bool:
        """Whether stateful resources (databases, caches, keys, secrets) are protected."""
        return self.settings.protect_stateful_resources


def stateful(protect: bool, retain: bool = False) -> pulumi.ResourceOptions:
    """Options for resources whose loss loses data: protected unless the stack lifts it.

    `retain` also keeps the cloud resource if it ever leaves the program (keys, secrets)."""
    return pulumi.ResourceOptions(protect=protect, retain_on_delete=protect and retain)


def partition_of(region: str) -> str:
    return "aws-cn" if region.startswith("cn-") else "aws-us-gov" if region.startswith("us-gov-") else "aws"


def create_context(settings: StackSettings, kubernetes: Optional[pulumi.ProviderResource]) -> DeployContext:
    region = pulumi.Config("aws").require("region")
    identity = aws.get_caller_identity_output()
    return DeployContext(settings=settings, account=Account(identity.account_id, region, partition_of(region)),
                         kubernetes=kubernetes, oidc_provider_arn=oidc_provider(settings))


def oidc_provider(settings: StackSettings) -> Optional[pulumi.Output[str]]:
    """The IAM OIDC provider of the cluster's issuer, looked up: the preview stops with the
    provider's own error if it does not exist (create it with the cluster: `eksctl utils
    associate-iam-oidc-provider`, or the EKS module you use), instead of IAM refusing every role."""
    if settings.kubernetes is None:
        return None
    return aws.iam.get_open_id_connect_provider_output(url=f"https://{settings.kubernetes.oidc_issuer}").arn
