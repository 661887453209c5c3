"""Service instances: the catalog's services per dedicated tenant and once in the pool, alone under
the mocks and on the fixture's dev plan. What must hold: each tier runs the instances the registry
says (all, a hybrid's critical ones, none), acting as its own service account (the pool's as the
pool identity), within its namespace quota at maxReplicas, and every pod meets the `restricted`
pod security standard its namespace enforces."""

from __future__ import annotations

import pulumi
import pytest
from kubernetes.utils.quantity import parse_quantity

from components.platform import pool_instances_fit
from components.services import ServiceInstances
from tenancy.plan.constraints import check_constraints
from tenancy.plan.harness import Recording, run_function
from tenancy.registry import naming
from tenancy.registry.models import CatalogService
from tenancy.registry.settings import NamespaceQuota, PoolSettings

from .conftest import DEV_TENANTS

DEPLOYMENT, SERVICE = "kubernetes:apps/v1:Deployment", "kubernetes:core/v1:Service"
HPA = "kubernetes:autoscaling/v2:HorizontalPodAutoscaler"
QUOTA = "kubernetes:core/v1:ResourceQuota"
API = CatalogService(name="api", image="ghcr.io/example/api:1", port=8080, replicas=2, max_replicas=6, cpu=0.5,
                     memory_mib=512, critical=True)
WEB = CatalogService(name="web", image="ghcr.io/example/web:1", path="/", cpu=0.25)


def instances(suspended: bool = False, tenant_id: str | None = "acme") -> Recording:
    return run_function(lambda: ServiceInstances(
        "dev-acme-services", namespace="tenant-acme", service_account="tenant-acme", instance="acme",
        services=[API, WEB], labels={"tenancy.io/tenant-id": "acme"}, tenant_id=tenant_id, suspended=suspended))


def by_name(rec: Recording, type_: str) -> dict:
    return {r.input("metadata")["name"]: r for r in rec.of_type(type_)}


def assert_restricted(pod: dict) -> None:
    """What the `restricted` pod security standard requires (kubernetes.io/docs/concepts/security/pod-security-standards)."""
    assert pod["securityContext"]["runAsNonRoot"] is True and pod["securityContext"]["runAsUser"] > 0
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    assert pod["automountServiceAccountToken"] is False
    assert not {"hostNetwork", "hostPID", "hostIPC"} & set(pod)
    assert all("hostPath" not in v for v in pod.get("volumes", []))
    for container in pod["containers"]:
        context = container["securityContext"]
        assert context["allowPrivilegeEscalation"] is False and context["readOnlyRootFilesystem"] is True
        assert context["capabilities"] == {"drop": ["ALL"]} and context["runAsNonRoot"] is True
        assert context.get("privileged") is not True
        assert container["resources"]["requests"] == container["resources"]["limits"]


# -- the leaf component ----------------------------------------------------------------------------------

def test_each_service_gets_a_deployment_a_service_and_an_autoscaler_within_its_sizes():
    rec = instances()
    deployments, services, scalers = by_name(rec, DEPLOYMENT), by_name(rec, SERVICE), by_name(rec, HPA)
    assert set(deployments) == set(services) == set(scalers) == {"api", "web"}
    api = deployments["api"].input("spec")
    assert "replicas" not in api  # the autoscaler owns the count
    assert api["strategy"]["rollingUpdate"] == {"maxSurge": 0, "maxUnavailable": 1}  # never above maxReplicas
    pod = api["template"]["spec"]
    assert_restricted(pod)
    assert pod["serviceAccountName"] == "tenant-acme"
    (container,) = pod["containers"]
    assert container["resources"]["limits"] == {"cpu": "500m", "memory": "512Mi"}
    assert container["env"] == [{"name": "TENANCY_TENANT_ID", "value": "acme"}]
    assert api["selector"]["matchLabels"] == {"app.kubernetes.io/name": "api", "app.kubernetes.io/instance": "acme"}
    assert services["api"].input("spec")["selector"] == api["selector"]["matchLabels"]
    assert services["api"].input("spec")["ports"] == [{"name": "http", "port": 8080, "targetPort": "http",
                                                       "protocol": "TCP"}]
    hpa = scalers["api"].input("spec")
    assert (hpa["minReplicas"], hpa["maxReplicas"]) == (2, 6)
    assert hpa["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": "api"}
    assert by_name(rec, HPA)["web"].input("spec")["maxReplicas"] == 2  # no maxReplicas: fixed at replicas
    assert check_constraints(rec) == []


def test_a_suspended_owner_keeps_its_instances_with_no_replicas_and_no_autoscaler():
    rec = instances(suspended=True)
    assert {d.input("spec")["replicas"] for d in rec.of_type(DEPLOYMENT)} == {0}
    assert rec.of_type(HPA) == [] and len(rec.of_type(SERVICE)) == 2


def test_the_pools_instances_serve_no_one_tenant():
    (container,) = by_name(instances(tenant_id=None), DEPLOYMENT)["api"].input("spec")["template"]["spec"]["containers"]
    assert container["env"] == [{"name": "TENANCY_MODE", "value": "pooled"}]


def test_the_offline_plan_refuses_an_autoscaler_below_its_minimum():
    rec = instances()
    hpa = by_name(rec, HPA)["api"]
    hpa.inputs["spec"] = {**hpa.input("spec"), "maxReplicas": 1}
    assert [b.field for b in check_constraints(rec)] == ["spec.maxReplicas"]


def test_the_pool_quota_must_hold_the_pools_instances():
    pool_instances_fit(PoolSettings(), [API, WEB])
    with pytest.raises(pulumi.RunError, match=r"tenancy:pool.namespaceQuota .* need 3.5 vCPUs \(the quota holds 2\)"):
        pool_instances_fit(PoolSettings(namespace_quota=NamespaceQuota(cpu=2, memory_gib=16)), [API, WEB])


# -- the fixture's dev plan ----------------------------------------------------------------------------------

def _namespace_of(r) -> str:
    return r.input("metadata")["namespace"]


@pytest.mark.parametrize("tenant_id", DEV_TENANTS)
def test_each_tier_runs_the_instances_the_registry_says(dev, registry, tenant_id):
    tenant = registry.get(tenant_id)
    mine = [r for r in dev.tenant("dev", tenant_id) if r.type == DEPLOYMENT]
    assert sorted(r.input("metadata")["name"] for r in mine) == sorted(s.name for s in tenant.dedicated_services)
    expected = {"acme": {"api", "web"}, "initech": {"api", "web"}, "globex": {"api", "web"}}.get(tenant_id, set())
    assert {r.input("metadata")["name"] for r in mine} == expected  # isolated, dedicated, own database, pooled
    for r in mine:
        assert _namespace_of(r) == naming.namespace_name(tenant_id)
        pod = r.input("spec")["template"]["spec"]
        assert pod["serviceAccountName"] == naming.service_account_name(tenant_id)
        assert_restricted(pod)
    places = dev.outputs["tenants"][tenant_id]["serviceInstances"]
    assert places == {s.name: naming.namespace_name(tenant_id) if s.name in expected else naming.POOL_NAMESPACE
                      for s in tenant.catalog}


def test_the_pool_runs_one_instance_of_each_service_as_the_pool_identity(dev, registry):
    pooled = [r for r in dev.of_type(DEPLOYMENT) if _namespace_of(r) == naming.POOL_NAMESPACE]
    assert sorted(r.input("metadata")["name"] for r in pooled) == sorted(s.name for s in registry.plans.services)
    for r in pooled:
        pod = r.input("spec")["template"]["spec"]
        assert pod["serviceAccountName"] == naming.POOL_SERVICE_ACCOUNT
        assert_restricted(pod)


def test_every_namespaces_instances_fit_its_quota_at_their_most_replicas(dev):
    quotas = {_namespace_of(q): q.input("spec")["hard"] for q in dev.of_type(QUOTA)}
    most = {(_namespace_of(h), h.input("metadata")["name"]): h.input("spec")["maxReplicas"] for h in dev.of_type(HPA)}
    used: dict[str, dict] = {}
    for d in dev.of_type(DEPLOYMENT):
        where = _namespace_of(d)
        replicas = int(most.get((where, d.input("metadata")["name"]), d.input("spec").get("replicas", 1)))
        limits = d.input("spec")["template"]["spec"]["containers"][0]["resources"]["limits"]
        total = used.setdefault(where, {"cpu": 0, "memory": 0, "pods": 0})
        total["cpu"] += parse_quantity(limits["cpu"]) * replicas
        total["memory"] += parse_quantity(limits["memory"]) * replicas
        total["pods"] += replicas
    assert set(used) == {naming.POOL_NAMESPACE, "tenant-acme", "tenant-initech", "tenant-globex"}
    for where, total in used.items():
        hard = quotas[where]
        assert total["cpu"] <= parse_quantity(hard["limits.cpu"]), where
        assert total["memory"] <= parse_quantity(hard["limits.memory"]), where
        assert total["pods"] <= int(hard["pods"]), where
