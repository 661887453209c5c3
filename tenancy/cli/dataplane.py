"""`db-bootstrap` and `cache-acl`: the pooled tenants' database roles and Redis users.

Passwords never reach the output; a server that refuses, or a missing credential, is exit 2.
"""

from __future__ import annotations

from pathlib import Path

from tenancy.dataplane.apply import apply_cache_acl, bootstrap_database
from tenancy.dataplane.credentials import (
    CredentialError,
    dsn_from_secret,
    env_name,
    from_environment,
    from_stack_secrets,
    platform_database,
)
from tenancy.dataplane.postgres import bootstrap_statements, pooled_tenants
from tenancy.dataplane.redis_acl import DEFAULT_OFF, acl_rules, pooled_cache_tenants
from tenancy.exits import CommandError, ExitCode
from tenancy.registry.naming import POOLED_DATABASE
from tenancy.registry.project import project_and_registry, validate_project

UNSHOWN = "unused"  # a stand-in password for dry runs: printed masked, never sent


def _environment_tenants(args):
    project, registry_dir = project_and_registry(args.cwd, args.registry)
    return validate_project(project, registry_dir).in_environment(args.environment)


def _passwords(args, kind: str, tenant_ids: list[str]) -> dict[str, str]:
    found = from_environment(kind, tenant_ids)
    if getattr(args, "stack_outputs", None):
        found.update(from_stack_secrets(Path(args.stack_outputs), tenant_ids))
    return found


def cmd_db_bootstrap(args) -> ExitCode:
    tenants = _environment_tenants(args)
    pooled = [t.id for t in pooled_tenants(tenants)]
    if args.dry_run:  # a fresh database: every role is new, so every password line is shown (masked)
        lines = [f"-- db-bootstrap for {len(pooled)} pooled tenants of {args.environment}; one transaction",
                 "BEGIN;"]
        lines += [s.printable() + ";" for s in bootstrap_statements(tenants, POOLED_DATABASE,
                                                                   {t: UNSHOWN for t in pooled})]
        print("\n".join(lines + ["COMMIT;"]))
        return ExitCode.OK
    if not args.dsn and not args.dsn_secret and not args.platform_outputs:
        raise CommandError("--dsn, --platform-outputs or --dsn-secret is required (or use --dry-run)")
    where = platform_database(Path(args.platform_outputs)) if args.platform_outputs else {}
    dsn = args.dsn or dsn_from_secret(args.dsn_secret or where["arn"], where.get("host"), where.get("port"),
                                      POOLED_DATABASE)
    result = bootstrap_database(dsn, tenants, _passwords(args, "db", pooled), args.reset_passwords)
    print(f"db-bootstrap: {result.statements} statements applied to database {result.database} for "
          f"{result.tenants} pooled tenants; new roles: {', '.join(result.created_roles) or 'none'}")
    return ExitCode.OK


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
