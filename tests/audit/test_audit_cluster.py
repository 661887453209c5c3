"""`tenancy audit --kubeconfig`: the cluster's NetworkPolicies and RBAC in the audit's isolation graph.

No kube-apiserver here: a tiny fake one on loopback (http.server in a thread) answers the list
endpoints the audit calls, with objects shaped as the API returns them (paged by `limit` and
`continue`, behind a bearer token), and a kubeconfig file points at it. The account is moto's, as in
the other audit tests.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from benchmarks.aws_account import build
from tenancy.audit import cluster_source
from tenancy.audit.cluster_source import ClusterUnreadable, read_cluster
from tenancy.audit.live import HIGH, audit
from tenancy.registry.naming import (
    POOL_NAMESPACE,
    POOL_SERVICE_ACCOUNT,
    namespace_name,
    pool_namespace,
    service_account_name,
)

from ..conftest import PROJECT

ENV = "prod"
TOKEN = "fake-token"
RBAC = "/apis/rbac.authorization.k8s.io/v1"
LISTS = {  # path -> (kind of the list, apiVersion)
    "/api/v1/namespaces": ("NamespaceList", "v1"),
    "/api/v1/serviceaccounts": ("ServiceAccountList", "v1"),
    "/apis/networking.k8s.io/v1/networkpolicies": ("NetworkPolicyList", "networking.k8s.io/v1"),
    f"{RBAC}/roles": ("RoleList", "rbac.authorization.k8s.io/v1"),
    f"{RBAC}/clusterroles": ("ClusterRoleList", "rbac.authorization.k8s.io/v1"),
    f"{RBAC}/rolebindings": ("RoleBindingList", "rbac.authorization.k8s.io/v1"),
    f"{RBAC}/clusterrolebindings": ("ClusterRoleBindingList", "rbac.authorization.k8s.io/v1"),
}


class FakeApiServer:
    """The list endpoints of a kube-apiserver, over objects the test sets (`objects[path]`)."""

    def __init__(self):
        self.objects: dict[str, list[dict]] = {path: [] for path in LISTS}
        self.requests: list[str] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # quiet
                pass

            def _send(self, status: int, body: dict) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self):
                url = urllib.parse.urlsplit(self.path)
                query = urllib.parse.parse_qs(url.query)
                server.requests.append(self.path)
                if self.headers.get("Authorization") != f"Bearer {TOKEN}":
                    return self._send(401, {"kind": "Status", "status": "Failure", "reason": "Unauthorized",
                                            "code": 401})
                if url.path not in LISTS:
                    return self._send(404, {"kind": "Status", "status": "Failure", "reason": "NotFound", "code": 404})
                kind, api_version = LISTS[url.path]
                items = server.objects[url.path]
                start = int(query.get("continue", ["0"])[0])
                limit = int(query.get("limit", [str(len(items) or 1)])[0])
                page = items[start:start + limit]
                metadata = {"resourceVersion": "42"}
                if start + limit < len(items):
                    metadata["continue"] = str(start + limit)
                return self._send(200, {"kind": kind, "apiVersion": api_version, "metadata": metadata, "items": page})

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    # -- objects, as the API returns them ----------------------------------------------------------
    def add(self, path: str, name: str, namespace: str = "", labels: dict | None = None, **fields) -> None:
        metadata = {"name": name, "uid": f"uid-{len(self.requests)}-{name}", "resourceVersion": "1",
                    "labels": labels or {}, "managedFields": [{"manager": "kubectl"}]}
        if namespace:
            metadata["namespace"] = namespace
        self.objects[path].append({"metadata": metadata, **fields})

    def namespace(self, name: str, labels: dict) -> None:
        self.add("/api/v1/namespaces", name, labels={**labels, "kubernetes.io/metadata.name": name},
                 spec={"finalizers": ["kubernetes"]}, status={"phase": "Active"})
        self.add("/api/v1/serviceaccounts", "default", name)

    def network_policy(self, namespace: str, name: str, spec: dict) -> None:
        self.add("/apis/networking.k8s.io/v1/networkpolicies", name, namespace, spec=spec)

    def binding(self, name: str, namespace: str, role_kind: str, role: str, subjects: list[dict]) -> None:
        path = f"{RBAC}/rolebindings" if namespace else f"{RBAC}/clusterrolebindings"
        self.add(path, name, namespace, subjects=subjects,
                 roleRef={"apiGroup": "rbac.authorization.k8s.io", "kind": role_kind, "name": role})


def conforming(api: FakeApiServer, tenants) -> None:
    """What the program creates in the cluster (components/kubernetes.py), and the cluster's own."""
    everything = {"podSelector": {}}
    policies = {
        "default-deny": {**everything, "policyTypes": ["Ingress", "Egress"]},
        "allow-same-namespace": {**everything, "policyTypes": ["Ingress", "Egress"],
                                 "ingress": [{"from": [{"podSelector": {}}]}], "egress": [{"to": [{"podSelector": {}}]}]},
        "allow-dns": {**everything, "policyTypes": ["Egress"], "egress": [{"to": [{
            "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}},
            "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}}}], "ports": [{"protocol": "UDP", "port": 53}]}]},
        "allow-https-out": {**everything, "policyTypes": ["Egress"], "egress": [{"to": [{"ipBlock": {
            "cidr": "0.0.0.0/0", "except": ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"]}}],
            "ports": [{"protocol": "TCP", "port": 443}]}]},
    }
    for name in ("kube-system", "default", "kube-public"):
        api.namespace(name, {})
    api.add("/api/v1/serviceaccounts", "replicaset-controller", "kube-system")
    # the control plane's own: not judged
    api.add(f"{RBAC}/clusterroles", "system:controller:replicaset-controller", rules=[
        {"apiGroups": [""], "resources": ["pods"], "verbs": ["create", "delete", "list", "watch", "patch"]}],
        labels={"kubernetes.io/bootstrapping": "rbac-defaults"})
    api.binding("system:controller:replicaset-controller", "", "ClusterRole", "system:controller:replicaset-controller",
                [{"kind": "ServiceAccount", "name": "replicaset-controller", "namespace": "kube-system"}])
    api.binding("system:basic-user", "", "ClusterRole", "system:basic-user",
                [{"kind": "Group", "name": "system:authenticated", "apiGroup": "rbac.authorization.k8s.io"}])
    api.add(f"{RBAC}/clusterroles", "edit", labels={"rbac.authorization.k8s.io/aggregate-to-admin": "true"},
            aggregationRule={"clusterRoleSelectors": [{"matchLabels": {"rbac.authorization.k8s.io/aggregate-to-edit":
                                                                        "true"}}]},
            rules=[{"apiGroups": [""], "resources": ["pods", "pods/exec", "secrets", "configmaps"],
                    "verbs": ["create", "delete", "get", "list", "patch", "update", "watch"]}])
    pool_labels = {"tenancy.io/tier": "shared", "tenancy.io/environment": ENV}
    api.namespace(POOL_NAMESPACE, pool_labels)
    api.add("/api/v1/serviceaccounts", POOL_SERVICE_ACCOUNT, POOL_NAMESPACE, pool_labels)
    for policy, spec in policies.items():
        api.network_policy(POOL_NAMESPACE, policy, spec)
    for tenant in tenants:
        if not tenant.has_own_namespace:
            continue
        labels = {"tenancy.io/tenant-id": tenant.id, "tenancy.io/plan": tenant.tenant.plan,
                  "tenancy.io/environment": ENV, "app.kubernetes.io/managed-by": "tenancy"}
        ns = namespace_name(tenant.id)
        api.namespace(ns, labels)
        api.add("/api/v1/serviceaccounts", service_account_name(tenant.id), ns, labels)
        for policy, spec in policies.items():
            api.network_policy(ns, policy, spec)
        # a tenant's own team may edit its own namespace
        api.binding("team-edit", ns, "ClusterRole", "edit",
                    [{"kind": "Group", "name": f"system:serviceaccounts:{ns}", "apiGroup": "rbac.authorization.k8s.io"}])


def kubeconfig(path: Path, server: str, context: str = "fake") -> Path:
    path.write_text(json.dumps({  # JSON is YAML
        "apiVersion": "v1", "kind": "Config", "current-context": context,
        "clusters": [{"name": "fake", "cluster": {"server": server}}],
        "users": [{"name": "fake", "user": {"token": TOKEN}}],
        "contexts": [{"name": context, "context": {"cluster": "fake", "user": "fake"}},
                     {"name": "elsewhere", "context": {"cluster": "nowhere", "user": "fake"}}]}))
    return path


@pytest.fixture(scope="module")
def fake_server():
    server = FakeApiServer()
    yield server
    server.close()


@pytest.fixture
def api(fake_server, registry):
    fake_server.objects = {path: [] for path in LISTS}
    fake_server.requests.clear()
    conforming(fake_server, registry.in_environment(ENV))
    return fake_server


@pytest.fixture
def config_file(api, tmp_path) -> Path:
    return kubeconfig(tmp_path / "kubeconfig", api.url)


@pytest.fixture
def account(session, registry):
    return build(session, registry.in_environment(ENV), ENV)


def isolation(findings):
    """The isolation findings on the cluster's objects (their keys are API paths)."""
    return [f for f in findings if f.problem.startswith("isolation:") and f.arn.startswith("/api")]


def test_a_conforming_cluster_has_no_finding(session, registry, account, config_file):
    """The cluster adds nothing to what the account alone gives."""
    assert audit(session, registry, ENV, read_cluster(str(config_file))) == audit(session, registry, ENV)


def test_the_cluster_is_read_as_the_pack_sees_it(api, config_file, monkeypatch):
    monkeypatch.setattr(cluster_source, "PAGE", 2)  # several pages per list
    resources = read_cluster(str(config_file), "fake")
    by_key = {r.key: r for r in resources}
    binding = by_key["/apis/rbac.authorization.k8s.io/v1/namespaces/tenant-acme/rolebindings/team-edit"]
    assert binding.type == "kubernetes:rbac.authorization.k8s.io/v1:RoleBinding"
    assert binding.props["roleRef"]["name"] == "edit" and binding.props["metadata"]["namespace"] == "tenant-acme"
    assert binding.props["id"] == "tenant-acme/team-edit" and "managedFields" not in binding.props["metadata"]
    policies = [r for r in resources if r.type == "kubernetes:networking.k8s.io/v1:NetworkPolicy"]
    assert len(policies) == len(api.objects["/apis/networking.k8s.io/v1/networkpolicies"])
    pool = by_key[f"/api/v1/namespaces/{POOL_NAMESPACE}"]
    assert by_key[pool.parent].type == "tenancy:platform:Platform"
    assert not any(r.name.startswith("system:") for r in resources if "Binding" in r.type)
    assert any("continue=" in request for request in api.requests)


def test_the_pools_service_accounts_given_edit_and_an_allow_all_policy_are_reported(
        session, registry, account, api, config_file):
    api.binding("pool-edit", "tenant-acme", "ClusterRole", "edit", [
        {"kind": "Group", "name": "system:serviceaccounts:tenant-pool", "apiGroup": "rbac.authorization.k8s.io"}])
    api.network_policy("tenant-initech", "allow-all", {"podSelector": {}, "policyTypes": ["Ingress"], "ingress": [{}]})
    found = isolation(audit(session, registry, ENV, read_cluster(str(config_file))))
    rbac = [f for f in found if f.arn == "/apis/rbac.authorization.k8s.io/v1/namespaces/tenant-acme/rolebindings/pool-edit"]
    assert rbac and {(f.severity, f.tenant) for f in rbac} == {(HIGH, "acme")}
    assert "every service account of namespace tenant-pool (group system:serviceaccounts:tenant-pool) (the platform " \
           "(pool)) can read, write namespace tenant-acme" in rbac[0].problem
    assert "service account tenant-acme/tenant-acme" in rbac[0].problem and "of tenant acme via RoleBinding pool-edit " \
           "in namespace tenant-acme of ClusterRole edit" in rbac[0].problem
    policy = [f for f in found
              if f.arn == "/apis/networking.k8s.io/v1/namespaces/tenant-initech/networkpolicies/allow-all"]
    assert {f.tenant for f in policy} == {"initech"}
    owners = " ".join(f.problem for f in policy)
    for source in ("pods of namespace tenant-acme (tenant acme)", "pods of namespace tenant-pool (the platform (pool))",
                   "any address (anyone)", "pods of namespace kube-system (an unknown owner)"):
        assert f"{source} can reach pods of namespace tenant-initech of tenant initech via NetworkPolicy allow-all" \
               in owners
    assert {f.arn for f in found} == {rbac[0].arn, policy[0].arn}


def test_a_tenant_namespace_that_loses_its_ingress_policies(session, registry, account, api, config_file):
    api.objects["/apis/networking.k8s.io/v1/networkpolicies"] = [
        p for p in api.objects["/apis/networking.k8s.io/v1/networkpolicies"]
        if p["metadata"]["namespace"] != "tenant-acme" or "Ingress" not in p["spec"]["policyTypes"]]
    found = isolation(audit(session, registry, ENV, read_cluster(str(config_file))))
    assert {f.arn for f in found} == {"/api/v1/namespaces/tenant-acme"}
    assert all("no NetworkPolicy selecting every pod of namespace tenant-acme" in f.problem for f in found)


def cli(*args, env):
    return subprocess.run([sys.executable, "-m", "tenancy", "audit", *args], cwd=PROJECT, capture_output=True,
                          text=True, env={"PATH": os.environ["PATH"], **env})


def test_the_cli_judges_the_cluster_and_exits_one(session, registry, account, api, config_file, aws_env):
    alone = cli("--environment", ENV, "--format", "json", env=aws_env)
    clean = cli("--environment", ENV, "--format", "json", "--kubeconfig", str(config_file), "--context", "fake",
                env=aws_env)
    assert clean.returncode == alone.returncode and clean.stdout == alone.stdout, clean.stderr
    api.binding("view-all", "", "ClusterRole", "view", [
        {"kind": "Group", "name": "system:serviceaccounts", "apiGroup": "rbac.authorization.k8s.io"}])
    broken = cli("--environment", ENV, "--format", "json", "--kubeconfig", str(config_file), env=aws_env)
    assert broken.returncode == 1, broken.stderr
    problems = {(f["tenant"], f["arn"]) for f in json.loads(broken.stdout)["findings"]}
    view_all = "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings/view-all"
    assert {t for t, arn in problems if arn == view_all} == {"acme", "globex", "initech"}


@pytest.mark.parametrize("where", ["unreachable", "refused", "no kubeconfig", "unknown context"])
def test_a_cluster_that_cannot_be_read_is_a_clear_error(where, api, tmp_path, aws_env):
    if where == "unreachable":
        args = ["--kubeconfig", str(kubeconfig(tmp_path / "k", "http://127.0.0.1:1"))]
    elif where == "refused":
        path = kubeconfig(tmp_path / "k", api.url)
        path.write_text(path.read_text().replace(TOKEN, "wrong-token"))
        args = ["--kubeconfig", str(path)]
    elif where == "no kubeconfig":
        args = ["--kubeconfig", str(tmp_path / "missing")]
    else:
        args = ["--kubeconfig", str(kubeconfig(tmp_path / "k", api.url)), "--context", "nope"]
    result = cli("--environment", ENV, *args, env=aws_env)
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert result.stderr.startswith("audit: cannot ") and "Traceback" not in result.stderr
    if where in ("unreachable", "refused"):
        assert "audit: cannot read the cluster at http://127.0.0.1:" in result.stderr
    if where == "refused":
        assert "401" in result.stderr


def test_unreadable_is_the_usage_exit_code():
    from tenancy.exits import ExitCode

    assert ClusterUnreadable("x").code == ExitCode.USAGE


def test_another_cells_pool_namespace_is_the_platforms_not_an_unknown_owners(
        session, registry, account, api, config_file):
    """A second cell runs its pooled workloads in `tenant-pool-<cell>`. Read as nobody's, its pods
    would be an unknown owner that reaches every pooled service; read as the platform's pool (as the
    plan has it), a conforming cluster with two cells stays clean, and the pool's reach is judged."""
    pool = pool_namespace("eu2")
    api.namespace(pool, {"tenancy.io/tier": "shared", "tenancy.io/environment": ENV})
    api.add("/api/v1/serviceaccounts", POOL_SERVICE_ACCOUNT, pool, {})
    api.network_policy(pool, "default-deny", {"podSelector": {}, "policyTypes": ["Ingress"]})
    cells = {POOL_NAMESPACE, pool}
    resources = read_cluster(str(config_file), None, cells)
    by_key = {r.key: r for r in resources}
    assert by_key[by_key[f"/api/v1/namespaces/{pool}"].parent].type == "tenancy:platform:Platform"
    assert audit(session, registry, ENV, resources) == audit(session, registry, ENV)
    # the eu2 pool's service accounts given edit over a tenant's namespace: the platform's pool reaching it
    api.binding("eu2-pool-edit", "tenant-acme", "ClusterRole", "edit", [
        {"kind": "Group", "name": f"system:serviceaccounts:{pool}", "apiGroup": "rbac.authorization.k8s.io"}])
    found = isolation(audit(session, registry, ENV, read_cluster(str(config_file), None, cells)))
    assert any(f"namespace {pool}" in f.problem and "(the platform" in f.problem and f.tenant == "acme"
               for f in found), [f.problem for f in found]
