"""`tenancy plan`: run a stack of any Pulumi Python project offline, judge it with the policy pack,
and summarise it per tenant.

No engine, no credentials: the unchanged program runs under the offline harness with the stack's
own config, so a newcomer, a reviewer and CI see what `pulumi preview` would register. A split
stack (`dev-pool`, `dev-acme`) first plans its platform stack, whose outputs feed its
StackReference, as a deployment in order would.
"""

from __future__ import annotations

import json
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

import pulumi

from tenancy.exits import CommandError, ExitCode
from tenancy.plan.capacity import Capacity, capacity
from tenancy.plan.constraints import Breach, check_constraints
from tenancy.plan.harness import Recording, Registration, run_program
from tenancy.plan.policy_runner import PackError, PolicyReport, check, load_pack, read_pack_config
from tenancy.registry.naming import PLATFORM_COMPONENT_TYPE as PLATFORM_COMPONENT
from tenancy.registry.naming import TENANT_COMPONENT_TYPE as TENANT_COMPONENT
from tenancy.registry.naming import TENANT_TAG
from tenancy.registry.project import project_name, validate_project
from tenancy.registry.source import SourceError
from tenancy.stacks.catalog import SCOPE_KEY, ResolvedStack, resolve_stack

JSON_VERSION = 1
DEFAULT_PACK = Path(__file__).resolve().parents[2] / "policies"  # this repository's pack


class PlanError(CommandError):
    """A usage or input problem: exit 2 with this message."""


def short_type(type_: str) -> str:
    """aws:rds/instance:Instance -> rds.Instance; kubernetes:core/v1:Namespace -> k8s.Namespace."""
    package, module, name = (type_.split(":") + ["", ""])[:3]
    if package == "kubernetes":
        return f"k8s.{name}"
    group = module.split("/")[0]
    return f"{package if group in ('index', '') else group}.{name}"


def count_by_type(registrations: list[Registration]) -> dict[str, int]:
    counts = Counter(short_type(r.type) for r in registrations if r.custom and not r.type.startswith("pulumi:"))
    return dict(sorted(counts.items()))


@dataclass
class Progress:
    """Phase messages on stderr, only for a person at a terminal."""

    enabled: bool
    started: float = field(default_factory=time.monotonic)

    def step(self, message: str) -> None:
        if self.enabled:
            sys.stderr.write(f"\r\033[K[{time.monotonic() - self.started:5.1f}s] {message}")
            sys.stderr.flush()

    def registered(self, label: str) -> Callable[[int], None]:
        """A callback for the recording monitor: a bar that grows with each registration."""
        def update(count: int) -> None:
            if self.enabled and count % 10 == 0:
                bar = "#" * min(40, count // 25)
                self.step(f"{label} [{bar:<40}] {count} registered")
        return update

    def done(self) -> None:
        if self.enabled:
            sys.stderr.write("\r\033[K")
            sys.stderr.flush()


@dataclass
class PlanResult:
    stack: str
    project: str
    environment: Optional[str]
    scope: Optional[str]
    preview: bool
    recording: Recording
    report: Optional[PolicyReport]
    pack_name: Optional[str]
    pack_config: Optional[str]
    constraints: list[Breach] = field(default_factory=list)  # what AWS or Kubernetes would refuse
    capacity: Optional[Capacity] = None  # what the plan needs of the account's service quotas
    # seconds of CPU per phase: validate, platform, program, checks (constraints, quotas, policies)
    timings: dict[str, float] = field(default_factory=dict, compare=False)

    @property
    def exit_code(self) -> int:
        failed = (self.report and self.report.mandatory) or self.constraints or (
            self.capacity is not None and self.capacity.exceeded)
        return int(ExitCode.FAILED if failed else ExitCode.OK)

    def tenants(self) -> list[dict]:
        rec, out = self.recording, []
        declared = self.recording.outputs.get("tenants") or {}
        for component in rec.of_type(TENANT_COMPONENT):
            below = rec.descendants(component.urn)
            tags = component.inputs.get("tags") or {}
            tenant_id = tags.get(TENANT_TAG) or component.name
            outputs = declared.get(tenant_id, {}) if isinstance(declared, dict) else {}
            out.append({
                "id": tenant_id, "plan": outputs.get("plan", tags.get("tenant-plan")), "status": outputs.get("status"),
                "isolation": outputs.get("isolation", tags.get("isolation")), "services": outputs.get("services", {}),
                "resourceCount": sum(1 for r in below if r.custom), "resourcesByType": count_by_type(below),
                "outputs": {k: v for k, v in outputs.items() if k not in ("plan", "status", "isolation", "services")},
            })
        return sorted(out, key=lambda t: t["id"])

    def platform(self) -> Optional[dict]:
        found = self.recording.of_type(PLATFORM_COMPONENT)
        if not found:
            return None
        below = self.recording.descendants(found[0].urn)
        return {"resourceCount": sum(1 for r in below if r.custom), "resourcesByType": count_by_type(below)}

    def as_json(self) -> dict:
        report = self.report
        return {
            "version": JSON_VERSION,
            "stack": self.stack,
            "project": self.project,
            "environment": self.environment,
            "scope": self.scope,
            "preview": self.preview,
            "resourceCount": len(self.recording.resources),
            "resourcesByType": count_by_type(self.recording.registrations),
            "platform": self.platform(),
            "tenants": self.tenants(),
            "policy": None if report is None else {
                "pack": self.pack_name,
                "config": self.pack_config,
                "passed": not report.mandatory,
                "mandatory": len(report.mandatory),
                "advisory": len(report.violations) - len(report.mandatory),
                "notRun": report.not_run,
                "violations": [{
                    "policy": v.policy, "severity": v.severity, "level": v.level, "resourceType": v.resource_type,
                    "resourceName": v.resource_name, "urn": v.urn, "tenant": v.tenant, "message": v.message,
                    "remediation": v.remediation} for v in report.violations],
            },
            "capacity": self.capacity.as_dict() if self.capacity else None,
            "constraints": {"passed": not self.constraints,
                            "breaches": [b.as_dict() for b in self.constraints]},
            "exitCode": self.exit_code,
        }


def raised_quotas(config: dict[str, str]) -> dict[str, int]:
    """`tenancy:quotas` of the stack's config (JSON, as the engine hands objects over)."""
    raw = config.get("tenancy:quotas")
    if not raw:
        return {}
    try:
        value = json.loads(raw)
    except ValueError:
        raise PlanError(f"tenancy:quotas is not a mapping of quota codes to numbers: {raw!r}") from None
    if not isinstance(value, dict):
        raise PlanError(f"tenancy:quotas is not a mapping of quota codes to numbers: {raw!r}")
    return {str(k): int(v) for k, v in value.items()}


def platform_outputs_of(project: Path, resolved: ResolvedStack) -> dict:
    """The outputs of a split stack's platform stack (its StackReference reads them), planned offline."""
    platform_config = {**resolved.config, SCOPE_KEY: "platform"}
    return run_program(project, resolved.platform_stack, platform_config).outputs


def plan_stack(project: Path, stack: str, scope: Optional[str] = None, preview: bool = False,
               pack_dir: Optional[Path] = None, pack_config: Optional[Path] = None,
               progress: Optional[Progress] = None, policies: bool = True,
               platform_outputs: Optional[dict] = None, validate: bool = True) -> PlanResult:
    """Run the stack offline and judge it; raise PlanError for anything the user must fix.
    `policies=False` skips the pack (for `capacity`, which reads only the recording).
    `platform_outputs`: the outputs of the stack's platform stack, already planned (else a split
    stack plans its platform first); `validate=False`: the registry is known to be valid (a caller
    that plans many stacks validates it once)."""
    progress = progress or Progress(False)
    if not (project / "Pulumi.yaml").exists():
        raise PlanError(f"{project} is not a Pulumi project (Pulumi.yaml is missing)")
    try:
        resolved = resolve_stack(project, stack, scope)
    except SourceError as exc:
        raise PlanError(f"{project}/Pulumi.{stack}.yaml:{exc.line}: {exc.message}") from None
    if resolved is None:
        known = ", ".join(p.name[len("Pulumi."):-len(".yaml")] for p in sorted(project.glob("Pulumi.*.yaml")))
        raise PlanError(f"no stack {stack!r} in {project}: Pulumi.{stack}.yaml is missing (stacks: {known or 'none'})")
    registry_dir = project / resolved.config.get("tenancy:registry", "tenants")
    clock = _Clock()
    if validate and (registry_dir / "plans.yaml").is_file():
        # A tenancy project: its registry first, so a bad tenant file is reported where it is
        # (file, line, tenant, field) and exits 1, like `tenancy validate`.
        validate_project(project, registry_dir)
    clock.lap("validate")
    stack_outputs = {}
    try:
        if resolved.platform_stack and platform_outputs is not None:
            stack_outputs[resolved.platform_stack] = platform_outputs
        elif resolved.platform_stack:
            progress.step(f"planning {resolved.platform_stack} for the platform's outputs")
            stack_outputs[resolved.platform_stack] = platform_outputs_of(project, resolved)
        clock.lap("platform")
        progress.step(f"running {stack} offline")
        rec = run_program(project, stack, resolved.config, preview=preview, stack_outputs=stack_outputs,
                          on_register=progress.registered(f"running {stack}"))
        clock.lap("program")
    except pulumi.RunError as exc:
        raise PlanError(str(exc)) from None
    environment = resolved.config.get("tenancy:environment")
    pack_dir = pack_dir or (project / "policies" if (project / "policies" / "__main__.py").exists() else DEFAULT_PACK)
    if pack_config is None:
        candidate = pack_dir / "config" / f"{environment or stack}.json"
        pack_config = candidate if candidate.exists() else None
    progress.step("checking provider and API constraints")
    breaches = check_constraints(rec)
    account = capacity(rec, raised_quotas(resolved.config))
    report, pack_name = None, None
    if policies:
        progress.step("checking the policy pack")
        try:
            pack = load_pack(pack_dir)
            report = check(rec, pack, read_pack_config(pack_config), preview=preview)
        except PackError as exc:
            raise PlanError(str(exc)) from None
        pack_name = pack.name
    clock.lap("checks")
    progress.done()
    return PlanResult(stack=stack, project=project_name(project), environment=environment,
                      scope=rec.outputs.get("scope") or resolved.config.get(SCOPE_KEY), preview=preview,
                      recording=rec, report=report, pack_name=pack_name,
                      pack_config=str(pack_config) if pack_config else None, constraints=breaches,
                      capacity=account, timings=clock.laps)


class _Clock:
    """CPU seconds per phase (the process's own time: steady on a busy machine)."""

    def __init__(self) -> None:
        self.laps: dict[str, float] = {}
        self.last = time.process_time()

    def lap(self, name: str) -> None:
        now = time.process_time()
        self.laps[name] = self.laps.get(name, 0.0) + now - self.last
        self.last = now
