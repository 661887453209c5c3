"""`validate` and `schema`: the registry's own commands."""

from __future__ import annotations

from pathlib import Path

from tenancy.exits import ExitCode
from tenancy.registry import schema
from tenancy.registry.project import project_and_registry, validate_project


def cmd_validate(args) -> ExitCode:
    registry = validate_project(*project_and_registry(args.cwd, args.registry))
    n = len(registry.tenants)
    print(f"{n} tenant{'s' if n != 1 else ''} OK")
    return ExitCode.OK


def cmd_schema(args) -> ExitCode:
    path = Path(args.output)
    if args.check:
        current = path.read_text() if path.exists() else ""
        if current != schema.render():
            print(f"{path} is out of date; run: tenancy schema")
            return ExitCode.FAILED
        print(f"{path} is current")
        return ExitCode.OK
    changed = schema.write(path)
    print(f"{'wrote' if changed else 'unchanged:'} {path}")
    return ExitCode.OK
