"""A Pulumi project on disk: its stack files, their settings, and the registry they deploy."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from pydantic import ValidationError

from tenancy.registry.cells import apply_cell_settings, cell_settings_problems
from tenancy.registry.connections import connection_budget
from tenancy.registry.loader import Registry, display, load_registry
from tenancy.registry.network_rules import Layouts
from tenancy.registry.problems import Problem, RegistryInvalid, field_path
from tenancy.registry.settings import CONFIG_NAMESPACE, StackSettings
from tenancy.registry.source import SourceError, read_yaml
from tenancy.registry.validation import findings_from


@dataclass(frozen=True)
class StackFile:
    name: str  # the stack name: Pulumi.<name>.yaml
    path: Path
    settings: StackSettings


def stack_files(project_dir: Path) -> list[Path]:
    return sorted(project_dir.glob("Pulumi.*.yaml"))


def read_stack_file(path: Path) -> StackFile:
    """Read the `tenancy:` settings of one Pulumi.<stack>.yaml, or raise every problem in them."""
    name = path.name[len("Pulumi."):-len(".yaml")]
    label = f"stack {name}"
    try:
        doc = read_yaml(path)
    except SourceError as exc:
        raise RegistryInvalid([Problem(display(path), exc.line, label, "", exc.message)]) from None
    config = (doc.data or {}).get("config") if isinstance(doc.data, dict) else None
    config = config if isinstance(config, dict) else {}
    prefix = CONFIG_NAMESPACE + ":"
    raw = {k[len(prefix):]: v for k, v in config.items() if isinstance(k, str) and k.startswith(prefix)}
    try:
        settings = StackSettings.model_validate(raw)
    except ValidationError as exc:
        problems = []
        for loc, message in findings_from(exc, StackSettings):
            path_in_doc = ("config", prefix + str(loc[0])) + tuple(loc[1:]) if loc else ("config",)
            problems.append(Problem(display(path), doc.line_of(path_in_doc), label,
                                    prefix + field_path(loc), message))
        raise RegistryInvalid(problems) from None
    return StackFile(name=name, path=path, settings=settings)


def read_stacks(project_dir: Path) -> list[StackFile]:
    problems: list[Problem] = []
    stacks = []
    for path in stack_files(project_dir):
        try:
            stacks.append(read_stack_file(path))
        except RegistryInvalid as exc:
            problems.extend(exc.problems)
    if problems:
        raise RegistryInvalid(problems)
    return stacks


def layouts_of(stacks: list[StackFile]) -> Layouts:
    layouts: Layouts = {}
    for stack in stacks:
        layouts.setdefault(stack.settings.environment, []).append(
            (f"stack {stack.name}, {stack.path.name}", stack.settings.network))
    return layouts


def project_and_registry(cwd: str | Path, registry: str | Path | None) -> tuple[Path, Path]:
    """The project directory and its registry: `--registry DIR` names both (the project is its
    parent), else the registry is the project's tenants/."""
    if registry:
        return Path(registry).resolve().parent, Path(registry)
    return Path(cwd), Path(cwd) / "tenants"


def validate_project(project_dir: Path, registry_dir: Path | None = None) -> Registry:
    """Validate the registry against the network layout of every stack of the project, and the
    pooled tenants' connection limits against each stack's pooled database."""
    stacks = read_stacks(project_dir)
    registry = load_registry(registry_dir or project_dir / "tenants", layouts_of(stacks))
    problems = [p for stack in stacks for p in connection_problems(stack, registry)]
    for stack in stacks:
        for cell in registry.cells.in_environment(stack.settings.environment):
            problems += cell_settings_problems(registry.cells, cell, stack.settings, f"over stack {stack.name}")
    if problems:
        raise RegistryInvalid(problems)
    return registry


def connection_problems(stack: StackFile, registry: Registry) -> list[Problem]:
    """Each cell's pooled tenants may not open more connections than its pooled instance allows (the
    stack file's `tenancy:pool`, with the cell's `settings.pool` over it)."""
    out = []
    cells = registry.cells
    for cell in cells.in_environment(stack.settings.environment):
        try:
            pool = apply_cell_settings(stack.settings, cells.get(cell)).pool
        except ValueError:
            continue  # reported by cell_settings_problems
        budget = connection_budget(pool.database_instance_class, pool.database_max_connections,
                                   registry.in_cell(stack.settings.environment, cell))
        message = budget.problem()
        if message is None:
            continue
        key = "databaseMaxConnections" if pool.database_max_connections is not None else "databaseInstanceClass"
        overridden = key in ((cells[cell].settings.get("pool") or {}) if cells.declared else {})
        if overridden:
            out.append(cells.problem(cell, ("settings", "pool", key), f"{message} (over stack {stack.name})"))
            continue
        line = read_yaml(stack.path).line_of(("config", CONFIG_NAMESPACE + ":pool", key))
        who = f"stack {stack.name}" + (f", cell {cell}" if cells.declared else "")
        out.append(Problem(display(stack.path), line, who, f"{CONFIG_NAMESPACE}:pool.{key}", message))
    return out


def config_from_stack_file(path: Path) -> dict[str, str]:
    """A Pulumi.<stack>.yaml's config as the engine hands it to a program: strings, JSON for objects."""
    data = read_yaml(path).data or {}
    out = {}
    for key, value in (data.get("config") or {}).items():
        if isinstance(value, dict) and set(value) == {"secure"}:
            value = "offline-secret"
        if isinstance(value, (dict, list)):
            out[key] = json.dumps(value)
        elif isinstance(value, bool):
            out[key] = "true" if value else "false"
        else:
            out[key] = str(value)
    return out


def project_name(program_dir: Path) -> str:
    return (read_yaml(program_dir / "Pulumi.yaml").data or {}).get("name", "project")
