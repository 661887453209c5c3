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
from .project import project_and_registry, validate_project

EXIT_OK, EXIT_INVALID, EXIT_USAGE = 0, 1, 2


def _project_and_registry(args) -> tuple[Path, Path]:
    return project_and_registry(args.cwd, args.registry)


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


def cmd_db_bootstrap(args) -> int:
    from .dataplane_cli import db_bootstrap

    return db_bootstrap(args)


def cmd_cache_acl(args) -> int:
    from .dataplane_cli import cache_acl

    return cache_acl(args)


def cmd_audit(args) -> int:
    import boto3
    from botocore.exceptions import BotoCoreError, ClientError

    from .audit import HIGH, audit, render_json, render_table

    try:
        project, registry_dir = _project_and_registry(args)
        registry = validate_project(project, registry_dir)
    except RegistryInvalid as exc:
        print(exc, file=sys.stderr)
        return EXIT_USAGE
    try:
        session = boto3.Session(region_name=args.region) if args.region else boto3.Session()
        if not session.region_name:
            print("audit: no AWS region: pass --region or set AWS_REGION", file=sys.stderr)
            return EXIT_USAGE
        findings = audit(session, registry, args.environment)
    except (BotoCoreError, ClientError) as exc:
        print(f"audit: cannot read the account: {exc}", file=sys.stderr)
        return EXIT_USAGE
    render = render_json if args.format == "json" else render_table
    print(render(findings, args.environment, len(registry.in_environment(args.environment))))
    return EXIT_INVALID if any(f.severity == HIGH for f in findings) else EXIT_OK


def cmd_stack_config(args) -> int:
    from .stacks import write_stack_config

    try:
        path = write_stack_config(Path(args.cwd), args.stack, args.org)
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

    p = sub.add_parser("db-bootstrap", help="apply the pooled tenants' roles, schemas and row security (SQL)")
    p.add_argument("--dsn", help="PostgreSQL connection string of the pooled database (an admin role)")
    p.add_argument("--dsn-secret", help="or: the ARN of the secret holding the pooled database's master credentials")
    p.add_argument("--environment", required=True, choices=[e.value for e in Environment])
    p.add_argument("--dry-run", action="store_true", help="print the SQL (passwords masked) without connecting")
    p.add_argument("--reset-passwords", action="store_true", help="also set the passwords of existing roles")
    p.add_argument("--stack-outputs", help="`pulumi stack output --json` file: passwords from the tenants' secrets")
    p.add_argument("--registry", help="the registry directory (default: ./tenants)")
    p.add_argument("--cwd", default=".")
    p.set_defaults(func=cmd_db_bootstrap)

    p = sub.add_parser("cache-acl", help="apply the pooled tenants' Redis ACL users (self-managed Redis; "
                                        "ElastiCache gets the same rules through its user resources)")
    p.add_argument("--url", help="redis[s]://admin:PASSWORD@host:port of the pooled cache")
    p.add_argument("--environment", required=True, choices=[e.value for e in Environment])
    p.add_argument("--dry-run", action="store_true", help="print the ACL rules (passwords masked) without connecting")
    p.add_argument("--registry", help="the registry directory (default: ./tenants)")
    p.add_argument("--cwd", default=".")
    p.set_defaults(func=cmd_cache_acl)

    p = sub.add_parser("audit", help="check the live account: is every tenant still isolated? (read-only)")
    p.add_argument("--environment", default="prod", choices=[e.value for e in Environment])
    p.add_argument("--region", help="default: the AWS configuration's region")
    p.add_argument("--format", choices=("table", "json"), default="table")
    p.add_argument("--registry", help="the registry directory (default: ./tenants)")
    p.add_argument("--cwd", default=".")
    p.set_defaults(func=cmd_audit)

    p = sub.add_parser("stack-config", help="write Pulumi.<stack>.yaml of a split stack for the Pulumi CLI")
    p.add_argument("--stack", required=True)
    p.add_argument("--org", help="name the platform stack in full: ORG/<project>/<env>-platform")
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
    except BrokenPipeError:  # output piped into `head` and the like
        sys.stderr.close()
        return EXIT_OK
