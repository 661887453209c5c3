"""Tags, applied in one place: a transformation on the owning component reaches every AWS child.

Any AWS resource whose inputs take `tags` gets them merged in; values a resource sets itself win
only for keys the owner does not define, so `tenant-id` can never be overridden by a child.
"""

from __future__ import annotations

from collections.abc import Mapping

import pulumi

from tenancy.registry.naming import (
    ENVIRONMENT_TAG,
    ISOLATION_TAG,
    MANAGED_BY,
    MANAGED_BY_TAG,
    PLAN_TAG,
    TENANT_TAG,
)
from tenancy.registry.tiers import EffectiveTenant


def tenant_tags(tenant: EffectiveTenant, environment: str) -> dict[str, str]:
    return {
        TENANT_TAG: tenant.id,
        PLAN_TAG: tenant.tenant.plan,
        ISOLATION_TAG: tenant.isolation.value,
        ENVIRONMENT_TAG: environment,
        MANAGED_BY_TAG: MANAGED_BY,
    }


def platform_tags(environment: str) -> dict[str, str]:
    return {"tenancy-scope": "platform", ENVIRONMENT_TAG: environment, MANAGED_BY_TAG: MANAGED_BY}


def tagging(tags: Mapping[str, str]) -> pulumi.ResourceTransformation:
    fixed = dict(tags)

    def add_tags(args: pulumi.ResourceTransformationArgs):
        if not args.type_.startswith("aws:") or "tags" not in args.props:
            return None
        own = args.props.get("tags") or {}
        merged = pulumi.Output.from_input(own).apply(lambda o: {**(o or {}), **fixed})
        return pulumi.ResourceTransformationResult(props={**args.props, "tags": merged}, opts=args.opts)

    return add_tags


def tenant_labels(tenant: EffectiveTenant, environment: str, tier: str) -> dict[str, str]:
    """The Kubernetes counterpart of the tags: labels on a tenant's namespace and service account."""
    return {"tenancy.io/tenant-id": tenant.id, "tenancy.io/plan": tenant.tenant.plan,
            "tenancy.io/tier": tier, "tenancy.io/environment": environment, "app.kubernetes.io/managed-by": MANAGED_BY}
