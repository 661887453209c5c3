"""One registry edit, from asked to written: validate the would-be registry, find the stacks it
touches, preview it offline, write the file atomically.

Nothing is written before the would-be registry passes the same validation as `tenancy validate`
(`validate_project`: every tenant file, plans.yaml, every stack file's network layout and pooled
connection budget). It is validated in a private copy of the registry, and its problems are reported
with the real file's name, so a refused edit leaves the registry byte for byte as it was.

The preview plans each touched stack twice, offline (`tenancy.plan.harness.run_program`, the unchanged
program, as `tenancy plan` runs it): on the registry as it is and on the would-be copy, through the
program's own `tenancy:registry` setting; then `tenancy.plan.diff` compares the two.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Optional

from tenancy.exits import CommandError
from tenancy.registry.cells import CELLS_FILE
from tenancy.registry.loader import PLANS_FILE, Registry, display, tenant_files
from tenancy.registry.models import Environment, Service
from tenancy.registry.naming import DEFAULT_CELL
from tenancy.registry.problems import RegistryInvalid
from tenancy.registry.project import validate_project
from tenancy.registry.tiers import EffectiveTenant
from tenancy.stacks.catalog import SCOPE_KEY, StackRef, resolve_stack, stacks_of, tenant_stack

if TYPE_CHECKING:
    from tenancy.plan.diff import PlanDiff

REGISTRY_KEY = "tenancy:registry"
DATA_SERVICES = (Service.database, Service.cache)


class ChangedMeanwhile(CommandError):
    """The file changed between reading and writing: exit 2, nothing written."""


@dataclass(frozen=True)
class Edit:
    """A tenant file's text before (None: a new file) and after the edit."""

    tenant_id: str
    path: Path
    before: Optional[str]
    after: str
    newline: str = "\n"  # the file's line ending, restored on write

    @property
    def changed(self) -> bool:
        return self.before != self.after


def read_tenant_file(path: Path) -> tuple[str, str]:
    """A tenant file's text with '\\n' line ends, and the line end it uses."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise CommandError(f"{display(path)} does not exist; `tenancy tenant new` creates a tenant") from None
    except OSError as exc:
        raise CommandError(f"cannot read {display(path)}: {exc.strerror}") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise CommandError(f"{display(path)} is not UTF-8; fix it by hand first") from None
    newline = "\r\n" if "\r\n" in text and text.count("\r\n") == text.count("\n") else "\n"
    return text.replace("\r\n", "\n") if newline == "\r\n" else text, newline


@dataclass
class Prepared:
    """A validated edit: the registry now (None when it does not validate as it is) and as it will be,
    the stacks the edit touches, and what a person should know before it is applied."""

    project: Path
    registry_dir: Path
    edit: Edit
    before: Optional[Registry]
    after: Registry
    stacks: list[StackRef]
    warnings: list[str] = field(default_factory=list)
    _workdir: Optional[tempfile.TemporaryDirectory] = None

    @property
    def after_dir(self) -> Path:
        return self.after.directory

    def close(self) -> None:
        if self._workdir is not None:
            self._workdir.cleanup()
            self._workdir = None

    def __enter__(self) -> Prepared:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def prepare(project: Path, registry_dir: Path, edit: Edit,
            environments: Optional[list[str]] = None) -> Prepared:
    """Validate the would-be registry (raising its problems, located in the real files) and find the
    stacks the edit touches (in `environments` only, when given)."""
    registry_dir = Path(registry_dir)
    workdir = tempfile.TemporaryDirectory(prefix="tenancy-edit-")
    try:
        after_dir = Path(workdir.name).resolve() / registry_dir.name
        after_dir.mkdir()
        for path in [*tenant_files(registry_dir), registry_dir / PLANS_FILE, registry_dir / CELLS_FILE]:
            if path.is_file() and path.name != edit.path.name:
                shutil.copyfile(path, after_dir / path.name)
        (after_dir / edit.path.name).write_text(edit.after, encoding="utf-8")
        try:
            after = validate_project(project, after_dir)
        except RegistryInvalid as exc:
            raise relocate(exc, after_dir, registry_dir) from None
        try:
            before = validate_project(project, registry_dir)
        except RegistryInvalid:
            before = None  # an edit may be what fixes the registry: it then has no "before" to plan
        old = before.get(edit.tenant_id) if before else None
        new = after.get(edit.tenant_id)
        stacks = touched_stacks(before, after, old, new, environments)
        prepared = Prepared(project, registry_dir, edit, before, after, stacks, warnings(old, new, before), workdir)
    except BaseException:
        workdir.cleanup()
        raise
    return prepared


def relocate(exc: RegistryInvalid, copy_dir: Path, real_dir: Path) -> RegistryInvalid:
    """The problems of the private copy, named by the real files."""
    real = display(real_dir)
    prefixes = sorted({str(copy_dir), display(copy_dir)}, key=len, reverse=True)

    def named(problem):
        for prefix in prefixes:
            if problem.file.startswith(prefix + os.sep):
                return dataclasses.replace(problem, file=real + problem.file[len(prefix):])
        return problem

    return RegistryInvalid([named(p) for p in exc.problems])


def touched_stacks(before: Optional[Registry], after: Registry, old: Optional[EffectiveTenant],
                   new: Optional[EffectiveTenant], environments: Optional[list[str]] = None) -> list[StackRef]:
    """The tenant's stacks before and after the edit (a tenant that leaves the pool for its own stack
    touches both), in deployment order; the same rule as `tenancy affected`."""
    touched = {tenant_stack(env.value, t, registry) for t, registry in ((old, before), (new, after))
               if t is not None for env in t.tenant.environments}
    wanted = [e.value for e in Environment if environments is None or e.value in environments]
    order: list[StackRef] = []
    for env in wanted:
        for registry in (after, before):
            if registry is not None:
                order += [s for s in stacks_of(registry, env) if s in touched and s not in order]
    return order


def warnings(old: Optional[EffectiveTenant], new: Optional[EffectiveTenant], before: Optional[Registry]) -> list[str]:
    out = []
    if before is None:
        out.append("the registry does not validate as it is now, so there is no plan of it to compare with")
    if old is None or new is None:
        return out
    for service in DATA_SERVICES:
        was, will = old.tier(service), new.tier(service)
        if was is not will:
            out.append(f"{new.id}'s {service.value} moves from {was.value} to {will.value}: the new one starts empty "
                       f"and the data stays where it is; `tenancy tenant move` carries the data")
    was_cell, cell = old.tenant.cell or DEFAULT_CELL, new.tenant.cell or DEFAULT_CELL
    if was_cell != cell:
        out.append(f"{new.id} moves from cell {was_cell} to cell {cell}: its resources are created in {cell}'s stacks "
                   f"and deleted from {was_cell}'s (the protected ones stop `pulumi up` there), and its data stays "
                   f"where it is")
    gone = sorted(e.value for e in set(old.tenant.environments) - set(new.tenant.environments))
    if gone:
        out.append(f"{new.id} leaves {', '.join(gone)}: its resources there go (the protected ones, its data, "
                   "stop `pulumi up` until someone unprotects them)")
    return out


# -- the preview ------------------------------------------------------------------------------------

def preview(prepared: Prepared, on_step: Optional[Callable[[str], None]] = None) -> PlanDiff:
    """Plan each touched stack offline before and after the edit, and compare."""
    import pulumi

    from tenancy.plan.diff import PlanDiff, StackDiff, diff_plans
    from tenancy.plan.harness import run_program

    step = on_step or (lambda message: None)
    project = prepared.project
    before_dir = prepared.registry_dir.resolve()
    platform_outputs: dict[str, dict] = {}
    result = PlanDiff()
    for ref in prepared.stacks:
        resolved = resolve_stack(project, ref.name)
        if resolved is None:
            result.stacks.append(StackDiff(ref.name, note=f"no Pulumi.{ref.name}.yaml or Pulumi.{ref.environment}.yaml"))
            continue
        outputs = {}
        try:
            if resolved.platform_stack:
                if resolved.platform_stack not in platform_outputs:
                    # The platform deploys no tenant: its outputs are the same before and after.
                    step(f"planning {resolved.platform_stack} for the platform's outputs")
                    config = {**resolved.config, SCOPE_KEY: "platform", REGISTRY_KEY: str(prepared.after_dir)}
                    platform_outputs[resolved.platform_stack] = run_program(
                        project, resolved.platform_stack, config).outputs
                outputs = {resolved.platform_stack: platform_outputs[resolved.platform_stack]}
            plans = []
            for label, registry, directory in (("before", prepared.before, before_dir),
                                               ("after", prepared.after, prepared.after_dir)):
                if registry is None or ref not in stacks_of(registry, ref.environment):
                    plans.append(None)
                    continue
                step(f"planning {ref.name} {label} the edit")
                plans.append(run_program(project, ref.name, {**resolved.config, REGISTRY_KEY: str(directory)},
                                         stack_outputs=outputs))
        except pulumi.RunError as exc:
            result.stacks.append(StackDiff(ref.name, note=f"the program failed: {exc}"))
            continue
        diff = diff_plans(*plans, stack=ref.name)
        if plans[0] is None and prepared.before is None:
            diff.note = "no plan of the registry as it is (it does not validate)"
            diff.changes = []
        result.stacks.append(diff)
    return result


# -- writing ----------------------------------------------------------------------------------------

def write(edit: Edit) -> None:
    """Write the new text atomically (a temporary file in the same directory, then a rename), after
    checking that nobody changed the file since it was read; a new file never replaces one that
    appeared meanwhile."""
    path = edit.path
    data = edit.after.replace("\n", edit.newline).encode("utf-8")
    current = path.read_bytes() if path.exists() else None
    expected = None if edit.before is None else edit.before.replace("\n", edit.newline).encode("utf-8")
    if current != expected:
        what = "was created" if edit.before is None else ("was removed" if current is None else "changed")
        raise ChangedMeanwhile(f"{display(path)} {what} while this command ran; nothing written, run it again")
    mode = path.stat().st_mode & 0o7777 if current is not None else None
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        if mode is not None:
            os.chmod(tmp, mode)
        else:
            os.chmod(tmp, 0o666 & ~_umask())
        if edit.before is None:
            try:
                os.link(tmp, path)  # fails if the file appeared meanwhile: never clobber a new tenant
            except FileExistsError:
                raise ChangedMeanwhile(f"{display(path)} was created while this command ran; nothing written") from None
            except OSError:  # a file system without hard links
                if path.exists():
                    raise ChangedMeanwhile(f"{display(path)} was created while this command ran; nothing written") from None
                os.replace(tmp, path)
            else:
                os.unlink(tmp)
        else:
            os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    _fsync_dir(path.parent)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _fsync_dir(directory: Path) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
