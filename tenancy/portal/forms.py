"""The portal's forms, turned into registry assignments: nothing but the fields a form owns can be
written (a tenant admin cannot reach `network` or `services` through the quota form), and every value
is read the way `tenancy tenant set FIELD=VALUE` reads it, so the registry's own validation speaks
for every refusal."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tenancy.lifecycle.edit import DELETE, Assignment, EditError, parse_assignment
from tenancy.registry.models import Status
from tenancy.registry.tiers import EffectiveTenant

# (key in the file, what it counts), in the model's order.
QUOTA_FIELDS = (
    ("maxUsers", "users"),
    ("maxProjects", "projects"),
    ("maxAIRequests", "AI requests per quota period"),
    ("storageLimit", "storage, GiB"),
    ("computeLimit", "compute, vCPUs"),
    ("networkBandwidth", "network bandwidth, Mbit/s"),
)
SEPARATORS = re.compile(r"[\s,;]+")


class FormError(Exception):
    """Input that is not even a value (a line break in a number): shown on the form, nothing proposed."""

    def __init__(self, message: str, field_name: str = ""):
        super().__init__(message)
        self.message, self.field = message, field_name


@dataclass(frozen=True)
class Change:
    form: str  # which form: quotas | features | alerts | plan | status
    name: str  # the branch's word: quotas, features, alert-emails, plan-<name>, suspend, resume
    summary: str
    assignments: list[Assignment] = field(default_factory=list)
    reason: str = ""


def _single_line(raw: str, name: str) -> str:
    if any(ch in raw for ch in "\r\n\t\x00"):
        raise FormError(f"{name}: one line, please", name)
    return raw.strip()


def _shown(value: Any) -> str:
    if value is DELETE or value is None:
        return "the plan's default"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def quotas_change(form: Mapping[str, str], tenant: EffectiveTenant) -> Change:
    """A quota left empty follows the plan's default (its line is removed from the file); one the
    form does not send stays as it is."""
    own = tenant.tenant.quotas.model_dump(by_alias=True)
    assignments, parts = [], []
    for key, _ in QUOTA_FIELDS:
        name = f"quotas.{key}"
        if name not in form:
            continue
        raw = _single_line(str(form.get(name, "")), name)
        current = own.get(key)
        if not raw:
            if current is None:
                continue
            assignment = Assignment(("quotas", key), DELETE)
        else:
            try:
                assignment = parse_assignment(f"{name}={raw}")
            except EditError as exc:
                raise FormError(str(exc), name) from None
            if assignment.value == current:
                continue
        assignments.append(assignment)
        parts.append(f"{key} {_shown(current)} -> {_shown(assignment.value)}")
    return Change("quotas", "quotas", "quotas: " + (", ".join(parts) or "no change"), assignments)


def _words(raw: str) -> list[str]:
    return [w for w in SEPARATORS.split(raw.strip()) if w]


def _unique(values: Sequence[str]) -> list[str]:
    seen: list[str] = []
    for value in values:
        if value not in seen:
            seen.append(value)
    return seen


def features_change(kept: Sequence[str], added: str, tenant: EffectiveTenant) -> Change:
    """The features ticked, plus the ones typed in (comma- or space-separated)."""
    features = _unique([*(str(k).strip() for k in kept if str(k).strip()), *_words(added)])
    before = list(tenant.tenant.features)
    gained = [f for f in features if f not in before]
    lost = [f for f in before if f not in features]
    parts = [f"+{f}" for f in gained] + [f"-{f}" for f in lost]
    return Change("features", "features", "features: " + (" ".join(parts) or "no change"),
                  [Assignment(("features",), features)])


def alerts_change(raw: str, tenant: EffectiveTenant) -> Change:
    """One address per line (or comma-separated); none left removes the list."""
    emails = _unique(_words(raw))
    value = emails if emails else DELETE
    before = list(tenant.tenant.billing.alert_emails)
    summary = "alert e-mails: " + (", ".join(emails) if emails else "none")
    if emails == before:
        summary = "alert e-mails: no change"
    return Change("alerts", "alert-emails", summary, [Assignment(("billing", "alertEmails"), value)])


def plan_change(plan: str, reason: str, tenant: EffectiveTenant) -> Change:
    plan = _single_line(plan, "plan")
    if not plan:
        raise FormError("choose a plan", "plan")
    return Change("plan", f"plan-{plan}", f"plan {tenant.tenant.plan} -> {plan}", [Assignment(("plan",), plan)],
                  reason=reason.strip())


def status_change(action: str, tenant: EffectiveTenant) -> Change:
    if action not in ("suspend", "resume"):
        raise FormError("suspend or resume", "action")
    if tenant.tenant.status is Status.offboarding:
        raise FormError(f"{tenant.id} is being offboarded; `tenancy tenant offboard` owns its status", "action")
    status = Status.suspended if action == "suspend" else Status.active
    return Change("status", action, f"status {tenant.tenant.status.value} -> {status.value}",
                  [Assignment(("status",), status.value)])


def plan_adjustments(project: Path, registry_dir: Path, text_after: str) -> list[Assignment]:
    """What a change of plan brings along so the file stays valid, as a platform engineer would write
    it: a tenant moving onto a network of its own gets the first free address block (as `tenancy
    tenant set ... network.cidr=auto` chooses it), and one leaving the pooled database loses its
    `dataIsolation`. Nothing when the file does not validate otherwise (validation then says why)."""
    from pydantic import ValidationError

    from tenancy.lifecycle.scaffold import free_block, own_network_tier
    from tenancy.registry.models import Service, Tenant, Tier
    from tenancy.registry.problems import RegistryInvalid
    from tenancy.registry.project import layouts_of, read_stacks, validate_project
    from tenancy.registry.source import SourceError, parse_yaml
    from tenancy.registry.tiers import resolve

    try:
        data = parse_yaml(text_after).data
        if not isinstance(data, dict):
            return []
        tenant = Tenant.model_validate({k: v for k, v in data.items() if k not in ("network", "dataIsolation")})
        registry = validate_project(project, registry_dir)
    except (SourceError, ValidationError, RegistryInvalid):
        return []
    out = []
    effective, _ = resolve(tenant, registry.plans.plans)
    if data.get("dataIsolation") and effective is not None and effective.tier(Service.database) is not Tier.shared:
        out.append(Assignment(("dataIsolation",), DELETE))
    tier = own_network_tier(tenant, registry)
    if tier is not None and not data.get("network"):
        others = dataclasses.replace(registry, tenants=tuple(t for t in registry.tenants if t.id != tenant.id))
        out.append(Assignment(("network", "cidr"), free_block(others, tenant, tier, layouts_of(read_stacks(project)))))
    return out
