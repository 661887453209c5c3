"""What a change does to a stack: two offline plans of it (before and after), compared resource by
resource, grouped by the tenant that owns each resource.

The engine knows nothing of the command line or of the registry files: it takes two recordings of
the same stack (`tenancy.plan.harness.Recording`, or the `PlanResult` of `tenancy.plan.run`, or None
where the stack does not exist on that side) and returns, per stack and per owner, what is created,
updated (with the input keys that change), replaced and deleted. `tenancy tenant new|set|suspend|resume`
preview with it; so can `tenancy plan --base <ref>`.

Owners: a resource belongs to the tenant whose `tenancy:tenant:Tenant` component it sits under (the
component's `tenant-id` tag), to the platform under `tenancy:platform:Platform`, or to the stack
itself (providers and anything at the top).

Secrets: an input the program marked secret is never shown, only that it changed (`[secret]`).

Replacements: whether a changed input updates a resource in place or replaces it is the provider's
schema's business, which the offline harness does not have. Offline, every change is an `update`
unless one of the changed inputs is listed in REPLACE_TRIGGERS, each with the provider source that
marks it ForceNew (pulumi-aws bridges the Terraform AWS provider, whose ForceNew fields Pulumi
replaces). The list is deliberately short; a real `pulumi preview` may still turn an update into a
replacement.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Literal

from tenancy.plan.harness import SECRET_MASK, Recording, Registration, is_secret, plain
from tenancy.registry.naming import PLATFORM_COMPONENT_TYPE, TENANT_COMPONENT_TYPE, TENANT_TAG

Action = Literal["create", "update", "replace", "delete"]
ACTIONS: tuple[Action, ...] = ("create", "update", "replace", "delete")
PLATFORM = "platform"  # the owner of everything under the platform component
STACK = ""  # the owner of what sits under no tenant and no platform (providers)
UNKNOWN_VALUE = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"  # pulumi.runtime.rpc.UNKNOWN: computed in preview
MAX_VALUE_CHARS = 60

_TF = "https://github.com/hashicorp/terraform-provider-aws/blob/main/internal/service/"
# type token -> (top-level input keys whose change replaces the resource, the source that says so).
REPLACE_TRIGGERS: dict[str, tuple[frozenset[str], str]] = {
    "aws:rds/instance:Instance": (
        frozenset({"identifier", "identifierPrefix", "kmsKeyId", "storageEncrypted", "dbName", "username",
                   "engine", "availabilityZone", "characterSetName", "timezone", "snapshotIdentifier"}),
        _TF + "rds/instance.go (ForceNew)"),
    "aws:ec2/subnet:Subnet": (
        frozenset({"cidrBlock", "vpcId", "availabilityZone", "availabilityZoneId", "ipv6Native", "outpostArn"}),
        _TF + "ec2/vpc_subnet.go (ForceNew)"),
    # AppConfig versions are immutable: the resource has no update, every argument is ForceNew.
    "aws:appconfig/hostedConfigurationVersion:HostedConfigurationVersion": (
        frozenset({"applicationId", "configurationProfileId", "content", "contentType", "description"}),
        _TF + "appconfig/hosted_configuration_version.go (ForceNew, no Update)"),
}


@dataclass(frozen=True)
class KeyChange:
    """One changed input, down to the leaf that differs; values rendered short, secrets masked."""

    path: str  # quotaSettings[0].limit, spec.hard.pods, content
    before: str
    after: str

    def as_dict(self) -> dict:
        return {"path": self.path, "before": self.before, "after": self.after}


@dataclass(frozen=True)
class ResourceChange:
    urn: str
    type: str
    name: str
    owner: str  # a tenant id, PLATFORM, or STACK
    owner_is_tenant: bool
    action: Action
    keys: tuple[str, ...] = ()  # top-level inputs that change (update, replace)
    changes: tuple[KeyChange, ...] = ()
    replace_keys: tuple[str, ...] = ()  # the changed keys that force a replacement
    protected: bool = False  # a protected resource: `pulumi up` refuses to delete or replace it

    def as_dict(self) -> dict:
        return {"urn": self.urn, "type": self.type, "name": self.name, "owner": self.owner or None,
                "ownerIsTenant": self.owner_is_tenant, "action": self.action, "keys": list(self.keys),
                "changes": [c.as_dict() for c in self.changes], "replaceKeys": list(self.replace_keys),
                "protected": self.protected}


@dataclass
class StackDiff:
    """One stack before and after. `existed`/`exists`: whether the stack is there on each side;
    `note` says why a stack was not planned (then it has no changes)."""

    stack: str
    changes: list[ResourceChange] = field(default_factory=list)
    existed: bool = True
    exists: bool = True
    note: str | None = None

    def counts(self) -> dict[str, int]:
        return {action: sum(1 for c in self.changes if c.action == action) for action in ACTIONS}

    def by_owner(self) -> dict[str, list[ResourceChange]]:
        out: dict[str, list[ResourceChange]] = {}
        for change in self.changes:
            out.setdefault(change.owner, []).append(change)
        return dict(sorted(out.items()))

    def tenants(self) -> set[str]:
        """The tenants with at least one resource that changes."""
        return {c.owner for c in self.changes if c.owner_is_tenant}

    def as_dict(self) -> dict:
        return {"stack": self.stack, "existed": self.existed, "exists": self.exists, "note": self.note,
                "counts": self.counts(), "tenants": sorted(self.tenants()),
                "changes": [c.as_dict() for c in self.changes]}


@dataclass
class PlanDiff:
    """The stacks a change touches, each compared before and after."""

    stacks: list[StackDiff] = field(default_factory=list)

    def tenants(self) -> set[str]:
        return set().union(*(s.tenants() for s in self.stacks)) if self.stacks else set()

    def other_tenants(self, tenant_ids: set[str] | list[str] | tuple[str, ...]) -> set[str]:
        """Tenants other than `tenant_ids` whose resources change: for a one-tenant edit, the ones it
        should not have touched."""
        return self.tenants() - set(tenant_ids)

    def counts(self) -> dict[str, int]:
        return {action: sum(s.counts()[action] for s in self.stacks) for action in ACTIONS}

    def as_dict(self, tenant_ids: tuple[str, ...] = ()) -> dict:
        return {"stacks": [s.as_dict() for s in self.stacks], "counts": self.counts(),
                "tenants": sorted(self.tenants()),
                "otherTenants": sorted(self.other_tenants(tenant_ids)) if tenant_ids else None}


def _recording(plan: Any) -> Recording | None:
    """A Recording from a Recording, a PlanResult (its `.recording`), or None."""
    if plan is None or isinstance(plan, Recording):
        return plan
    recording = getattr(plan, "recording", None)
    if not isinstance(recording, Recording):
        raise TypeError(f"not an offline plan: {type(plan).__name__}")
    return recording


def diff_plans(before: Any, after: Any, stack: str = "") -> StackDiff:
    """Compare two offline plans of the same stack (Recording or PlanResult; None: the stack does not
    exist on that side, so everything on the other side is created or deleted)."""
    old, new = _recording(before), _recording(after)
    old_resources = {r.urn: r for r in old.resources} if old else {}
    new_resources = {r.urn: r for r in new.resources} if new else {}
    old_owner, new_owner = _Owners(old), _Owners(new)
    changes: list[ResourceChange] = []
    for urn, reg in new_resources.items():
        if urn not in old_resources:
            changes.append(_change(reg, new_owner, "create"))
    for urn, reg in old_resources.items():
        if urn not in new_resources:
            changes.append(_change(reg, old_owner, "delete", protected=reg.protect))
            continue
        after_reg = new_resources[urn]
        key_changes = list(_input_changes(reg, after_reg))
        if not key_changes:
            continue
        keys = tuple(dict.fromkeys(_top(c.path) for c in key_changes))
        triggers, _ = REPLACE_TRIGGERS.get(reg.type, (frozenset(), ""))
        replace_keys = tuple(k for k in keys if k in triggers)
        changes.append(_change(after_reg, new_owner, "replace" if replace_keys else "update", keys=keys,
                               changes=tuple(key_changes), replace_keys=replace_keys,
                               protected=reg.protect and bool(replace_keys)))
    order = {action: i for i, action in enumerate(ACTIONS)}
    changes.sort(key=lambda c: (c.owner, order[c.action], c.type, c.name))
    return StackDiff(stack=stack, changes=changes, existed=old is not None, exists=new is not None)


def _change(reg: Registration, owners: _Owners, action: Action, **extra) -> ResourceChange:
    owner, is_tenant = owners.of(reg)
    return ResourceChange(urn=reg.urn, type=reg.type, name=reg.name, owner=owner, owner_is_tenant=is_tenant,
                          action=action, **extra)


class _Owners:
    """Who owns each registration of a recording: the nearest tenant or platform component above it."""

    def __init__(self, recording: Recording | None):
        self.by_urn = {r.urn: r for r in recording.registrations} if recording else {}
        self.cache: dict[str, tuple[str, bool]] = {}

    def of(self, reg: Registration) -> tuple[str, bool]:
        seen = []
        current: Registration | None = reg
        found = (STACK, False)
        while current is not None:
            if current.urn in self.cache:
                found = self.cache[current.urn]
                break
            seen.append(current.urn)
            if current.type == TENANT_COMPONENT_TYPE:
                tags = plain(current.inputs.get("tags")) or {}
                found = (str(tags.get(TENANT_TAG) or current.name), True)
                break
            if current.type == PLATFORM_COMPONENT_TYPE:
                found = (PLATFORM, False)
                break
            current = self.by_urn.get(current.parent)
        for urn in seen:
            self.cache[urn] = found
        return found


def _top(path: str) -> str:
    return path.split(".")[0].split("[")[0]


def _input_changes(before: Registration, after: Registration) -> Iterator[KeyChange]:
    yield from _value_changes(before.inputs, after.inputs, "")
    for option, old, new in (("(protect)", before.protect, after.protect),
                             ("(retainOnDelete)", before.retain_on_delete, after.retain_on_delete)):
        if old != new:
            yield KeyChange(option, _show(old), _show(new))


def _join(path: str, key: Any) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else str(key)


def _value_changes(old: Any, new: Any, path: str) -> Iterator[KeyChange]:
    if is_secret(old) or is_secret(new):
        if plain(old) != plain(new):
            yield KeyChange(path, SECRET_MASK, SECRET_MASK)
        return
    if isinstance(old, dict) and isinstance(new, dict):
        for key in [*old, *(k for k in new if k not in old)]:
            yield from _value_changes(old.get(key), new.get(key), _join(path, key))
        return
    if isinstance(old, list) and isinstance(new, list) and len(old) == len(new):
        for i, (a, b) in enumerate(zip(old, new)):
            yield from _value_changes(a, b, _join(path, i))
        return
    if plain(old) != plain(new):
        if isinstance(old, str) and isinstance(new, str) and not _has_secret(old) and not _has_secret(new):
            yield KeyChange(path, *_show_strings(old, new))
        else:
            yield KeyChange(path, _show(old), _show(new))


def _show_strings(old: str, new: str) -> tuple[str, str]:
    """Two long strings shown from just before where they first differ, so the difference shows."""
    if max(len(old), len(new)) <= MAX_VALUE_CHARS:
        return old, new
    first = next((i for i, (a, b) in enumerate(zip(old, new)) if a != b), min(len(old), len(new)))
    start = max(0, first - 12)

    def window(text: str) -> str:
        part = ("..." if start else "") + text[start:start + MAX_VALUE_CHARS - 6]
        return part + ("..." if start + MAX_VALUE_CHARS - 6 < len(text) else "")

    return window(old), window(new)


def _has_secret(value: Any) -> bool:
    if is_secret(value):
        return True
    if isinstance(value, dict):
        return any(_has_secret(v) for v in value.values())
    if isinstance(value, list):
        return any(_has_secret(v) for v in value)
    return False


def _show(value: Any) -> str:
    """A short, safe rendering of one input value."""
    if _has_secret(value):
        return SECRET_MASK
    if value is None:
        return "(unset)"
    if value == UNKNOWN_VALUE:
        return "(known after apply)"
    if isinstance(value, float) and value.is_integer():  # the engine hands every number over as a float
        value = int(value)
    text = value if isinstance(value, str) else json.dumps(value, sort_keys=True, default=str)
    return text if len(text) <= MAX_VALUE_CHARS else text[:MAX_VALUE_CHARS - 3] + "..."


# -- text -------------------------------------------------------------------------------------------

SYMBOLS = {"create": "+", "update": "~", "replace": "+-", "delete": "-"}


def short_type(type_: str) -> str:
    """aws:rds/instance:Instance -> rds.Instance (as `tenancy plan` shows types)."""
    from tenancy.plan.run import short_type as run_short_type

    return run_short_type(type_)


def summary(counts: dict[str, int]) -> str:
    parts = [f"{n} to {action}" for action, n in counts.items() if n]
    return ", ".join(parts) or "no changes"


def render_text(diff: PlanDiff, tenant_ids: tuple[str, ...] = (), max_key_changes: int = 6,
                max_listed: int = 12) -> list[str]:
    """Lines for a person: per stack, per owner, each resource with its action and changed inputs;
    with `tenant_ids`, whether any other tenant's resources change."""
    lines: list[str] = []
    for stack in diff.stacks:
        if stack.note:
            lines.append(f"{stack.stack}: not planned: {stack.note}")
            continue
        state = "" if stack.existed and stack.exists else (" (new stack)" if stack.exists else " (stack goes away)")
        lines.append(f"{stack.stack}{state}: {summary(stack.counts())}")
        for owner, changes in stack.by_owner().items():
            label = owner if changes[0].owner_is_tenant else ("platform" if owner == PLATFORM else "stack")
            lines.append(f"  {label}:")
            for action in ("create", "delete"):  # a whole tenant coming or going: counted by type
                bulk = [c for c in changes if c.action == action]
                if len(bulk) > max_listed:
                    by_type = Counter(short_type(c.type) for c in bulk)
                    protected = sum(1 for c in bulk if c.protected)
                    guard = f" ({protected} protected: `pulumi up` stops until they are unprotected)" if protected else ""
                    lines.append(f"    {SYMBOLS[action]:<2} {action:<7} {len(bulk)} resources{guard}: "
                                 + ", ".join(f"{t} {n}" for t, n in sorted(by_type.items())))
                    changes = [c for c in changes if c.action != action]
            for change in changes:
                keys = f" ({', '.join(change.keys)})" if change.keys else ""
                why = f"; replaced because {', '.join(change.replace_keys)} changes" if change.replace_keys else ""
                guard = " [protected: `pulumi up` stops until it is unprotected]" if change.protected else ""
                lines.append(f"    {SYMBOLS[change.action]:<2} {change.action:<7} {short_type(change.type)} "
                             f"{change.name}{keys}{why}{guard}")
                shown = change.changes[:max_key_changes]
                lines += [f"         {c.path}: {c.before} -> {c.after}" for c in shown]
                if len(change.changes) > len(shown):
                    lines.append(f"         ... and {len(change.changes) - len(shown)} more")
        others = sorted(stack.tenants() - set(tenant_ids)) if tenant_ids else []
        if others:
            lines.append(f"  other tenants' resources change: {', '.join(others)}")
    return lines
