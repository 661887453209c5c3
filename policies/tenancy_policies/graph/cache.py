"""ElastiCache RBAC: which users (by their access strings) are members of which user groups (the
group's own list or UserGroupAssociations) attached to which replication groups. On a tenant's own
cache any other owner's enabled user reaches it; on a pooled cache a user reaches each tenant's key
and channel prefix its patterns can match, and every tenant's key names when it may list keys."""

from __future__ import annotations

from dataclasses import dataclass, field

from . import arns, paths
from .core import Graph
from .documents import as_list
from .model import READ, UNKNOWN, WRITE, Edge, Node, Resource, tenant

USER = "aws:elasticache/user:User"
GROUP = "aws:elasticache/userGroup:UserGroup"
ASSOCIATION = "aws:elasticache/userGroupAssociation:UserGroupAssociation"
REPLICATION_GROUP = "aws:elasticache/replicationGroup:ReplicationGroup"
# The few commands that matter, and the ACL categories that hold them (Redis 7).
COMMANDS = {
    "get": {"all", "read", "string", "fast"},
    "set": {"all", "write", "string", "slow"},
    "keys": {"all", "keyspace", "read", "slow", "dangerous"},
    "scan": {"all", "keyspace", "read", "slow"},
    "randomkey": {"all", "keyspace", "read", "slow"},
    "subscribe": {"all", "pubsub", "slow"},
    "publish": {"all", "pubsub", "fast"},
    "pubsub": {"all", "pubsub", "slow"},
}
LISTING = ("keys", "scan", "randomkey")


@dataclass
class Access:
    enabled: bool = False
    read_keys: list = field(default_factory=list)
    write_keys: list = field(default_factory=list)
    channels: list = field(default_factory=list)
    commands: dict = field(default_factory=lambda: dict.fromkeys(COMMANDS, False))

    def can(self, *names: str) -> bool:
        return any(self.commands[n] for n in names)


def access(rules: str) -> Access:
    """Redis ACL rules, applied left to right."""
    a = Access()
    for rule in rules.split():
        low = rule.lower()
        if low == "on":
            a.enabled = True
        elif low == "off":
            a.enabled = False
        elif low in ("allkeys", "~*"):
            a.read_keys.append("*")
            a.write_keys.append("*")
        elif low == "resetkeys":
            a.read_keys, a.write_keys = [], []
        elif rule.startswith("~"):
            a.read_keys.append(rule[1:])
            a.write_keys.append(rule[1:])
        elif rule.startswith("%"):
            mode, _, pattern = rule[1:].partition("~")
            if "R" in mode.upper():
                a.read_keys.append(pattern)
            if "W" in mode.upper():
                a.write_keys.append(pattern)
        elif low == "allchannels":
            a.channels.append("*")
        elif low == "resetchannels":
            a.channels = []
        elif rule.startswith("&"):
            a.channels.append(rule[1:])
        elif low in ("allcommands", "+@all"):
            a.commands = dict.fromkeys(COMMANDS, True)
        elif low in ("nocommands", "-@all"):
            a.commands = dict.fromkeys(COMMANDS, False)
        elif low.startswith(("+@", "-@")):
            for name, categories in COMMANDS.items():
                if low[2:] in categories:
                    a.commands[name] = low[0] == "+"
        elif low.startswith(("+", "-")):
            name = low[1:].split("|")[0]
            if name in a.commands:
                a.commands[name] = low[0] == "+"
        elif low == "reset":
            a = Access()
    return a


def _intersects(pattern: str, prefix: str) -> bool:
    """Whether a Redis glob can match some key that starts with the prefix."""
    lit = arns.literal_prefix(pattern.replace("[", "*"))
    return lit.startswith(prefix) or prefix.startswith(lit)


def _verbs(a: Access, prefix: str) -> frozenset:
    verbs = set()
    if any(_intersects(p, prefix) for p in a.read_keys) and a.can("get"):
        verbs.add(READ)
    if any(_intersects(p, prefix) for p in a.write_keys) and a.can("set"):
        verbs.add(WRITE)
    if any(_intersects(p, prefix) for p in a.channels):
        if a.can("subscribe"):
            verbs.add(READ)
        if a.can("publish"):
            verbs.add(WRITE)
    if a.can(*LISTING) or (a.can("pubsub") and a.channels):
        verbs.add(READ)  # key (or channel) names of everyone, whatever the patterns
    return frozenset(verbs)


def _members(g: Graph) -> dict[str, list[tuple[Resource, Resource]]]:
    """User group id -> (user, the resource that made it a member)."""
    users = {}
    for user in g.of_type(USER):
        for k in ("userId", "id"):
            if isinstance(user.props.get(k), str):
                users[user.props[k]] = user
    found: dict[str, list] = {}
    for group in g.of_type(GROUP):
        gid = group.props.get("userGroupId") or group.props.get("id")
        listed = group.props.get("userIds")
        if listed is UNKNOWN:
            g.need(group, "userIds")
        for uid in as_list(listed) if listed is not UNKNOWN else []:
            if uid in users:
                found.setdefault(gid, []).append((users[uid], group))
            elif uid is UNKNOWN:
                g.need(group, "userIds")
    for association in g.of_type(ASSOCIATION):
        gid, uid = association.props.get("userGroupId"), association.props.get("userId")
        if gid is UNKNOWN or uid is UNKNOWN:
            group = g.resolve(association, "userGroupId", GROUP)
            user = g.resolve(association, "userId", USER)
            if not group or not user:
                continue
            gid = group[0].props.get("userGroupId") or group[0].props.get("id")
            found.setdefault(gid, []).append((user[0], association))
        elif uid in users:
            found.setdefault(gid, []).append((users[uid], association))
    return found


def add_edges(g: Graph) -> None:
    members = _members(g)
    tenants = sorted(g.tenants)
    for rg in g.of_type(REPLICATION_GROUP):
        groups = rg.props.get("userGroupIds")
        if groups is UNKNOWN:
            g.need(rg, "userGroupIds")
            continue
        owner = g.owner(rg)
        for gid in as_list(groups):
            for user, via in members.get(gid, ()):
                rules = user.props.get("accessString")
                if rules is UNKNOWN:
                    g.need(user, "accessString")
                    continue
                a = access(str(rules or ""))
                if not a.enabled:
                    continue
                source = g.node(user, f"cache user {user.props.get('userId') or user.name}")
                mechanism = f"access string '{rules}' in user group {gid}" + (
                    f" (member through {via.name})" if via.type == ASSOCIATION else "")
                if owner.is_tenant:
                    if source.owner != owner:
                        verbs = _verbs(a, "") or frozenset({READ})
                        g.add(Edge(source, verbs, g.node(rg), mechanism, via.key))
                    continue
                for t in tenants:
                    if source.owner == tenant(t):
                        continue
                    prefix = paths.key_prefix(t)
                    target = Node(f"{rg.key}#keys:{prefix}", f"keys {prefix}* in {rg.name}", tenant(t))
                    g.add(Edge(source, _verbs(a, prefix), target, mechanism, user.key))
