"""`tenancy plan --all`: every stack of an environment, planned offline in parallel processes.

The SDK's runtime state is global to a process, so stacks never share one at a time: each stack is
planned in a worker process (spawned, so nothing of the caller's state leaks in; a worker plans one
stack after another, keeping the SDK's imports warm). The registry is validated once, here; the
platform stacks go first (wave by wave, `tenancy.stacks.catalog`), and their outputs feed the
StackReference of the pool and tenant stacks of their cell, which then run in parallel.

The exit code aggregates: 2 if a stack could not be planned, else 1 if any stack fails a policy,
a provider constraint or a quota, else 0.
"""

from __future__ import annotations

import multiprocessing
import os
import resource
import sys
import time
from collections.abc import Callable, Iterable
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

from tenancy.exits import CommandError, ExitCode
from tenancy.registry.problems import RegistryInvalid
from tenancy.registry.project import validate_project
from tenancy.stacks.catalog import StackRef, resolve_stack, stacks_of


@dataclass
class StackPlan:
    """One stack's plan as a worker hands it back: the plan's JSON, or why it could not be made."""

    stack: str
    wave: int = 0
    cell: str = ""
    data: Optional[dict] = None  # PlanResult.as_json()
    error: Optional[str] = None
    code: int = 0
    seconds: float = 0.0
    outputs: Optional[dict] = field(default=None, repr=False)  # the stack's outputs (a platform's feed others)

    @property
    def ok(self) -> bool:
        return self.error is None

    def as_dict(self) -> dict:
        return {"stack": self.stack, "wave": self.wave, "cell": self.cell, "exitCode": self.code,
                "seconds": round(self.seconds, 2), "error": self.error, "plan": self.data}


@dataclass
class EnvironmentPlan:
    environment: str
    stacks: list[StackPlan]
    jobs: int
    seconds: float

    @property
    def exit_code(self) -> int:
        return aggregate_exit([s.code for s in self.stacks])

    def as_json(self) -> dict:
        return {"version": 1, "environment": self.environment, "jobs": self.jobs, "seconds": round(self.seconds, 2),
                "stacks": [s.as_dict() for s in self.stacks], "exitCode": self.exit_code}


def aggregate_exit(codes: Iterable[int]) -> int:
    """2 if any stack could not be planned, else 1 if any failed its checks, else 0."""
    codes = list(codes)
    if ExitCode.USAGE in codes:
        return int(ExitCode.USAGE)
    return int(ExitCode.FAILED if any(codes) else ExitCode.OK)


@dataclass(frozen=True)
class PlanOptions:
    """What every stack is planned with (the CLI's flags)."""

    preview: bool = False
    pack_dir: Optional[str] = None
    pack_config: Optional[str] = None


# -- in the worker --------------------------------------------------------------------------------

def warm_up() -> None:
    """A worker's initializer: import the harness and the SDK once, not per stack."""
    import tenancy.plan.run  # noqa: F401


def plan_in_worker(project: str, ref: StackRef, options: PlanOptions,
                   platform_outputs: Optional[dict]) -> StackPlan:
    """Plan one stack (in a worker process); every failure comes back as data, never a traceback."""
    started = time.perf_counter()
    out, _ = plan_judged(project, ref, options, platform_outputs)
    out.seconds = time.perf_counter() - started
    return out


def plan_judged(project: str, ref: StackRef, options: PlanOptions, platform_outputs: Optional[dict]):
    """(the stack's plan as data, its recording or None when it could not be planned): `tenancy plan
    --stack` with these options, each failure turned into the plan's error and exit code."""
    from tenancy.plan.run import plan_stack

    out = StackPlan(ref.name, ref.wave, ref.cell)
    try:
        result = plan_stack(Path(project), ref.name, preview=options.preview,
                            pack_dir=Path(options.pack_dir) if options.pack_dir else None,
                            pack_config=Path(options.pack_config) if options.pack_config else None,
                            platform_outputs=platform_outputs, validate=False)
    except RegistryInvalid as exc:
        out.error, out.code = "\n".join(str(p) for p in exc.problems), int(ExitCode.FAILED)
        return out, None
    except CommandError as exc:
        out.error, out.code = str(exc), int(exc.code)
        return out, None
    except Exception as exc:  # noqa: BLE001 the program itself failed: reported per stack
        out.error, out.code = f"{type(exc).__name__}: {exc}", int(ExitCode.USAGE)
        return out, None
    out.data, out.code, out.outputs = result.as_json(), result.exit_code, result.recording.outputs
    return out, result.recording


def peak_rss_mib() -> float:
    """This process's peak resident memory."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# -- in the caller --------------------------------------------------------------------------------

def default_jobs() -> int:
    return max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1))


def executor(jobs: int) -> ProcessPoolExecutor:
    """Worker processes, spawned (a fork would copy the caller's SDK state, threads and event loop)."""
    return ProcessPoolExecutor(max_workers=jobs, mp_context=multiprocessing.get_context("spawn"),
                               initializer=warm_up)


def environment_of(project: Path, environment: Optional[str], stack: Optional[str]) -> str:
    """`--environment`, else the environment a `--stack` name starts with."""
    if environment:
        return environment
    if stack:
        resolved = resolve_stack(project, stack)
        if resolved is not None and resolved.config.get("tenancy:environment"):
            return resolved.config["tenancy:environment"]
        return stack.partition("-")[0]
    raise CommandError("--all needs --environment (or a --stack of the environment)")


def plan_environment(project: Path, environment: str, jobs: Optional[int] = None,
                     options: Optional[PlanOptions] = None,
                     on_done: Optional[Callable[[StackPlan, int, int], None]] = None) -> EnvironmentPlan:
    """Plan every stack of `environment` (validating the registry once), platforms first."""
    project, options = project.resolve(), options or PlanOptions()
    if not (project / "Pulumi.yaml").exists():
        raise CommandError(f"{project} is not a Pulumi project (Pulumi.yaml is missing)")
    registry = validate_project(project)
    refs = stacks_of(registry, environment)
    if not refs:
        raise CommandError(f"the registry has no stacks in {environment}")
    started = time.perf_counter()
    jobs = max(1, min(jobs or default_jobs(), len(refs)))
    results = run_stacks(project, refs, jobs, options, on_done)
    return EnvironmentPlan(environment, [results[r.name] for r in refs], jobs, time.perf_counter() - started)


def run_stacks(project: Path, refs: list[StackRef], jobs: int, options: PlanOptions,
               on_done: Optional[Callable[[StackPlan, int, int], None]] = None) -> dict[str, StackPlan]:
    """Plan `refs` on `jobs` workers: each platform stack first, then the stacks that read it."""
    platform_of: dict[str, Optional[str]] = {}
    for ref in refs:
        resolved = resolve_stack(project, ref.name)
        platform_of[ref.name] = resolved.platform_stack if resolved else None
    planned_here = {r.name for r in refs}
    waiting = [r for r in refs if platform_of[r.name] in planned_here]  # their platform is planned here too
    ready = [r for r in refs if r not in waiting]
    results: dict[str, StackPlan] = {}
    with executor(jobs) as pool:
        running: dict[Future, StackRef] = {}

        def submit(ref: StackRef) -> None:
            platform = platform_of[ref.name]
            outputs = results[platform].outputs if platform in results else None
            running[pool.submit(plan_in_worker, str(project), ref, options, outputs)] = ref

        for ref in ready:
            submit(ref)
        while running:
            done, _ = wait(list(running), return_when=FIRST_COMPLETED)
            for future in done:
                ref = running.pop(future)
                results[ref.name] = future.result()
                if on_done:
                    on_done(results[ref.name], len(results), len(refs))
                for dependent in [r for r in waiting if platform_of[r.name] == ref.name]:
                    waiting.remove(dependent)
                    submit(dependent)
    for ref in waiting:  # never reached: their platform could not be planned
        results[ref.name] = StackPlan(ref.name, ref.wave, ref.cell, error="its platform stack was not planned",
                                      code=int(ExitCode.USAGE))
    for plan in results.values():
        plan.outputs = None if plan.stack not in platform_of.values() else plan.outputs
    return results


def progress_printer(enabled: bool) -> Optional[Callable[[StackPlan, int, int], None]]:
    """One line on stderr per finished stack, for a person at a terminal."""
    if not enabled:
        return None

    def show(plan: StackPlan, done: int, total: int) -> None:
        verdict = "error" if plan.error else ("FAILED" if plan.code else "ok")
        sys.stderr.write(f"[{done}/{total}] {plan.stack}: {verdict} ({plan.seconds:.1f}s)\n")
        sys.stderr.flush()
    return show


def summary_rows(plans: list[StackPlan]) -> list[dict[str, Any]]:
    """Per stack: tenants, resources, and what failed."""
    rows = []
    for plan in plans:
        data = plan.data or {}
        policy = data.get("policy") or {}
        capacity = data.get("capacity") or {}
        rows.append({
            "stack": plan.stack, "wave": plan.wave, "tenants": len(data.get("tenants") or []),
            "resources": data.get("resourceCount", 0), "mandatory": policy.get("mandatory", 0),
            "advisory": policy.get("advisory", 0),
            "refused": len((data.get("constraints") or {}).get("breaches") or []),
            "quotas": sum(1 for q in capacity.get("quotas") or [] if q["used"] > q["limit"]),
            "exit": plan.code, "seconds": plan.seconds, "error": plan.error})
    return rows
