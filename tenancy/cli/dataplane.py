"""`db-bootstrap`, `db-check`, `cache-acl` and `cache-usage`: the pooled tenants' database roles and
Redis users, and the checks that they still keep tenants apart.

Passwords never reach the output; a server that refuses, or a missing credential, is exit 2.
"""

from __future__ import annotations

import json
import sys
from dataclasses import asdict
from pathlib import Path

from tenancy.cli.cell_session import cell_session, named_cell
from tenancy.dataplane.apply import apply_cache_acl, bootstrap_database, cache_usage
from tenancy.dataplane.credentials import (
    CredentialError,
    dsn_from_secret,
    env_name,
    from_environment,
    from_stack_secrets,
    platform_database,
)
from tenancy.dataplane.db_check import db_check, split_accepted
from tenancy.dataplane.postgres import bootstrap_script, database_options, pooled_tenants
from tenancy.dataplane.redis_acl import DEFAULT_OFF, acl_rules, pooled_cache_tenants
from tenancy.dataplane.redis_usage import render_json, render_table
from tenancy.exits import CommandError, ExitCode
from tenancy.registry.naming import DEFAULT_CELL, POOLED_DATABASE
from tenancy.registry.project import project_and_registry, validate_project

UNSHOWN = "unused"  # a stand-in password for dry runs: printed masked, never sent


def _registry(args):
    return validate_project(*project_and_registry(args.cwd, args.registry))


def _environment_tenants(args):
    """The tenants of the environment's cell (`--cell`, default: the cell named default): each cell has
    its own pooled database and cache."""
    registry = _registry(args)
    cell = getattr(args, "cell", None)
    named_cell(registry, cell)
    return registry.in_cell(args.environment, cell)


def _secrets_session(args):
    """The boto3 session that reads the cell's secrets: in its account and region (cells.yaml `aws`)."""
    name = getattr(args, "cell", None) or DEFAULT_CELL
    return cell_session(_registry(args).cells.get(name), None, name)


def _passwords(args, kind: str, tenant_ids: list[str]) -> dict[str, str]:
    found = from_environment(kind, tenant_ids)
    outputs = getattr(args, "stack_outputs", None) or []
    session = _secrets_session(args) if outputs else None
    for path in outputs:
        found.update(from_stack_secrets(Path(path), tenant_ids, session=session))
    return found


def _admin_dsn(args) -> str:
    """The pooled database's admin connection: --dsn, or from the platform's outputs or a secret."""
    if not args.dsn and not args.dsn_secret and not args.platform_outputs:
        raise CommandError("--dsn, --platform-outputs or --dsn-secret is required (or use --dry-run)")
    if args.dsn:
        return args.dsn
    where = platform_database(Path(args.platform_outputs)) if args.platform_outputs else {}
    return dsn_from_secret(args.dsn_secret or where["arn"], where.get("host"), where.get("port"), POOLED_DATABASE,
                           session=_secrets_session(args))


def _options(args):
    project, _ = project_and_registry(args.cwd, args.registry)
    return database_options(project, args.environment, getattr(args, "readmit", None) or ())


def cmd_db_bootstrap(args) -> ExitCode:
    tenants = _environment_tenants(args)
    pooled = [t.id for t in pooled_tenants(tenants)]
    options = _options(args)
    if args.dry_run:  # a fresh database: every role is new, so every password line is shown (masked)
        lines = [f"-- db-bootstrap for {len(pooled)} pooled tenants of {args.environment}; one transaction"]
        lines += bootstrap_script(tenants, POOLED_DATABASE, {t: UNSHOWN for t in pooled}, options)
        print("\n".join(lines))
        return ExitCode.OK
    result = bootstrap_database(_admin_dsn(args), tenants, _passwords(args, "db", pooled), args.reset_passwords,
                                options)
    for line in result.skipped:
        print(f"db-bootstrap: skipped {line}", file=sys.stderr)
    for line in result.warnings:
        print(f"db-bootstrap: {line}", file=sys.stderr)
    print(f"db-bootstrap: {result.statements} statements applied to database {result.database} for "
          f"{result.tenants} pooled tenants; new roles: {', '.join(result.created_roles) or 'none'}; "
          f"new databases: {', '.join(result.created_databases) or 'none'}; "
          f"sessions ended: {result.ended_sessions}")
    return ExitCode.OK


def cmd_db_check(args) -> ExitCode:
    tenants = _environment_tenants(args)
    options = _options(args)
    try:
        findings, accepted = split_accepted(db_check(_admin_dsn(args), tenants, options.tenant_column, options.pool_login),
                                            args.accept or [])
    except ValueError as exc:
        raise CommandError(str(exc)) from None
    if args.format == "json":
        print(json.dumps({"findings": [asdict(f) for f in findings], "accepted": [asdict(f) for f in accepted]},
                         indent=2))
    else:
        for finding in findings:
            print(finding)
        for finding in accepted:
            print(f"accepted: {finding}")
        print(f"db-check: {len(findings)} finding{'s' if len(findings) != 1 else ''}"
              + (f", {len(accepted)} accepted" if accepted else ""))
    return ExitCode.FAILED if findings else ExitCode.OK


def cmd_cache_acl(args) -> ExitCode:
    tenants = _environment_tenants(args)
    pooled = [t.id for t in pooled_cache_tenants(tenants)]
    if args.dry_run:
        rules = [*acl_rules(tenants, args.environment, {t: UNSHOWN for t in pooled}), DEFAULT_OFF]
        print("\n".join(rule.printable() for rule in rules))
        return ExitCode.OK
    if not args.url:
        raise CommandError("--url is required (or use --dry-run)")
    passwords = _passwords(args, "cache", pooled)
    missing = [t for t in pooled if t not in passwords]
    if missing:
        raise CredentialError(f"no password for {', '.join(missing)}: set "
                              f"{', '.join(env_name('cache', t) for t in missing)}")
    count = apply_cache_acl(args.url, acl_rules(tenants, args.environment, passwords))
    print(f"cache-acl: {count} tenant users applied, default user off")
    return ExitCode.OK


def cmd_cache_usage(args) -> ExitCode:
    tenants = _environment_tenants(args)
    ids = [t.id for t in pooled_cache_tenants(tenants)]
    usage = cache_usage(args.url, ids, threshold=args.threshold, sample_per_tenant=args.sample)
    print(render_json(usage) if args.format == "json" else render_table(usage))
    return ExitCode.FAILED if usage.over_threshold() else ExitCode.OK
