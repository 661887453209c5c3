"""`stacks`, `affected` and `stack-config`: which stacks exist, which a change touches, and the
settings file of a split stack."""

from __future__ import annotations

import json
from pathlib import Path

from tenancy.exits import CommandError, ExitCode
from tenancy.registry.models import Environment
from tenancy.registry.project import validate_project
from tenancy.stacks.affected import affected_stacks
from tenancy.stacks.catalog import stacks_of, write_stack_config


def _print_stacks(stacks, fmt: str) -> None:
    if fmt == "json":
        print(json.dumps({"include": [s.as_dict() for s in stacks]}, indent=2))
    else:
        for s in stacks:
            print(f"{s.name}\t{s.environment}\t{s.scope}")


def cmd_stacks(args) -> ExitCode:
    registry = validate_project(Path(args.cwd))
    environments = [args.environment] if args.environment else [e.value for e in Environment]
    _print_stacks([s for env in environments for s in stacks_of(registry, env)], args.format)
    return ExitCode.OK


def cmd_affected(args) -> ExitCode:
    _print_stacks(affected_stacks(Path(args.cwd), args.base, args.environment), args.format)
    return ExitCode.OK


def cmd_stack_config(args) -> ExitCode:
    try:
        path = write_stack_config(Path(args.cwd), args.stack, args.org)
    except ValueError as exc:
        raise CommandError(str(exc)) from None
    print(f"wrote {path}")
    return ExitCode.OK
