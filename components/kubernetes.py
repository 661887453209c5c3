"""Kubernetes: a namespace per dedicated or isolated tenant (and one pooled namespace) with a quota,
default limits, default-deny network policies and the tenant's service account."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Optional

import pulumi
import pulumi_kubernetes as k8s

from tenancy.registry.addressing import PRIVATE_RANGES
from tenancy.registry.naming import CACHE_PORT, DATABASE_PORT
from tenancy.registry.settings import StackSettings


@dataclass(frozen=True)
class QuotaSpec:
    cpu: float
    memory_gib: float
    storage_gib: float
    pods: int

    def hard(self) -> dict[str, str]:
        return {"requests.cpu": f"{self.cpu:g}", "limits.cpu": f"{self.cpu:g}",
                "requests.memory": f"{self.memory_gib:g}Gi", "limits.memory": f"{self.memory_gib:g}Gi",
                "requests.storage": f"{self.storage_gib:g}Gi", "pods": str(self.pods)}


def kubernetes_provider(settings: StackSettings, name: str) -> Optional[k8s.Provider]:
    """The cluster named by `tenancy:kubernetes`, or None (Kubernetes resources are then skipped)."""
    kube = settings.kubernetes
    if kube is None:
        pulumi.log.info("tenancy:kubernetes is not set: skipping namespaces, quotas, network policies "
                        "and service accounts")
        return None
    return k8s.Provider(name, kubeconfig=kube.kubeconfig, context=kube.context,
                        enable_server_side_apply=True)


DEFAULT_CPU, DEFAULT_MEMORY_MIB = 0.5, 512  # a container's limit when it sets none
DEFAULT_REQUEST_CPU, DEFAULT_REQUEST_MEMORY_MIB = 0.1, 128


def container_limits(quota: QuotaSpec) -> dict:
    """A LimitRange item whose defaults never exceed its max (the API server refuses that):
    defaultRequest <= default <= max, each capped by the quota."""
    max_cpu_m, max_mem_mib = round(quota.cpu * 1000), round(quota.memory_gib * 1024)
    default_cpu_m, default_mem_mib = min(round(DEFAULT_CPU * 1000), max_cpu_m), min(DEFAULT_MEMORY_MIB, max_mem_mib)
    request_cpu_m = min(round(DEFAULT_REQUEST_CPU * 1000), default_cpu_m)
    request_mem_mib = min(DEFAULT_REQUEST_MEMORY_MIB, default_mem_mib)
    return {"type": "Container",
            "default": {"cpu": f"{default_cpu_m}m", "memory": f"{default_mem_mib}Mi"},
            "defaultRequest": {"cpu": f"{request_cpu_m}m", "memory": f"{request_mem_mib}Mi"},
            "max": {"cpu": f"{max_cpu_m}m", "memory": f"{max_mem_mib}Mi"}}


class TenantNamespace(pulumi.ComponentResource):
    """A namespace labelled with its owner and tier, pod security `restricted`, a ResourceQuota and
    LimitRange, and network policies: deny all, then allow within the namespace, DNS, HTTPS out of
    the VPC (AWS APIs), and the owner's data subnets on the database and cache ports."""

    namespace: pulumi.Output[str]  # carries a dependency on the namespace itself

    def __init__(self, name: str, *, namespace: str, labels: dict[str, str], quota: QuotaSpec,
                 data_cidrs: Sequence[str], opts: pulumi.ResourceOptions | None = None):
        super().__init__("tenancy:kubernetes:TenantNamespace", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        security = {f"pod-security.kubernetes.io/{mode}": "restricted" for mode in ("enforce", "audit", "warn")}
        ns = k8s.core.v1.Namespace(f"{name}-ns", metadata={"name": namespace, "labels": {**labels, **security}},
                                   opts=child)
        in_ns = pulumi.ResourceOptions(parent=self, depends_on=[ns])
        k8s.core.v1.ResourceQuota(f"{name}-quota", metadata={"name": "tenant-quota", "namespace": namespace},
                                  spec={"hard": quota.hard()}, opts=in_ns)
        k8s.core.v1.LimitRange(f"{name}-limits", metadata={"name": "tenant-limits", "namespace": namespace},
                               spec={"limits": [container_limits(quota)]}, opts=in_ns)
        everything = {"podSelector": {}}
        policies = {
            "default-deny": {**everything, "policyTypes": ["Ingress", "Egress"]},
            "allow-same-namespace": {**everything, "policyTypes": ["Ingress", "Egress"],
                                     "ingress": [{"from": [{"podSelector": {}}]}],
                                     "egress": [{"to": [{"podSelector": {}}]}]},
            "allow-dns": {**everything, "policyTypes": ["Egress"], "egress": [{
                "to": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}},
                        "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}}}],
                "ports": [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}]}]},
            "allow-https-out": {**everything, "policyTypes": ["Egress"], "egress": [{
                "to": [{"ipBlock": {"cidr": "0.0.0.0/0", "except": [str(r) for r in PRIVATE_RANGES]}}],
                "ports": [{"protocol": "TCP", "port": 443}]}]},
            "allow-own-data": {**everything, "policyTypes": ["Egress"], "egress": [{
                "to": [{"ipBlock": {"cidr": cidr}} for cidr in data_cidrs],
                "ports": [{"protocol": "TCP", "port": DATABASE_PORT}, {"protocol": "TCP", "port": CACHE_PORT}]}]},
        }
        for policy_name, spec in policies.items():
            k8s.networking.v1.NetworkPolicy(f"{name}-np-{policy_name}",
                                            metadata={"name": policy_name, "namespace": namespace},
                                            spec=spec, opts=in_ns)
        self.namespace = ns.metadata.apply(lambda meta: meta["name"] if isinstance(meta, dict) else meta.name)
        self.register_outputs({"namespace": self.namespace})


def service_account(name: str, *, namespace: pulumi.Input[str], account: str, role_arn: pulumi.Input[str],
                    labels: dict[str, str], opts: pulumi.ResourceOptions) -> k8s.core.v1.ServiceAccount:
    """The tenant's service account, annotated with its workload role (IRSA)."""
    return k8s.core.v1.ServiceAccount(
        f"{name}-sa", metadata={"name": account, "namespace": namespace, "labels": labels,
                                "annotations": {"eks.amazonaws.com/role-arn": role_arn}},
        automount_service_account_token=True, opts=opts)


def pod_security_group(name: str, *, namespace: pulumi.Input[str], group_id: pulumi.Input[str],
                       opts: pulumi.ResourceOptions) -> k8s.apiextensions.CustomResource:
    """Every pod of the namespace in the tenant's own security group (EKS security groups for pods:
    the VPC CNI with ENABLE_POD_ENI=true), so the tenant's data services admit its workloads and no
    one else's, also inside the shared VPC."""
    return k8s.apiextensions.CustomResource(
        f"{name}-pod-security-group", api_version="vpcresources.k8s.aws/v1beta1", kind="SecurityGroupPolicy",
        metadata={"name": "tenant-workloads", "namespace": namespace},
        spec={"podSelector": {}, "securityGroups": {"groupIds": [group_id]}}, opts=opts)
