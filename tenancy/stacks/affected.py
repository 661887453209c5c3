"""`tenancy affected`: which stacks a git change touches, so CI previews and deploys only those.

A tenant file touches that tenant's stacks (before and after the change: a tenant that moves from
the pool to its own stack touches both); plans.yaml touches the stacks of the tenants on the plans
that changed; a stack file touches its environment; the program itself (components, policies,
tenancy, __main__.py, requirements, Pulumi.yaml) touches every stack. Anything else touches none.
"""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Optional

import yaml

from tenancy.exits import CommandError
from tenancy.registry.loader import PLANS_FILE, Registry
from tenancy.registry.models import Environment
from tenancy.registry.problems import RegistryInvalid
from tenancy.registry.project import validate_project
from tenancy.stacks.catalog import StackRef, stack_for_scope, stacks_of

PROGRAM_PATHS = ("components/", "policies/", "tenancy/", "__main__.py", "Pulumi.yaml", "requirements.txt",
                 "requirements-dev.txt")


class AffectedError(CommandError):
    """git failed or the registry cannot be read: exit 2."""


def _git(cwd: Path, *args: str) -> str:
    result = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True)
    if result.returncode != 0:
        raise AffectedError(f"git {' '.join(args)}: {result.stderr.strip() or 'failed'}")
    return result.stdout


def changed_paths(project: Path, base: str) -> list[str]:
    """Paths below the project, relative to it, that differ from `base` (tracked or new)."""
    top = Path(_git(project, "rev-parse", "--show-toplevel").strip())
    _git(project, "rev-parse", "--verify", "--quiet", f"{base}^{{commit}}")
    prefix = project.resolve().relative_to(top.resolve()).as_posix()
    prefix = "" if prefix == "." else prefix + "/"
    names = _git(top, "diff", "--name-only", base, "--").splitlines()
    names += _git(top, "ls-files", "--others", "--exclude-standard").splitlines()
    return sorted({n[len(prefix):] for n in names if n.startswith(prefix)})


def _old_yaml(project: Path, base: str, path: str) -> Optional[dict]:
    top = Path(_git(project, "rev-parse", "--show-toplevel").strip())
    rel = (project.resolve() / path).relative_to(top.resolve()).as_posix()
    result = subprocess.run(["git", "show", f"{base}:{rel}"], cwd=top, capture_output=True, text=True)
    if result.returncode != 0:
        return None
    try:
        data = yaml.safe_load(result.stdout)
    except yaml.YAMLError:
        return None
    return data if isinstance(data, dict) else None


def _stacks_of_tenant(registry: Registry, tenant_id: str, old: Optional[dict]) -> set[StackRef]:
    out = set()
    current = registry.get(tenant_id)
    if current is not None:
        for env in current.tenant.environments:
            out.add(stack_for_scope(env.value, f"tenant/{tenant_id}" if current.has_own_stack else "pool"))
    if old:
        plans = registry.plans.plans
        plan = plans.get(str(old.get("plan")))
        isolation = old.get("isolationLevel") or (plan.default_isolation.value if plan else "shared")
        for env in old.get("environments") or []:
            if str(env) in {e.value for e in Environment}:
                out.add(stack_for_scope(str(env), "pool" if isolation == "shared" else f"tenant/{tenant_id}"))
    return out


def affected_stacks(project: Path, base: str, environment: Optional[str] = None) -> list[StackRef]:
    try:
        registry = validate_project(project)
    except RegistryInvalid as exc:
        raise AffectedError(f"the registry is invalid:\n{exc}") from None
    environments = [environment] if environment else [e.value for e in Environment]
    every = {env: stacks_of(registry, env) for env in environments}
    touched: set[StackRef] = set()
    for path in changed_paths(project, base):
        if path.startswith(PROGRAM_PATHS) or path in PROGRAM_PATHS:
            touched.update(s for stacks in every.values() for s in stacks)
        elif path.startswith("Pulumi.") and path.endswith(".yaml"):
            name = path[len("Pulumi."):-len(".yaml")]
            env, _, rest = name.partition("-")
            if env in every:
                touched.update(every[env] if not rest else [s for s in every[env] if s.name == name])
        elif path == f"tenants/{PLANS_FILE}":
            old = (_old_yaml(project, base, path) or {}).get("plans") or {}
            new = registry.plans.model_dump(by_alias=True, mode="json")["plans"]
            old_catalog = old if isinstance(old, dict) else {}
            changed = {name for name in set(old_catalog) | set(new) if _plan_differs(old_catalog.get(name), new.get(name))}
            for tenant in registry.tenants:
                if tenant.tenant.plan in changed:
                    touched.update(_stacks_of_tenant(registry, tenant.id, None))
        elif path.startswith("tenants/") and path.endswith((".yaml", ".yml")):
            tenant_id = Path(path).stem
            touched.update(_stacks_of_tenant(registry, tenant_id, _old_yaml(project, base, path)))
    order = [s for env in environments for s in every[env]]
    known = [s for s in order if s in touched]
    gone = sorted((s for s in touched if s not in order and s.environment in environments), key=lambda s: s.name)
    return known + gone


def _plan_differs(old: Optional[dict], new: Optional[dict]) -> bool:
    """Compare a plan as written before with the validated plan now (defaults filled in)."""
    if old is None or new is None:
        return old is not new
    from tenancy.registry.models import Plan

    try:
        before = Plan.model_validate(old).model_dump(by_alias=True, mode="json")
    except ValueError:
        return True
    return before != new
