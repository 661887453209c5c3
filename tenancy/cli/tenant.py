"""`tenancy tenant new|set|suspend|resume`: edit the registry the way a person would, checked first.

Each command builds the new text of one tenant file (comments, key order and untouched lines kept),
validates the would-be registry exactly as `tenancy validate` does (a refused edit writes nothing and
exits 1 with the registry's own messages), prints the file's diff, the stacks it touches and, from an
offline plan of each before and after, the resources created, updated, replaced and deleted; then
writes the file atomically (`--dry-run`: prints only). `move` and `offboard`, which carry data, are
registered by `tenancy.cli.tenant_data`.

This module only builds the parser; the work is imported when a command runs.
"""

from __future__ import annotations

import argparse
import dataclasses
import re
import sys
from pathlib import Path

from tenancy.cli.tenant_data import add_data_parsers
from tenancy.exits import CommandError, ExitCode
from tenancy.registry.models import Environment, Tier

FILE_SAFE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


def add_tenant_parser(sub: argparse._SubParsersAction) -> None:
    """Registers `tenancy tenant` and its subcommands (then the data-moving ones)."""
    parser = sub.add_parser("tenant", help="onboard, edit, suspend or resume a tenant (its registry file), "
                                           "with a preview of what changes")
    group = parser.add_subparsers(dest="tenant_command", required=True, metavar="COMMAND")

    p = group.add_parser("new", help="scaffold tenants/<id>.yaml from its plan's defaults, with a free address "
                                     "block where the tier needs one")
    p.add_argument("id", help="the tenant id (the file name)")
    p.add_argument("--name", required=True, help="the tenant's display name")
    p.add_argument("--plan", required=True, help="a plan of plans.yaml")
    p.add_argument("--isolation", choices=[t.value for t in Tier], help="default: the plan's default isolation")
    p.add_argument("--environments", help="comma-separated, such as dev,prod (default: every environment "
                                          "with a Pulumi.<env>.yaml)")
    p.add_argument("--cost-center", help="billing.costCenter (default: the id)")
    p.add_argument("--cidr", help="the address block (default: the first free one, when the tier has its own network)")
    p.add_argument("--prefix-length", type=int, metavar="N",
                   help="size of the free block to pick (default: /22 for dedicated, /20 for isolated)")
    p.add_argument("--cell", help="the cell (tenants/cells.yaml; default: the first, in declaration order, with room "
                                  "for the tenant)")
    _common(p)
    p.set_defaults(func=cmd_tenant_new)

    p = group.add_parser("set", help="set fields: quotas.maxUsers=600 services.database=dedicated "
                                     "features=[sso,audit-log] (FIELD=null removes one)")
    p.add_argument("id")
    p.add_argument("assignments", nargs="+", metavar="FIELD=VALUE",
                   help="a dotted field and a YAML value; network.cidr=auto picks a free block")
    _common(p)
    p.set_defaults(func=cmd_tenant_set)

    p = group.add_parser("suspend", help="status: suspended (resources and data stay; no pods, cache user off)")
    p.add_argument("id")
    _common(p)
    p.set_defaults(func=cmd_tenant_suspend)

    p = group.add_parser("resume", help="status: active again, after a suspension")
    p.add_argument("id")
    _common(p)
    p.set_defaults(func=cmd_tenant_resume)

    add_data_parsers(group)


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--registry", help="the registry directory (default: ./tenants)")
    p.add_argument("--cwd", default=".", help="the Pulumi project directory (default: .)")
    p.add_argument("--no-plan", action="store_true", help="skip the offline plan of the touched stacks (fast)")
    p.add_argument("--plan-environment", action="append", choices=[e.value for e in Environment], metavar="ENV",
                   help="preview only this environment's stacks (repeatable; default: every one the tenant is in)")
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--dry-run", action="store_true", help="print what would change; write nothing")
    mode.add_argument("--yes", "-y", action="store_true", help="write after printing (the default)")


# -- the commands -------------------------------------------------------------------------------------

def _paths(args) -> tuple[Path, Path]:
    from tenancy.registry.project import project_and_registry

    if not FILE_SAFE_ID.match(args.id):
        raise CommandError(f"{args.id!r} is not a tenant id (lowercase letters, digits and hyphens)")
    project, registry_dir = project_and_registry(args.cwd, args.registry)
    if not registry_dir.is_dir():
        raise CommandError(f"no registry directory {registry_dir}")
    return project, registry_dir


def _existing(registry_dir: Path, tenant_id: str) -> Path:
    for suffix in (".yaml", ".yml"):
        path = registry_dir / f"{tenant_id}{suffix}"
        if path.is_file():
            return path
    raise CommandError(f"no tenant {tenant_id!r}: {registry_dir / (tenant_id + '.yaml')} does not exist "
                       f"(`tenancy tenant new` creates one)")


def cmd_tenant_new(args) -> int:
    from pydantic import ValidationError

    from tenancy.lifecycle.changes import Edit
    from tenancy.lifecycle.scaffold import cell_layouts, free_block, new_tenant_cell, own_network_tier, scaffold
    from tenancy.registry.loader import display
    from tenancy.registry.models import Tenant
    from tenancy.registry.project import layouts_of, read_stacks, validate_project
    from tenancy.registry.source import parse_yaml

    project, registry_dir = _paths(args)
    for suffix in (".yaml", ".yml"):
        if (registry_dir / f"{args.id}{suffix}").exists():
            raise CommandError(f"{display(registry_dir / (args.id + suffix))} exists; `tenancy tenant set` edits it",
                               ExitCode.FAILED)
    registry = validate_project(project, registry_dir)  # a block is only free in a registry that validates
    stacks = read_stacks(project)
    if args.environments:
        environments = [e.strip() for e in args.environments.split(",") if e.strip()]
    else:
        present = {s.settings.environment for s in stacks}
        environments = [e.value for e in Environment if e in present] or [Environment.dev.value]

    cell = args.cell

    def text(cidr: str | None) -> str:
        return scaffold(args.id, args.name, args.plan, registry, environments, args.isolation, cidr, args.cost_center,
                        cell)

    try:
        tenant = Tenant.model_validate(parse_yaml(text(None)).data)
    except ValidationError:
        tenant = None  # the validation below reports it, located in the file
    if cell is None and tenant is not None:
        cell = new_tenant_cell(registry, tenant)  # written into the file: nothing moves it later
        tenant = tenant.model_copy(update={"cell": cell})
    cidr = args.cidr
    if cidr is None:
        tier = own_network_tier(tenant, registry) if tenant is not None else None
        if tier is not None:
            cidr = free_block(registry, tenant, tier, cell_layouts(registry, layouts_of(stacks), cell),
                              args.prefix_length)
    edit = Edit(args.id, registry_dir / f"{args.id}.yaml", None, text(cidr))
    return _apply(args, project, registry_dir, edit)


def cmd_tenant_set(args) -> int:
    from tenancy.lifecycle.edit import parse_assignment

    project, registry_dir = _paths(args)
    path = _existing(registry_dir, args.id)
    assignments = [parse_assignment(a) for a in args.assignments]
    auto = [a for a in assignments if a.path == ("network", "cidr") and a.value == "auto"]
    if auto:
        assignments = _with_free_block(project, registry_dir, path, args.id, assignments)
    return _edit(args, project, registry_dir, path, assignments)


def _with_free_block(project: Path, registry_dir: Path, path: Path, tenant_id: str, assignments):
    """`network.cidr=auto`: the first free block for the tier the other assignments give the tenant."""
    from pydantic import ValidationError

    from tenancy.lifecycle.changes import read_tenant_file
    from tenancy.lifecycle.edit import DELETE, Assignment, apply_to_data
    from tenancy.lifecycle.scaffold import free_block, own_network_tier
    from tenancy.registry.models import Tenant
    from tenancy.registry.project import layouts_of, read_stacks, validate_project
    from tenancy.registry.source import SourceError, parse_yaml

    others = [a for a in assignments if a.path != ("network", "cidr")]
    registry = validate_project(project, registry_dir)
    text, _ = read_tenant_file(path)
    try:
        data = apply_to_data(parse_yaml(text).data, [*others, Assignment(("network",), DELETE)])
        tenant = Tenant.model_validate(data)
    except (SourceError, ValidationError, AttributeError):
        raise CommandError("network.cidr=auto needs a tenant file that validates with the other fields set; "
                           "give the block itself") from None
    tier = own_network_tier(tenant, registry)
    if tier is None:
        raise CommandError(f"network.cidr=auto: {tenant_id} would be on the shared network, which has no block "
                           "of its own", ExitCode.FAILED)
    registry_without = dataclasses.replace(registry, tenants=tuple(t for t in registry.tenants if t.id != tenant_id))
    cidr = free_block(registry_without, tenant, tier, layouts_of(read_stacks(project)))
    return [*others, Assignment(("network", "cidr"), cidr)]


def cmd_tenant_suspend(args) -> int:
    return _status(args, "suspended")


def cmd_tenant_resume(args) -> int:
    return _status(args, "active")


def _status(args, status: str) -> int:
    from tenancy.lifecycle.changes import read_tenant_file
    from tenancy.lifecycle.edit import Assignment
    from tenancy.registry.source import SourceError, parse_yaml

    project, registry_dir = _paths(args)
    path = _existing(registry_dir, args.id)
    text, _ = read_tenant_file(path)
    try:
        data = parse_yaml(text).data
    except SourceError:
        data = None
    current = data.get("status", "active") if isinstance(data, dict) else None
    if current == "offboarding":
        raise CommandError(f"{args.id} is being offboarded (status: offboarding); `tenancy tenant offboard` "
                           f"owns that status (set it by hand with `tenancy tenant set {args.id} status=...`)",
                           ExitCode.FAILED)
    if current == status:
        print(f"{args.id} is already {status}; nothing to do")
        return ExitCode.OK
    return _edit(args, project, registry_dir, path, [Assignment(("status",), status)])


def _edit(args, project: Path, registry_dir: Path, path: Path, assignments) -> int:
    from tenancy.lifecycle.changes import Edit, read_tenant_file
    from tenancy.lifecycle.edit import edit_text
    from tenancy.registry.loader import display

    before, newline = read_tenant_file(path)
    after = edit_text(before, assignments)
    if after == before:
        print(f"{display(path)} already says so; nothing to do")
        return ExitCode.OK
    return _apply(args, project, registry_dir, Edit(args.id, path, before, after, newline))


def _apply(args, project: Path, registry_dir: Path, edit) -> int:
    """Print the edit, validate it, preview it, write it (unless --dry-run)."""
    from tenancy.lifecycle.changes import prepare, write
    from tenancy.lifecycle.edit import unified_diff
    from tenancy.registry.loader import display

    shown = display(edit.path)
    print("\n".join(unified_diff(edit.before or "", edit.after, shown)))
    with prepare(project, registry_dir, edit, args.plan_environment) as prepared:
        print("")
        names = ", ".join(s.name for s in prepared.stacks) or "none"
        print(f"stacks: {names}")
        if not args.no_plan and prepared.stacks:
            for line in _preview_lines(prepared, edit.tenant_id):
                print(line)
        for warning in prepared.warnings:
            print(f"warning: {warning}")
        if args.dry_run:
            print(f"dry run: {shown} not written")
            return ExitCode.OK
        write(edit)
    print(f"{'created' if edit.before is None else 'wrote'} {shown}")
    return ExitCode.OK


def _preview_lines(prepared, tenant_id: str) -> list[str]:
    from tenancy.lifecycle.changes import preview
    from tenancy.plan.diff import render_text
    from tenancy.plan.run import Progress

    progress = Progress(enabled=sys.stderr.isatty())
    try:
        diff = preview(prepared, progress.step)
    finally:
        progress.done()
    lines = render_text(diff, (tenant_id,))
    others = sorted(diff.other_tenants({tenant_id}))
    lines.append(f"OTHER TENANTS' RESOURCES CHANGE: {', '.join(others)}" if others
                 else "no other tenant's resources change")
    return lines
