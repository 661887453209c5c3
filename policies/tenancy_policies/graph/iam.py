"""IAM: identity policies (a role's inline policies, RolePolicy, customer- and AWS-managed policies
attached), resource policies (KMS key policies and grants, SQS, SNS, Secrets Manager, S3), and
trust policies (who may assume a role), evaluated as IAM does: action and resource wildcards,
NotAction/NotResource, an explicit Deny subtracting (from either side), KMS keys usable through IAM
only for what their key policy delegates to the account."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Optional

from . import actions as acts
from . import arns, paths
from .core import KEY, RESOURCE_POLICIES, Graph
from .documents import (
    Statement,
    as_list,
    deny_applies,
    parse,
    principal_arn_patterns,
    resource_matches,
    scoped_to_account,
    source_arns,
)
from .model import ACCOUNT, ASSUME, UNKNOWN, UNOWNED, WORLD, Edge, Node, Resource, tenant

ROLE = "aws:iam/role:Role"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
ATTACHMENT = "aws:iam/rolePolicyAttachment:RolePolicyAttachment"
POLICY = "aws:iam/policy:Policy"
# IAM users and groups: principals as much as roles are (a group's policies act for its members).
USER = "aws:iam/user:User"
USER_POLICY = "aws:iam/userPolicy:UserPolicy"
USER_ATTACHMENT = "aws:iam/userPolicyAttachment:UserPolicyAttachment"
GROUP = "aws:iam/group:Group"
GROUP_POLICY = "aws:iam/groupPolicy:GroupPolicy"
GROUP_ATTACHMENT = "aws:iam/groupPolicyAttachment:GroupPolicyAttachment"
GROUP_MEMBERSHIP = "aws:iam/groupMembership:GroupMembership"  # one group, its users
USER_GROUP_MEMBERSHIP = "aws:iam/userGroupMembership:UserGroupMembership"  # one user, its groups
POLICY_ATTACHMENT = "aws:iam/policyAttachment:PolicyAttachment"  # one policy, its roles, users and groups
PRINCIPAL_KINDS = {ROLE: "role", USER: "user", GROUP: "group"}
GRANT = "aws:kms/grant:Grant"
DB = ("aws:rds/instance:Instance", "aws:rds/cluster:Cluster")
SERVICE_ACCOUNT = "kubernetes:core/v1:ServiceAccount"
NAMESPACE = "kubernetes:core/v1:Namespace"
AWS_MANAGED = "arn:aws:iam::aws:policy/"
# AWS-managed policies whose reach is known more precisely than "everything".
KNOWN_MANAGED = {
    "PowerUserAccess": [Statement("Allow", ("iam:*", "organizations:*", "account:*"), True, ("*",), False, None,
                                  False, {}, "")],
    # RDS enhanced monitoring's service role: its own log group (RDSOSMetrics) only.
    "AmazonRDSEnhancedMonitoringRole": [
        Statement("Allow", ("logs:CreateLogGroup", "logs:PutRetentionPolicy"), False,
                  ("arn:aws:logs:*:*:log-group:RDS*",), False, None, False, {}, ""),
        Statement("Allow", ("logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams", "logs:GetLogEvents"),
                  False, ("arn:aws:logs:*:*:log-group:RDS*:log-stream:*",), False, None, False, {}, "")],
}
BROAD = [Statement("Allow", ("*",), False, ("*",), False, None, False, {}, "")]
KMS_VIA_SERVICE = "kms:viaservice"


@dataclass(frozen=True)
class Grant:
    """Statements given to a principal by one resource (the one that creates the edges)."""

    principal: Node
    statements: tuple
    mechanism: str
    urn: str


def _document(g: Graph, r: Resource, prop: str = "policy", value=None) -> list[Statement]:
    found = parse(r.props.get(prop) if value is None else value)
    if found is None:
        g.need(r, prop)
        return []
    return found


# -- principals ------------------------------------------------------------------------------------
def _roles(g: Graph) -> dict[str, Resource]:
    """Roles by ARN, name and id."""
    found = {}
    for role in g.of_type(ROLE):
        for k in ("arn", "name", "id"):
            if isinstance(role.props.get(k), str):
                found.setdefault(role.props[k], role)
    return found


def _principal(g: Graph, roles: dict, value: str) -> Node:
    if arns.is_account_root(value, g.account_id):
        return Node(paths.ACCOUNT_ROOT + value, f"the account root ({value})", ACCOUNT, value)
    if value in roles:
        return g.node(roles[value], f"role {roles[value].name}")
    named = g.named(value)
    if named is not None:
        return g.node(named)
    if arns.is_account_root(value):
        return Node(f"account:{value}", f"account {arns.account(value) or value}", UNOWNED, value)
    exported = g.exported(value)
    if exported:  # another stack's principal (the platform's pool identity, in a split pool stack)
        stack, path, owner = exported
        return Node(f"stack:{stack}:{path}", f"{value} ({path} of stack {stack})", owner, value)
    return Node(f"principal:{value}", f"{value} (not in this program)", UNOWNED, value)


def _resource_policy_principals(g: Graph, roles: dict, st: Statement) -> list[Node]:
    """Who an Allow of a resource policy admits."""
    if st.principals is None:
        return []  # AWS refuses a resource policy statement without a principal
    if st.not_principal:
        return [Node("world", "anyone (NotPrincipal)", WORLD)]
    found = []
    for kind, values in st.principals.items():
        for value in values:
            if kind == "AWS" and value == "*":
                named = principal_arn_patterns(st)
                if named:
                    found.extend(_principal(g, roles, v) for v in named if "*" not in v)
                    found.extend(Node(f"principal:{v}", f"principals {v}", UNOWNED, v) for v in named if "*" in v)
                elif scoped_to_account(st, g.account_id):
                    found.append(Node("account", "anyone in the account (Principal *)", ACCOUNT))
                else:
                    found.append(Node("world", "anyone (Principal *)", WORLD))
            elif kind == "AWS":
                found.append(_principal(g, roles, value))
            elif kind == "Service":
                found.extend(_service_principal(g, st, value))
            else:
                found.append(Node(f"{kind}:{value}", f"{kind} principal {value}", UNOWNED, value))
    return found


def _service_principal(g: Graph, st: Statement, service: str) -> list[Node]:
    sources = source_arns(st)
    if sources:
        named = g.arn_targets_named(sources)
        if named:
            return [Node(f"service:{service}:{r.key}", f"{service} for {r.name}", g.owner(r), arn) for arn, r in named]
        if all(arns.account(p) == g.account_id for p in sources):
            return [Node(paths.SERVICE_FOR_ACCOUNT + service, f"{service} for this account", ACCOUNT)]
    if scoped_to_account(st, g.account_id) or st.condition_values(KMS_VIA_SERVICE):
        return [Node(paths.SERVICE_FOR_ACCOUNT + service, f"{service} for this account", ACCOUNT)]
    return [Node(f"service:{service}", f"{service} for any account", WORLD)]


# -- what each side grants ---------------------------------------------------------------------------
def _identity_grants(g: Graph, roles: dict) -> list[Grant]:
    grants = []
    policies = {}
    for policy in g.of_type(POLICY):
        for k in ("arn", "id"):
            if isinstance(policy.props.get(k), str):
                policies[policy.props[k]] = policy

    def principal_nodes(owner: Resource, prop: str, type_: str = ROLE) -> list[Node]:
        """The roles, users or groups a property names (one, or a list), those outside the program
        as unowned principals."""
        kind = PRINCIPAL_KINDS[type_]
        found = [g.node(r, f"{kind} {r.name}") for r in g.resolve(owner, prop, type_)]
        if found:
            return found
        value = owner.props.get(prop)
        values = [v for v in (value if isinstance(value, (list, tuple)) else [value]) if v not in (None, UNKNOWN)]
        return [Node(f"{kind}:{v}", f"{kind} {v} (not in this program)", UNOWNED) for v in values]

    def role_node(owner: Resource, prop: str) -> Optional[Node]:
        return next(iter(principal_nodes(owner, prop)), None)

    def managed(principal: Node, arn, via: Resource, how: str) -> None:
        if arn is UNKNOWN:
            g.need(via, "policyArn")
            return
        arn = str(arn)
        policy = policies.get(arn) or next(iter(g.resolve(via, "policyArn", POLICY)), None)
        if policy is not None:
            grants.append(Grant(principal, tuple(_document(g, policy)), f"managed policy {policy.name} ({how})", via.key))
        elif arn.startswith(AWS_MANAGED):
            name = arn.rsplit("/", 1)[-1]
            known = name in KNOWN_MANAGED
            grants.append(Grant(principal, tuple(KNOWN_MANAGED.get(name, BROAD)),
                                f"AWS-managed policy {name} ({how}{'' if known else '; broad'})", via.key))
        else:
            grants.append(Grant(principal, tuple(BROAD), f"policy {arn} ({how}; not in this program, so broad)", via.key))

    for rp in g.of_type(ROLE_POLICY):
        principal = role_node(rp, "role")
        if principal is not None:
            grants.append(Grant(principal, tuple(_document(g, rp)), f"inline policy {rp.name}", rp.key))
    for role in g.of_type(ROLE):
        principal = g.node(role, f"role {role.name}")
        inline = role.props.get("inlinePolicies")
        if inline is UNKNOWN:
            g.need(role, "inlinePolicies")
        for item in as_list(inline) if inline is not UNKNOWN else []:
            if isinstance(item, Mapping):
                statements = _document(g, role, "inlinePolicies", item.get("policy"))
                grants.append(Grant(principal, tuple(statements),
                                    f"inline policy {item.get('name') or '(unnamed)'} of {role.name}", role.key))
        listed = role.props.get("managedPolicyArns")
        if listed is UNKNOWN:
            g.need(role, "managedPolicyArns")
        for arn in as_list(listed) if listed is not UNKNOWN else []:
            managed(principal, arn, role, f"listed by {role.name}")
    for attachment in g.of_type(ATTACHMENT):
        principal = role_node(attachment, "role")
        if principal is not None:
            managed(principal, attachment.props.get("policyArn"), attachment, f"attached by {attachment.name}")
    # users and groups: inline policies, attached policies, and the exclusive PolicyAttachment
    for type_, prop, inline_type, attachment_type in ((USER, "user", USER_POLICY, USER_ATTACHMENT),
                                                       (GROUP, "group", GROUP_POLICY, GROUP_ATTACHMENT)):
        for up in g.of_type(inline_type):
            for principal in principal_nodes(up, prop, type_):
                grants.append(Grant(principal, tuple(_document(g, up)), f"inline policy {up.name}", up.key))
        for attachment in g.of_type(attachment_type):
            for principal in principal_nodes(attachment, prop, type_):
                managed(principal, attachment.props.get("policyArn"), attachment, f"attached by {attachment.name}")
    for attachment in g.of_type(POLICY_ATTACHMENT):
        for type_, prop in ((ROLE, "roles"), (USER, "users"), (GROUP, "groups")):
            for principal in principal_nodes(attachment, prop, type_):
                managed(principal, attachment.props.get("policyArn"), attachment, f"attached by {attachment.name}")
    return grants


def _memberships(g: Graph) -> None:
    """A user in a group acts with the group's policies: an edge (assume) from the user to the group,
    made by the membership resource, so a user placed in another tenant's group is a path."""
    for membership in g.of_type(GROUP_MEMBERSHIP, USER_GROUP_MEMBERSHIP):
        plural = membership.type == USER_GROUP_MEMBERSHIP
        groups = g.resolve(membership, "groups" if plural else "group", GROUP)
        users = g.resolve(membership, "user" if plural else "users", USER)
        for user in users:
            for group in groups:
                g.add(Edge(g.node(user, f"user {user.name}"), frozenset({ASSUME}), g.node(group, f"group {group.name}"),
                           f"{membership.name}: member of group {group.name}", membership.key))


# -- evaluation ------------------------------------------------------------------------------------
class Evaluator:
    def __init__(self, g: Graph):
        self.g = g
        self.resource_statements: dict[str, list[tuple[Statement, Resource]]] = {}  # target key -> statements
        self.delegated: dict[str, Optional[frozenset]] = {}  # key -> actions IAM policies may grant on it

    def actions_on(self, st: Statement, arn: str, own: bool = False) -> frozenset:
        """What a statement allows (or denies) on a resource and on what lives inside it without being
        a resource of the program: a bucket's objects, a log group's streams."""
        found = frozenset()
        for target in (arn, *_inside(arn)):
            if resource_matches(st, target, own):
                found |= acts.matching(st.actions, st.not_action, acts.applicable(target))
        return found

    def denied(self, principal: Node, identity: list[Statement], target: Resource, arn: str) -> frozenset:
        out: set = set()
        account = self.g.account_id
        for st in identity:
            if st.effect == "Deny" and deny_applies(st, principal.arn, account):
                out |= self.actions_on(st, arn)
        for st, _ in self.resource_statements.get(target.key, ()):
            if st.effect == "Deny" and _names(st, principal, account) and deny_applies(st, principal.arn, account):
                out |= self.actions_on(st, arn, own=True)
        return frozenset(out)


def _inside(arn: str) -> tuple:
    if arn.startswith("arn:aws:s3:::") and "/" not in arn:
        return (arn + "/*",)
    if arns.service(arn) == "logs" and ":log-group:" in arn and ":log-stream:" not in arn:
        return (arn.removesuffix(":*") + ":log-stream:*",)
    return ()


def _names(st: Statement, principal: Node, account: str) -> bool:
    """Whether a statement's Principal covers a principal (for Deny)."""
    if st.principals is None:
        return False
    values = [v for vs in st.principals.values() for v in vs]
    return "*" in values or principal.arn in values or any(arns.is_account_root(v, account) for v in values)


def _kms_delegation(g: Graph, ev: Evaluator, key: Resource, statements: Optional[list[Statement]]) -> None:
    arn = key.props.get("arn")
    if not isinstance(arn, str):
        return
    if statements is None:  # no key policy: AWS's default, the account root may do everything
        ev.delegated[key.key] = None
        return
    out: set = set()
    for st in statements:
        if st.effect != "Allow" or st.principals is None or st.condition_values(KMS_VIA_SERVICE):
            continue
        if any(arns.is_account_root(v, g.account_id) for vs in st.principals.values() for v in vs):
            out |= ev.actions_on(st, arn, own=True)
    ev.delegated[key.key] = frozenset(out)


def _partition_targets(g: Graph, pattern: str) -> list[tuple[str, Node]]:
    """Database logins a `rds-db:connect` pattern names: a tenant's own database, or a tenant's login
    in a pooled one."""
    found = []
    for db in g.of_type(*DB):
        rid, arn = db.props.get("resourceId"), db.props.get("arn")
        if not isinstance(rid, str) or not isinstance(arn, str):
            continue
        prefix = f"arn:aws:rds-db:{arn.split(':')[3]}:{arns.account(arn)}:dbuser:{rid}/"
        owner = g.owner(db)
        if not _could_extend(pattern, prefix):
            continue
        if owner.is_tenant:
            found.append((prefix + "*", g.node(db)))
        else:
            for t in sorted(g.tenants):
                login = paths.database_login(t)
                if arns.matches(pattern, prefix + login):
                    found.append((prefix + login, Node(f"{db.key}#login:{login}", f"login {login} of {db.name}",
                                                      tenant(t), prefix + login)))
    return found


def _could_extend(glob: str, prefix: str) -> bool:
    """Whether some string starting with `prefix` matches the pattern."""
    literal = arns.literal_prefix(glob)  # what every match starts with: one of the two extends the other
    if not (prefix.startswith(literal) or literal.startswith(prefix)):
        return False
    def closure(states):
        out = set(states)
        for i in list(out):
            while i < len(glob) and glob[i] == "*":
                i += 1
                out.add(i)
        return out

    states = closure({0})
    for ch in prefix:
        states = closure({i + (glob[i] != "*") for i in states if i < len(glob) and glob[i] in ("*", "?", ch)})
        if not states:
            return False
    return True


def add_edges(g: Graph) -> None:
    roles = _roles(g)
    ev = Evaluator(g)
    # resource policies first: their Deny statements subtract from identity grants
    resource_grants = []
    for r in g.of_type(*RESOURCE_POLICIES):
        if "policy" not in r.props:
            if r.type == KEY:
                _kms_delegation(g, ev, r, None)
            continue
        statements = _document(g, r)
        for target in g.governed(r, statements):
            for st in statements:
                ev.resource_statements.setdefault(target.key, []).append((st, r))
            if target.type == KEY:
                _kms_delegation(g, ev, target, statements if r.props.get("policy") is not UNKNOWN else None)
            resource_grants.append((r, target, statements))
    identity = _identity_grants(g, roles)
    by_principal: dict[str, list[Statement]] = {}
    for grant in identity:
        by_principal.setdefault(grant.principal.key, []).extend(grant.statements)
    targets = g.arn_targets()
    by_service = g.arn_targets_by_service()

    # a resource whose ARN is not known yet (preview) may be what a statement names
    if any(st.effect == "Allow" for grant in identity for st in grant.statements):
        for r in g.resources:
            if r.props.get("arn") is UNKNOWN:
                g.need(r, "arn")

    # identity policies
    for grant in identity:
        principal = grant.principal
        own_statements = by_principal[principal.key]
        for st in grant.statements:
            if st.effect != "Allow":
                continue
            candidates = _candidates(st, targets, by_service)
            for arn, target in candidates:
                if g.owner(target) == principal.owner:
                    continue
                allowed = ev.actions_on(st, arn)
                if target.type == ROLE and not delegates_to_account(g, target):
                    # assuming a role takes its trust policy too: those it names directly have
                    # their own (trust) edges; an identity policy alone reaches no further
                    allowed = frozenset(a for a in allowed if a.verb != ASSUME)
                if not allowed:
                    continue
                if target.key in ev.delegated and ev.delegated[target.key] is not None:
                    allowed &= ev.delegated[target.key]
                allowed -= ev.denied(principal, own_statements, target, arn)
                g.add(Edge(principal, acts.verbs(allowed), g.node(target), f"{grant.mechanism}: {st.text()}", grant.urn))
            if any(arns.service(p) == "rds-db" or p == "*" for p in st.resources) and not st.not_resource:
                connect = [a for a in acts.service_actions("rds-db")
                           if any(acts.action_matches(p, a) for p in st.actions) != st.not_action]
                for pattern in st.resources:
                    for _, node in _partition_targets(g, pattern):
                        if node.owner != principal.owner:
                            g.add(Edge(principal, acts.verbs(connect), node, f"{grant.mechanism}: {st.text()}",
                                       grant.urn))

    # resource policies
    for r, target, statements in resource_grants:
        arn = target.props.get("arn")
        if not isinstance(arn, str):
            if arn is UNKNOWN:
                g.need(target, "arn")
            continue
        label = f"{'key' if r.type == KEY else 'resource'} policy of {target.name}" if r is target else \
            f"{r.name} (policy of {target.name})"
        for st in statements:
            if st.effect != "Allow":
                continue
            allowed = ev.actions_on(st, arn, own=True)
            if not allowed:
                continue
            for principal in _resource_policy_principals(g, roles, st):
                if principal.owner == g.owner(target):
                    continue
                granted = allowed - ev.denied(principal, by_principal.get(principal.key, []), target, arn)
                g.add(Edge(principal, acts.verbs(granted), g.node(target), f"{label}: {st.text()}", r.key))

    _grants(g, roles)
    _trust(g, roles)
    _memberships(g)


def _candidates(st: Statement, targets, by_service) -> list:
    if st.not_resource or any(arns.service(p) in ("", "*") or "*" in arns.service(p) for p in st.resources):
        return [(arn, r) for arn, r in targets if resource_matches(st, arn)]
    found = []
    for service in {arns.service(p) for p in st.resources}:
        found.extend((arn, r) for arn, r in by_service.get(service, ()) if resource_matches(st, arn))
    return found


def _grants(g: Graph, roles: dict) -> None:
    for grant in g.of_type(GRANT):
        keys = g.resolve(grant, "keyId", KEY)
        grantee = grant.props.get("granteePrincipal")
        operations = grant.props.get("operations")
        if grantee is UNKNOWN:
            g.need(grant, "granteePrincipal")
            continue
        if operations is UNKNOWN:
            g.need(grant, "operations")
            continue
        principal = _principal(g, roles, str(grantee))
        for key in keys:
            arn = key.props.get("arn")
            if not isinstance(arn, str) or principal.owner == g.owner(key):
                continue
            granted = [a for a in acts.applicable(arn)
                       if a.service == "kms" and a.name in {str(o) for o in as_list(operations)}]
            g.add(Edge(principal, acts.verbs(granted), g.node(key),
                       f"grant {grant.name} ({', '.join(str(o) for o in as_list(operations))})", grant.key))


def _trust(g: Graph, roles: dict) -> None:
    accounts = g.of_type(SERVICE_ACCOUNT)
    namespaces = {str(ns.get("metadata", "name")): ns for ns in g.of_type(NAMESPACE)}
    for role in g.of_type(ROLE):
        document = role.props.get("assumeRolePolicy")
        if document is None:
            continue
        statements = _document(g, role, "assumeRolePolicy")
        target = g.node(role, f"role {role.name}")
        for st in statements:
            if st.effect != "Allow" or st.principals is None:
                continue
            sources: list[Node] = []
            for kind, values in st.principals.items():
                for value in values:
                    if kind == "Federated":
                        sources.extend(_federated(g, st, value, accounts, namespaces))
                    elif kind == "Service":
                        sources.extend(_pod_identity(g, st, accounts, namespaces) or
                                       [Node(paths.SERVICE_FOR_ACCOUNT + value, f"{value} for this account", ACCOUNT)])
                    elif value == "*":
                        sources.append(Node("account", "anyone in the account", ACCOUNT)
                                       if scoped_to_account(st, g.account_id) else Node("world", "anyone", WORLD))
                    else:
                        sources.append(_principal(g, roles, value))
            for source in sources:
                if source.owner != target.owner:
                    g.add(Edge(source, frozenset({ASSUME}), target, f"trust policy of {role.name}: {st.text()}",
                               role.key, _tenant_session(st, source, target)))


def _tenant_session(st: Statement, source: Node, target: Node) -> Optional[str]:
    """The declared path for the pool identity's tenant sessions: a platform principal, and a trust
    statement that pins the session tag `tenant-id` to exactly the role's own tenant (StringEquals,
    one value: StringLike, a second value or a wildcard would let the pool pick another tenant)."""
    if source.owner.kind != "platform" or not target.owner.is_tenant:
        return None
    # exactly StringEquals: ...IfExists passes a session without the tag at all
    operators = [op for op, keys in st.conditions.items() if paths.SESSION_TAG_KEY in keys]
    if operators == ["stringequals"] and \
            [str(v) for v in st.conditions["stringequals"][paths.SESSION_TAG_KEY]] == [target.owner.tenant]:
        return "pool-tenant-session"
    return None


def delegates_to_account(g: Graph, role: Resource) -> bool:
    """Whether a role's trust policy lets the account's IAM policies decide who assumes it (the
    account root as principal): only then does an identity policy's sts:AssumeRole reach it. An
    unknown trust policy is recorded as needed and counted as delegating."""
    known = g.__dict__.setdefault("_delegates_to_account", {})
    if role.key not in known:
        known[role.key] = _delegates(g, role)
    return known[role.key]


def _delegates(g: Graph, role: Resource) -> bool:
    statements = parse(role.props.get("assumeRolePolicy"))
    if statements is None:
        g.need(role, "assumeRolePolicy")
        return True
    root = {g.account_id, f"arn:aws:iam::{g.account_id}:root"} if g.account_id else set()
    for st in statements:
        if st.effect != "Allow" or st.principals is None:
            continue
        for value in st.principals.get("AWS", ()):
            if value in root or (not g.account_id and str(value).endswith(":root")):
                return True
    return False


def _service_accounts(g: Graph, patterns: list[str], accounts, namespaces) -> list[Node]:
    found = []
    unknown = [sa for sa in accounts if UNKNOWN in (sa.get("metadata", "namespace"), sa.get("metadata", "name"))]
    for sa in unknown:
        g.need(sa, "metadata")
    for pattern in patterns:
        matched = [sa for sa in accounts if arns.matches(
            pattern, f"system:serviceaccount:{sa.get('metadata', 'namespace')}:{sa.get('metadata', 'name')}")]
        if matched:
            found.extend(g.node(sa, f"service account {sa.get('metadata', 'namespace')}/{sa.get('metadata', 'name')}")
                         for sa in matched)
            continue
        if unknown:  # it may be one of those
            continue
        parts = pattern.split(":")
        namespace = parts[2] if len(parts) == 4 and parts[0] == "system" else ""
        ns = namespaces.get(namespace)
        owner = g.owner(ns) if ns is not None and "*" not in namespace else UNOWNED
        found.append(Node(f"k8s:{pattern}", f"service account {pattern.removeprefix('system:serviceaccount:')}", owner))
    return found


def _federated(g: Graph, st: Statement, provider: str, accounts, namespaces) -> list[Node]:
    subjects = [v for key in {k for keys in st.conditions.values() for k in keys} if key.endswith(":sub")
                for v in (st.condition_values(key) or [])]
    if not subjects:
        return [Node(f"federated:{provider}", f"any identity of {provider}", UNOWNED, provider)]
    return _service_accounts(g, subjects, accounts, namespaces)


def _pod_identity(g: Graph, st: Statement, accounts, namespaces) -> list[Node]:
    namespace = st.condition_values("aws:requesttag/kubernetes-namespace")
    account = st.condition_values("aws:requesttag/kubernetes-service-account")
    if not namespace and not account:
        return []
    return _service_accounts(g, [f"system:serviceaccount:{n}:{a}" for n in (namespace or ["*"])
                                 for a in (account or ["*"])], accounts, namespaces)
