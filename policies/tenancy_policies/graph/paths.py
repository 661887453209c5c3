"""The declared platform paths: the only edges into a tenant's resources that may start outside
that tenant. This module is the one place they are listed; `allowed` is the one test.

Also here, the pooled stores' partitions: in a store the platform pools, what belongs to which
tenant (its key prefix in the pooled cache, its login in the pooled database)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Optional

from . import arns
from .model import REACH, Edge

# name -> what it allows (the README lists the same)
PATHS = {
    "account-root": "The account root as a principal of a resource policy (the key policies' administration): "
                    "it delegates to the account's IAM policies, which the graph reads as edges of their own.",
    "aws-service-for-account": "An AWS service acting for this account only: a service principal whose statement "
                               "pins aws:SourceAccount, aws:SourceOwner or kms:CallerAccount to this account, or "
                               "kms:ViaService (the service then acts only for callers who reach its resource).",
    "pooled-services": "The platform's pooled services on the platform's pooled stores (the pooled database and "
                       "cache and their network): never a tenant's own store, nor a tenant's partition of a "
                       "pooled one.",
    "deployer": "The deploying principal: ARN patterns listed in the policy's `deployingPrincipals` setting.",
    "pool-tenant-session": "The platform's pool workload identity assuming a pooled tenant's role, when that role's "
                           "trust policy pins the session tag `tenant-id` to the role's own tenant (StringEquals, "
                           "one value): pooled services obtain one tenant's credentials per request, for the "
                           "tenant of that request (tenancy.context's session factory).",
    "platform-gateway": "The platform's Gateway proxies (pods of a namespace in the policy's `gatewayNamespaces` "
                        "setting, default tenancy-gateway, that no tenant owns, or of another cell's "
                        "`tenancy-gateway-<cell>` that the platform creates) reaching a tenant's pods through a "
                        "NetworkPolicy of that tenant: they forward only what the tenants' own HTTPRoutes send "
                        "them, and the routes mechanism judges those.",
}
GATEWAY_NAMESPACES = ("tenancy-gateway",)  # the program's gateway namespace (tenancy.registry.naming)
# Another cell's Gateway namespace, `tenancy-gateway-<cell>` (a cell name: tenancy.registry.naming)
CELL_GATEWAY_PODS = re.compile(r"k8s-pods:tenancy-gateway-[a-z][a-z0-9]*(-[a-z0-9]+)*")
SESSION_TAG_KEY = "aws:requesttag/tenant-id"  # lowercased, as statements keep condition keys

# Source node keys the mechanisms give the principals that the paths name.
ACCOUNT_ROOT = "account-root:"
SERVICE_FOR_ACCOUNT = "aws-service-for-account:"


def key_prefix(tenant_id: str) -> str:
    """A tenant's keys and channels in the pooled cache."""
    return f"{tenant_id}:"


def database_login(tenant_id: str) -> str:
    """A tenant's login in the pooled database."""
    return f"tenant_{tenant_id.replace('-', '_')}"


def _gateway_pods(source, config: Mapping[str, Any]) -> bool:
    """Pods of a gateway namespace: one the `gatewayNamespaces` setting names (the platform's or made
    outside the program), or one the platform itself creates for a cell's Gateway (`tenancy-gateway-<cell>`)."""
    gateways = config.get("gatewayNamespaces") or GATEWAY_NAMESPACES
    if source.owner.kind in ("platform", "unknown") and source.key in {f"k8s-pods:{ns}" for ns in gateways}:
        return True
    return source.owner.kind == "platform" and CELL_GATEWAY_PODS.fullmatch(source.key) is not None


def allowed(edge: Edge, config: Mapping[str, Any]) -> Optional[str]:
    """The declared path that allows an edge, or None."""
    source, target = edge.source, edge.target
    if edge.path:
        return edge.path
    if source.key.startswith(ACCOUNT_ROOT):
        return "account-root"
    if source.key.startswith(SERVICE_FOR_ACCOUNT):
        return "aws-service-for-account"
    if source.owner.kind == "platform" and target.owner.kind == "platform":
        return "pooled-services"
    if edge.verbs == {REACH} and _gateway_pods(source, config):
        return "platform-gateway"
    for pattern in config.get("deployingPrincipals") or ():
        if source.arn and arns.matches(str(pattern), source.arn):
            return "deployer"
    return None
