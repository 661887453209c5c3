"""Kubernetes: NetworkPolicies (who may connect to a namespace's pods) and RBAC (who may read, write,
or act as what a namespace holds).

Owners. A namespace is owned by its `tenancy.io/tenant-id` label, else by the component it is created
in (a cell's pool namespace, `tenant-pool` or `tenant-pool-<cell>`, is the platform's). The namespaced objects read here (Role,
RoleBinding, NetworkPolicy) carry no owner of their own that counts: each is owned through its
namespace (`metadata.namespace`), as `core.ATTACHMENTS` owns untaggable AWS resources through what
they attach to, and a label or component that names another tenant is an ownership conflict.

NetworkPolicies (ingress only: a connection needs the target's ingress, whatever the source's egress
says). A pod selected by no policy with `Ingress` in its policyTypes admits everything: a namespace
without a policy whose podSelector is empty (every pod) is open to every namespace and address.
Allow rules are a union over every policy of the namespace. A rule without `from` admits everything;
a peer with only a podSelector is the namespace itself; a namespaceSelector (with or without a
podSelector: a namespace's owner labels its pods as it likes) matches the namespaces of the program by
their labels, `kubernetes.io/metadata.name` included, and `{}` matches every namespace. Unless it
pins `kubernetes.io/metadata.name` (set by the API server, immutable) or the ownership label itself,
a selector also matches namespaces outside the program that carry those labels: anyone who may label
a namespace (an unknown owner). An ipBlock (minus its `except`) is the owners of the subnets it
covers, public space anyone's, private space outside the program's networks an unknown owner's
(`network.Addresses`). Ports narrow nothing the invariant cares about; messages name them.

RBAC. A RoleBinding grants its role's rules in its namespace; a ClusterRoleBinding in every
namespace. Rules give verbs: get/list/watch read, create/update/patch/delete write (secrets
included: reading them is reading the tenant's data); creating or changing pods or any workload,
pods/exec and pods/attach, serviceaccounts/token, impersonating, and bind/escalate on roles mean
acting as the namespace's service accounts (assume), and `*` is every verb or resource.
Cluster-scoped resources reach no namespace's contents, except writing `namespaces` (relabel or
delete one), `nodes/proxy` (the kubelet runs anything in any pod) and mutating webhooks (they rewrite
every pod): those are everything. Built-in ClusterRoles that the program does not hold are read from
`BUILTIN` (with the program's ClusterRoles that aggregate into them); a role that is neither in the
program nor built in counts as every verb. Subjects: a service account is its namespace's owner's,
`system:serviceaccounts:<ns>` the namespace's owner's, `system:serviceaccounts` and
`system:authenticated` anyone in the account (every workload and identity of the cluster),
`system:unauthenticated` anyone, any other user or group an unknown owner (the program cannot say
whose); `system:masters` bypasses RBAC already, so a binding adds nothing to it."""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Mapping
from typing import Any, Optional

from .core import TENANT_LABEL, Conflict, Graph
from .documents import as_list
from .model import ACCOUNT, ASSUME, REACH, READ, UNKNOWN, UNOWNED, WORLD, WRITE, Edge, Node, Owner, Resource
from .network import Addresses

NAMESPACE = "kubernetes:core/v1:Namespace"
SERVICE_ACCOUNT = "kubernetes:core/v1:ServiceAccount"
NETWORK_POLICY = "kubernetes:networking.k8s.io/v1:NetworkPolicy"
ROLE = "kubernetes:rbac.authorization.k8s.io/v1:Role"
CLUSTER_ROLE = "kubernetes:rbac.authorization.k8s.io/v1:ClusterRole"
ROLE_BINDING = "kubernetes:rbac.authorization.k8s.io/v1:RoleBinding"
CLUSTER_ROLE_BINDING = "kubernetes:rbac.authorization.k8s.io/v1:ClusterRoleBinding"
TYPES = (NETWORK_POLICY, ROLE, CLUSTER_ROLE, ROLE_BINDING, CLUSTER_ROLE_BINDING)
NAMESPACED = (NETWORK_POLICY, ROLE, ROLE_BINDING)  # owned through their namespace
NAME_LABEL = "kubernetes.io/metadata.name"
EVERYTHING = frozenset({READ, WRITE, ASSUME})

# The built-in ClusterRoles (user-facing roles of Kubernetes' RBAC bootstrap policy,
# https://kubernetes.io/docs/reference/access-authn-authz/rbac/#user-facing-roles): name -> (verbs on a
# namespace where they are bound, what they allow). Each also holds the rules of the ClusterRoles
# labelled to aggregate into it: admin <- edit <- view.
BUILTIN = {
    "cluster-admin": (EVERYTHING, "built-in: every verb on every resource"),
    "admin": (EVERYTHING, "built-in: read and write of the namespace's objects, secrets, roles and bindings "
                          "included, pods/exec and workloads"),
    "edit": (EVERYTHING, "built-in: read and write of the namespace's objects, secrets included, pods/exec and "
                         "workloads"),
    "view": (frozenset({READ}), "built-in: read of the namespace's objects but secrets"),
}
AGGREGATE_LABEL = "rbac.authorization.k8s.io/aggregate-to-"
AGGREGATED_INTO = {"admin": ("admin", "edit", "view"), "edit": ("edit", "view"), "view": ("view",)}

READ_VERBS = frozenset({"get", "list", "watch"})
WRITE_VERBS = frozenset({"create", "update", "patch", "delete", "deletecollection"})
# Creating or changing any of these runs a pod as a service account of the namespace.
WORKLOADS = frozenset({"pods", "deployments", "replicasets", "statefulsets", "daemonsets", "jobs", "cronjobs",
                       "replicationcontrollers", "podtemplates"})
ACT_AS = {("pods/exec", "create"), ("pods/exec", "get"), ("pods/attach", "create"), ("pods/attach", "get"),
          ("serviceaccounts/token", "create")}
CLUSTER_SCOPED = frozenset({
    "nodes", "namespaces", "persistentvolumes", "clusterroles", "clusterrolebindings", "customresourcedefinitions",
    "storageclasses", "priorityclasses", "ingressclasses", "runtimeclasses", "mutatingwebhookconfigurations",
    "validatingwebhookconfigurations", "validatingadmissionpolicies", "validatingadmissionpolicybindings",
    "apiservices", "certificatesigningrequests", "csidrivers", "csinodes", "volumeattachments", "tokenreviews",
    "subjectaccessreviews", "selfsubjectaccessreviews", "selfsubjectrulesreviews", "localsubjectaccessreviews",
    "componentstatuses", "flowschemas", "prioritylevelconfigurations"})
# Cluster-scoped resources whose verbs reach into every namespace: resource -> the verbs that do.
ESCALATING = {"nodes/proxy": READ_VERBS | WRITE_VERBS, "mutatingwebhookconfigurations": WRITE_VERBS}


# -- namespaces ----------------------------------------------------------------------------------------
class Namespaces:
    """The program's namespaces by name, their labels and owners."""

    def __init__(self, g: Graph):
        self.g = g
        self.by_name: dict[str, Resource] = {}
        self.unnamed: list[Resource] = []
        for ns in g.of_type(NAMESPACE):
            name = ns.get("metadata", "name")
            if isinstance(name, str) and name:
                self.by_name[name] = ns
            else:
                self.unnamed.append(ns)
        self.accounts: dict[str, list[Resource]] = {}
        for sa in g.of_type(SERVICE_ACCOUNT):
            namespace = sa.get("metadata", "namespace")
            if isinstance(namespace, str) or namespace is None:
                self.accounts.setdefault(namespace or "default", []).append(sa)

    def need_names(self) -> None:
        """A namespace whose name is unknown may be any that the judged objects name."""
        for ns in self.unnamed:
            self.g.need(ns, "metadata.name")

    def owner(self, name: str) -> Owner:
        ns = self.by_name.get(name)
        return self.g.owner(ns) if ns is not None else UNOWNED

    def labels(self, ns: Resource) -> Any:
        labels = ns.get("metadata", "labels", default={})
        if labels is UNKNOWN or not isinstance(labels, Mapping):
            return UNKNOWN if labels is UNKNOWN else {NAME_LABEL: ns.get("metadata", "name")}
        return {**labels, NAME_LABEL: ns.get("metadata", "name")}

    def of(self, r: Resource) -> Optional[str]:
        """The namespace a namespaced object is in (`default` when it names none); None when it is
        not known yet (recorded as needed), unless its dependencies say which namespace it is."""
        value = r.get("metadata", "namespace")
        if value is UNKNOWN:
            found = [self.g.by_key[k] for k in r.deps.get("metadata", ()) if k in self.g.by_key
                     and self.g.by_key[k].type == NAMESPACE]
            name = found[0].get("metadata", "name") if len(found) == 1 else UNKNOWN
            if not isinstance(name, str):
                self.g.need(r, "metadata.namespace")
                return None
            return name
        return str(value) if value else "default"

    def pods(self, name: str) -> Node:
        return Node(f"k8s-pods:{name}", f"pods of namespace {name}", self.owner(name))


def own_through_namespaces(g: Graph, namespaces: Namespaces, types: tuple = ()) -> None:
    """Namespaced objects (roles, bindings, network policies, routes...) are owned through their
    namespace (as core.ATTACHMENTS owns untaggable resources through what they attach to); another
    tenant's label or component on one is an ownership conflict."""
    for r in g.of_type(*(types or NAMESPACED)):
        name = namespaces.of(r)
        ns = namespaces.by_name.get(name) if name is not None else None
        attached = g.owner(ns) if ns is not None else None
        own, ancestor = Graph._own_claim(r), g._ancestor_claim(r)
        claims = []
        if own:
            claims.append((own, "its tenant-id label" if own.is_tenant else "its labels"))
        if ancestor:
            claims.append((ancestor, "it is created in " + (f"tenant {ancestor.tenant}'s component"
                                                            if ancestor.is_tenant else "the platform's component")))
        if attached and attached != UNOWNED:
            claims.append((attached, f"it is in namespace {name}"))
        else:
            attached = None
        g.conflicts = [c for c in g.conflicts if c.resource is not r]
        if len({c[0] for c in claims if c[0].is_tenant}) > 1:
            g.conflicts.append(Conflict(r, tuple(claims)))
        g.owner_of[r.key] = own or attached or ancestor or UNOWNED


# -- label selectors ------------------------------------------------------------------------------------
def _selector_known(selector: Any) -> bool:
    if selector is UNKNOWN:
        return False
    if not isinstance(selector, Mapping):
        return True
    for value in (selector.get("matchLabels"), selector.get("matchExpressions")):
        if value is UNKNOWN or (isinstance(value, Mapping) and UNKNOWN in value.values()):
            return False
        if isinstance(value, list) and any(e is UNKNOWN or (isinstance(e, Mapping) and UNKNOWN in (
                e.get("key"), e.get("operator"), e.get("values"))) for e in value):
            return False
    return True


def _empty(selector: Any) -> bool:
    """A selector that selects everything: absent, `{}`, or with no labels and no expressions."""
    return not isinstance(selector, Mapping) or not (selector.get("matchLabels") or selector.get("matchExpressions"))


def _matches(selector: Any, labels: Mapping) -> bool:
    if _empty(selector):
        return True
    for key, value in (selector.get("matchLabels") or {}).items():
        if labels.get(key) != value:
            return False
    for e in selector.get("matchExpressions") or []:
        key, op, values = e.get("key"), e.get("operator"), [str(v) for v in as_list(e.get("values"))]
        present = key in labels
        if op == "In" and not (present and str(labels[key]) in values) or \
                op == "NotIn" and present and str(labels[key]) in values or \
                op == "Exists" and not present or op == "DoesNotExist" and present:
            return False
    return True


def _pinned(selector: Mapping, key: str) -> Optional[set]:
    """The values a selector requires of a label (matchLabels, or an `In` expression), if any."""
    found = None
    if key in (selector.get("matchLabels") or {}):
        found = {str(selector["matchLabels"][key])}
    for e in selector.get("matchExpressions") or []:
        if e.get("key") == key and e.get("operator") == "In":
            values = {str(v) for v in as_list(e.get("values"))}
            found = values if found is None else found & values
    return found


def _describe(selector: Any) -> str:
    if _empty(selector):
        return "every namespace"
    return "namespaces matching " + json.dumps(selector, sort_keys=True, separators=(",", ":"))


# -- NetworkPolicies ---------------------------------------------------------------------------------------
def _policy_types(spec: Mapping) -> Any:
    types = spec.get("policyTypes")
    if types is UNKNOWN:
        return UNKNOWN
    if types:
        return {str(t) for t in as_list(types)}
    return {"Ingress", "Egress"} if spec.get("egress") else {"Ingress"}


def _number(value: Any) -> Any:
    """A port as written (numbers travel as floats)."""
    return int(value) if isinstance(value, float) and value.is_integer() else value


def _ports(ports: Any) -> str:
    if not ports:
        return "every port"
    described = []
    for p in as_list(ports):
        if isinstance(p, Mapping):
            end = f"-{_number(p['endPort'])}" if p.get("endPort") else ""
            described.append(f"{p.get('protocol') or 'TCP'} {_number(p.get('port', 'every port'))}{end}")
    return ", ".join(described) or "every port"


class Sources:
    """Who a NetworkPolicy peer admits: pods of namespaces, namespaces outside the program, addresses."""

    def __init__(self, g: Graph, namespaces: Namespaces):
        self.g, self.ns = g, namespaces
        self._addresses: Optional[Addresses] = None

    @property
    def addresses(self) -> Addresses:
        if self._addresses is None:
            self._addresses = Addresses(self.g)
        return self._addresses

    def everything(self, here: str) -> list[Node]:
        return [self.ns.pods(name) for name in self.ns.by_name if name != here] + [
            Node("k8s-pods:*", "pods of namespaces outside this program", UNOWNED),
            Node("k8s-any-address", "any address", WORLD)]

    def namespaces(self, policy: Resource, selector: Any) -> Optional[list[Node]]:
        """Pods of the namespaces a namespaceSelector matches; None when that is not known yet."""
        if not _selector_known(selector):
            self.g.need(policy, "spec.ingress.from.namespaceSelector")
            return None
        found = []
        for name, ns in self.ns.by_name.items():
            labels = self.ns.labels(ns)
            if labels is UNKNOWN:
                self.g.need(ns, "metadata.labels")
                return None
            if _matches(selector, labels):
                found.append(self.ns.pods(name))
        names = _pinned(selector, NAME_LABEL) if isinstance(selector, Mapping) else None
        tenants = _pinned(selector, TENANT_LABEL) if isinstance(selector, Mapping) else None
        if names is not None:
            found += [Node(f"k8s-pods:{n}", f"pods of namespace {n} (outside this program)", UNOWNED)
                      for n in sorted(names) if n not in self.ns.by_name]
        elif tenants is not None:
            found += [Node(f"k8s-pods:{TENANT_LABEL}={t}", f"pods of namespaces labelled {TENANT_LABEL}={t}",
                           Owner("tenant", t)) for t in sorted(tenants)]
        else:
            found.append(Node(f"k8s-pods:{_describe(selector)}", f"pods of any namespace outside this program that "
                              f"{'exists' if _empty(selector) else 'carries these labels'} (whoever may label a "
                              f"namespace)", UNOWNED))
        return found

    def block(self, policy: Resource, block: Any) -> list[Node]:
        if not isinstance(block, Mapping) or block.get("cidr") is UNKNOWN or block.get("except") is UNKNOWN:
            self.g.need(policy, "spec.ingress.from.ipBlock")
            return []
        try:
            rest = [ipaddress.ip_network(str(block.get("cidr")), strict=False)]
        except ValueError:
            return [Node(f"cidr:{block.get('cidr')}", f"addresses {block.get('cidr')}", UNOWNED)]
        for value in as_list(block.get("except")):
            try:
                cut = ipaddress.ip_network(str(value), strict=False)
            except ValueError:
                continue
            rest = [part for net in rest for part in (
                [net] if net.version != cut.version or not net.overlaps(cut) else
                [] if net.subnet_of(cut) else list(net.address_exclude(cut)))]
        nets = [net for version in (4, 6) for net in ipaddress.collapse_addresses(
            [n for n in rest if n.version == version])]
        # one source per owner behind the block, named by the block as written (not by its pieces)
        text = str(block.get("cidr")) + (f" except {', '.join(str(e) for e in as_list(block.get('except')))}"
                                         if block.get("except") else "")
        found: dict[str, Node] = {}
        for net in nets:
            for node in self.addresses.sources(self.g, str(net)):
                prefix = f"cidr:{net}:"
                if node.key.startswith(prefix) and node.label.startswith(str(net)):
                    node = Node(f"cidr:{text}:{node.key[len(prefix):]}", text + node.label[len(str(net)):],
                                node.owner, node.arn)
                found.setdefault(node.key, node)
        return list(found.values())


def _network_policies(g: Graph, namespaces: Namespaces) -> None:
    sources = Sources(g, namespaces)
    by_namespace: dict[str, list[Resource]] = {}
    undecided = False
    for policy in g.of_type(NETWORK_POLICY):
        name = namespaces.of(policy)
        if name is None:
            undecided = True  # it may isolate any namespace
            continue
        by_namespace.setdefault(name, []).append(policy)
    for name, ns in namespaces.by_name.items():
        owner = g.owner(ns)
        target = g.node(ns, f"pods of namespace {name}")
        isolated, unknown = False, undecided
        for policy in by_namespace.get(name, []):
            spec = policy.props.get("spec")
            if spec is UNKNOWN or not isinstance(spec, Mapping):
                if spec is UNKNOWN:
                    g.need(policy, "spec")
                    unknown = True
                continue
            types = _policy_types(spec)
            if types is UNKNOWN:
                g.need(policy, "spec.policyTypes")
                unknown = True
                continue
            if "Ingress" not in types:
                continue
            selector = spec.get("podSelector")
            if not _selector_known(selector):
                g.need(policy, "spec.podSelector")
                unknown = True
            elif _empty(selector):
                isolated = True
            rules = spec.get("ingress")
            if rules is UNKNOWN:
                g.need(policy, "spec.ingress")
                continue
            for i, rule in enumerate(as_list(rules), 1):
                if rule is UNKNOWN or not isinstance(rule, Mapping):
                    if rule is UNKNOWN:
                        g.need(policy, "spec.ingress")
                    continue
                peers = rule.get("from")
                how = f"NetworkPolicy {policy.name} in namespace {name} (ingress rule {i}, {_ports(rule.get('ports'))}"
                if peers is UNKNOWN:
                    g.need(policy, "spec.ingress.from")
                    continue
                admitted: list[tuple[Node, str]] = []
                if not peers:
                    admitted += [(s, "from anywhere") for s in sources.everything(name)]
                for peer in as_list(peers):
                    if peer is UNKNOWN:
                        g.need(policy, "spec.ingress.from")
                    elif not isinstance(peer, Mapping) or not (set(peer) & {"namespaceSelector", "ipBlock"}):
                        continue  # podSelector alone: this namespace's own pods
                    elif "ipBlock" in peer:
                        admitted += [(s, f"from ipBlock {peer['ipBlock'].get('cidr')}" if isinstance(
                            peer["ipBlock"], Mapping) else "from an ipBlock") for s in sources.block(policy, peer["ipBlock"])]
                    else:
                        found = sources.namespaces(policy, peer["namespaceSelector"])
                        admitted += [(s, f"from {_describe(peer['namespaceSelector'])}") for s in found or ()]
                for source, why in admitted:
                    if source.owner != owner and source.key != f"k8s-pods:{name}":
                        g.add(Edge(source, frozenset({REACH}), target, f"{how} {why})", policy.key))
        if not isolated and not unknown:
            for source in sources.everything(name):
                if source.owner != owner:
                    g.add(Edge(source, frozenset({REACH}), target, f"no NetworkPolicy selecting every pod of "
                               f"namespace {name} for ingress (a pod no policy selects admits all traffic)", ns.key))


# -- RBAC ---------------------------------------------------------------------------------------------------
def _covers(resources: set, resource: str) -> bool:
    sub = resource.split("/", 1)[1] if "/" in resource else None
    return "*" in resources or resource in resources or (sub is not None and f"*/{sub}" in resources)


def rule_verbs(rule: Mapping, cluster_wide: bool = False) -> frozenset:
    """What one PolicyRule gives over a namespace's contents, bound in that namespace or (a
    ClusterRoleBinding) cluster-wide, where cluster-scoped resources count too."""
    verbs = {str(v) for v in as_list(rule.get("verbs"))}
    resources = {str(r) for r in as_list(rule.get("resources"))}
    if not resources:
        return frozenset()  # nonResourceURLs only
    every = "*" in verbs

    def allows(*wanted: str) -> bool:
        return every or bool(verbs & set(wanted))

    for resource, escalating in ESCALATING.items() if cluster_wide else ():
        if _covers(resources, resource) and allows(*escalating):
            return EVERYTHING
    if allows("impersonate", "bind", "escalate"):
        return EVERYTHING
    found = set()
    namespaced = "*" in resources or any(r.split("/")[0] not in CLUSTER_SCOPED for r in resources)
    if namespaced and allows(*READ_VERBS):
        found.add(READ)
    if namespaced and allows(*WRITE_VERBS) or _covers(resources, "namespaces") and allows(*WRITE_VERBS):
        found.add(WRITE)
    if any(_covers(resources, w) for w in WORKLOADS) and allows("create", "update", "patch") or \
            any(_covers(resources, r) and allows(v) for r, v in ACT_AS):
        found.add(ASSUME)
    return frozenset(found)


def _rules_text(rules: list) -> str:
    parts = []
    for rule in rules:
        if isinstance(rule, Mapping) and rule.get("resources"):
            parts.append(f"{','.join(str(v) for v in as_list(rule.get('verbs')))} "
                         f"{','.join(str(r) for r in as_list(rule.get('resources')))}")
    return "; ".join(parts) or "no rules"


class Roles:
    """What each role a binding names gives: (verbs, description), or None when not known yet."""

    def __init__(self, g: Graph, namespaces: Namespaces):
        self.g = g
        self.roles: dict[tuple, Resource] = {}
        for role in g.of_type(ROLE):
            ns, name = namespaces.of(role), role.get("metadata", "name")
            if ns is not None and isinstance(name, str):
                self.roles[(ns, name)] = role
        self.cluster_roles = {str(r.get("metadata", "name")): r for r in g.of_type(CLUSTER_ROLE)
                              if isinstance(r.get("metadata", "name"), str)}
        # roles whose name or namespace is not known yet (preview): any binding may name one of them
        named = {r.key for r in [*self.roles.values(), *self.cluster_roles.values()]}
        self.unnamed = {kind: [r for r in g.of_type(type_) if r.key not in named]
                        for kind, type_ in (("Role", ROLE), ("ClusterRole", CLUSTER_ROLE))}

    def _rules(self, role: Resource) -> Optional[list]:
        rules = role.props.get("rules")
        if rules is UNKNOWN or any(r is UNKNOWN for r in as_list(rules)):
            self.g.need(role, "rules")
            return None
        return [r for r in as_list(rules) if isinstance(r, Mapping)]

    def _aggregated(self, selectors: list) -> Optional[list]:
        rules: list = []
        for other in self.g.of_type(CLUSTER_ROLE):
            labels = other.get("metadata", "labels", default={})
            if labels is UNKNOWN:
                self.g.need(other, "metadata.labels")
                return None
            if isinstance(labels, Mapping) and any(not _empty(s) and _matches(s, labels) for s in selectors):
                found = self._rules(other)
                if found is None:
                    return None
                rules += found
        return rules

    def reach(self, binding: Resource, ref: Any, namespace: Optional[str],
              cluster_wide: bool) -> Optional[tuple[frozenset, str]]:
        if ref is UNKNOWN or not isinstance(ref, Mapping) or UNKNOWN in (ref.get("kind"), ref.get("name")):
            deps = [self.g.by_key[k] for k in binding.deps.get("roleRef", ()) if k in self.g.by_key
                    and self.g.by_key[k].type in (ROLE, CLUSTER_ROLE)]
            if len(deps) != 1:
                self.g.need(binding, "roleRef")
                return None
            role = deps[0]
            kind = "Role" if role.type == ROLE else "ClusterRole"
            name = str(role.get("metadata", "name", default=role.name))
        else:
            kind, name = str(ref.get("kind")), str(ref.get("name"))
            role = self.roles.get((namespace, name)) if kind == "Role" else self.cluster_roles.get(name)
        if role is None and kind == "ClusterRole" and name in BUILTIN:
            verbs, text = BUILTIN[name]
            extra = self._aggregated([{"matchLabels": {f"{AGGREGATE_LABEL}{name}": "true"}}])
            if extra is None:
                return None
            verbs = verbs | frozenset().union(*(rule_verbs(r, cluster_wide) for r in extra))
            return verbs, f"ClusterRole {name} ({text}{'; aggregated: ' + _rules_text(extra) if extra else ''})"
        if role is None and self.unnamed[kind if kind in self.unnamed else "Role"]:
            self.g.need(binding, "roleRef")
            return None
        if role is None:
            return EVERYTHING, f"{kind} {name} (not in this program: counted as every verb)"
        rules = self._rules(role)
        if rules is None:
            return None
        aggregation = role.props.get("aggregationRule") if role.type == CLUSTER_ROLE else None
        if aggregation is UNKNOWN:
            self.g.need(role, "aggregationRule")
            return None
        if isinstance(aggregation, Mapping):
            extra = self._aggregated([s for s in as_list(aggregation.get("clusterRoleSelectors"))
                                      if isinstance(s, Mapping)])
            if extra is None:
                return None
            rules = rules + extra
        return frozenset().union(*(rule_verbs(r, cluster_wide) for r in rules)), f"{kind} {name} ({_rules_text(rules)})"


def _subject(g: Graph, namespaces: Namespaces, binding: Resource, subject: Any,
             here: Optional[str]) -> Optional[Node]:
    if subject is UNKNOWN or not isinstance(subject, Mapping) or \
            UNKNOWN in (subject.get("kind"), subject.get("name"), subject.get("namespace")):
        g.need(binding, "subjects")
        return None
    kind, name = str(subject.get("kind")), str(subject.get("name"))

    def account(namespace: str, account: str) -> Node:
        return Node(f"k8s:serviceaccount:{namespace}:{account}", f"service account {namespace}/{account}",
                    namespaces.owner(namespace))

    if kind == "ServiceAccount":
        return account(str(subject.get("namespace") or here or "default"), name)
    if kind == "User" and name.startswith("system:serviceaccount:") and name.count(":") == 3:
        return account(*name.split(":")[2:])
    if kind == "Group":
        if name == "system:masters":
            return None
        if name == "system:serviceaccounts":
            return Node("k8s:group:system:serviceaccounts", "every service account of the cluster", ACCOUNT)
        if name.startswith("system:serviceaccounts:"):
            namespace = name.removeprefix("system:serviceaccounts:")
            return Node(f"k8s:group:{name}", f"every service account of namespace {namespace} (group {name})",
                        namespaces.owner(namespace))
        if name == "system:authenticated":
            return Node("k8s:group:system:authenticated", "every authenticated identity of the cluster (group "
                        "system:authenticated)", ACCOUNT)
        if name == "system:unauthenticated":
            return Node("k8s:group:system:unauthenticated", "anonymous requests (group system:unauthenticated)", WORLD)
    return Node(f"k8s:{kind.lower()}:{name}", f"{kind.lower()} {name} (not known to this program)", UNOWNED)


def _account_targets(g: Graph, namespaces: Namespaces, name: str) -> list[Node]:
    """The service accounts a namespace's workloads may run as: each of the program's (its own
    owner, else the namespace's), else the namespace's as a whole."""
    owner = namespaces.owner(name)
    found = []
    for sa in namespaces.accounts.get(name, []):
        own = g.owner(sa)
        found.append(Node(sa.key, f"service account {name}/{sa.get('metadata', 'name')}",
                          own if own != UNOWNED else owner))
    return found or [Node(f"k8s-serviceaccounts:{name}", f"the service accounts of namespace {name}", owner)]


def _bindings(g: Graph, namespaces: Namespaces) -> None:
    roles = Roles(g, namespaces)
    for binding in g.of_type(ROLE_BINDING, CLUSTER_ROLE_BINDING):
        cluster_wide = binding.type == CLUSTER_ROLE_BINDING
        here = None if cluster_wide else namespaces.of(binding)
        if not cluster_wide and here is None:
            continue
        reach = roles.reach(binding, binding.props.get("roleRef"), here, cluster_wide)
        subjects = binding.props.get("subjects")
        if subjects is UNKNOWN:
            g.need(binding, "subjects")
            continue
        sources = [s for s in (_subject(g, namespaces, binding, subject, here) for subject in as_list(subjects)) if s]
        if reach is None or not sources:
            continue
        verbs, role = reach
        kind = "ClusterRoleBinding" if cluster_wide else "RoleBinding"
        how = f"{kind} {binding.name}{'' if cluster_wide else f' in namespace {here}'} of {role}"
        for name in (list(namespaces.by_name) if cluster_wide else [here]):
            ns = namespaces.by_name.get(name)
            targets: list[tuple[Node, frozenset]] = []
            if ns is not None and verbs - {ASSUME}:
                targets.append((g.node(ns, f"namespace {name}"), verbs - {ASSUME}))
            if ASSUME in verbs:
                targets += [(t, frozenset({ASSUME})) for t in _account_targets(g, namespaces, name)]
            for source in sources:
                for target, given in targets:
                    if source.owner != target.owner:
                        g.add(Edge(source, given, target, how, binding.key))


def add_edges(g: Graph) -> None:
    if not g.of_type(NAMESPACE, *TYPES):
        return
    namespaces = Namespaces(g)
    namespaces.need_names()
    own_through_namespaces(g, namespaces)
    _network_policies(g, namespaces)
    _bindings(g, namespaces)
