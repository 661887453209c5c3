"""Tenant-aware routing with the Kubernetes Gateway API: the platform's one Gateway, and per tenant an
HTTPRoute for `<id>.<domain>` to its own service instances or to the pool's.

Every rule of a tenant's route sets `X-Tenant-ID` to the tenant (`set` replaces whatever a client
sent; the services' middleware also checks it against the token's tenant). A route crosses into
another namespace only where it must (a hybrid tenant's non-critical paths go to the pool's
services), with a ReferenceGrant in that namespace naming the route's namespace and the services
alone. The Gateway's proxies reach service instances through a NetworkPolicy in the instances'
namespace that admits the proxies' namespace on the services' ports, and nothing else."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Optional

import pulumi
import pulumi_kubernetes as k8s

from tenancy.registry.naming import SERVICES_PART_OF, TENANT_HEADER

GATEWAY_API = "gateway.networking.k8s.io"
GATEWAY_VERSION = f"{GATEWAY_API}/v1"
REFERENCE_GRANT_VERSION = f"{GATEWAY_API}/v1beta1"
NAME_LABEL = "kubernetes.io/metadata.name"


@dataclass(frozen=True)
class GatewayRef:
    name: str
    namespace: str
    section: str  # the listener


@dataclass(frozen=True)
class Backend:
    """A path prefix of the tenant's host, served by a Service (in another namespace, or the route's)."""

    path: str
    service: str
    port: int
    namespace: Optional[str] = None


@dataclass(frozen=True)
class GatewayArgs:
    ref: GatewayRef
    domain: str
    gateway_class_name: str
    certificate_secret: str
    route_namespaces: dict  # the label selector of the namespaces whose routes may attach
    labels: dict
    cluster_issuer: Optional[str] = None


class Gateway(pulumi.ComponentResource):
    """The platform's Gateway in a namespace of its own: one HTTPS listener for `*.<domain>`,
    accepting HTTPRoutes from the namespaces the selector matches."""

    namespace: pulumi.Output[str]

    def __init__(self, name: str, args: GatewayArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("tenancy:routing:Gateway", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        # Some implementations run their proxies beside the Gateway (Istio); the baseline standard
        # admits them, and audit and warn report what the restricted one would refuse.
        security = {"pod-security.kubernetes.io/enforce": "baseline", "pod-security.kubernetes.io/audit": "restricted",
                    "pod-security.kubernetes.io/warn": "restricted"}
        ns = k8s.core.v1.Namespace(f"{name}-ns", metadata={"name": args.ref.namespace,
                                                          "labels": {**args.labels, **security}}, opts=child)
        self.namespace = ns.metadata.apply(lambda m: m["name"] if isinstance(m, dict) else m.name)
        annotations = {"cert-manager.io/cluster-issuer": args.cluster_issuer} if args.cluster_issuer else {}
        k8s.apiextensions.CustomResource(
            f"{name}-gateway", api_version=GATEWAY_VERSION, kind="Gateway",
            metadata={"name": args.ref.name, "namespace": self.namespace, "labels": args.labels,
                      "annotations": annotations},
            spec={"gatewayClassName": args.gateway_class_name, "listeners": [{
                "name": args.ref.section, "protocol": "HTTPS", "port": 443, "hostname": f"*.{args.domain}",
                "tls": {"mode": "Terminate", "certificateRefs": [{"kind": "Secret", "name": args.certificate_secret}]},
                "allowedRoutes": {"namespaces": {"from": "Selector", "selector": args.route_namespaces},
                                  "kinds": [{"group": GATEWAY_API, "kind": "HTTPRoute"}]}}]},
            opts=child)
        self.register_outputs({"namespace": self.namespace})


def gateway_ingress(name: str, *, namespace: pulumi.Input[str], proxy_namespace: str, ports: Sequence[int],
                    opts: pulumi.ResourceOptions) -> k8s.networking.v1.NetworkPolicy:
    """Admit the Gateway's proxies (their namespace, by its immutable name label) to the service
    instances of `namespace`, on the services' ports only."""
    return k8s.networking.v1.NetworkPolicy(f"{name}-np-allow-gateway", metadata={
        "name": "allow-gateway", "namespace": namespace}, spec={
        "podSelector": {"matchLabels": {"app.kubernetes.io/part-of": SERVICES_PART_OF}},
        "policyTypes": ["Ingress"],
        "ingress": [{"from": [{"namespaceSelector": {"matchLabels": {NAME_LABEL: proxy_namespace}}}],
                     "ports": [{"protocol": "TCP", "port": port} for port in sorted(set(ports))]}]}, opts=opts)


def route_rules(tenant_id: str, backends: Sequence[Backend]) -> list[dict]:
    """One rule per path prefix (longest first, as the Gateway matches them), each setting X-Tenant-ID."""
    rules = []
    for backend in sorted(backends, key=lambda b: (-len(b.path), b.path)):
        ref = {"group": "", "kind": "Service", "name": backend.service, "port": backend.port}
        if backend.namespace:
            ref["namespace"] = backend.namespace
        rules.append({"matches": [{"path": {"type": "PathPrefix", "value": backend.path}}],
                      "filters": [{"type": "RequestHeaderModifier", "requestHeaderModifier": {
                          "set": [{"name": TENANT_HEADER, "value": tenant_id}]}}],
                      "backendRefs": [ref]})
    return rules


class TenantRoute(pulumi.ComponentResource):
    """A tenant's HTTPRoute in `namespace` (its own, or the pool's), attached to the platform's
    Gateway; a ReferenceGrant in each other namespace it sends paths to."""

    hostname: str

    def __init__(self, name: str, *, tenant_id: str, namespace: pulumi.Input[str], route_name: str, hostname: str,
                 gateway: GatewayRef, backends: Sequence[Backend], labels: dict[str, str],
                 opts: pulumi.ResourceOptions | None = None):
        super().__init__("tenancy:routing:TenantRoute", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        k8s.apiextensions.CustomResource(
            f"{name}-route", api_version=GATEWAY_VERSION, kind="HTTPRoute",
            metadata={"name": route_name, "namespace": namespace, "labels": labels},
            spec={"parentRefs": [{"group": GATEWAY_API, "kind": "Gateway", "name": gateway.name,
                                  "namespace": gateway.namespace, "sectionName": gateway.section}],
                  "hostnames": [hostname], "rules": route_rules(tenant_id, backends)},
            opts=child)
        elsewhere: dict[str, list[str]] = {}
        for backend in backends:
            if backend.namespace:
                elsewhere.setdefault(backend.namespace, []).append(backend.service)
        for target, services in sorted(elsewhere.items()):
            k8s.apiextensions.CustomResource(
                f"{name}-grant-{target}", api_version=REFERENCE_GRANT_VERSION, kind="ReferenceGrant",
                metadata={"name": route_name, "namespace": target},
                spec={"from": [{"group": GATEWAY_API, "kind": "HTTPRoute", "namespace": namespace}],
                      "to": [{"group": "", "kind": "Service", "name": s} for s in sorted(set(services))]},
                opts=child)
        self.hostname = hostname
        self.register_outputs({"hostname": hostname})
