"""Service instances: a Deployment, a Service and a HorizontalPodAutoscaler per catalog service, in
one namespace: a dedicated tenant's (its instances, acting as its service account and so its role)
or the pool's (the shared instances, acting as the pool identity, tenant-filtered per request).

Every pod meets the `restricted` pod security standard the namespaces enforce (non-root, no
privilege escalation, every capability dropped, the runtime's seccomp profile, a read-only root
file system with a small writable /tmp) and holds no Kubernetes API token (IRSA and EKS Pod Identity
inject their own). Containers request what they are limited to, and roll out without surge, so the
namespace quota bounds them exactly at maxReplicas (`tenancy.registry.instances` checks the fit).
A suspended owner keeps its objects with no replicas and no autoscaler."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Optional

import pulumi
import pulumi_kubernetes as k8s

from tenancy.registry.models import CatalogService
from tenancy.registry.naming import SERVICES_PART_OF

CPU_TARGET_PERCENT = 70
TMP_SIZE = "64Mi"


def selector(service: CatalogService, instance: str) -> dict[str, str]:
    return {"app.kubernetes.io/name": service.name, "app.kubernetes.io/instance": instance}


def resources(service: CatalogService) -> dict:
    amounts = {"cpu": f"{round(service.cpu * 1000)}m", "memory": f"{service.memory_mib}Mi"}
    return {"requests": dict(amounts), "limits": dict(amounts)}


def restricted_container(service: CatalogService, env: list[dict]) -> dict:
    probe = {"httpGet": {"path": service.health_path, "port": "http"}}
    return {
        "name": service.name, "image": service.image,
        "ports": [{"name": "http", "containerPort": service.port, "protocol": "TCP"}],
        "env": env, "resources": resources(service),
        "readinessProbe": {**probe, "periodSeconds": 10},
        "livenessProbe": {**probe, "initialDelaySeconds": 15, "periodSeconds": 20},
        "securityContext": {"allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True,
                            "runAsNonRoot": True, "runAsUser": service.run_as_user,
                            "runAsGroup": service.run_as_user, "capabilities": {"drop": ["ALL"]},
                            "seccompProfile": {"type": "RuntimeDefault"}},
        "volumeMounts": [{"name": "tmp", "mountPath": "/tmp"}],
    }


def pod_spec(service: CatalogService, service_account: str, env: list[dict]) -> dict:
    return {
        "serviceAccountName": service_account, "automountServiceAccountToken": False, "enableServiceLinks": False,
        "securityContext": {"runAsNonRoot": True, "runAsUser": service.run_as_user,
                            "runAsGroup": service.run_as_user, "seccompProfile": {"type": "RuntimeDefault"}},
        "containers": [restricted_container(service, env)],
        "volumes": [{"name": "tmp", "emptyDir": {"sizeLimit": TMP_SIZE}}],
    }


class ServiceInstances(pulumi.ComponentResource):
    """The catalog's `services`, run in `namespace` as `service_account`. `tenant_id` names the one
    tenant they serve (dedicated instances: `TENANCY_TENANT_ID`), None for the pool's."""

    endpoints: dict[str, pulumi.Output[str]]  # service -> its in-cluster address

    def __init__(self, name: str, *, namespace: pulumi.Input[str], service_account: str, instance: str,
                 services: Sequence[CatalogService], labels: dict[str, str], tenant_id: Optional[str] = None,
                 suspended: bool = False, opts: pulumi.ResourceOptions | None = None):
        super().__init__("tenancy:services:ServiceInstances", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        env = [{"name": "TENANCY_TENANT_ID", "value": tenant_id}] if tenant_id else \
            [{"name": "TENANCY_MODE", "value": "pooled"}]
        self.endpoints = {}
        for service in services:
            match = selector(service, instance)
            object_labels = {**labels, **match, "app.kubernetes.io/part-of": SERVICES_PART_OF,
                             "app.kubernetes.io/component": "service-instance"}
            metadata = {"name": service.name, "namespace": namespace, "labels": object_labels}
            spec: dict = {
                "selector": {"matchLabels": match}, "revisionHistoryLimit": 5,
                "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 0, "maxUnavailable": 1}},
                "template": {"metadata": {"labels": object_labels},
                             "spec": pod_spec(service, service_account, env)}}
            if suspended:
                spec["replicas"] = 0  # otherwise the autoscaler owns the count
            deployment = k8s.apps.v1.Deployment(f"{name}-{service.name}", metadata=metadata, spec=spec, opts=child)
            k8s.core.v1.Service(f"{name}-{service.name}-svc", metadata=metadata, spec={
                "type": "ClusterIP", "selector": match,
                "ports": [{"name": "http", "port": service.port, "targetPort": "http", "protocol": "TCP"}]},
                opts=child)
            if not suspended:
                k8s.autoscaling.v2.HorizontalPodAutoscaler(f"{name}-{service.name}-hpa", metadata=metadata, spec={
                    "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": service.name},
                    "minReplicas": service.replicas, "maxReplicas": service.most_replicas,
                    "metrics": [{"type": "Resource", "resource": {"name": "cpu", "target": {
                        "type": "Utilization", "averageUtilization": CPU_TARGET_PERCENT}}}]},
                    opts=pulumi.ResourceOptions(parent=self, depends_on=[deployment]))
            self.endpoints[service.name] = pulumi.Output.concat(service.name, ".", namespace, ".svc:",
                                                                str(service.port))
        self.register_outputs({"endpoints": self.endpoints})
