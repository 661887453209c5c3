"""`stacks`, `affected` and `stack-config`: which stacks exist and in which waves they deploy, which
a change touches, and the settings file of a split stack."""

from __future__ import annotations

import json
from pathlib import Path

from tenancy.exits import CommandError, ExitCode
from tenancy.registry.models import Environment
from tenancy.registry.project import validate_project
from tenancy.stacks.affected import affected_stacks
from tenancy.stacks.catalog import StackRef, group_waves, waves, write_stack_config


def _print_stacks(stacks: list[StackRef], fmt: str) -> None:
    """json: `{"include": [...], "waves": [...]}` (`include` is a GitHub Actions matrix: every
    stack, each with its environment, scope, cell and wave); text: the stacks wave by wave."""
    grouped = group_waves(stacks)
    unknown = [s for s in stacks if not any(s in w.stacks for w in grouped)]
    if fmt == "json":
        print(json.dumps({"include": [s.as_dict() for s in stacks],
                          "waves": [w.as_dict() for w in grouped]}, indent=2))
        return
    for wave in grouped:
        print(f"wave {wave.number}: {wave.name}")
        for s in wave.stacks:
            print(f"  {s.name}\t{s.environment}\t{s.cell}\t{s.scope}")
    for s in unknown:
        print(f"  {s.name}\t{s.environment}\t{s.cell}\t{s.scope}")


def cmd_stacks(args) -> ExitCode:
    registry = validate_project(Path(args.cwd))
    environments = [args.environment] if args.environment else [e.value for e in Environment]
    _print_stacks([s for wave in waves(registry, environments) for s in wave.stacks], args.format)
    return ExitCode.OK


def cmd_affected(args) -> ExitCode:
    stacks = affected_stacks(Path(args.cwd), args.base, args.environment)
    if args.wave is not None:
        stacks = [s for s in stacks if s.wave == args.wave]
    _print_stacks(stacks, args.format)
    return ExitCode.OK


def cmd_stack_config(args) -> ExitCode:
    try:
        path = write_stack_config(Path(args.cwd), args.stack, args.org)
    except ValueError as exc:
        raise CommandError(str(exc)) from None
    print(f"wrote {path}")
    return ExitCode.OK
