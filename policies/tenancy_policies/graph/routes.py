"""Gateway API routes: which tenant's traffic a route sends where, and whose it may claim.

Owners. Routes, Gateways and ReferenceGrants are owned through their namespace, as NetworkPolicies
are (`kubernetes.py`), except that a `tenancy.io/tenant-id` label names the owner first (a pooled
tenant's route lives in the pool's namespace); a label or component of another tenant than the
namespace's is an ownership conflict.

Edges, each on the URN of the object that creates it:
- a route's backend (`backendRefs`, and the backends of RequestMirror filters) in another namespace:
  the route reaches that namespace's Service (or whatever it names). Whether a ReferenceGrant lets it
  today is said, not required: a grant added later by whoever may write in that namespace opens it;
- a ReferenceGrant in namespace M naming namespace N in `from`: the routes (or Gateways) of N reach
  the Services (read the Secrets) of M it names in `to`, whatever routes exist today;
- a route attached (`parentRefs`) to a Gateway of another owner whose listener admits the route's
  namespace: it receives and answers that Gateway's requests for its hostnames; and a Gateway of a
  tenant whose listener admits routes from other namespaces (`All`, or a selector matching another
  owner's namespace or a namespace outside the program that anyone may label): they may attach;
- a route whose hostname matches another tenant's host (the exact hostname of that tenant's route,
  or `<tenant>.<domain>` for a domain the program's routes and Gateway listeners use; a wildcard
  matches any deeper name; a route without hostnames takes its Gateways' listener hostnames, or every
  host): it receives that tenant's users' requests (their tokens) and answers as the tenant;
- a route that sets (or adds) `X-Tenant-ID` to another tenant: its requests act as that tenant in the
  pooled services (a Gateway cross-checks nothing).
Verbs: a backend or a grant for Services is `reach`; a claimed host or a Gateway attached to is
`read` and `write`; a header naming another tenant is `assume`; a grant for Secrets is `read`."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any, Optional

from .core import TENANT_LABEL, Graph
from .documents import as_list
from .kubernetes import NAME_LABEL, Namespaces, _empty, _matches, _pinned, _selector_known, own_through_namespaces
from .model import ASSUME, REACH, READ, UNKNOWN, UNOWNED, WRITE, Edge, Node, Owner, Resource, tenant

GROUP = "gateway.networking.k8s.io"
VERSIONS = ("v1", "v1beta1", "v1alpha2", "v1alpha3")
ROUTE_KINDS = ("HTTPRoute", "GRPCRoute", "TLSRoute", "TCPRoute", "UDPRoute")


def _types(*kinds: str) -> tuple[str, ...]:
    return tuple(f"kubernetes:{GROUP}/{version}:{kind}" for kind in kinds for version in VERSIONS)


ROUTES = _types(*ROUTE_KINDS)
GATEWAYS = _types("Gateway")
GRANTS = _types("ReferenceGrant")
TYPES = ROUTES + GATEWAYS + GRANTS
SERVICE = "kubernetes:core/v1:Service"
# The route kinds a listener takes when it lists none (the Gateway API's defaults by protocol).
PROTOCOL_KINDS = {"HTTP": {"HTTPRoute", "GRPCRoute"}, "HTTPS": {"HTTPRoute", "GRPCRoute"}, "TLS": {"TLSRoute"},
                  "TCP": {"TCPRoute"}, "UDP": {"UDPRoute"}}
TENANT_HEADER = "x-tenant-id"


def _kind(r: Resource) -> str:
    return r.type.rsplit(":", 1)[-1]


class Routes:
    def __init__(self, g: Graph, namespaces: Namespaces):
        self.g, self.ns = g, namespaces
        self.services: dict[tuple[str, str], Resource] = {}
        for svc in g.of_type(SERVICE):
            where, name = namespaces.of(svc), svc.get("metadata", "name")
            if where is not None and isinstance(name, str):
                self.services[(where, name)] = svc
        self.gateways: dict[tuple[str, str], Resource] = {}
        for gw in g.of_type(*GATEWAYS):
            where, name = namespaces.of(gw), gw.get("metadata", "name")
            if where is not None and isinstance(name, str):
                self.gateways[(where, name)] = gw

    # -- nodes --------------------------------------------------------------------------------------
    def route(self, r: Resource, where: str) -> Node:
        return self.g.node(r, f"{_kind(r)} {where}/{r.get('metadata', 'name', default=r.name)}")

    def referent(self, kind: str, group: str, where: str, name: Optional[str]) -> Node:
        """What a reference names in namespace `where`: the program's Service, or the namespace's."""
        owner = self.ns.owner(where)
        if kind == "Service" and group in ("", "core"):
            svc = self.services.get((where, name)) if name else None
            if svc is not None:
                own = self.g.owner(svc)
                return self.g.node(svc, f"Service {where}/{name}") if own != UNOWNED else \
                    Node(svc.key, f"Service {where}/{name}", owner)
            return Node(f"k8s-services:{where}/{name or '*'}", f"Service {where}/{name}" if name else
                        f"every Service of namespace {where}", owner)
        plural = f"{kind}s" if not kind.endswith("s") else kind
        return Node(f"k8s-{kind.lower()}:{where}/{name or '*'}", f"{kind} {where}/{name}" if name else
                    f"every {kind} of namespace {where} ({plural})", owner)

    def namespace_sources(self, kind: str, where: str) -> Node:
        return Node(f"k8s-{kind.lower()}s:{where}", f"{kind}s of namespace {where}", self.ns.owner(where))

    # -- references ---------------------------------------------------------------------------------
    def grant_for(self, kind: str, route_ns: str, ref_kind: str, ref_group: str, target_ns: str,
                  name: str) -> Optional[Resource]:
        """A ReferenceGrant in `target_ns` that lets `kind`s of `route_ns` refer to the object."""
        for grant in self.g.of_type(*GRANTS):
            spec = grant.props.get("spec")
            if self.ns.of(grant) != target_ns or not isinstance(spec, Mapping):
                continue
            froms = [f for f in as_list(spec.get("from")) if isinstance(f, Mapping) and f.get("kind") == kind
                     and f.get("group") == GROUP and f.get("namespace") == route_ns]
            tos = [t for t in as_list(spec.get("to")) if isinstance(t, Mapping) and t.get("kind") == ref_kind
                   and (t.get("group") or "") == ref_group and t.get("name") in (None, "", name)]
            if froms and tos:
                return grant
        return None

    def backends(self, r: Resource, spec: Mapping) -> Iterator[tuple[Any, str]]:
        """Every backend reference of a route: (reference, what makes it)."""
        for i, rule in enumerate(as_list(spec.get("rules")), 1):
            if rule is UNKNOWN:
                self.g.need(r, "spec.rules")
                continue
            if not isinstance(rule, Mapping):
                continue
            refs = rule.get("backendRefs")
            if refs is UNKNOWN:
                self.g.need(r, "spec.rules.backendRefs")
                continue
            for ref in as_list(refs):
                yield ref, f"rule {i} backendRef"
                for mirror in self.mirrors(r, ref.get("filters") if isinstance(ref, Mapping) else None):
                    yield mirror, f"rule {i} backendRef's RequestMirror"
            for mirror in self.mirrors(r, rule.get("filters")):
                yield mirror, f"rule {i} RequestMirror"

    def mirrors(self, r: Resource, filters: Any) -> Iterator[Any]:
        if filters is UNKNOWN:
            self.g.need(r, "spec.rules.filters")
            return
        for f in as_list(filters):
            if f is UNKNOWN:
                self.g.need(r, "spec.rules.filters")
            elif isinstance(f, Mapping) and isinstance(f.get("requestMirror"), Mapping):
                yield f["requestMirror"].get("backendRef")

    def header_values(self, r: Resource, spec: Mapping) -> Iterator[Any]:
        """The X-Tenant-ID values a route's RequestHeaderModifiers set or add."""
        for rule in as_list(spec.get("rules")):
            if not isinstance(rule, Mapping):
                continue
            filters = list(as_list(rule.get("filters")))
            for ref in as_list(rule.get("backendRefs")):
                if isinstance(ref, Mapping):
                    filters += list(as_list(ref.get("filters")))
            for f in filters:
                modifier = f.get("requestHeaderModifier") if isinstance(f, Mapping) else None
                if modifier is UNKNOWN:
                    self.g.need(r, "spec.rules.filters")
                if not isinstance(modifier, Mapping):
                    continue
                for header in [*as_list(modifier.get("set")), *as_list(modifier.get("add"))]:
                    if header is UNKNOWN or isinstance(header, Mapping) and UNKNOWN in (header.get("name"),
                                                                                        header.get("value")):
                        self.g.need(r, "spec.rules.filters")
                    elif isinstance(header, Mapping) and str(header.get("name", "")).lower() == TENANT_HEADER:
                        yield header.get("value")

    # -- listeners ----------------------------------------------------------------------------------
    def listeners(self, gateway: Resource, section: Any = None) -> list[Mapping]:
        spec = gateway.props.get("spec")
        if spec is UNKNOWN or isinstance(spec, Mapping) and spec.get("listeners") is UNKNOWN:
            self.g.need(gateway, "spec.listeners")
            return []
        found = [lst for lst in as_list(spec.get("listeners") if isinstance(spec, Mapping) else None)
                 if isinstance(lst, Mapping)]
        return [lst for lst in found if not section or lst.get("name") == section]

    def admits(self, gateway: Resource, listener: Mapping, where: str, kind: Optional[str] = None) -> Optional[bool]:
        """Whether a listener takes routes (of `kind`) from namespace `where` (None: not known yet)."""
        home = self.ns.of(gateway)
        if kind is not None and not self.takes(gateway, listener, kind):
            return False
        allowed = (listener.get("allowedRoutes") or {}).get("namespaces") if isinstance(
            listener.get("allowedRoutes"), Mapping) else None
        if allowed is UNKNOWN or isinstance(allowed, Mapping) and UNKNOWN in (allowed.get("from"), allowed.get("selector")):
            self.g.need(gateway, "spec.listeners.allowedRoutes")
            return None
        origin = allowed.get("from", "Same") if isinstance(allowed, Mapping) else "Same"
        if origin == "All":
            return True
        if origin == "Selector":
            selector = allowed.get("selector")
            ns = self.ns.by_name.get(where)
            labels = self.ns.labels(ns) if ns is not None else {NAME_LABEL: where}
            if not _selector_known(selector) or labels is UNKNOWN:
                self.g.need(gateway, "spec.listeners.allowedRoutes")
                return None
            return _matches(selector, labels)
        return where == home

    def takes(self, gateway: Resource, listener: Mapping, kind: str) -> bool:
        """A listener's route kinds: those it lists, else its protocol's (unknown: any)."""
        routes = listener.get("allowedRoutes")
        kinds = routes.get("kinds") if isinstance(routes, Mapping) else None
        if kinds is UNKNOWN:
            self.g.need(gateway, "spec.listeners.allowedRoutes.kinds")
            return True
        listed = {str(k.get("kind")) for k in as_list(kinds) if isinstance(k, Mapping)}
        if listed:
            return kind in listed
        return kind in PROTOCOL_KINDS.get(str(listener.get("protocol")), {kind})

    def listener_sources(self, gateway: Resource, listener: Mapping) -> list[Node]:
        """Who may attach routes to a listener, besides its own namespace."""
        home = self.ns.of(gateway)
        found = [self.namespace_sources("route", name) for name in self.ns.by_name
                 if name != home and self.admits(gateway, listener, name)]
        allowed = (listener.get("allowedRoutes") or {}).get("namespaces") if isinstance(
            listener.get("allowedRoutes"), Mapping) else None
        origin = allowed.get("from", "Same") if isinstance(allowed, Mapping) else "Same"
        selector = allowed.get("selector") if isinstance(allowed, Mapping) else None
        pinned = isinstance(selector, Mapping) and (_pinned(selector, NAME_LABEL) is not None or
                                                    _pinned(selector, TENANT_LABEL) is not None)
        if origin == "All" or origin == "Selector" and _selector_known(selector) and not pinned:
            found.append(Node("k8s-routes:*", "routes of any namespace outside this program" + (
                "" if origin == "All" or _empty(selector) else " that carries the selector's labels"), UNOWNED))
        if origin == "Selector" and isinstance(selector, Mapping) and _pinned(selector, TENANT_LABEL):
            found += [Node(f"k8s-routes:{TENANT_LABEL}={t}", f"routes of namespaces labelled {TENANT_LABEL}={t}",
                           tenant(t)) for t in sorted(_pinned(selector, TENANT_LABEL) or ())]
        return found

    def gateways_of(self, r: Resource, where: str, refs: Any) -> list[tuple[Resource, list[Mapping], Any]]:
        """The program's Gateways a route's parentRefs name, with the listeners that admit it."""
        out = []
        for ref in as_list(refs):
            if ref is UNKNOWN or isinstance(ref, Mapping) and UNKNOWN in (ref.get("name"), ref.get("namespace")):
                self.g.need(r, "spec.parentRefs")
                continue
            if not isinstance(ref, Mapping) or ref.get("kind", "Gateway") != "Gateway" or \
                    ref.get("group", GROUP) != GROUP:
                continue
            gateway = self.gateways.get((str(ref.get("namespace") or where), str(ref.get("name"))))
            if gateway is None:
                continue
            admitting = [lst for lst in self.listeners(gateway, ref.get("sectionName"))
                         if self.admits(gateway, lst, where, _kind(r))]
            out.append((gateway, admitting, ref))
        return out


# -- hostnames -----------------------------------------------------------------------------------------
def covers(pattern: str, host: str) -> bool:
    """Gateway API hostname matching: `*.d` matches any name ending in `.d`; `*` matches everything."""
    pattern, host = pattern.lower().rstrip("."), host.lower().rstrip(".")
    if pattern == "*":
        return True
    if pattern.startswith("*."):
        return host.endswith(pattern[1:]) and len(host) > len(pattern) - 1
    return pattern == host


def _hostnames(r: Resource) -> Any:
    spec = r.props.get("spec")
    return UNKNOWN if spec is UNKNOWN else (spec.get("hostnames") if isinstance(spec, Mapping) else None)


def _tenant_hosts(g: Graph, routes: Routes, owned: list[tuple[Resource, Owner, list]]) -> set[tuple[str, str]]:
    """(tenant, host): `<tenant>.<domain>` for every domain the program serves tenants under (its
    Gateways' wildcard listeners, its tenants' `<id>.<domain>` routes), and the other exact hostnames
    of each tenant's routes (a custom domain) unless they are another tenant's by that rule."""
    exact, domains = set(), set()
    for _r, owner, names in owned:
        for name in names:
            if owner.is_tenant and not name.startswith("*"):
                exact.add((owner.tenant, name.lower()))
                if name.lower().startswith(f"{owner.tenant}."):
                    domains.add(name.lower()[len(owner.tenant) + 1:])
    for gateway in routes.gateways.values():
        for listener in routes.listeners(gateway):
            hostname = listener.get("hostname")
            if isinstance(hostname, str) and hostname.startswith("*."):
                domains.add(hostname[2:].lower())
    tenants = g.tenants | {t for t, _ in exact}
    conventional = {(t, f"{t}.{d}") for t in tenants for d in domains}
    taken = {host: t for t, host in conventional}
    return conventional | {(t, host) for t, host in exact if taken.get(host, t) == t}


# -- edges ---------------------------------------------------------------------------------------------
def _backends(g: Graph, routes: Routes, r: Resource, where: str, spec: Mapping) -> None:
    source = routes.route(r, where)
    for ref, how in routes.backends(r, spec):
        if ref is UNKNOWN or isinstance(ref, Mapping) and UNKNOWN in (ref.get("namespace"), ref.get("name"),
                                                                       ref.get("kind"), ref.get("group")):
            g.need(r, "spec.rules.backendRefs")
            continue
        if not isinstance(ref, Mapping):
            continue
        target_ns = str(ref.get("namespace") or where)
        if target_ns == where:
            continue  # its own namespace: the namespace's owner's (or an ownership conflict)
        kind, group, name = str(ref.get("kind") or "Service"), str(ref.get("group") or ""), str(ref.get("name"))
        target = routes.referent(kind, group, target_ns, name)
        grant = routes.grant_for(_kind(r), where, kind, group, target_ns, name)
        permit = f"permitted by ReferenceGrant {grant.name}" if grant else \
            f"no ReferenceGrant permits it yet; one in namespace {target_ns} would"
        g.add(Edge(source, frozenset({REACH}), target,
                   f"{source.label} {how} to {kind} {target_ns}/{name} ({permit})", r.key))


def _parents(g: Graph, routes: Routes, r: Resource, where: str, spec: Mapping) -> None:
    source = routes.route(r, where)
    for gateway, admitting, _ref in routes.gateways_of(r, where, spec.get("parentRefs")):
        if not g.owner(gateway).is_tenant:
            continue  # the platform's Gateway takes every tenant's routes: their hostnames are judged
        for listener in admitting:
            target = g.node(gateway, f"Gateway {routes.ns.of(gateway)}/{gateway.get('metadata', 'name')}")
            g.add(Edge(source, frozenset({READ, WRITE}), target,
                       f"{source.label} attached to {target.label} (listener {listener.get('name')}: it receives and "
                       "answers the Gateway's requests for its hostnames)", r.key))


def _hosts(g: Graph, routes: Routes, owned: list[tuple[Resource, Owner, list]]) -> None:
    hosts = _tenant_hosts(g, routes, owned)
    for r, owner, names in owned:
        where = routes.ns.of(r) or "?"
        source = routes.route(r, where)
        for pattern in names:
            for who, host in sorted(hosts):
                if (not owner.is_tenant or who != owner.tenant) and covers(pattern, host):
                    g.add(Edge(source, frozenset({READ, WRITE}), Node(f"k8s-host:{host}", f"host {host}", tenant(who)),
                               f"{source.label} hostname {pattern} (it receives the tenant's users' requests, tokens "
                               "included, and answers as the tenant)", r.key))


def _headers(g: Graph, routes: Routes, r: Resource, where: str, spec: Mapping) -> None:
    source = routes.route(r, where)
    owner = g.owner(r)
    for value in routes.header_values(r, spec):
        if isinstance(value, str) and value and (not owner.is_tenant or value != owner.tenant):
            g.add(Edge(source, frozenset({ASSUME}), Node(f"tenant-context:{value}", "requests", tenant(value)),
                       f"{source.label} setting X-Tenant-ID: {value}", r.key))


def _grants(g: Graph, routes: Routes) -> None:
    for grant in g.of_type(*GRANTS):
        where = routes.ns.of(grant)
        spec = grant.props.get("spec")
        if where is None:
            continue
        if spec is UNKNOWN or isinstance(spec, Mapping) and UNKNOWN in (spec.get("from"), spec.get("to")):
            g.need(grant, "spec")
            continue
        if not isinstance(spec, Mapping):
            continue
        label = f"ReferenceGrant {where}/{grant.get('metadata', 'name', default=grant.name)}"
        for origin in as_list(spec.get("from")):
            if origin is UNKNOWN or isinstance(origin, Mapping) and UNKNOWN in (origin.get("namespace"), origin.get("kind")):
                g.need(grant, "spec.from")
                continue
            if not isinstance(origin, Mapping) or origin.get("namespace") in (None, where):
                continue
            source = routes.namespace_sources(str(origin.get("kind")), str(origin.get("namespace")))
            for target_ref in as_list(spec.get("to")):
                if target_ref is UNKNOWN or not isinstance(target_ref, Mapping):
                    if target_ref is UNKNOWN:
                        g.need(grant, "spec.to")
                    continue
                kind, group = str(target_ref.get("kind")), str(target_ref.get("group") or "")
                name = target_ref.get("name") if isinstance(target_ref.get("name"), str) else None
                verbs = frozenset({READ}) if kind == "Secret" else frozenset({REACH})
                target = routes.referent(kind, group, where, name)
                g.add(Edge(source, verbs, target, f"{label} letting {source.label} refer to {target.label}",
                           grant.key))


def _gateway_listeners(g: Graph, routes: Routes) -> None:
    for (where, name), gateway in routes.gateways.items():
        owner = g.owner(gateway)
        if not owner.is_tenant:
            continue  # the platform's Gateway takes every tenant's routes by design
        target = g.node(gateway, f"Gateway {where}/{name}")
        for listener in routes.listeners(gateway):
            for source in routes.listener_sources(gateway, listener):
                if source.owner != owner:
                    g.add(Edge(source, frozenset({READ, WRITE}), target,
                               f"{target.label} listener {listener.get('name')} admitting {source.label}", gateway.key))


def add_edges(g: Graph) -> None:
    if not g.of_type(*TYPES):
        return
    namespaces = Namespaces(g)
    namespaces.need_names()
    own_through_namespaces(g, namespaces, TYPES)
    routes = Routes(g, namespaces)
    owned: list[tuple[Resource, Owner, list]] = []
    for r in g.of_type(*ROUTES):
        where = namespaces.of(r)
        spec = r.props.get("spec")
        if spec is UNKNOWN:
            g.need(r, "spec")
            continue
        if where is None or not isinstance(spec, Mapping):
            continue
        _backends(g, routes, r, where, spec)
        _parents(g, routes, r, where, spec)
        _headers(g, routes, r, where, spec)
        names = _hostnames(r)
        if names is UNKNOWN or any(n is UNKNOWN for n in as_list(names)):
            g.need(r, "spec.hostnames")
            continue
        names = [n for n in as_list(names) if isinstance(n, str)]
        if not names:  # every host its Gateways' listeners serve (TCP and UDP routes: a whole port)
            names = [str(lst.get("hostname") or "*") for _, admitting, _ in
                     routes.gateways_of(r, where, spec.get("parentRefs")) for lst in admitting] or \
                ([] if _kind(r) in ("TCPRoute", "UDPRoute") else ["*"])
        owned.append((r, g.owner(r), names))
    _hosts(g, routes, owned)
    _grants(g, routes)
    _gateway_listeners(g, routes)
