"""Run a CrossGuard Python policy pack against a recorded program run, with no CLI.

The pack's own `__main__.py` runs with `PolicyPack` swapped for a recorder, so the pack is exactly
the one the CLI would load. Its policies are then driven through the policy SDK's own analyzer
service (`_PolicyAnalyzerServicer`, hence the pinned pulumi-policy version): each registration
becomes an `AnalyzeRequest`, the whole run one `AnalyzeStackRequest`, as the engine sends them:
camelCase properties in a protobuf Struct (numbers as floats, unknowns and secrets as on the wire),
parent, dependencies, property dependencies and `protect`. Resource policies see the inputs; stack
policies see the outputs after an update, and the inputs in preview.

Limits of the protocol, not of this harness: the analyzer is never told `retainOnDelete`, and
checked inputs here are the program's inputs (no provider Check runs offline).
"""

from __future__ import annotations

import json
import runpy
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional
from unittest import mock

import pulumi_policy
from google.protobuf import json_format, struct_pb2
from pulumi.runtime.proto import analyzer_pb2
from pulumi_policy import EnforcementLevel
from pulumi_policy.policy import _PolicyAnalyzerServicer

from tenancy.exits import CommandError
from tenancy.plan.harness import Recording, Registration
from tenancy.registry.naming import TENANT_TAG

LEVELS = {"advisory": EnforcementLevel.ADVISORY, "mandatory": EnforcementLevel.MANDATORY,
          "remediate": EnforcementLevel.REMEDIATE, "disabled": EnforcementLevel.DISABLED}
PROTO_LEVELS = {EnforcementLevel.ADVISORY: analyzer_pb2.ADVISORY, EnforcementLevel.MANDATORY: analyzer_pb2.MANDATORY,
                EnforcementLevel.REMEDIATE: analyzer_pb2.REMEDIATE, EnforcementLevel.DISABLED: analyzer_pb2.DISABLED}
LEVEL_NAMES = {analyzer_pb2.ADVISORY: "advisory", analyzer_pb2.MANDATORY: "mandatory",
               analyzer_pb2.REMEDIATE: "remediate", analyzer_pb2.DISABLED: "disabled"}
SEVERITY_NAMES = {analyzer_pb2.POLICY_SEVERITY_LOW: "low", analyzer_pb2.POLICY_SEVERITY_MEDIUM: "medium",
                  analyzer_pb2.POLICY_SEVERITY_HIGH: "high", analyzer_pb2.POLICY_SEVERITY_CRITICAL: "critical",
                  analyzer_pb2.POLICY_SEVERITY_UNSPECIFIED: "unspecified"}


class PackError(CommandError):
    """The policy pack or its config cannot be loaded; the message says which file and why."""


@dataclass
class PolicyPackDefinition:
    """What the pack's __main__.py handed to PolicyPack(...)."""

    name: str
    policies: list
    enforcement_level: EnforcementLevel
    initial_config: dict = field(default_factory=dict)

    def policy(self, name: str):
        return next(p for p in self.policies if p.name == name)


@dataclass(frozen=True)
class Violation:
    policy: str
    description: str
    severity: str
    level: str
    resource_type: str
    resource_name: str
    urn: str
    tenant: Optional[str]
    message: str
    remediation: str

    @property
    def mandatory(self) -> bool:
        return self.level == "mandatory"


@dataclass
class PolicyReport:
    violations: list[Violation]
    not_run: list[str]  # policies the engine could not run (unknown values in preview)

    @property
    def mandatory(self) -> list[Violation]:
        return [v for v in self.violations if v.mandatory]

    def of(self, policy: str) -> list[Violation]:
        return [v for v in self.violations if v.policy == policy]


def load_pack(pack_dir: Path | str) -> PolicyPackDefinition:
    """Run the pack's __main__.py with PolicyPack replaced by a recorder."""
    pack_dir = Path(pack_dir).resolve()
    main = pack_dir / "__main__.py"
    if not main.exists():
        raise PackError(f"{main}: no policy pack here (__main__.py is missing)")
    captured: dict = {}

    def record(name, policies, enforcement_level=None, initial_config=None, **_):
        captured.update(name=name, policies=policies,
                        enforcement_level=enforcement_level or EnforcementLevel.ADVISORY,
                        initial_config=initial_config or {})

    # Run the directory, as the CLI does: the pack's own modules import from it.
    with mock.patch.object(pulumi_policy, "PolicyPack", record):
        runpy.run_path(str(pack_dir), run_name="__main__")
    if not captured:
        raise PackError(f"{main} did not build a PolicyPack")
    return PolicyPackDefinition(**captured)


def read_pack_config(path: Path | str | None) -> dict:
    """A --policy-pack-config file: {"all": level, "<policy>": level | {"enforcementLevel": ..., ...}}."""
    if path is None:
        return {}
    try:
        data = json.loads(Path(path).read_text())
    except OSError as exc:
        raise PackError(f"{path}: cannot read the policy config ({exc.strerror})") from None
    except ValueError as exc:
        raise PackError(f"{path}: not valid JSON ({exc})") from None
    if not isinstance(data, dict):
        raise PackError(f"{path}: the policy config must be a JSON object")
    return data


def effective_config(pack: PolicyPackDefinition, config: dict) -> dict[str, tuple[EnforcementLevel, dict]]:
    """Each policy's level and properties as the CLI would configure them: the policy's own level
    (or the pack's), then the pack's initial config, then the file ("all" first, then by name)."""
    names = {p.name for p in pack.policies}
    unknown = sorted(set(config) - names - {"all"})
    if unknown:
        raise PackError(f"the policy config names policies the pack does not have: {', '.join(unknown)}")
    out = {}
    for policy in pack.policies:
        level = policy.enforcement_level or pack.enforcement_level
        props: dict = {}
        for source in (pack.initial_config.get(policy.name), config.get("all"), config.get(policy.name)):
            if isinstance(source, EnforcementLevel):
                level = source
            elif isinstance(source, str):
                if source not in LEVELS:
                    raise PackError(f"{policy.name}: unknown enforcement level {source!r}; use {', '.join(LEVELS)}")
                level = LEVELS[source]
            elif isinstance(source, dict):
                source = dict(source)
                named = source.pop("enforcementLevel", None)
                if named is not None:
                    level = named if isinstance(named, EnforcementLevel) else LEVELS[str(named)]
                props.update(source)
        out[policy.name] = (level, props)
    return out


def _struct(value: dict) -> struct_pb2.Struct:
    struct = struct_pb2.Struct()
    json_format.ParseDict(value, struct)
    return struct


def _owner(rec: Recording, registration: Registration) -> Optional[str]:
    current: Optional[Registration] = registration
    by_urn = {r.urn: r for r in rec.registrations}
    while current is not None:
        tags = current.inputs.get("tags")
        if isinstance(tags, dict) and isinstance(tags.get(TENANT_TAG), str):
            return tags[TENANT_TAG]
        current = by_urn.get(current.parent)
    return None


def _options(r: Registration) -> analyzer_pb2.AnalyzerResourceOptions:
    return analyzer_pb2.AnalyzerResourceOptions(protect=r.protect, parent=r.parent)


def _stack_properties(r: Registration, preview: bool) -> struct_pb2.Struct:
    if preview or not r.custom:
        return r.raw_inputs or struct_pb2.Struct()
    return _struct({**r.outputs, "id": r.id})


def check(rec: Recording, pack: PolicyPackDefinition, config: Optional[dict] = None,
          preview: bool = False) -> PolicyReport:
    """Run every policy of `pack` over `rec` at its configured level; collect the violations."""
    levels = effective_config(pack, config or {})
    servicer = _PolicyAnalyzerServicer(pack.name, "0.0.1", pack.policies, pack.enforcement_level, pack.initial_config)
    servicer.Configure(analyzer_pb2.ConfigureAnalyzerRequest(policyConfig={
        name: analyzer_pb2.PolicyConfig(enforcementLevel=PROTO_LEVELS[level], properties=_struct(props))
        for name, (level, props) in levels.items()}), None)
    diagnostics = []
    for r in rec.registrations:
        if r.custom and not r.type.startswith("pulumi:"):
            request = analyzer_pb2.AnalyzeRequest(type=r.type, properties=r.raw_inputs, urn=r.urn, name=r.name,
                                                  options=_options(r))
            for diagnostic in servicer.Analyze(request, None).diagnostics:
                if not diagnostic.urn:  # the engine attributes a resource policy's finding to its resource
                    diagnostic.urn = r.urn
                diagnostics.append(diagnostic)
    stack = analyzer_pb2.AnalyzeStackRequest(resources=[
        analyzer_pb2.AnalyzerResource(
            type=r.type, properties=_stack_properties(r, preview), urn=r.urn, name=r.name, options=_options(r),
            parent=r.parent, dependencies=r.dependencies,
            propertyDependencies={k: analyzer_pb2.AnalyzerPropertyDependencies(urns=v)
                                  for k, v in r.property_dependencies.items()})
        for r in rec.registrations])
    diagnostics.extend(servicer.AnalyzeStack(stack, None).diagnostics)
    return _report(rec, pack, diagnostics)


def _report(rec: Recording, pack: PolicyPackDefinition, diagnostics) -> PolicyReport:
    by_urn = {r.urn: r for r in rec.registrations}
    violations, not_run = [], []
    for d in diagnostics:
        if d.message.startswith("can't run policy"):
            not_run.append(d.policyName)
            continue
        r = by_urn.get(d.urn)
        message = d.message[len(d.description):].lstrip("\n") if d.message.startswith(d.description) else d.message
        violations.append(Violation(
            policy=d.policyName, description=d.description, severity=SEVERITY_NAMES.get(d.severity, "unspecified"),
            level=LEVEL_NAMES.get(d.enforcementLevel, "advisory"), resource_type=r.type if r else "",
            resource_name=r.name if r else "", urn=d.urn, tenant=_owner(rec, r) if r else None, message=message,
            remediation=getattr(pack.policy(d.policyName), "remediation_steps", "") or ""))
    order = {"mandatory": 0, "advisory": 1}
    violations.sort(key=lambda v: (order.get(v.level, 2), v.policy, v.urn))
    return PolicyReport(violations, sorted(set(not_run)))
