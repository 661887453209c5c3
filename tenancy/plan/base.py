"""`tenancy plan --base <ref>`: what a change does, stack by stack and tenant by tenant.

The stacks the change touches (`tenancy.stacks.affected`) are planned twice, offline: at the base
(the project's files at that git ref: registry, stack files and the program's own directory,
extracted with `git archive` into a temporary directory, removed afterwards; the repository is
never touched) and at the working tree. `tenancy.plan.diff` compares the two, resource by resource;
the working tree's plan is also judged (policies, provider constraints, quotas) as `tenancy plan`
judges it, and its exit code is the command's.

Both sides run the working tree's `tenancy` library (registry models, naming); a program that
lives in the project (`__main__.py`, `components/` beside it) is the base's own on the base side.
Each stack is planned in a worker process (see `tenancy.plan.all`): the base, then the working tree.

The tenants a change means to touch are those whose tenant files it edits; every other tenant with
a resource that changes is named ("other tenants"), which for a one-tenant edit should be none.
"""

from __future__ import annotations

import io
import shutil
import subprocess
import tarfile
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

import yaml

from tenancy.exits import CommandError
from tenancy.plan.all import (
    PlanOptions,
    StackPlan,
    aggregate_exit,
    default_jobs,
    executor,
    plan_judged,
)
from tenancy.plan.diff import PlanDiff, StackDiff
from tenancy.registry.cells import CELLS_FILE
from tenancy.registry.loader import PLANS_FILE
from tenancy.registry.models import Environment
from tenancy.registry.problems import RegistryInvalid
from tenancy.registry.project import validate_project
from tenancy.stacks.affected import PROGRAM_PATHS, changed_paths, git_old_yaml, stacks_for_paths
from tenancy.stacks.catalog import REGISTRY_KEY, StackRef, resolve_stack, stacks_of


class BaseError(CommandError):
    """The base cannot be read (git, an unknown ref): exit 2."""


@dataclass
class StackChange:
    """One stack: its diff, and the working tree's plan of it (None where the stack goes away)."""

    diff: StackDiff
    head: StackPlan

    @property
    def code(self) -> int:
        return self.head.code


@dataclass
class ChangePlan:
    base: str
    changes: list[StackChange]
    targets: tuple[str, ...]  # the tenants whose files the change edits
    shared_paths: list[str]  # changed files that apply to more than one tenant (plans, cells, program)
    seconds: float = 0.0
    environment: Optional[str] = None
    notes: list[str] = field(default_factory=list)

    @property
    def diff(self) -> PlanDiff:
        return PlanDiff([c.diff for c in self.changes])

    @property
    def other_tenants(self) -> list[str]:
        return sorted(self.diff.other_tenants(self.targets))

    @property
    def exit_code(self) -> int:
        return aggregate_exit([c.code for c in self.changes])

    def as_json(self) -> dict:
        return {"version": 1, "base": self.base, "environment": self.environment, "targets": list(self.targets),
                "sharedPaths": self.shared_paths, "otherTenants": self.other_tenants,
                "counts": self.diff.counts(), "seconds": round(self.seconds, 2),
                "stacks": [{**c.diff.as_dict(), "exitCode": c.code, "error": c.head.error, "plan": c.head.data}
                           for c in self.changes],
                "exitCode": self.exit_code}


# -- the base, extracted --------------------------------------------------------------------------

def _git(cwd: Path, *args: str) -> bytes:
    result = subprocess.run(["git", *args], cwd=cwd, capture_output=True)
    if result.returncode != 0:
        raise BaseError(f"git {' '.join(args)}: {result.stderr.decode(errors='replace').strip() or 'failed'}")
    return result.stdout


def extract_base(project: Path, base: str, into: Path) -> Path:
    """The project's directory as it is at `base`, written under `into` (`git archive`: the
    repository, its index and worktrees are left alone). Returns the project's copy."""
    top = Path(_git(project, "rev-parse", "--show-toplevel").decode().strip()).resolve()
    _git(top, "rev-parse", "--verify", "--quiet", f"{base}^{{commit}}")
    prefix = project.resolve().relative_to(top).as_posix()
    archive = _git(top, "archive", "--format=tar", base, *([] if prefix == "." else [prefix]))
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(into, filter="data")
    copy = into if prefix == "." else into / prefix
    if not copy.is_dir():
        raise BaseError(f"{prefix} does not exist at {base}")
    return copy


def targets_of(paths: list[str], registry_dir: str) -> tuple[tuple[str, ...], list[str]]:
    """The tenants whose files changed, and the changed paths that apply to many tenants (plans,
    cells, stack files, the program)."""
    tenants, shared = [], []
    for path in paths:
        inside = path[len(registry_dir) + 1:] if path.startswith(f"{registry_dir}/") else None
        if inside in (PLANS_FILE, CELLS_FILE):
            shared.append(path)
        elif inside is not None and "/" not in inside and inside.endswith((".yaml", ".yml")):
            tenants.append(Path(inside).stem)
        elif path.startswith(("Pulumi.", *PROGRAM_PATHS)) or path in PROGRAM_PATHS:
            shared.append(path)
    return tuple(sorted(set(tenants))), shared


# -- in the worker --------------------------------------------------------------------------------

_platforms: dict[tuple[str, str], dict] = {}  # (project, platform stack) -> its outputs, per worker


def _platform_outputs(project: Path, stack: str) -> Optional[dict]:
    from tenancy.plan.run import platform_outputs_of

    resolved = resolve_stack(project, stack)
    if resolved is None or not resolved.platform_stack:
        return None
    key = (str(project), resolved.platform_stack)
    if key not in _platforms:
        _platforms[key] = platform_outputs_of(project, resolved)
    return _platforms[key]


def diff_in_worker(project: str, base_project: str, ref: StackRef, at_base: bool, at_head: bool,
                   options: PlanOptions) -> StackChange:
    """Plan one stack at the base (the program only) and at the working tree (judged), and compare."""
    from tenancy.plan.diff import diff_plans
    from tenancy.plan.harness import forget_program_modules, run_program

    head_dir, base_dir = Path(project), Path(base_project)
    started = time.perf_counter()
    before, base_failed = None, None
    if at_base:
        forget_program_modules(head_dir)  # the base's own program modules, not the working tree's
        try:
            resolved = resolve_stack(base_dir, ref.name)
            if resolved is None:
                raise CommandError(f"no Pulumi.{ref.name}.yaml or Pulumi.{ref.environment}.yaml at the base")
            outputs = {resolved.platform_stack: _platform_outputs(base_dir, ref.name)} if resolved.platform_stack else {}
            before = run_program(base_dir, ref.name, resolved.config, preview=options.preview, stack_outputs=outputs)
        except Exception as exc:  # noqa: BLE001 the base's program, settings or registry: said, not fatal
            base_failed = f"no plan at the base: {exc}"
        forget_program_modules(base_dir)
    head, after = StackPlan(ref.name, ref.wave, ref.cell), None
    if at_head:
        try:
            outputs = _platform_outputs(head_dir, ref.name)
        except Exception:  # noqa: BLE001 the stack's own plan runs its platform again and reports it
            outputs = None
        head, after = plan_judged(project, ref, options, outputs)
    head.seconds = time.perf_counter() - started
    if head.error or base_failed:
        return StackChange(StackDiff(ref.name, note=base_failed or f"no plan of the working tree: {head.error}"), head)
    return StackChange(diff_plans(before, after, stack=ref.name), head)


# -- in the caller --------------------------------------------------------------------------------

def plan_change(project: Path, base: str, environment: Optional[str] = None, stack: Optional[str] = None,
                jobs: Optional[int] = None, options: Optional[PlanOptions] = None,
                on_done: Optional[Callable[[StackChange, int, int], None]] = None) -> ChangePlan:
    """Plan the stacks that the change from `base` to the working tree touches (or only `stack`),
    at both ends, and compare them."""
    project, options = project.resolve(), options or PlanOptions()
    if not (project / "Pulumi.yaml").exists():
        raise CommandError(f"{project} is not a Pulumi project (Pulumi.yaml is missing)")
    started = time.perf_counter()
    registry = validate_project(project)  # an invalid registry: exit 1, located, as `tenancy plan` says
    paths = changed_paths(project, base)
    if stack:
        resolved = resolve_stack(project, stack)
        if resolved is None:
            raise CommandError(f"no stack {stack!r} in {project}")
        refs = [next((r for r in stacks_of(registry, resolved.config.get("tenancy:environment", ""))
                      if r.name == stack), StackRef(stack, resolved.config.get("tenancy:environment", ""), "all"))]
    else:  # as `tenancy affected` picks them, from the registry validated above
        environments = [environment] if environment else [e.value for e in Environment]
        refs = stacks_for_paths(registry, paths, git_old_yaml(project, base), environments, _reader(project))
    registry_dir = (resolve_stack(project, refs[0].name).config.get(REGISTRY_KEY, "tenants") if refs else "tenants")
    targets, shared = targets_of(paths, registry_dir)
    result = ChangePlan(base, [], targets, shared, environment=environment)
    if not refs:
        result.seconds = time.perf_counter() - started
        return result
    workdir = Path(tempfile.mkdtemp(prefix="tenancy-base-"))
    try:
        base_project = extract_base(project, base, workdir)
        base_names = _stack_names(base_project, {r.environment for r in refs}, result.notes)
        head_names = {s.name for env in {r.environment for r in refs} for s in stacks_of(registry, env)}
        jobs = max(1, min(jobs or default_jobs(), len(refs)))
        by_name: dict[str, StackChange] = {}
        with executor(jobs) as pool:
            futures = {pool.submit(diff_in_worker, str(project), str(base_project), ref,
                                   _exists(ref, base_names), _exists(ref, head_names), options): ref
                       for ref in refs}
            for done, future in enumerate(as_completed(futures), start=1):
                change = future.result()
                by_name[futures[future].name] = change
                if on_done:
                    on_done(change, done, len(refs))
        result.changes = [by_name[r.name] for r in refs]
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    result.seconds = time.perf_counter() - started
    return result


def _reader(project: Path) -> Callable[[str], object]:
    """A file of the working tree, parsed (None: absent or not YAML), as `affected` compares them."""
    def read(path: str):
        try:
            return yaml.safe_load((project / path).read_text())
        except (OSError, yaml.YAMLError):
            return None
    return read


def _exists(ref: StackRef, names: Optional[set[str]]) -> bool:
    """Whether the stack exists on that side (None: unknown, plan it and let the program say)."""
    return names is None or ref.name in names or ref.scope == "all"


def _stack_names(project: Path, environments: set[str], notes: list[str]) -> Optional[set[str]]:
    """The stacks of the base's registry (None when it does not validate there: every affected stack
    is then planned at the base, and the program says what it can)."""
    try:
        registry = validate_project(project)
    except RegistryInvalid as exc:
        notes.append(f"the registry does not validate at the base ({len(exc.problems)} problems)")
        return None
    except Exception as exc:  # noqa: BLE001 an older layout the working tree's library cannot read
        notes.append(f"the base's registry cannot be read: {exc}")
        return None
    return {s.name for env in environments for s in stacks_of(registry, env)}
