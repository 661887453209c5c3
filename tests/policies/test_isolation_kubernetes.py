"""The `tenant-isolation` policy on Kubernetes: NetworkPolicies and RBAC (graph/kubernetes.py).

Bypass programs written as a hostile tenant or a careless teammate would, each with a compliant twin
that differs in the one thing that makes it safe. The compliant stack (world.py) has the namespaces
of the isolated tenant acme (`tenant-acme`), the dedicated tenant initech (`tenant-initech`) and the
pool (`tenant-pool`, the platform's), each with default-deny and allow-same-namespace.
"""

from __future__ import annotations

import pytest
from pulumi_policy.proxy import UnknownValueError

from tenancy_policies.graph import kubernetes
from tenancy_policies.graph.analysis import graph
from tenancy_policies.graph.model import ASSUME, READ, WRITE
from tenancy_policies.isolation import READ_WHOLE, resource

from .breaks import Cases, Names, corpus_tests
from .resources import UNKNOWN, Stack, policies, violations
from .world import (
    CLUSTER_ROLE,
    CLUSTER_ROLE_BINDING,
    NAMESPACE,
    NETWORK_POLICY,
    PRIVATE_RANGES,
    ROLE_BINDING,
    ROLE_K8S,
    SERVICE_ACCOUNT,
    cluster_role,
    compliant,
    component_network_policies,
    network_policy,
    role,
    role_binding,
    service_account,
    subject,
)

POLICY = "tenant-isolation"
CASES = Cases()
ACME_NS, INITECH_NS, POOL_NS = "tenant-acme", "tenant-initech", "tenant-pool"
POOL = "dev-platform"


def reaches(urn: str, *fragments: str) -> list[Names]:
    return [Names(urn, fragments)]


def ingress(*rules: dict) -> dict:
    return {"podSelector": {}, "policyTypes": ["Ingress"], "ingress": list(rules)}


def by_name(*names: str) -> dict:
    return {"matchLabels": {"kubernetes.io/metadata.name": names[0]}} if len(names) == 1 else \
        {"matchExpressions": [{"key": "kubernetes.io/metadata.name", "operator": "In", "values": list(names)}]}


def own_account(s: Stack, tenant_id: str, namespace: str = "") -> str:
    namespace = namespace or f"tenant-{tenant_id}"
    return service_account(s, f"dev-{tenant_id}-sa-{namespace}", f"dev-{tenant_id}", namespace, f"tenant-{tenant_id}",
                           {"tenancy.io/tenant-id": tenant_id})


# == NetworkPolicies ==================================================================================
@CASES.fails(POLICY)
def an_extra_allow_all_ingress_policy_in_a_tenant_namespace(s):
    """Allow rules are a union: one more policy admitting everything undoes default-deny."""
    network_policy(s, "attack", "dev-acme", ACME_NS, ingress({}))
    how = "via NetworkPolicy attack in namespace tenant-acme (ingress rule 1, every port from anywhere)"
    return [Names(s.urn("attack"), ("pods of namespace tenant-initech (tenant initech) can reach pods of namespace "
                                    "tenant-acme of tenant acme", how)),
            Names(s.urn("attack"), ("pods of namespace tenant-pool (the platform (pool)) can reach", how)),
            Names(s.urn("attack"), ("any address (anyone) can reach pods of namespace tenant-acme",))]


@CASES.passes(POLICY)
def an_extra_policy_admitting_only_its_own_namespace_on_one_port(s):
    network_policy(s, "twin", "dev-acme", ACME_NS, ingress({"from": [{"podSelector": {}}], "ports": [{"port": 8080}]}))


@CASES.fails(POLICY)
def ingress_from_every_namespace(s):
    network_policy(s, "attack", "dev-initech", INITECH_NS, ingress({"from": [{"namespaceSelector": {}}]}))
    return [Names(s.urn("attack"), ("pods of namespace tenant-acme (tenant acme) can reach pods of namespace "
                                    "tenant-initech of tenant initech", "from every namespace")),
            Names(s.urn("attack"), ("pods of any namespace outside this program that exists (whoever may label a "
                                    "namespace) (an unknown owner) can reach pods of namespace tenant-initech",))]


@CASES.passes(POLICY)
def ingress_from_its_own_namespace_by_name(s):
    network_policy(s, "twin", "dev-initech", INITECH_NS, ingress(
        {"from": [{"namespaceSelector": by_name(INITECH_NS), "podSelector": {"matchLabels": {"app": "web"}}}]}))


@CASES.fails(POLICY)
def a_policy_admitting_the_pool_namespace(s):
    """A dedicated tenant's pods opened to the pooled workloads: every pooled tenant's code."""
    network_policy(s, "attack", "dev-initech", INITECH_NS, ingress({"from": [{"namespaceSelector": by_name(POOL_NS)}],
                                                                    "ports": [{"protocol": "TCP", "port": 8080}]}))
    return reaches(s.urn("attack"), "pods of namespace tenant-pool (the platform (pool)) can reach pods of namespace "
                   "tenant-initech of tenant initech via NetworkPolicy attack in namespace tenant-initech (ingress "
                   "rule 1, TCP 8080 from namespaces matching")


@CASES.passes(POLICY)
def the_pool_namespace_admitting_itself_by_name(s):
    network_policy(s, "twin", POOL, POOL_NS, ingress({"from": [{"namespaceSelector": by_name(POOL_NS)}]}))


@CASES.fails(POLICY)
def a_namespace_selector_on_a_label_anyone_may_set(s):
    """`team: acme` is on no namespace today; whoever labels a namespace so tomorrow gets in."""
    network_policy(s, "attack", "dev-acme", ACME_NS, ingress({"from": [{"namespaceSelector": {
        "matchLabels": {"team": "acme"}}}]}))
    return reaches(s.urn("attack"), "pods of any namespace outside this program that carries these labels (whoever "
                   "may label a namespace) (an unknown owner) can reach pods of namespace tenant-acme of tenant acme",
                   'namespaces matching {"matchLabels":{"team":"acme"}}')


@CASES.fails(POLICY)
def a_namespace_selector_on_the_tenant_label_naming_a_second_tenant(s):
    network_policy(s, "attack", "dev-acme", ACME_NS, ingress({"from": [{"namespaceSelector": {"matchExpressions": [
        {"key": "tenancy.io/tenant-id", "operator": "In", "values": ["acme", "initech"]}]}}]}))
    return reaches(s.urn("attack"), "pods of namespace tenant-initech (tenant initech) can reach pods of namespace "
                   "tenant-acme of tenant acme")


@CASES.passes(POLICY)
def a_namespace_selector_on_the_owners_own_tenant_label(s):
    """The ownership label is the owner: a namespace labelled acme is acme's (or a conflict)."""
    network_policy(s, "twin", "dev-acme", ACME_NS, ingress({"from": [{"namespaceSelector": {
        "matchLabels": {"tenancy.io/tenant-id": "acme"}}}]}))


@CASES.fails(POLICY)
def an_ip_block_of_the_pools_subnet(s):
    network_policy(s, "attack", "dev-initech", INITECH_NS, ingress({"from": [{"ipBlock": {"cidr": "10.0.0.0/24"}}]}))
    return reaches(s.urn("attack"), "10.0.0.0/24 (dev-platform-network-app-0) (the platform (pool)) can reach pods of "
                   "namespace tenant-initech of tenant initech", "from ipBlock 10.0.0.0/24")


@CASES.fails(POLICY)
def an_ip_block_of_the_internet_but_private_space(s):
    network_policy(s, "attack", "dev-acme", ACME_NS, ingress({"from": [{"ipBlock": {
        "cidr": "0.0.0.0/0", "except": list(PRIVATE_RANGES)}}], "ports": [{"port": 443}]}))
    return reaches(s.urn("attack"), "(the internet) (anyone) can reach pods of namespace tenant-acme of tenant acme")


@CASES.passes(POLICY)
def an_ip_block_of_the_tenants_own_app_subnet(s):
    network_policy(s, "twin", "dev-initech", INITECH_NS, ingress({"from": [{"ipBlock": {"cidr": "10.0.64.0/24"}}]}))


@CASES.fails(POLICY)
def a_namespace_no_policy_isolates(s):
    """Deleting both ingress policies: a pod no policy selects for Ingress admits everything."""
    s.remove("dev-acme-namespace-np-default-deny")
    s.remove("dev-acme-namespace-np-allow-same-namespace")
    return reaches(s.urn("dev-acme-namespace-ns"), "pods of namespace tenant-initech (tenant initech) can reach pods of "
                   "namespace tenant-acme of tenant acme via no NetworkPolicy selecting every pod of namespace "
                   "tenant-acme for ingress")


@CASES.fails(POLICY)
def default_deny_narrowed_to_some_pods(s):
    s["dev-initech-namespace-np-default-deny"].props["spec"]["podSelector"] = {"matchLabels": {"app": "web"}}
    s["dev-initech-namespace-np-allow-same-namespace"].props["spec"]["policyTypes"] = ["Egress"]
    return reaches(s.urn("dev-initech-namespace-ns"), "pods of namespace tenant-pool (the platform (pool)) can reach "
                   "pods of namespace tenant-initech of tenant initech via no NetworkPolicy")


@CASES.passes(POLICY)
def without_default_deny_allow_same_namespace_still_isolates(s):
    """The union: allow-same-namespace selects every pod for Ingress, so it isolates on its own."""
    s.remove("dev-acme-namespace-np-default-deny")


@CASES.passes(POLICY)
def the_components_egress_policies(s):
    """DNS to kube-system, HTTPS out of the private ranges and the owner's data subnets: egress only."""
    component_network_policies(s, "dev-acme", "dev-acme", ACME_NS, ["10.64.8.0/23"])
    component_network_policies(s, "dev-initech", "dev-initech", INITECH_NS, ["10.0.65.0/24"])
    component_network_policies(s, "dev-platform-pool", POOL, POOL_NS, ["10.0.8.0/24"])


@CASES.fails(POLICY)
def a_network_policy_created_by_one_tenant_in_anothers_namespace(s):
    network_policy(s, "attack", "dev-initech", ACME_NS, ingress({"from": [{"podSelector": {}}]}))
    return reaches(s.urn("attack"), "attack is claimed by tenant initech (it is created in tenant initech's component) "
                   "and tenant acme (it is in namespace tenant-acme)")


# == RBAC ================================================================================================
@CASES.fails(POLICY)
def edit_for_the_pools_service_accounts_in_a_tenant_namespace(s):
    role_binding(s, "attack", s.root, ACME_NS, "ClusterRole", "edit",
                 [subject("Group", "system:serviceaccounts:tenant-pool")])
    return reaches(s.urn("attack"), "every service account of namespace tenant-pool (group "
                   "system:serviceaccounts:tenant-pool) (the platform (pool)) can read, write namespace tenant-acme",
                   "assume the service accounts of namespace tenant-acme", "of tenant acme via RoleBinding attack in "
                   "namespace tenant-acme of ClusterRole edit (built-in")


@CASES.passes(POLICY)
def edit_for_the_namespaces_own_service_accounts(s):
    role_binding(s, "twin", "dev-acme", ACME_NS, "ClusterRole", "edit",
                 [subject("Group", "system:serviceaccounts:tenant-acme"), subject("ServiceAccount", "ci", ACME_NS)])


@CASES.fails(POLICY)
def view_for_every_service_account_of_the_cluster(s):
    role_binding(s, "attack", s.root, None, "ClusterRole", "view", [subject("Group", "system:serviceaccounts")])
    return [Names(s.urn("attack"), ("every service account of the cluster (anyone in the account) can read namespace "
                                    "tenant-acme of tenant acme via ClusterRoleBinding attack of ClusterRole view",)),
            Names(s.urn("attack"), ("can read namespace tenant-initech of tenant initech",))]


@CASES.passes(POLICY)
def a_cluster_wide_lister_of_nodes_and_namespaces(s):
    """Cluster-scoped reads reach no namespace's contents (names and labels only)."""
    cluster_role(s, "node-lister", POOL, [{"apiGroups": [""], "resources": ["nodes", "namespaces"],
                                           "verbs": ["get", "list", "watch"]}])
    role_binding(s, "twin", POOL, None, "ClusterRole", "node-lister", [subject("Group", "system:serviceaccounts")])


@CASES.fails(POLICY)
def cluster_admin_for_every_authenticated_identity(s):
    role_binding(s, "attack", s.root, None, "ClusterRole", "cluster-admin", [subject("Group", "system:authenticated")])
    return reaches(s.urn("attack"), "every authenticated identity of the cluster (group system:authenticated) (anyone "
                   "in the account) can read, write namespace tenant-initech", "of tenant initech")


@CASES.fails(POLICY)
def a_role_reading_secrets_bound_to_another_namespaces_service_account(s):
    role(s, "secret-reader", "dev-initech", INITECH_NS, [{"apiGroups": [""], "resources": ["secrets"],
                                                          "verbs": ["get"]}])
    role_binding(s, "attack", "dev-initech", INITECH_NS, "Role", "secret-reader",
                 [subject("ServiceAccount", "tenant-acme", ACME_NS)])
    return reaches(s.urn("attack"), "service account tenant-acme/tenant-acme (tenant acme) can read namespace "
                   "tenant-initech of tenant initech via RoleBinding attack in namespace tenant-initech of Role "
                   "secret-reader (get secrets)")


@CASES.passes(POLICY)
def a_role_reading_secrets_bound_to_its_own_service_account(s):
    role(s, "secret-reader", "dev-initech", INITECH_NS, [{"apiGroups": [""], "resources": ["secrets"],
                                                          "verbs": ["get"]}])
    role_binding(s, "twin", "dev-initech", INITECH_NS, "Role", "secret-reader",
                 [subject("ServiceAccount", "tenant-initech", INITECH_NS)])


@CASES.fails(POLICY)
def pods_exec_for_a_user_the_program_does_not_know(s):
    own_account(s, "acme")
    role(s, "exec", "dev-acme", ACME_NS, [{"apiGroups": [""], "resources": ["pods/exec"], "verbs": ["create"]}])
    role_binding(s, "attack", "dev-acme", ACME_NS, "Role", "exec", [subject("User", "contractor@example.com")])
    return reaches(s.urn("attack"), "user contractor@example.com (not known to this program) (an unknown owner) can "
                   "write namespace tenant-acme; assume service account tenant-acme/tenant-acme of tenant acme",
                   "Role exec (create pods/exec)")


@CASES.fails(POLICY)
def pods_exec_for_a_pool_service_account_named_as_a_user(s):
    role(s, "exec", "dev-acme", ACME_NS, [{"apiGroups": [""], "resources": ["pods/exec", "pods"], "verbs": ["*"]}])
    role_binding(s, "attack", "dev-acme", ACME_NS, "Role", "exec", [subject("User", "system:serviceaccount:tenant-pool:"
                                                                                    "default")])
    return reaches(s.urn("attack"), "service account tenant-pool/default (the platform (pool)) can", "assume the "
                   "service accounts of namespace tenant-acme")


@CASES.passes(POLICY)
def pod_logs_for_the_namespaces_own_service_account(s):
    own_account(s, "acme")
    role(s, "logs", "dev-acme", ACME_NS, [{"apiGroups": [""], "resources": ["pods", "pods/log"], "verbs": ["get", "list"]}])
    role_binding(s, "twin", "dev-acme", ACME_NS, "Role", "logs", [subject("ServiceAccount", "tenant-acme", ACME_NS)])


@CASES.fails(POLICY)
def impersonating_service_accounts_cluster_wide(s):
    cluster_role(s, "impersonator", "dev-acme", [{"apiGroups": [""], "resources": ["serviceaccounts"],
                                                  "verbs": ["impersonate"]}])
    role_binding(s, "attack", "dev-acme", None, "ClusterRole", "impersonator",
                 [subject("ServiceAccount", "tenant-acme", ACME_NS)])
    return reaches(s.urn("attack"), "service account tenant-acme/tenant-acme (tenant acme) can read, write namespace "
                   "tenant-initech", "of tenant initech", "impersonate serviceaccounts")


@CASES.fails(POLICY)
def a_binding_to_a_role_the_program_does_not_hold(s):
    role_binding(s, "attack", "dev-acme", ACME_NS, "Role", "ghost",
                 [subject("Group", "system:serviceaccounts:tenant-initech")])
    return reaches(s.urn("attack"), "(tenant initech) can read, write namespace tenant-acme", "Role ghost (not in this "
                   "program: counted as every verb)")


@CASES.fails(POLICY)
def edit_in_the_pool_lets_a_tenant_act_as_a_pooled_tenants_service_account(s):
    own_account(s, "northwind", POOL_NS)
    role_binding(s, "attack", s.root, POOL_NS, "ClusterRole", "edit", [subject("ServiceAccount", "tenant-acme", ACME_NS)])
    return reaches(s.urn("attack"), "service account tenant-acme/tenant-acme (tenant acme) can assume service account "
                   "tenant-pool/tenant-northwind of tenant northwind")


@CASES.fails(POLICY)
def a_binding_created_by_one_tenant_in_anothers_namespace(s):
    """Even for the namespace's own accounts: who owns the binding is in dispute."""
    role_binding(s, "attack", "dev-initech", ACME_NS, "ClusterRole", "view",
                 [subject("ServiceAccount", "tenant-acme", ACME_NS)])
    return reaches(s.urn("attack"), "attack is claimed by tenant initech (it is created in tenant initech's "
                   "component) and tenant acme (it is in namespace tenant-acme)")


@CASES.passes(POLICY)
def a_top_level_binding_owned_through_its_namespace(s):
    role_binding(s, "twin", s.root, INITECH_NS, "ClusterRole", "admin",
                 [subject("ServiceAccount", "deployer", INITECH_NS)])


# == the corpus, three ways ===================================================================================
(test_kubernetes_case, test_kubernetes_case_in_preview, test_the_kubernetes_corpus_through_the_sdks_analyzer_service,
 test_every_attack_has_a_compliant_twin) = corpus_tests(CASES)


# == preview ==================================================================================================
def _not_run(s: Stack):
    found = []
    with pytest.raises(UnknownValueError) as raised:
        policies()[POLICY].validate(s.args(), lambda message, urn=None: found.append((message, urn)))
    return found, raised.value.props


@pytest.mark.parametrize("where", ["binding namespace", "subjects", "role rules", "policy spec", "peer selector",
                                   "namespace labels"])
def test_an_unknown_value_the_kubernetes_mechanisms_need_is_not_run(where):
    s = compliant()
    if where in ("binding namespace", "subjects"):
        role_binding(s, "b", s.root, ACME_NS, "ClusterRole", "edit", [subject("Group", "system:serviceaccounts")])
        if where == "subjects":
            s["b"].props["subjects"] = UNKNOWN
        else:
            s["b"].props["metadata"]["namespace"] = UNKNOWN
    elif where == "role rules":
        role(s, "r", s.root, ACME_NS, UNKNOWN)
        role_binding(s, "b", s.root, ACME_NS, "Role", "r", [subject("Group", "system:serviceaccounts")])
    elif where == "policy spec":
        network_policy(s, "p", s.root, ACME_NS, UNKNOWN)
    else:
        network_policy(s, "p", s.root, ACME_NS, ingress({"from": [{"namespaceSelector": {"matchLabels": {"a": "b"}}}]}))
        if where == "peer selector":
            s["p"].props["spec"]["ingress"][0]["from"][0]["namespaceSelector"] = UNKNOWN
        else:
            s["dev-initech-namespace-ns"].props["metadata"]["labels"] = UNKNOWN
            s["p"].props["spec"]["ingress"][0]["from"][0]["namespaceSelector"] = {}
    found, unknown = _not_run(s)
    assert unknown and found == []


def test_a_binding_namespace_known_through_its_dependency_is_judged():
    s = compliant()
    role_binding(s, "b", s.root, ACME_NS, "ClusterRole", "edit", [subject("Group", "system:serviceaccounts")])
    s["b"].props["metadata"]["namespace"] = UNKNOWN
    s["b"].prop_deps["metadata"] = ["dev-acme-namespace-ns"]
    assert [urn for _, urn in violations(POLICY, s)] == [s.urn("b")]


# == the model's semantics ========================================================================================
@pytest.mark.parametrize("rule, cluster_wide, verbs", [
    ({"resources": ["secrets"], "verbs": ["get"]}, False, {READ}),
    ({"resources": ["configmaps"], "verbs": ["create", "delete"]}, False, {WRITE}),
    ({"resources": ["pods/exec"], "verbs": ["create"]}, False, {WRITE, ASSUME}),
    ({"resources": ["deployments"], "verbs": ["patch"]}, False, {WRITE, ASSUME}),
    ({"resources": ["serviceaccounts/token"], "verbs": ["create"]}, False, {WRITE, ASSUME}),
    ({"resources": ["*"], "verbs": ["*"]}, False, {READ, WRITE, ASSUME}),
    ({"resources": ["roles"], "verbs": ["bind"]}, False, {READ, WRITE, ASSUME}),
    ({"resources": ["nodes", "namespaces"], "verbs": ["get", "list"]}, True, set()),
    ({"resources": ["namespaces"], "verbs": ["patch"]}, True, {WRITE}),
    ({"resources": ["nodes/proxy"], "verbs": ["get"]}, True, {READ, WRITE, ASSUME}),
    ({"resources": ["nodes/proxy"], "verbs": ["get"]}, False, set()),
    ({"resources": ["mutatingwebhookconfigurations"], "verbs": ["create"]}, True, {READ, WRITE, ASSUME}),
    ({"nonResourceURLs": ["/healthz"], "verbs": ["get"]}, True, set()),
])
def test_rules_give_verbs(rule, cluster_wide, verbs):
    assert kubernetes.rule_verbs(rule, cluster_wide) == verbs


def _edges(s: Stack, urn_name: str):
    g = graph([resource(r) for r in s.resources()])
    return [e for e in g.edges if e.urn == s.urn(urn_name)]


def test_a_cluster_role_aggregated_into_view_widens_every_view_binding():
    s = compliant()
    role_binding(s, "b", s.root, INITECH_NS, "ClusterRole", "view", [subject("ServiceAccount", "x", ACME_NS)])
    assert {v for e in _edges(s, "b") for v in e.verbs} == {READ}
    cluster_role(s, "sneaky", s.root, [{"resources": ["pods/exec"], "verbs": ["create"]}],
                 {"rbac.authorization.k8s.io/aggregate-to-view": "true"})
    edges = _edges(s, "b")
    assert ASSUME in {v for e in edges for v in e.verbs}
    assert any("aggregated: create pods/exec" in e.mechanism for e in edges)


def test_namespaced_kubernetes_objects_are_owned_through_their_namespace():
    s = compliant()
    role(s, "r", s.root, ACME_NS, [])
    role_binding(s, "b", s.root, POOL_NS, "Role", "r", [])
    network_policy(s, "p", s.root, "somewhere-else", ingress())
    g = graph([resource(r) for r in s.resources()])
    owner = {r.name: str(g.owner(r)) for r in g.resources}
    assert (owner["r"], owner["b"], owner["p"]) == ("tenant acme", "the platform (pool)", "an unknown owner")
    assert g.conflicts == []


def test_the_cases_use_the_graphs_type_tokens():
    assert (NETWORK_POLICY, ROLE_K8S, CLUSTER_ROLE, ROLE_BINDING, CLUSTER_ROLE_BINDING) == kubernetes.TYPES
    assert (NAMESPACE, SERVICE_ACCOUNT) == (kubernetes.NAMESPACE, kubernetes.SERVICE_ACCOUNT)
    assert set(kubernetes.TYPES) <= READ_WHOLE
