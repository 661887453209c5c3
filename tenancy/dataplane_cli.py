"""The data-plane commands: `db-bootstrap` and `cache-acl`, with one way of failing.

Exit codes: 0 applied (or printed), 1 the server or the credentials refused, 2 bad usage or an
invalid registry. Passwords never reach the output.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Callable

from .credentials import CredentialError, dsn_from_secret, env_name, from_environment, from_stack_secrets
from .dataplane import DataPlaneError, apply_cache_acl, bootstrap_database
from .naming import POOLED_DATABASE
from .pool_acl import DEFAULT_OFF, acl_rules, pooled_cache_tenants
from .pool_sql import bootstrap_statements, pooled_tenants
from .problems import RegistryInvalid
from .project import project_and_registry, validate_project

EXIT_OK, EXIT_REFUSED, EXIT_USAGE = 0, 1, 2
UNSHOWN = "unused"  # a stand-in password for dry runs: printed masked, never sent


class UsageError(Exception):
    pass


def _guarded(command: str, body: Callable[[], str]) -> int:
    """Run a command body; print its summary, or its failure with the right exit code."""
    try:
        summary = body()
    except RegistryInvalid as exc:
        print(exc, file=sys.stderr)
        return EXIT_USAGE
    except UsageError as exc:
        print(f"{command}: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except (DataPlaneError, CredentialError) as exc:
        print(f"{command}: {exc}", file=sys.stderr)
        return EXIT_REFUSED
    if summary:
        print(summary)
    return EXIT_OK


def _environment_tenants(args):
    project, registry_dir = project_and_registry(args.cwd, args.registry)
    return validate_project(project, registry_dir).in_environment(args.environment)


def _passwords(args, kind: str, tenant_ids: list[str]) -> dict[str, str]:
    found = from_environment(kind, tenant_ids)
    if getattr(args, "stack_outputs", None):
        found.update(from_stack_secrets(Path(args.stack_outputs), tenant_ids))
    return found


def db_bootstrap(args) -> int:
    def body() -> str:
        tenants = _environment_tenants(args)
        pooled = [t.id for t in pooled_tenants(tenants)]
        if args.dry_run:  # a fresh database: every role is new, so every password line is shown (masked)
            lines = [f"-- db-bootstrap for {len(pooled)} pooled tenants of {args.environment}; one transaction",
                     "BEGIN;"]
            lines += [s.printable() + ";" for s in bootstrap_statements(tenants, POOLED_DATABASE,
                                                                       {t: UNSHOWN for t in pooled})]
            return "\n".join(lines + ["COMMIT;"])
        if not args.dsn and not args.dsn_secret:
            raise UsageError("--dsn or --dsn-secret is required (or use --dry-run)")
        dsn = args.dsn or dsn_from_secret(args.dsn_secret)
        result = bootstrap_database(dsn, tenants, _passwords(args, "db", pooled), args.reset_passwords)
        return (f"db-bootstrap: {result.statements} statements applied to database {result.database} for "
                f"{result.tenants} pooled tenants; new roles: {', '.join(result.created_roles) or 'none'}")

    return _guarded("db-bootstrap", body)


def cache_acl(args) -> int:
    def body() -> str:
        tenants = _environment_tenants(args)
        pooled = [t.id for t in pooled_cache_tenants(tenants)]
        if args.dry_run:
            rules = [*acl_rules(tenants, args.environment, {t: UNSHOWN for t in pooled}), DEFAULT_OFF]
            return "\n".join(rule.printable() for rule in rules)
        if not args.url:
            raise UsageError("--url is required (or use --dry-run)")
        passwords = _passwords(args, "cache", pooled)
        missing = [t for t in pooled if t not in passwords]
        if missing:
            raise CredentialError(f"no password for {', '.join(missing)}: set "
                                  f"{', '.join(env_name('cache', t) for t in missing)}")
        count = apply_cache_acl(args.url, acl_rules(tenants, args.environment, passwords))
        return f"cache-acl: {count} tenant users applied, default user off"

    return _guarded("cache-acl", body)
