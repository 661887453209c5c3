"""IAM policy documents as statements, with the few condition semantics the graph needs: which
condition keys scope a statement to this account or to one source, and whether a Deny applies to a
given principal."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Optional

from . import arns
from .model import UNKNOWN

# Condition keys that pin a request to an account (their value must be this account's id).
ACCOUNT_KEYS = ("aws:principalaccount", "aws:sourceaccount", "aws:sourceowner", "kms:calleraccount",
                "aws:resourceaccount")
# Condition keys that pin a service's request to a source resource (ARN patterns).
SOURCE_ARN_KEYS = ("aws:sourcearn", "kms:encryptioncontext:aws:logs:arn", "aws:sourcearnlike")
POSITIVE = ("stringequals", "stringequalsignorecase", "stringlike", "arnequals", "arnlike", "foranyvalue:stringequals",
            "foranyvalue:stringlike", "forallvalues:stringequals", "forallvalues:stringlike")
NEGATIVE = ("stringnotequals", "stringnotlike", "arnnotequals", "arnnotlike")


def as_list(value: Any) -> list:
    if value is None:
        return []
    if isinstance(value, (list, tuple)):
        return list(value)
    return [value]


@dataclass(frozen=True)
class Statement:
    effect: str  # Allow | Deny
    actions: tuple
    not_action: bool
    resources: tuple  # () when the statement names none (a resource policy's own resource)
    not_resource: bool
    principals: Optional[Mapping]  # {"AWS": (...), "Service": (...), ...}; None in identity policies
    not_principal: bool
    conditions: Mapping  # {operator: {key: (values...)}}, lowercased operators and keys
    sid: str

    def text(self) -> str:
        """The statement as a message quotes it: `Allow kms:De* on *`."""
        acts = ", ".join(self.actions) or "*"
        res = ", ".join(self.resources) or "its resource"
        return (f"{self.effect} {'NotAction ' if self.not_action else ''}{acts} on "
                f"{'NotResource ' if self.not_resource else ''}{res}")

    def condition_values(self, key: str, operators=POSITIVE) -> Optional[list]:
        """Values of a condition key under positive (or given) operators, None when absent."""
        found = None
        for operator, keys in self.conditions.items():
            if operator.removesuffix("ifexists") in operators and key in keys:
                found = (found or []) + [str(v) for v in keys[key]]
        return found


def parse(document: Any) -> Optional[list[Statement]]:
    """The statements of a document given as JSON text or a mapping; [] when it is neither, None
    when it is not known yet."""
    if document is UNKNOWN:
        return None
    if isinstance(document, str):
        try:
            document = json.loads(document)
        except ValueError:
            return []
    if not isinstance(document, Mapping):
        return []
    found = document.get("Statement", [])
    out = []
    for raw in found if isinstance(found, Sequence) and not isinstance(found, str) else [found]:
        if not isinstance(raw, Mapping):
            continue
        principals = raw.get("Principal", raw.get("NotPrincipal"))
        if isinstance(principals, str):
            principals = {"AWS": (principals,)}
        elif isinstance(principals, Mapping):
            principals = {str(k): tuple(str(v) for v in as_list(principals[k])) for k in principals}
        else:
            principals = None
        conditions = {}
        for operator, keys in (raw.get("Condition") or {}).items():
            if isinstance(keys, Mapping):
                conditions[str(operator).lower()] = {str(k).lower(): tuple(as_list(v)) for k, v in keys.items()}
        out.append(Statement(
            effect=str(raw.get("Effect", "")),
            actions=tuple(str(a) for a in as_list(raw.get("Action", raw.get("NotAction")))),
            not_action="NotAction" in raw,
            resources=tuple(str(r) for r in as_list(raw.get("Resource", raw.get("NotResource")))),
            not_resource="NotResource" in raw,
            principals=principals, not_principal="NotPrincipal" in raw,
            conditions=conditions, sid=str(raw.get("Sid", ""))))
    return out


def resource_matches(statement: Statement, arn: str, own: bool = False) -> bool:
    """Whether the statement's Resource (or NotResource) covers the ARN. In a resource policy
    (`own`), a statement without Resource covers the resource it is attached to."""
    if not statement.resources:
        return own and not statement.not_resource
    hit = any(arns.matches(p, arn) for p in statement.resources)
    return hit != statement.not_resource


def scoped_to_account(statement: Statement, account_id: str) -> bool:
    """Whether a condition pins the requester (or the service's source) to this account."""
    for key in ACCOUNT_KEYS:
        values = statement.condition_values(key)
        if values and all(v == account_id or (not account_id and v) for v in values):
            return True
    return False


def source_arns(statement: Statement) -> Optional[list[str]]:
    """The source ARN patterns a service's request is pinned to, if any."""
    found = None
    for key in SOURCE_ARN_KEYS:
        values = statement.condition_values(key)
        if values:
            found = (found or []) + values
    return found


def principal_arn_patterns(statement: Statement) -> Optional[list[str]]:
    """`Principal: *` narrowed by a positive aws:PrincipalArn condition: those principals."""
    return statement.condition_values("aws:principalarn")


def deny_applies(statement: Statement, principal_arn: str, principal_account: str) -> bool:
    """Whether a Deny certainly applies to a principal's ordinary (TLS) request. A condition the
    model cannot evaluate makes the Deny not count: the graph then keeps the edge (never hides one)."""
    for operator, keys in statement.conditions.items():
        op = operator.removesuffix("ifexists")
        for key, values in keys.items():
            values = [str(v) for v in values]
            if key == "aws:securetransport":
                # Deny ... SecureTransport=false applies to plain HTTP only.
                if op == "bool" and values == ["false"]:
                    return False
                continue
            if key == "aws:principalarn" and principal_arn:
                hit = any(arns.matches(v, principal_arn) for v in values)
                if op in NEGATIVE:
                    if hit:
                        return False
                elif op in POSITIVE:
                    if not hit:
                        return False
                else:
                    return False
                continue
            if key in ("aws:principalaccount",) and principal_account:
                hit = principal_account in values
                if (op in NEGATIVE and hit) or (op in POSITIVE and not hit) or op not in NEGATIVE + POSITIVE:
                    return False
                continue
            return False
    return True
