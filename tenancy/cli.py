"""The command line: validate the registry, write its schema, plan a stack offline.

Exit codes: 0 ok, 1 the registry (or the plan) has problems, 2 bad usage. A registry problem never
reaches the user as a traceback.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from . import schema
from .models import Environment
from .problems import RegistryInvalid
from .project import validate_project

EXIT_OK, EXIT_INVALID, EXIT_USAGE = 0, 1, 2


def _project_and_registry(args) -> tuple[Path, Path]:
    if args.registry:
        registry = Path(args.registry)
        return registry.resolve().parent, registry
    project = Path(args.cwd)
    return project, project / "tenants"


def cmd_validate(args) -> int:
    project, registry_dir = _project_and_registry(args)
    try:
        registry = validate_project(project, registry_dir)
    except RegistryInvalid as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        count = len(exc.problems)
        print(f"{count} problem{'s' if count != 1 else ''} in the registry", file=sys.stderr)
        return EXIT_INVALID
    n = len(registry.tenants)
    print(f"{n} tenant{'s' if n != 1 else ''} OK")
    return EXIT_OK


def cmd_schema(args) -> int:
    path = Path(args.output)
    if args.check:
        current = path.read_text() if path.exists() else ""
        if current != schema.render():
            print(f"{path} is out of date; run: python -m tenancy schema", file=sys.stderr)
            return EXIT_INVALID
        print(f"{path} is current")
        return EXIT_OK
    changed = schema.write(path)
    print(f"{'wrote' if changed else 'unchanged:'} {path}")
    return EXIT_OK


def cmd_plan(args) -> int:
    from .plan import run_plan_command

    return run_plan_command(args)


def _print_stacks(stacks, fmt: str) -> None:
    if fmt == "json":
        print(json.dumps({"include": [s.as_dict() for s in stacks]}, indent=2))
    else:
        for s in stacks:
            print(f"{s.name}\t{s.environment}\t{s.scope}")


def cmd_stacks(args) -> int:
    from .stacks import stacks_of

    try:
        registry = validate_project(Path(args.cwd))
    except RegistryInvalid as exc:
        print(exc, file=sys.stderr)
        return EXIT_USAGE
    environments = [args.environment] if args.environment else [e.value for e in Environment]
    _print_stacks([s for env in environments for s in stacks_of(registry, env)], args.format)
    return EXIT_OK


def cmd_affected(args) -> int:
    from .affected import AffectedError, affected_stacks

    try:
        stacks = affected_stacks(Path(args.cwd), args.base, args.environment)
    except AffectedError as exc:
        print(exc, file=sys.stderr)
        return EXIT_USAGE
    _print_stacks(stacks, args.format)
    return EXIT_OK


def cmd_stack_config(args) -> int:
    from .stacks import write_stack_config

    try:
        path = write_stack_config(Path(args.cwd), args.stack)
    except ValueError as exc:
        print(exc, file=sys.stderr)
        return EXIT_USAGE
    print(f"wrote {path}")
    return EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m tenancy", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("validate", help="validate the tenant registry")
    p.add_argument("--registry", help="the registry directory (default: ./tenants)")
    p.add_argument("--cwd", default=".", help="the Pulumi project directory (default: .)")
    p.set_defaults(func=cmd_validate)

    p = sub.add_parser("schema", help="write the tenant file JSON Schema")
    p.add_argument("--output", default="tenants/schema.json")
    p.add_argument("--check", action="store_true", help="exit 1 if the file is not current")
    p.set_defaults(func=cmd_schema)

    p = sub.add_parser("plan", help="run a stack offline (no credentials), summarise it and check the policies")
    p.add_argument("--stack", default="dev", help="a stack with a Pulumi.<stack>.yaml, or <env>-platform|pool|<id>")
    p.add_argument("--cwd", default=".", help="the Pulumi project directory (default: .)")
    p.add_argument("--scope", help="override tenancy:scope")
    p.add_argument("--format", choices=("table", "json", "markdown"), default="table")
    p.add_argument("--preview", action="store_true", help="preview mode: computed values stay unknown")
    p.add_argument("--policy-pack", help="policy pack directory (default: the project's policies/, else tenancy's)")
    p.add_argument("--policy-config", help="--policy-pack-config file (default: <pack>/config/<environment>.json)")
    p.set_defaults(func=cmd_plan)

    p = sub.add_parser("stacks", help="the stacks the registry needs, in deployment order")
    p.add_argument("--environment", choices=[e.value for e in Environment], help="default: every environment")
    p.add_argument("--cwd", default=".")
    p.add_argument("--format", choices=("text", "json"), default="text")
    p.set_defaults(func=cmd_stacks)

    p = sub.add_parser("affected", help="the stacks a git change touches, in deployment order")
    p.add_argument("--base", required=True, help="the git ref to compare with (e.g. origin/main)")
    p.add_argument("--environment", choices=[e.value for e in Environment], help="default: every environment")
    p.add_argument("--cwd", default=".")
    p.add_argument("--format", choices=("text", "json"), default="json")
    p.set_defaults(func=cmd_affected)

    p = sub.add_parser("stack-config", help="write Pulumi.<stack>.yaml of a split stack for the Pulumi CLI")
    p.add_argument("--stack", required=True)
    p.add_argument("--cwd", default=".")
    p.set_defaults(func=cmd_stack_config)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except KeyboardInterrupt:
        return 130
