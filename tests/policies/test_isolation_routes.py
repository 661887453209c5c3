"""The `tenant-isolation` policy on Gateway API routes (graph/routes.py).

Bypass programs written as a hostile tenant or a careless teammate would, each with a compliant twin
that differs in the one thing that makes it safe. Every case starts from the compliant stack
(world.py) routed as the program routes it (`routed`): the platform's Gateway in `tenancy-gateway`,
the catalog's Services `api` and `web` in the namespaces of acme (isolated) and initech (dedicated)
and in the pool's, each tenant's HTTPRoute for `<id>.dev.tenancy.example.com` (northwind's in the
pool's namespace, labelled with its tenant), and the NetworkPolicies that admit the Gateway's
proxies to the instances.
"""

from __future__ import annotations

import copy
from typing import Optional

import pytest
from pulumi_policy.proxy import UnknownValueError

from tenancy_policies.graph import routes
from tenancy_policies.graph.analysis import graph
from tenancy_policies.graph.model import ASSUME, REACH, READ, WRITE
from tenancy_policies.isolation import READ_WHOLE, resource

from .breaks import Cases, Names, corpus_tests
from .resources import UNKNOWN, Stack, policies, violations
from .world import NAMESPACE, NETWORK_POLICY, compliant

POLICY = "tenant-isolation"
CASES = Cases()
GW = "gateway.networking.k8s.io"
HTTP_ROUTE, GRPC_ROUTE = f"kubernetes:{GW}/v1:HTTPRoute", f"kubernetes:{GW}/v1:GRPCRoute"
TCP_ROUTE = f"kubernetes:{GW}/v1alpha2:TCPRoute"
GATEWAY, GRANT = f"kubernetes:{GW}/v1:Gateway", f"kubernetes:{GW}/v1beta1:ReferenceGrant"
SERVICE = "kubernetes:core/v1:Service"
DOMAIN = "dev.tenancy.example.com"
ACME_NS, INITECH_NS, POOL_NS, GATEWAY_NS = "tenant-acme", "tenant-initech", "tenant-pool", "tenancy-gateway"
PLATFORM = "dev-platform"
TENANT_LABEL = "tenancy.io/tenant-id"


# -- the program's routing, as the components build it (no ids: Kubernetes objects need none here) -----
def service(s: Stack, parent: str, namespace: str, name: str, tenant: str = "") -> str:
    logical = f"{parent}-services-{name}-svc-{namespace}"
    labels = {"app.kubernetes.io/name": name, **({TENANT_LABEL: tenant} if tenant else {})}
    s.add(SERVICE, logical, {"apiVersion": "v1", "kind": "Service", "metadata": {
        "name": name, "namespace": namespace, "labels": labels}, "spec": {
        "selector": {"app.kubernetes.io/name": name}, "ports": [{"name": "http", "port": 8080}]}}, parent=parent)
    return logical


def rule(path: str, backend: str, tenant: str, namespace: str = "", **extra) -> dict:
    ref = {"group": "", "kind": "Service", "name": backend, "port": 8080, **({"namespace": namespace} if namespace else {})}
    return {"matches": [{"path": {"type": "PathPrefix", "value": path}}],
            "filters": [{"type": "RequestHeaderModifier",
                         "requestHeaderModifier": {"set": [{"name": "X-Tenant-ID", "value": tenant}]}}],
            "backendRefs": [ref], **extra}


def http_route(s: Stack, logical: str, parent: str, namespace: str, tenant: str, hostnames: Optional[list] = None,
               rules: Optional[list] = None, kind: str = HTTP_ROUTE, label: Optional[str] = None) -> str:
    spec = {"parentRefs": [{"group": GW, "kind": "Gateway", "name": "tenancy", "namespace": GATEWAY_NS,
                            "sectionName": "https"}],
            "hostnames": [f"{tenant}.{DOMAIN}"] if hostnames is None else hostnames,
            "rules": rules if rules is not None else [rule("/api", "api", tenant), rule("/", "web", tenant)]}
    labels = {TENANT_LABEL: tenant if label is None else label} if (label or tenant) else {}
    s.add(kind, logical, {"apiVersion": kind.split(":")[1].rsplit("/", 1)[0] + "/" + kind.split("/")[1].split(":")[0],
                          "kind": kind.rsplit(":", 1)[1], "metadata": {"name": f"tenant-{tenant or 'x'}",
                                                                      "namespace": namespace, "labels": labels},
                          "spec": spec}, parent=parent)
    return logical


def grant(s: Stack, logical: str, parent: str, namespace: str, from_namespace: str, to: list[dict],
          from_kind: str = "HTTPRoute") -> str:
    s.add(GRANT, logical, {"apiVersion": f"{GW}/v1beta1", "kind": "ReferenceGrant",
                           "metadata": {"name": logical, "namespace": namespace},
                           "spec": {"from": [{"group": GW, "kind": from_kind, "namespace": from_namespace}],
                                    "to": to}}, parent=parent)
    return logical


def gateway(s: Stack, logical: str, parent: str, namespace: str, name: str, hostname: str,
            allowed: Optional[dict] = None) -> str:
    listener = {"name": "https", "protocol": "HTTPS", "port": 443, "hostname": hostname,
                "tls": {"mode": "Terminate", "certificateRefs": [{"kind": "Secret", "name": "tls"}]}}
    if allowed is not None:
        listener["allowedRoutes"] = {"namespaces": allowed}
    s.add(GATEWAY, logical, {"apiVersion": f"{GW}/v1", "kind": "Gateway",
                             "metadata": {"name": name, "namespace": namespace},
                             "spec": {"gatewayClassName": "istio", "listeners": [listener]}}, parent=parent)
    return logical


def allow_gateway(s: Stack, logical: str, parent: str, namespace: str, source: str = GATEWAY_NS) -> str:
    s.add(NETWORK_POLICY, logical, {"metadata": {"name": "allow-gateway", "namespace": namespace}, "spec": {
        "podSelector": {"matchLabels": {"app.kubernetes.io/part-of": "tenancy-services"}}, "policyTypes": ["Ingress"],
        "ingress": [{"from": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": source}}}],
                     "ports": [{"protocol": "TCP", "port": 8080}]}]}}, parent=parent)
    return logical


def routed(s: Stack) -> None:
    s.add(NAMESPACE, f"{PLATFORM}-gateway-ns", {"metadata": {"name": GATEWAY_NS, "labels": {
        "tenancy.io/tier": "platform"}}, "kind": "Namespace"}, parent=PLATFORM)
    gateway(s, f"{PLATFORM}-gateway-gateway", PLATFORM, GATEWAY_NS, "tenancy", f"*.{DOMAIN}",
            {"from": "Selector", "selector": {"matchExpressions": [
                {"key": "kubernetes.io/metadata.name", "operator": "In", "values": [ACME_NS, INITECH_NS, POOL_NS]}]}})
    for name in ("api", "web"):
        service(s, PLATFORM, POOL_NS, name)
    allow_gateway(s, f"{PLATFORM}-pool-routes-np-allow-gateway", PLATFORM, POOL_NS)
    for tenant, namespace in (("acme", ACME_NS), ("initech", INITECH_NS)):
        for name in ("api", "web"):
            service(s, f"dev-{tenant}", namespace, name, tenant)
        allow_gateway(s, f"dev-{tenant}-routes-np-allow-gateway", f"dev-{tenant}", namespace)
        http_route(s, f"dev-{tenant}-route-route", f"dev-{tenant}", namespace, tenant)
    http_route(s, "dev-northwind-route-route", "dev-northwind", POOL_NS, "northwind")


def reaches(urn: str, *fragments: str) -> list[Names]:
    return [Names(urn, fragments)]


INITECH_ROUTE, ACME_ROUTE, NORTHWIND_ROUTE = "dev-initech-route-route", "dev-acme-route-route", "dev-northwind-route-route"


# == backends ===========================================================================================
@CASES.passes(POLICY)
def the_programs_routes(s):
    """Each tenant's host to its own Services (northwind's to the pool's), the Gateway admitted to them."""
    routed(s)


@CASES.fails(POLICY)
def a_backend_ref_into_another_tenants_namespace(s):
    routed(s)
    s[INITECH_ROUTE].props["spec"]["rules"].append(rule("/steal", "api", "initech", ACME_NS))
    return reaches(s.urn(INITECH_ROUTE), "HTTPRoute tenant-initech/tenant-initech (tenant initech) can reach Service "
                   "tenant-acme/api of tenant acme", "no ReferenceGrant permits it yet")


@CASES.fails(POLICY)
def a_backend_ref_into_another_tenants_namespace_with_the_grant_that_permits_it(s):
    routed(s)
    s[INITECH_ROUTE].props["spec"]["rules"].append(rule("/steal", "api", "initech", ACME_NS))
    grant(s, "grant", "dev-initech", ACME_NS, INITECH_NS, [{"group": "", "kind": "Service", "name": "api"}])
    return [Names(s.urn(INITECH_ROUTE), ("can reach Service tenant-acme/api of tenant acme",
                                         "permitted by ReferenceGrant grant")),
            Names(s.urn("grant"), ("HTTPRoutes of namespace tenant-initech (tenant initech) can reach Service "
                                   "tenant-acme/api of tenant acme via ReferenceGrant tenant-acme/grant",))]


@CASES.passes(POLICY)
def a_hybrid_tenants_path_to_the_pools_service_with_its_grant(s):
    """globex's shape: its own api, the pool's web through a grant in the pool's namespace."""
    routed(s)
    s[INITECH_ROUTE].props["spec"]["rules"][1] = rule("/", "web", "initech", POOL_NS)
    grant(s, "grant", "dev-initech", POOL_NS, INITECH_NS, [{"group": "", "kind": "Service", "name": "web"}])


@CASES.passes(POLICY)
def a_backend_ref_naming_its_own_namespace(s):
    routed(s)
    s[INITECH_ROUTE].props["spec"]["rules"][0] = rule("/api", "api", "initech", INITECH_NS)


@CASES.fails(POLICY)
def a_grpc_route_into_another_tenants_namespace(s):
    """Another route kind, the same effect."""
    routed(s)
    http_route(s, "attack", "dev-initech", INITECH_NS, "initech", hostnames=[f"grpc.initech.{DOMAIN}"],
               rules=[{"backendRefs": [{"name": "api", "namespace": ACME_NS, "port": 8080}]}], kind=GRPC_ROUTE)
    return reaches(s.urn("attack"), "GRPCRoute tenant-initech/tenant-initech (tenant initech) can reach Service "
                   "tenant-acme/api of tenant acme")


@CASES.fails(POLICY)
def a_tcp_route_of_the_pool_into_a_tenants_namespace(s):
    """The pool's namespace holds every pooled tenant's route: none may lead into a dedicated tenant's."""
    routed(s)
    http_route(s, "attack", PLATFORM, POOL_NS, "", hostnames=[], kind=TCP_ROUTE,
               rules=[{"backendRefs": [{"name": "api", "namespace": INITECH_NS, "port": 8080}]}])
    return reaches(s.urn("attack"), "TCPRoute tenant-pool/tenant-x (the platform (pool)) can reach Service "
                   "tenant-initech/api of tenant initech")


@CASES.fails(POLICY)
def a_request_mirror_to_another_tenants_service(s):
    """Copies of every request (tokens included) to another tenant's Service."""
    routed(s)
    s[INITECH_ROUTE].props["spec"]["rules"][0]["filters"].append(
        {"type": "RequestMirror", "requestMirror": {"backendRef": {"name": "api", "namespace": ACME_NS, "port": 8080}}})
    return reaches(s.urn(INITECH_ROUTE), "can reach Service tenant-acme/api of tenant acme", "RequestMirror")


@CASES.passes(POLICY)
def a_request_mirror_to_its_own_service(s):
    routed(s)
    s[INITECH_ROUTE].props["spec"]["rules"][0]["filters"].append(
        {"type": "RequestMirror", "requestMirror": {"backendRef": {"name": "web", "port": 8080}}})


# == grants ===============================================================================================
@CASES.fails(POLICY)
def a_grant_in_a_tenant_namespace_for_another_tenants_routes(s):
    """No route uses it yet: the grant alone opens every Service of acme to initech's routes."""
    routed(s)
    grant(s, "grant", "dev-acme", ACME_NS, INITECH_NS, [{"group": "", "kind": "Service"}])
    return reaches(s.urn("grant"), "HTTPRoutes of namespace tenant-initech (tenant initech) can reach every Service "
                   "of namespace tenant-acme of tenant acme")


@CASES.fails(POLICY)
def a_grant_in_a_tenant_namespace_for_the_pools_routes(s):
    routed(s)
    grant(s, "grant", "dev-acme", ACME_NS, POOL_NS, [{"group": "", "kind": "Service", "name": "api"}])
    return reaches(s.urn("grant"), "HTTPRoutes of namespace tenant-pool (the platform (pool)) can reach Service "
                   "tenant-acme/api of tenant acme")


@CASES.fails(POLICY)
def a_grant_of_a_tenants_secrets_to_another_tenants_gateways(s):
    """A Gateway of initech terminating TLS with acme's certificate (its private key)."""
    routed(s)
    grant(s, "grant", "dev-acme", ACME_NS, INITECH_NS, [{"group": "", "kind": "Secret"}], from_kind="Gateway")
    return reaches(s.urn("grant"), "Gateways of namespace tenant-initech (tenant initech) can read every Secret of "
                   "namespace tenant-acme")


@CASES.passes(POLICY)
def a_grant_in_the_pool_for_one_tenants_routes(s):
    routed(s)
    grant(s, "grant", "dev-initech", POOL_NS, INITECH_NS, [{"group": "", "kind": "Service", "name": "web"}])


@CASES.passes(POLICY)
def a_grant_within_one_tenants_own_namespace(s):
    routed(s)
    grant(s, "grant", "dev-acme", ACME_NS, ACME_NS, [{"group": "", "kind": "Service"}])


# == hosts =================================================================================================
@CASES.fails(POLICY)
def a_route_claiming_another_tenants_host(s):
    routed(s)
    s[INITECH_ROUTE].props["spec"]["hostnames"].append(f"acme.{DOMAIN}")
    return reaches(s.urn(INITECH_ROUTE), "HTTPRoute tenant-initech/tenant-initech (tenant initech) can read, write "
                   f"host acme.{DOMAIN} of tenant acme", f"hostname acme.{DOMAIN}")


@CASES.fails(POLICY)
def a_route_claiming_a_host_of_a_tenant_whose_route_is_elsewhere(s):
    """initech's route is not in this stack (another stack holds it): its host is still its own."""
    routed(s)
    s.remove(INITECH_ROUTE)
    s[NORTHWIND_ROUTE].props["spec"]["hostnames"] = [f"northwind.{DOMAIN}", f"initech.{DOMAIN}"]
    return reaches(s.urn(NORTHWIND_ROUTE), f"can read, write host initech.{DOMAIN} of tenant initech")


@CASES.fails(POLICY)
def a_wildcard_hostname_over_the_tenants_domain(s):
    routed(s)
    s[NORTHWIND_ROUTE].props["spec"]["hostnames"] = [f"*.{DOMAIN}"]
    return [Names(s.urn(NORTHWIND_ROUTE), (f"can read, write host acme.{DOMAIN} of tenant acme", f"hostname *.{DOMAIN}")),
            Names(s.urn(NORTHWIND_ROUTE), (f"host initech.{DOMAIN} of tenant initech",))]


@CASES.fails(POLICY)
def a_route_without_hostnames_takes_every_host_of_its_listener(s):
    routed(s)
    s[INITECH_ROUTE].props["spec"].pop("hostnames")
    return reaches(s.urn(INITECH_ROUTE), f"can read, write host acme.{DOMAIN} of tenant acme")


@CASES.fails(POLICY)
def a_platform_route_for_a_tenants_host(s):
    """Without its tenant's label, a route in the pool's namespace is the platform's."""
    routed(s)
    s[NORTHWIND_ROUTE].props["metadata"]["labels"] = {}
    s[NORTHWIND_ROUTE].parent = PLATFORM
    return reaches(s.urn(NORTHWIND_ROUTE), "HTTPRoute tenant-pool/tenant-northwind (the platform (pool)) can read, "
                   f"write host northwind.{DOMAIN} of tenant northwind")


@CASES.passes(POLICY)
def a_custom_domain_and_a_wildcard_under_the_tenants_own_host(s):
    routed(s)
    s[INITECH_ROUTE].props["spec"]["hostnames"] += ["app.initech.example", f"*.initech.{DOMAIN}"]


# == X-Tenant-ID ===========================================================================================
@CASES.fails(POLICY)
def a_route_setting_another_tenants_id(s):
    """Requests of northwind's host reach the pooled services as acme's."""
    routed(s)
    s[NORTHWIND_ROUTE].props["spec"]["rules"][0] = rule("/api", "api", "acme")
    return reaches(s.urn(NORTHWIND_ROUTE), "HTTPRoute tenant-pool/tenant-northwind (tenant northwind) can assume "
                   "requests of tenant acme", "setting X-Tenant-ID: acme")


@CASES.fails(POLICY)
def a_route_adding_another_tenants_id_on_a_backend(s):
    routed(s)
    s[NORTHWIND_ROUTE].props["spec"]["rules"][1]["backendRefs"][0]["filters"] = [
        {"type": "RequestHeaderModifier", "requestHeaderModifier": {"add": [{"name": "x-tenant-id", "value": "initech"}]}}]
    return reaches(s.urn(NORTHWIND_ROUTE), "can assume requests of tenant initech")


@CASES.passes(POLICY)
def a_route_setting_other_headers(s):
    routed(s)
    s[NORTHWIND_ROUTE].props["spec"]["rules"][0]["filters"][0]["requestHeaderModifier"]["set"].append(
        {"name": "X-Tenant-Plan", "value": "acme"})


# == ownership ================================================================================================
@CASES.fails(POLICY)
def a_route_of_one_tenant_in_another_tenants_namespace(s):
    routed(s)
    http_route(s, "attack", "dev-initech", ACME_NS, "initech", hostnames=[f"initech.{DOMAIN}"])
    return reaches(s.urn("attack"), "attack is claimed by tenant initech (its tenant-id label)",
                   "tenant acme (it is in namespace tenant-acme)")


@CASES.fails(POLICY)
def a_pooled_tenants_route_created_by_another_tenant(s):
    routed(s)
    s[NORTHWIND_ROUTE].parent = "dev-acme"
    return reaches(s.urn(NORTHWIND_ROUTE), "is claimed by tenant northwind (its tenant-id label) and tenant acme "
                   "(it is created in tenant acme's component)")


# == gateways ================================================================================================
CELL_GATEWAY_NS = "tenancy-gateway-eu2"  # another cell's Gateway namespace (tenancy.registry.naming.gateway_namespace)


@CASES.passes(POLICY)
def another_cells_gateway_admitted_to_a_tenants_services(s):
    """A second cell's Gateway lives in `tenancy-gateway-<cell>`, made by the platform: its proxies
    reach the services whose NetworkPolicy admits them, as the first cell's do."""
    routed(s)
    s.add(NAMESPACE, f"{PLATFORM}-eu2-gateway-ns", {"metadata": {"name": CELL_GATEWAY_NS, "labels": {
        "tenancy.io/tier": "platform"}}, "kind": "Namespace"}, parent=PLATFORM)
    allow_gateway(s, "dev-initech-eu2-routes", "dev-initech", INITECH_NS, source=CELL_GATEWAY_NS)


@CASES.fails(POLICY)
def a_tenant_namespace_named_like_a_cells_gateway(s):
    """Named like a cell's Gateway namespace, but made by tenant acme: its pods are acme's."""
    routed(s)
    s.add(NAMESPACE, "dev-acme-fake-gateway-ns", {"metadata": {"name": CELL_GATEWAY_NS, "labels": {
        "tenancy.io/tenant-id": "acme"}}, "kind": "Namespace"}, parent="dev-acme")
    allow_gateway(s, "attack", "dev-initech", INITECH_NS, source=CELL_GATEWAY_NS)
    return reaches(s.urn("attack"), f"pods of namespace {CELL_GATEWAY_NS} (tenant acme) can reach")


@CASES.fails(POLICY)
def a_namespace_outside_the_program_named_like_a_cells_gateway(s):
    """Not made by the platform (nor named in `gatewayNamespaces`): whoever made it is unknown."""
    routed(s)
    allow_gateway(s, "attack", "dev-initech", INITECH_NS, source=CELL_GATEWAY_NS)
    return reaches(s.urn("attack"), f"pods of namespace {CELL_GATEWAY_NS}", "can reach")


@CASES.fails(POLICY)
def a_tenant_gateway_admitting_routes_from_every_namespace(s):
    routed(s)
    gateway(s, "acme-gw", "dev-acme", ACME_NS, "acme", f"*.acme.{DOMAIN}", {"from": "All"})
    return [Names(s.urn("acme-gw"), ("routes of namespace tenant-initech (tenant initech) can read, write Gateway "
                                     "tenant-acme/acme",)),
            Names(s.urn("acme-gw"), ("routes of any namespace outside this program (an unknown owner)",))]


@CASES.fails(POLICY)
def a_route_attached_to_another_tenants_gateway(s):
    routed(s)
    gateway(s, "acme-gw", "dev-acme", ACME_NS, "acme", f"*.acme.{DOMAIN}",
            {"from": "Selector", "selector": {"matchLabels": {"kubernetes.io/metadata.name": INITECH_NS}}})
    http_route(s, "attack", "dev-initech", INITECH_NS, "initech", hostnames=[f"x.acme.{DOMAIN}"])
    s["attack"].props["spec"]["parentRefs"] = [{"group": GW, "kind": "Gateway", "name": "acme", "namespace": ACME_NS}]
    return [Names(s.urn("attack"), ("HTTPRoute tenant-initech/tenant-initech (tenant initech) can read, write Gateway "
                                    "tenant-acme/acme of tenant acme via", "attached to Gateway tenant-acme/acme")),
            Names(s.urn("acme-gw"), ("routes of namespace tenant-initech (tenant initech) can read, write",))]


@CASES.passes(POLICY)
def a_tenant_gateway_taking_its_own_namespaces_routes_only(s):
    routed(s)
    gateway(s, "acme-gw", "dev-acme", ACME_NS, "acme", f"*.acme.{DOMAIN}")  # from: Same, the default
    http_route(s, "own", "dev-acme", ACME_NS, "acme", hostnames=[f"x.acme.{DOMAIN}"])
    s["own"].props["spec"]["parentRefs"] = [{"group": GW, "kind": "Gateway", "name": "acme"}]


@CASES.passes(POLICY)
def a_route_naming_another_tenants_gateway_that_does_not_admit_it(s):
    routed(s)
    gateway(s, "acme-gw", "dev-acme", ACME_NS, "acme", f"*.acme.{DOMAIN}")
    http_route(s, "try", "dev-initech", INITECH_NS, "initech", hostnames=[f"initech.{DOMAIN}"])
    s["try"].props["spec"]["parentRefs"] = [{"group": GW, "kind": "Gateway", "name": "acme", "namespace": ACME_NS}]


# == the Gateway's way in (a declared platform path) =============================================================
@CASES.fails(POLICY)
def a_tenants_own_namespace_posing_as_the_gateways(s):
    """The path admits the gateway namespace's pods only while no tenant owns that namespace."""
    routed(s)
    s[f"{PLATFORM}-gateway-ns"].parent = "dev-initech"
    s[f"{PLATFORM}-gateway-ns"].props["metadata"]["labels"] = {TENANT_LABEL: "initech"}
    return reaches(s.urn("dev-acme-routes-np-allow-gateway"), "pods of namespace tenancy-gateway (tenant initech) can "
                   "reach pods of namespace tenant-acme of tenant acme")


@CASES.fails(POLICY)
def a_gateway_policy_admitting_another_namespace(s):
    routed(s)
    s["dev-acme-routes-np-allow-gateway"].props["spec"]["ingress"][0]["from"][0]["namespaceSelector"] = {
        "matchLabels": {"kubernetes.io/metadata.name": POOL_NS}}
    return reaches(s.urn("dev-acme-routes-np-allow-gateway"), "pods of namespace tenant-pool (the platform (pool)) "
                   "can reach pods of namespace tenant-acme")


@CASES.passes(POLICY)
def the_gateway_namespace_outside_this_program(s):
    """A Gateway namespace the cluster's operators made (not in this stack): still the declared path."""
    routed(s)
    s.remove(f"{PLATFORM}-gateway-gateway")
    s.remove(f"{PLATFORM}-gateway-ns")


# == the tests ====================================================================================================
(test_routes_case, test_routes_case_in_preview, test_the_routes_corpus_through_the_sdks_analyzer_service,
 test_every_attack_has_a_compliant_twin) = corpus_tests(CASES, twin_ratio=0.5)  # several attacks share a twin


def test_a_proxy_namespace_elsewhere_is_a_gateway_only_when_the_pack_config_says_so():
    s = compliant()
    routed(s)
    for name in ("dev-acme-routes-np-allow-gateway", "dev-initech-routes-np-allow-gateway"):
        s[name].props["spec"]["ingress"][0]["from"][0]["namespaceSelector"]["matchLabels"][
            "kubernetes.io/metadata.name"] = "envoy-gateway-system"
    found = violations(POLICY, s)
    assert {urn for _, urn in found} == {s.urn("dev-acme-routes-np-allow-gateway"),
                                         s.urn("dev-initech-routes-np-allow-gateway")}
    assert violations(POLICY, s, {"gatewayNamespaces": ["envoy-gateway-system"]}) == []


# == preview: what the mechanism needs and cannot know yet ====================================================
def _not_run(s: Stack):
    found = []
    with pytest.raises(UnknownValueError) as raised:
        policies()[POLICY].validate(s.args(), lambda message, urn=None: found.append((message, urn)))
    return found, raised.value.props


@pytest.mark.parametrize("where", ["route spec", "backend namespace", "hostnames", "header value", "grant spec",
                                   "route namespace", "listener namespaces"])
def test_an_unknown_value_the_routes_mechanism_needs_is_not_run(where):
    s = compliant()
    routed(s)
    spec = s[INITECH_ROUTE].props["spec"]
    if where == "route spec":
        s[INITECH_ROUTE].props["spec"] = UNKNOWN
    elif where == "backend namespace":
        spec["rules"].append(rule("/x", "api", "initech", ACME_NS))
        spec["rules"][-1]["backendRefs"][0]["namespace"] = UNKNOWN
    elif where == "hostnames":
        spec["hostnames"] = [UNKNOWN]
    elif where == "header value":
        spec["rules"][0]["filters"][0]["requestHeaderModifier"]["set"][0]["value"] = UNKNOWN
    elif where == "grant spec":
        grant(s, "grant", "dev-acme", ACME_NS, INITECH_NS, [])
        s["grant"].props["spec"] = UNKNOWN
    elif where == "route namespace":
        s[INITECH_ROUTE].props["metadata"]["namespace"] = UNKNOWN
    else:
        gateway(s, "acme-gw", "dev-acme", ACME_NS, "acme", f"*.acme.{DOMAIN}", {"from": UNKNOWN})
    found, unknown = _not_run(s)
    assert unknown and found == []


def test_a_backend_namespace_known_in_preview_is_judged():
    s = compliant()
    routed(s)
    s[INITECH_ROUTE].props["spec"]["rules"].append(rule("/x", "api", "initech", ACME_NS))
    s[INITECH_ROUTE].props["spec"]["hostnames"] = [f"initech.{DOMAIN}"]
    s["dev-acme-services-api-svc-tenant-acme"].props["spec"] = UNKNOWN  # what the route names stays known
    assert [urn for _, urn in violations(POLICY, s)] == [s.urn(INITECH_ROUTE)]


# == the model's semantics ====================================================================================
@pytest.mark.parametrize("pattern, host, match", [
    (f"acme.{DOMAIN}", f"acme.{DOMAIN}", True), (f"acme.{DOMAIN}", f"acmex.{DOMAIN}", False),
    (f"*.{DOMAIN}", f"acme.{DOMAIN}", True), (f"*.{DOMAIN}", f"a.b.{DOMAIN}", True), (f"*.{DOMAIN}", DOMAIN, False),
    ("*", "anything.example", True), ("ACME.Example.com.", "acme.example.com", True),
])
def test_hostnames_match_as_the_gateway_api_says(pattern, host, match):
    assert routes.covers(pattern, host) is match


def test_the_programs_routes_make_only_same_owner_or_platform_edges():
    s = compliant()
    routed(s)
    s[INITECH_ROUTE].props["spec"]["rules"][1] = rule("/", "web", "initech", POOL_NS)
    g = graph([resource(r) for r in s.resources()])
    mine = [e for e in g.edges if e.urn == s.urn(INITECH_ROUTE)]
    assert [(e.source.owner.tenant, e.verbs, e.target.label, e.target.owner.kind) for e in mine] == [
        ("initech", frozenset({REACH}), "Service tenant-pool/web", "platform")]
    owner = {r.name: str(g.owner(r)) for r in g.resources}
    assert owner[NORTHWIND_ROUTE] == "tenant northwind" and owner[f"{PLATFORM}-gateway-gateway"] == "the platform (pool)"
    assert owner[INITECH_ROUTE] == "tenant initech" and g.conflicts == []


def test_the_verbs_say_what_each_path_gives():
    s = compliant()
    routed(s)
    s[NORTHWIND_ROUTE].props["spec"]["hostnames"].append(f"acme.{DOMAIN}")
    s[NORTHWIND_ROUTE].props["spec"]["rules"][0] = rule("/api", "api", "acme")
    grant(s, "grant", "dev-acme", ACME_NS, INITECH_NS, [{"group": "", "kind": "Secret", "name": "tls"}],
          from_kind="Gateway")
    g = graph([resource(r) for r in s.resources()])
    verbs = {e.target.key.split(":")[0]: e.verbs for e in g.edges if e.urn in (s.urn(NORTHWIND_ROUTE), s.urn("grant"))}
    assert verbs == {"k8s-host": frozenset({READ, WRITE}), "tenant-context": frozenset({ASSUME}),
                     "k8s-secret": frozenset({READ})}


def test_the_cases_use_the_graphs_type_tokens():
    assert {HTTP_ROUTE, GRPC_ROUTE, TCP_ROUTE} <= set(routes.ROUTES)
    assert GATEWAY in routes.GATEWAYS and GRANT in routes.GRANTS and SERVICE == routes.SERVICE
    assert set(routes.TYPES) | {routes.SERVICE} <= READ_WHOLE


def test_the_compliant_world_is_not_changed_by_routing_it():
    before = copy.deepcopy(compliant().specs)
    s = compliant()
    routed(s)
    assert all(name in s.specs and s.specs[name].props == spec.props for name, spec in before.items())
