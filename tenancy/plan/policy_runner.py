"""Run a CrossGuard Python policy pack against a recorded program run, with no CLI.

The pack's own `__main__.py` runs with `PolicyPack` swapped for a recorder, so the pack is exactly
the one the CLI would load. Its policies are then driven through the policy SDK's own analyzer
service (`_PolicyAnalyzerServicer`, hence the pinned pulumi-policy version: its configuration,
enforcement levels and violation reporting): every resource policy on each resource, as an
`AnalyzeRequest` would, every stack policy on the whole run, as an `AnalyzeStackRequest` would,
with what the engine sends: camelCase properties as the analyzer decodes them from the wire
(numbers as floats, secrets unwrapped, unknowns as the engine's sentinel), parent, dependencies,
property dependencies and `protect`. Each resource's properties are decoded once and shared by the
policies (the SDK decodes them again per policy, most of a plan's time). Resource policies see the
inputs; stack policies see the outputs after an update, and the inputs in preview.

Limits of the protocol, not of this harness: the analyzer is never told `retainOnDelete`, and
checked inputs here are the program's inputs (no provider Check runs offline).
"""

from __future__ import annotations

import asyncio
import json
import runpy
from dataclasses import dataclass, field
from inspect import isawaitable
from pathlib import Path
from typing import Any, Optional
from unittest import mock

import pulumi_policy
from google.protobuf import json_format, struct_pb2
from pulumi.output import Unknown
from pulumi.runtime.proto import analyzer_pb2
from pulumi_policy import EnforcementLevel
from pulumi_policy.policy import (
    PolicyCustomTimeouts,
    PolicyResource,
    PolicyResourceOptions,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
    _NotApplicableError,
    _PolicyAnalyzerServicer,
)
from pulumi_policy.proxy import UNKNOWN_STRING_VALUE, UnknownValueError, unknown_checking_proxy

from tenancy.exits import CommandError
from tenancy.plan.harness import SECRET_KEY, SECRET_SIG, Recording, Registration
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
    by_urn = rec._indexes()[0]
    while current is not None:
        tags = current.inputs.get("tags")
        if isinstance(tags, dict) and isinstance(tags.get(TENANT_TAG), str):
            return tags[TENANT_TAG]
        current = by_urn.get(current.parent)
    return None


def as_received(value: Any) -> Any:
    """A recorded value as a policy receives it from the engine: what the analyzer decodes from the
    wire's protobuf Struct (every number a float, secrets unwrapped, unknowns as the engine's
    sentinel string), without building the Struct."""
    if isinstance(value, dict):
        if value.get(SECRET_KEY) == SECRET_SIG:
            return as_received(value.get("value"))
        return {k: as_received(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [as_received(v) for v in value]
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, int):
        return float(value)
    if isinstance(value, Unknown):
        return UNKNOWN_STRING_VALUE
    return value


def _options(r: Registration) -> PolicyResourceOptions:
    """What the analyzer makes of the engine's AnalyzerResourceOptions (protect and parent set)."""
    return PolicyResourceOptions(r.protect, [], None, [], PolicyCustomTimeouts(0, 0, 0), [], r.parent or None)


class _Analyzer(_PolicyAnalyzerServicer):
    """The policy SDK's analyzer service, with its loops turned inside out.

    The engine sends one request per resource and one for the stack, and the SDK decodes the
    properties again for every policy (about 35 times a resource here). This decodes each resource's
    properties once and hands the same read-only view to every policy; which policies run, at which
    level, with which config, and how a violation, an unknown value or "not applicable" is reported
    stay the SDK's own code (`_get_enforcement_level`, `_get_policy_config`, `_create_report_violation`)."""

    @property
    def _policies(self) -> list:
        return self._PolicyAnalyzerServicer__policies  # type: ignore[attr-defined]

    def _run(self, response, policy, validate_args, report_violation) -> None:
        try:
            result = policy.validate(validate_args, report_violation)
            if isawaitable(result):
                loop = asyncio.new_event_loop()
                loop.run_until_complete(asyncio.Task(result, loop=loop))
                loop.close()
        except UnknownValueError as e:
            name = self._PolicyAnalyzerServicer__policy_pack_name  # type: ignore[attr-defined]
            version = self._PolicyAnalyzerServicer__policy_pack_version  # type: ignore[attr-defined]
            response.diagnostics.append(analyzer_pb2.AnalyzeDiagnostic(
                policyName=policy.name, policyPackName=name, policyPackVersion=version,
                message=(f"can't run policy '{policy.name}' from policy pack '{name}@v{version}' during preview: "
                         f"{e.message}"),
                urn="", description=policy.description,
                enforcementLevel=self._map_enforcement_level(EnforcementLevel.ADVISORY)))
        except _NotApplicableError:
            pass

    def _levels(self, kind: type) -> list[tuple[Any, EnforcementLevel]]:
        out = []
        for policy in self._policies:
            level = self._get_enforcement_level(policy)
            if level == EnforcementLevel.DISABLED or not isinstance(policy, kind):
                continue
            if kind is ResourceValidationPolicy and not policy.has_validation():
                continue  # a remediation-only policy: not applicable
            out.append((policy, EnforcementLevel.MANDATORY if level == EnforcementLevel.REMEDIATE else level))
        return out

    def analyze_resources(self, registrations: list[Registration]) -> list:
        """Every resource policy on every resource, as `Analyze` would; the diagnostics."""
        tags = self._PolicyAnalyzerServicer__stack_tags  # type: ignore[attr-defined]
        policies = self._levels(ResourceValidationPolicy)
        diagnostics = []
        for r in registrations:
            response = analyzer_pb2.AnalyzeResponse()
            props = unknown_checking_proxy(as_received(r.inputs))
            opts = _options(r)
            for policy, level in policies:
                report = self._create_report_violation(response, policy.name, policy.description, level,
                                                       policy.severity)
                args = ResourceValidationArgs(r.type, props, r.urn, r.name, opts, None,
                                              self._get_policy_config(policy.name), tags)
                self._run(response, policy, args, report)
            for diagnostic in response.diagnostics:
                if not diagnostic.urn:  # the engine attributes a resource policy's finding to its resource
                    diagnostic.urn = r.urn
                diagnostics.append(diagnostic)
        return diagnostics

    def analyze_stack(self, registrations: list[Registration], preview: bool) -> list:
        """Every stack policy on the whole stack, as `AnalyzeStack` would; the diagnostics."""
        tags = self._PolicyAnalyzerServicer__stack_tags  # type: ignore[attr-defined]
        resources: dict[str, PolicyResource] = {}
        for r in registrations:
            state = r.inputs if preview or not r.custom else {**r.outputs, "id": r.id}
            resources.setdefault(r.urn, PolicyResource(r.type, unknown_checking_proxy(as_received(state)), r.urn,
                                                       r.name, _options(r), None, None, [], {}))
        for r in registrations:
            resource = resources[r.urn]
            resource.parent = resources.get(r.parent)
            resource.dependencies = [resources[u] for u in r.dependencies if u in resources]
            resource.property_dependencies = {k: [resources[u] for u in v if u in resources]
                                              for k, v in r.property_dependencies.items()}
        listed = [resources[r.urn] for r in registrations]
        response = analyzer_pb2.AnalyzeResponse()
        for policy, level in self._levels(StackValidationPolicy):
            report = self._create_report_violation(response, policy.name, policy.description, level, policy.severity)
            self._run(response, policy, StackValidationArgs(list(listed), self._get_policy_config(policy.name), tags),
                      report)
        return list(response.diagnostics)


def check(rec: Recording, pack: PolicyPackDefinition, config: Optional[dict] = None,
          preview: bool = False) -> PolicyReport:
    """Run every policy of `pack` over `rec` at its configured level; collect the violations."""
    levels = effective_config(pack, config or {})
    analyzer = _Analyzer(pack.name, "0.0.1", pack.policies, pack.enforcement_level, pack.initial_config)
    analyzer.Configure(analyzer_pb2.ConfigureAnalyzerRequest(policyConfig={
        name: analyzer_pb2.PolicyConfig(enforcementLevel=PROTO_LEVELS[level], properties=_struct(props))
        for name, (level, props) in levels.items()}), None)
    analyzer._configure_runtime_settings()
    diagnostics = analyzer.analyze_resources([r for r in rec.registrations
                                              if r.custom and not r.type.startswith("pulumi:")])
    diagnostics.extend(analyzer.analyze_stack(rec.registrations, preview))
    return _report(rec, pack, diagnostics)


def _report(rec: Recording, pack: PolicyPackDefinition, diagnostics) -> PolicyReport:
    by_urn = rec._indexes()[0]
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
