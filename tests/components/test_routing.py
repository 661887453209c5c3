"""Routing (Gateway API): the platform's Gateway and each tenant's HTTPRoute, alone under the mocks
and on the fixture's dev plan. What must hold: a tenant's host goes to its own instances or to the
pool's and nowhere else, every rule overwrites X-Tenant-ID with the tenant, a route leaves its
namespace only into the pool's and only with a ReferenceGrant naming it and those services, the
Gateway's proxies are admitted on the services' ports alone, and the CRDs' schemas accept it all."""

from __future__ import annotations

import pytest

from components.routing import Backend, Gateway, GatewayArgs, GatewayRef, TenantRoute, gateway_ingress
from tenancy.plan.constraints import check_constraints
from tenancy.plan.harness import Recording, run_function
from tenancy.registry import naming

from .conftest import DEV_TENANTS, run_dev

ROUTE = "kubernetes:gateway.networking.k8s.io/v1:HTTPRoute"
GATEWAY = "kubernetes:gateway.networking.k8s.io/v1:Gateway"
GRANT = "kubernetes:gateway.networking.k8s.io/v1beta1:ReferenceGrant"
NP = "kubernetes:networking.k8s.io/v1:NetworkPolicy"
REF = GatewayRef("tenancy", "tenancy-gateway", "https")
DOMAIN = "dev.tenancy.example.com"  # the fixture's dev stack (tests/fixtures/sample/Pulumi.dev.yaml)


def alone(build) -> Recording:
    return run_function(build, config={"aws:region": "eu-west-1"})


def one(rec: Recording, type_: str):
    found = rec.of_type(type_)
    assert len(found) == 1, [r.name for r in found]
    return found[0]


def route(namespace: str, backends: list[Backend]) -> Recording:
    return alone(lambda: TenantRoute("dev-globex-route", tenant_id="globex", namespace=namespace,
                                     route_name="tenant-globex", hostname=f"globex.{DOMAIN}", gateway=REF,
                                     backends=backends, labels={"tenancy.io/tenant-id": "globex"}))


def header_sets(spec: dict) -> list:
    return [f["requestHeaderModifier"] for rule in spec["rules"] for f in rule["filters"]]


# -- leaf components ---------------------------------------------------------------------------------

def test_a_route_overwrites_x_tenant_id_on_every_rule_and_stays_in_its_namespace():
    rec = route("tenant-globex", [Backend("/api", "api", 8080), Backend("/", "web", 8080)])
    spec = one(rec, ROUTE).input("spec")
    assert spec["hostnames"] == [f"globex.{DOMAIN}"]
    assert spec["parentRefs"] == [{"group": "gateway.networking.k8s.io", "kind": "Gateway", "name": "tenancy",
                                   "namespace": "tenancy-gateway", "sectionName": "https"}]
    assert [r["matches"][0]["path"] for r in spec["rules"]] == [  # the longer prefix first
        {"type": "PathPrefix", "value": "/api"}, {"type": "PathPrefix", "value": "/"}]
    assert header_sets(spec) == [{"set": [{"name": "X-Tenant-ID", "value": "globex"}]}] * 2  # set, never add
    assert all("namespace" not in ref for r in spec["rules"] for ref in r["backendRefs"])
    assert rec.of_type(GRANT) == []  # nothing leaves the namespace, so nothing is granted
    assert check_constraints(rec) == []


def test_a_path_to_the_pool_comes_with_a_reference_grant_for_that_service_alone():
    rec = route("tenant-globex", [Backend("/api", "api", 8080), Backend("/", "web", 8080, "tenant-pool")])
    refs = {r["matches"][0]["path"]["value"]: r["backendRefs"][0] for r in one(rec, ROUTE).input("spec")["rules"]}
    assert refs["/"] == {"group": "", "kind": "Service", "name": "web", "port": 8080, "namespace": "tenant-pool"}
    grant = one(rec, GRANT)
    assert grant.input("metadata")["namespace"] == "tenant-pool"
    assert grant.input("spec") == {"from": [{"group": "gateway.networking.k8s.io", "kind": "HTTPRoute",
                                             "namespace": "tenant-globex"}],
                                   "to": [{"group": "", "kind": "Service", "name": "web"}]}
    assert check_constraints(rec) == []


def test_the_gateway_serves_the_domain_over_tls_to_the_environments_routes():
    rec = alone(lambda: Gateway("gw", GatewayArgs(
        ref=REF, domain=DOMAIN, gateway_class_name="istio", certificate_secret="tenancy-gateway-tls",
        route_namespaces={"matchLabels": {"tenancy.io/environment": "dev"}}, labels={"tenancy.io/tier": "platform"},
        cluster_issuer="letsencrypt")))
    ns, gateway = one(rec, "kubernetes:core/v1:Namespace"), one(rec, GATEWAY)
    assert ns.input("metadata")["name"] == "tenancy-gateway"
    assert gateway.input("metadata")["namespace"] == "tenancy-gateway"
    assert gateway.input("metadata")["annotations"] == {"cert-manager.io/cluster-issuer": "letsencrypt"}
    (listener,) = gateway.input("spec")["listeners"]
    assert (listener["protocol"], listener["port"], listener["hostname"]) == ("HTTPS", 443, f"*.{DOMAIN}")
    assert listener["tls"] == {"mode": "Terminate", "certificateRefs": [{"kind": "Secret", "name": "tenancy-gateway-tls"}]}
    assert listener["allowedRoutes"]["namespaces"] == {
        "from": "Selector", "selector": {"matchLabels": {"tenancy.io/environment": "dev"}}}
    assert check_constraints(rec) == []


def test_the_gateways_proxies_are_admitted_on_the_services_ports_only():
    rec = alone(lambda: gateway_ingress("dev-acme-routes", namespace="tenant-acme", proxy_namespace="tenancy-gateway",
                                        ports=[8080, 9090, 8080], opts=None))
    spec = one(rec, NP).input("spec")
    assert spec["policyTypes"] == ["Ingress"]
    assert spec["podSelector"] == {"matchLabels": {"app.kubernetes.io/part-of": naming.SERVICES_PART_OF}}
    (rule,) = spec["ingress"]
    assert rule["from"] == [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "tenancy-gateway"}}}]
    assert rule["ports"] == [{"protocol": "TCP", "port": 8080}, {"protocol": "TCP", "port": 9090}]


@pytest.mark.parametrize("break_it, field", [
    (lambda spec: spec["rules"][0]["backendRefs"][0].pop("port"), "spec.rules[0].backendRefs[0].port"),
    (lambda spec: spec["rules"][0]["matches"][0]["path"].update(value="api"), "spec.rules[0].matches[0].path.value"),
    (lambda spec: spec.update(hostnames=["Globex.example.com"]), "spec.hostnames.0"),
    (lambda spec: spec["rules"][0]["filters"][0].update(type="SetHeader"), "spec.rules.0.filters.0.type"),
    (lambda spec: spec["rules"][0].update(backendRef={}), "spec.rules.0"),
])
def test_the_offline_plan_refuses_a_route_the_crd_refuses(break_it, field):
    rec = route("tenant-globex", [Backend("/api", "api", 8080)])
    spec = one(rec, ROUTE).inputs["spec"]
    break_it(spec)
    assert [b.field for b in check_constraints(rec)] == [field]


# -- the fixture's dev plan -------------------------------------------------------------------------------

def _route(dev, tenant_id):
    (found,) = [r for r in dev.tenant("dev", tenant_id) if r.type == ROUTE]
    return found


@pytest.mark.parametrize("tenant_id", DEV_TENANTS)
def test_each_tenants_host_goes_to_its_own_instances_or_the_pools(dev, registry, tenant_id):
    tenant = registry.get(tenant_id)
    r = _route(dev, tenant_id)
    spec = r.input("spec")
    home = naming.namespace_name(tenant_id) if tenant.has_own_namespace else naming.POOL_NAMESPACE
    assert r.input("metadata") == {"name": f"tenant-{tenant_id}", "namespace": home,
                                   "labels": r.input("metadata")["labels"]}
    assert r.input("metadata")["labels"]["tenancy.io/tenant-id"] == tenant_id
    assert spec["hostnames"] == [f"{tenant_id}.{DOMAIN}"]
    assert header_sets(spec) == [{"set": [{"name": "X-Tenant-ID", "value": tenant_id}]}] * len(tenant.catalog)
    own = {s.name for s in tenant.dedicated_services}
    targets = {ref["name"]: ref.get("namespace", home) for rule in spec["rules"] for ref in rule["backendRefs"]}
    assert targets == {s.name: home if s.name in own else naming.POOL_NAMESPACE for s in tenant.catalog}
    assert dev.outputs["tenants"][tenant_id]["route"] == {"host": f"{tenant_id}.{DOMAIN}", "namespace": home,
                                                          "name": f"tenant-{tenant_id}"}
    grants = [g for g in dev.tenant("dev", tenant_id) if g.type == GRANT]
    if tenant.has_own_namespace and own != {s.name for s in tenant.catalog}:  # hybrid, pooled data: the rest pooled
        (grant,) = grants
        assert grant.input("metadata")["namespace"] == naming.POOL_NAMESPACE
        assert grant.input("spec")["from"] == [{"group": "gateway.networking.k8s.io", "kind": "HTTPRoute",
                                               "namespace": home}]
        assert {t["name"] for t in grant.input("spec")["to"]} == {s.name for s in tenant.catalog} - own
    else:
        assert grants == []


def test_only_the_namespaces_with_instances_admit_the_gateway(dev, registry):
    admitting = {p.input("metadata")["namespace"] for p in dev.of_type(NP) if p.input("metadata")["name"] == "allow-gateway"}
    assert admitting == {naming.POOL_NAMESPACE} | {naming.namespace_name(t.id) for t in registry.in_environment("dev")
                                                   if t.dedicated_services}


def test_the_platform_has_one_gateway_in_its_own_namespace(dev):
    gateway = one(dev, GATEWAY)
    assert gateway.input("metadata")["namespace"] == naming.GATEWAY_NAMESPACE
    assert gateway.input("spec")["gatewayClassName"] == "istio"


def test_without_routing_settings_there_is_no_gateway_and_no_route():
    rec = run_dev(routing=None)
    assert rec.of_type(GATEWAY) == rec.of_type(ROUTE) == rec.of_type(GRANT) == []
    assert all(rec.outputs["tenants"][t]["route"] is None for t in DEV_TENANTS)
    assert not [p for p in rec.of_type(NP) if p.input("metadata")["name"] == "allow-gateway"]
    assert rec.of_type("kubernetes:apps/v1:Deployment")  # the instances stay
