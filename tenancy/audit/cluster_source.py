"""A live Kubernetes cluster as the isolation model's resources: with a kubeconfig, `tenancy audit`
judges the cluster's NetworkPolicies and RBAC with the same graph as the account (and the plan).

Read-only, with the `kubernetes` client: namespaces, service accounts, NetworkPolicies, Roles,
ClusterRoles, RoleBindings and ClusterRoleBindings, every list paged to the end. Each object becomes a
`tenancy_policies.graph.model.Resource` shaped as the policy pack sees the program's: the Pulumi type
token (`kubernetes:rbac.authorization.k8s.io/v1:RoleBinding`...), the API's own camelCase fields
(`metadata` with name, namespace and labels; `spec`, `rules`, `roleRef`, `subjects`...), and the
provider's id (`<namespace>/<name>`, or the name of a cluster-scoped object); its key is its API path.

Owners: a namespace's `tenancy.io/tenant-id` label, as in the plan; a pool namespace (`tenant-pool`,
or `tenant-pool-<cell>` in another cell) is the platform's, as the platform component that creates it makes it in the plan. Not judged: the
control plane's own bindings (a name Kubernetes or EKS reserve, `system:` or `eks:`, whose every
subject is a `system:` identity or a kube-system service account), as the account's service-linked
roles are not.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Iterable
from typing import Any, Optional

from tenancy.exits import CommandError
from tenancy.registry.naming import POOL_NAMESPACE
from tenancy_policies.graph import kubernetes as k8s
from tenancy_policies.graph.model import Resource

PLATFORM_COMPONENT = "tenancy:platform:Platform"
PAGE = 500
TIMEOUT = 15  # seconds per request
CONTROL_PLANE_PREFIXES = ("system:", "eks:")
SYSTEM_NAMESPACE = "kube-system"

# type token -> (API class, list method, kind, apiVersion, namespaced)
LISTS = {
    k8s.NAMESPACE: ("CoreV1Api", "list_namespace", "Namespace", "v1", False),
    k8s.SERVICE_ACCOUNT: ("CoreV1Api", "list_service_account_for_all_namespaces", "ServiceAccount", "v1", True),
    k8s.NETWORK_POLICY: ("NetworkingV1Api", "list_network_policy_for_all_namespaces", "NetworkPolicy",
                         "networking.k8s.io/v1", True),
    k8s.ROLE: ("RbacAuthorizationV1Api", "list_role_for_all_namespaces", "Role", "rbac.authorization.k8s.io/v1", True),
    k8s.CLUSTER_ROLE: ("RbacAuthorizationV1Api", "list_cluster_role", "ClusterRole", "rbac.authorization.k8s.io/v1",
                       False),
    k8s.ROLE_BINDING: ("RbacAuthorizationV1Api", "list_role_binding_for_all_namespaces", "RoleBinding",
                       "rbac.authorization.k8s.io/v1", True),
    k8s.CLUSTER_ROLE_BINDING: ("RbacAuthorizationV1Api", "list_cluster_role_binding", "ClusterRoleBinding",
                               "rbac.authorization.k8s.io/v1", False),
}
PLURAL = {"Namespace": "namespaces", "ServiceAccount": "serviceaccounts", "NetworkPolicy": "networkpolicies",
          "Role": "roles", "ClusterRole": "clusterroles", "RoleBinding": "rolebindings",
          "ClusterRoleBinding": "clusterrolebindings"}


class ClusterUnreadable(CommandError):
    """The kubeconfig cannot be loaded, or the cluster cannot be reached or refuses to list (exit 2)."""


def api_path(kind: str, api_version: str, name: str, namespace: Optional[str]) -> str:
    """The object's path on the API server: the resource key (and the finding's `arn`)."""
    base = f"/api/{api_version}" if "/" not in api_version else f"/apis/{api_version}"
    inside = f"/namespaces/{namespace}" if namespace else ""
    return f"{base}{inside}/{PLURAL[kind]}/{name}"


def _control_plane(binding: dict) -> bool:
    name = str((binding.get("metadata") or {}).get("name", ""))
    if not name.startswith(CONTROL_PLANE_PREFIXES):
        return False
    for subject in binding.get("subjects") or []:
        if subject.get("kind") == "ServiceAccount":
            if subject.get("namespace") != SYSTEM_NAMESPACE:
                return False
        elif not str(subject.get("name", "")).startswith(CONTROL_PLANE_PREFIXES):
            return False
    return True


def to_resources(objects: dict[str, Iterable[dict]], pool_namespaces: Collection[str] = (POOL_NAMESPACE,)) -> list[Resource]:
    """The API's objects (type token -> items, as the list calls return them) as the model's resources."""
    platform = Resource(f"{PLATFORM_COMPONENT}::cluster", PLATFORM_COMPONENT, "platform", {})
    out = [platform]
    for type_, items in objects.items():
        _, _, kind, api_version, namespaced = LISTS[type_]
        for item in items:
            if type_ in (k8s.ROLE_BINDING, k8s.CLUSTER_ROLE_BINDING) and _control_plane(item):
                continue
            metadata = {k: v for k, v in (item.get("metadata") or {}).items() if k != "managedFields"}
            name, namespace = str(metadata.get("name", "")), metadata.get("namespace") if namespaced else None
            props: dict[str, Any] = {k: v for k, v in item.items() if k not in ("metadata", "status")}
            props.update({"apiVersion": api_version, "kind": kind, "metadata": metadata,
                          "id": f"{namespace}/{name}" if namespace else name})
            parent = platform.key if type_ == k8s.NAMESPACE and name in pool_namespaces else None
            out.append(Resource(api_path(kind, api_version, name, namespace), type_, name, props, parent))
    return out


def _list(api, method: str) -> list[dict]:
    items, token = [], None
    while True:
        kwargs: dict[str, Any] = {"limit": PAGE, "_preload_content": False, "_request_timeout": TIMEOUT}
        if token:
            kwargs["_continue"] = token
        response = getattr(api, method)(**kwargs)
        page = json.loads(response.data)
        items += page.get("items") or []
        token = (page.get("metadata") or {}).get("continue")
        if not token:
            return items


def read_cluster(kubeconfig: str, context: Optional[str] = None,
                 pool_namespaces: Collection[str] = (POOL_NAMESPACE,)) -> list[Resource]:
    """Every object the isolation graph reads from the cluster a kubeconfig (and context) names;
    `pool_namespaces`: the platform's pool namespaces (one per cell: `tenant-pool`, `tenant-pool-<cell>`)."""
    try:  # only the audit with --kubeconfig needs the client
        from kubernetes import client, config
        from kubernetes.client.exceptions import ApiException
        from kubernetes.config.config_exception import ConfigException
        from urllib3.exceptions import HTTPError
    except ImportError:
        raise ClusterUnreadable("reading a cluster needs the kubernetes client: pip install kubernetes") from None

    try:
        api_client = config.new_client_from_config(config_file=kubeconfig, context=context)
    except (ConfigException, OSError, ValueError, TypeError) as exc:
        raise ClusterUnreadable(f"cannot load the kubeconfig {kubeconfig}: {exc}") from None
    api_client.configuration.retries = 1
    server = api_client.configuration.host
    apis: dict[str, Any] = {}
    objects: dict[str, list[dict]] = {}
    try:
        for type_, (api_class, method, *_rest) in LISTS.items():
            api = apis.setdefault(api_class, getattr(client, api_class)(api_client))
            objects[type_] = _list(api, method)
    except ApiException as exc:
        raise ClusterUnreadable(f"cannot read the cluster at {server}: {exc.status} {exc.reason}") from None
    except (HTTPError, OSError, ValueError) as exc:
        raise ClusterUnreadable(f"cannot read the cluster at {server}: {exc}") from None
    finally:
        api_client.close()
    return to_resources(objects, pool_namespaces)
