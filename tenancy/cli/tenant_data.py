"""`tenancy tenant move`, `offboard` and `restore-bundle`: the lifecycle commands that carry data.

This module builds their parsers; each handler imports its work (psycopg, redis, boto3,
cryptography) only when it runs. Connection strings carry passwords: give them as options or in the
environment (TENANCY_SOURCE_DSN, TENANCY_TARGET_DSN, TENANCY_POOL_ADMIN_DSN, TENANCY_SOURCE_REDIS,
TENANCY_TARGET_REDIS); they are never printed or written to the state file.
"""

from __future__ import annotations

import argparse
import os

from tenancy.exits import CommandError, ExitCode
from tenancy.registry.models import Environment, Tier

ENV_DEFAULTS = {"source_dsn": "TENANCY_SOURCE_DSN", "target_dsn": "TENANCY_TARGET_DSN",
                "pool_admin_dsn": "TENANCY_POOL_ADMIN_DSN", "source_redis": "TENANCY_SOURCE_REDIS",
                "target_redis": "TENANCY_TARGET_REDIS"}


def add_data_parsers(group: argparse._SubParsersAction) -> None:
    """Registers `move`, `offboard` and `restore-bundle` under `tenancy tenant`."""
    p = group.add_parser("move", help="move a tenant's data to another tier: provision, copy, verify, cut over, "
                                      "retire (resumable; --dry-run shows the steps)",
                         description="Moves the tenant's PostgreSQL tables and Redis keys between the pooled "
                                     "database and cache and ones of its own, in five resumable steps; the state "
                                     "file records each. Run the same command again to resume.")
    p.add_argument("id", help="the tenant id")
    p.add_argument("--to", required=True, choices=[t.value for t in Tier], help="the tier to move to")
    p.add_argument("--service", choices=["database", "cache"], help="move only this service (a hybrid tenant); "
                                                                   "default: the database and the cache")
    p.add_argument("--from", dest="from_tier", choices=[t.value for t in Tier],
                   help="where the data is now, when the registry was edited before the move (default: the registry)")
    p.add_argument("--data-isolation", choices=["schema", "row", "database"],
                   help="the pooled side's mode (default: the tenant's dataIsolation, else schema)")
    _environment(p)
    _database_args(p, "source")
    _database_args(p, "target")
    _pool_admin_args(p)
    p.add_argument("--source-redis", help="redis[s]://admin:PASSWORD@host:port/db of the cache holding the keys now")
    p.add_argument("--target-redis", help="an admin URL of the cache the keys move to")
    p.add_argument("--database-secret", help="the secret the tenant's applications read the database from "
                                             "(default: tenancy/<env>/<id>/database)")
    p.add_argument("--cache-secret", help="the secret they read the cache from (default: tenancy/<env>/<id>/cache)")
    p.add_argument("--state", help="the state file (default: .tenancy/moves/<env>-<id>.json)")
    p.add_argument("--confirm-retire", action="store_true",
                   help="step 5: delete the old copy (only after a verified cut-over)")
    p.add_argument("--replace-target", action="store_true",
                   help="the target may hold an earlier copy of the tenant's data: replace it")
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--dry-run", action="store_true", help="print the steps; connect to nothing, change nothing")
    mode.add_argument("--abort", action="store_true",
                      help="before the cut-over: lift the write freeze and remove the target copy")
    _registry(p)
    p.set_defaults(func=cmd_tenant_move)

    p = group.add_parser("offboard", help="export the tenant's data to an encrypted, locked bundle, verify it, "
                                          "then remove its access and schedule its key's deletion",
                         description="Nothing is deleted or disabled before the bundle verifies; a bundle that "
                                     "fails verification stops with exit 1 and everything intact.")
    p.add_argument("id", help="the tenant id (suspended in the registry)")
    _environment(p)
    p.add_argument("--bucket", required=True, help="the S3 bucket for bundles (created with versioning and object "
                                                   "lock when missing)")
    p.add_argument("--dsn", help="the tenant's data connection: its pooled login, or its own instance's admin "
                                 "(default for a pooled tenant: the pooled admin, acting as the tenant's role)")
    p.add_argument("--outputs", help="or: `pulumi stack output --json --show-secrets` of the stack holding it")
    _pool_admin_args(p)
    p.add_argument("--redis", help="an admin URL of the cache holding its keys")
    p.add_argument("--key-id", help="its KMS key (default: alias/tenancy/<env>/<id>)")
    p.add_argument("--retention-days", type=int, default=30, help="object lock retention of the bundle (default 30)")
    p.add_argument("--lock-mode", choices=["GOVERNANCE", "COMPLIANCE"], default="GOVERNANCE")
    p.add_argument("--verify-restore-dsn", help="an empty scratch database: verification also restores the bundle "
                                                "there and compares checksums")
    p.add_argument("--state", help="the state file (default: .tenancy/offboarding/<env>-<id>.json)")
    p.add_argument("--dry-run", action="store_true", help="print the steps; change nothing")
    _registry(p)
    p.set_defaults(func=cmd_tenant_offboard)

    p = group.add_parser("restore-bundle", help="verify an offboarding bundle and restore it into an empty "
                                                "database and cache")
    p.add_argument("id", help="the tenant id the bundle belongs to")
    p.add_argument("--bundle", required=True, help="s3://bucket/key[?versionId=V]")
    p.add_argument("--target-dsn", help="an empty database to restore the tables into")
    p.add_argument("--target-redis", help="an admin URL of a cache without the tenant's keys")
    p.add_argument("--verify-only", action="store_true", help="decrypt and check the bundle; restore nothing")
    p.set_defaults(func=cmd_tenant_restore_bundle)


def _environment(p: argparse.ArgumentParser) -> None:
    p.add_argument("--environment", required=True, choices=[e.value for e in Environment])


def _registry(p: argparse.ArgumentParser) -> None:
    p.add_argument("--registry", help="the registry directory (default: ./tenants)")
    p.add_argument("--cwd", default=".", help="the Pulumi project directory (default: .)")


def _database_args(p: argparse.ArgumentParser, side: str) -> None:
    what = "holding the tables now" if side == "source" else "the tables move to"
    p.add_argument(f"--{side}-dsn", help=f"PostgreSQL connection of the database {what}: the tenant's own login "
                                         "in the pool, the admin of an instance of its own")
    p.add_argument(f"--{side}-outputs", help="or: `pulumi stack output --json --show-secrets` of the stack that "
                                             "holds it (the tenant's databaseSecretArn and databaseEndpoint)")


def _pool_admin_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--pool-admin-dsn", help="the pooled database's admin (row mode: freezing, retiring; offboarding: "
                                            "disabling the login)")
    p.add_argument("--platform-outputs", help="or: the platform stack's `pulumi stack output --json`")
    p.add_argument("--dsn-secret", help="with --platform-outputs: another secret with the admin's credentials")


def _value(args, name: str):
    value = getattr(args, name, None)
    return value or (os.environ.get(ENV_DEFAULTS[name]) if name in ENV_DEFAULTS else None)


def _tenant(args):
    from pathlib import Path

    from tenancy.registry.project import project_and_registry, validate_project

    project, registry_dir = project_and_registry(args.cwd, args.registry)
    registry = validate_project(Path(project), Path(registry_dir))
    tenant = next((t for t in registry.in_environment(args.environment) if t.id == args.id), None)
    if tenant is None:
        raise CommandError(f"no tenant {args.id} in {args.environment} (registry {registry_dir})")
    return tenant


def _pool_admin(args):
    if _value(args, "pool_admin_dsn"):
        return _value(args, "pool_admin_dsn")
    if args.platform_outputs or args.dsn_secret:
        from pathlib import Path

        from tenancy.dataplane.credentials import dsn_from_secret, platform_database
        from tenancy.registry.naming import POOLED_DATABASE

        where = platform_database(Path(args.platform_outputs)) if args.platform_outputs else {}
        return dsn_from_secret(args.dsn_secret or where["arn"], where.get("host"), where.get("port"), POOLED_DATABASE)
    return None


def _dsn(args, side: str, tenant_id: str, dry_run: bool):
    dsn = _value(args, f"{side}_dsn")
    outputs = getattr(args, f"{side}_outputs")
    if not dsn and outputs and not dry_run:
        from pathlib import Path

        from tenancy.lifecycle.connection import tenant_dsn_from_outputs

        dsn = tenant_dsn_from_outputs(Path(outputs), tenant_id)
    return dsn or (f"(--{side}-dsn)" if dry_run else None)


def _pooled_mode(tenant, args) -> str:
    if getattr(args, "data_isolation", None):
        return args.data_isolation
    mode = tenant.tenant.data_isolation or tenant.data_isolation
    return mode.value if mode is not None else "schema"


def cmd_tenant_move(args) -> ExitCode:
    from pathlib import Path

    from tenancy.lifecycle.connection import SecretsManagerWriter, default_secret_id
    from tenancy.lifecycle.move import Move, MovePlan, dry_run_lines, moving_services, registry_change, target_stacks
    from tenancy.lifecycle.pgcopy import PgSide
    from tenancy.lifecycle.rediscopy import RedisSide
    from tenancy.lifecycle.state import StateFile, default_path
    from tenancy.registry.models import Service
    from tenancy.registry.naming import cache_user_id, key_alias

    tenant = _tenant(args)
    env, to = args.environment, Tier(args.to)
    service = Service(args.service) if args.service else None
    state = Path(args.state) if args.state else default_path("moves", env, tenant.id)
    recorded = StateFile.load(state)
    if recorded and recorded.data.get("status") in ("in-progress", "cut-over") and recorded.data.get("to") == to.value:
        services = recorded.data["services"]  # a move under way: its state says where the data was
    else:
        services = moving_services(tenant, to, service, Tier(args.from_tier) if args.from_tier else None)
    mode = _pooled_mode(tenant, args)
    dry = args.dry_run
    plan = MovePlan(tenant.id, env, to.value, services, stacks=target_stacks(env, tenant, to, service),
                    registry_change=registry_change(tenant.id, to, service, mode, services),
                    database_secret=args.database_secret or default_secret_id(env, tenant.id, "database"),
                    cache_secret=args.cache_secret or default_secret_id(env, tenant.id, "cache"),
                    scope=f"--service {service.value}" if service else "")
    missing = []
    if "database" in services:
        source, target = _dsn(args, "source", tenant.id, dry), _dsn(args, "target", tenant.id, dry)
        from_pool, to_pool = services["database"] == Tier.shared.value, to is Tier.shared
        admin = None if dry else _pool_admin(args)
        if from_pool and mode == "row" and not admin and not dry:
            missing.append("--pool-admin-dsn or --platform-outputs (a row-mode tenant's freeze and retirement)")
        missing += [f"--{s}-dsn or --{s}-outputs" for s, d in (("source", source), ("target", target)) if not d]
        plan.database = (PgSide(source or "", tenant.id, from_pool, mode, admin if from_pool else None),
                         PgSide(target or "", tenant.id, to_pool, mode))
    if "cache" in services:
        source, target = _value(args, "source_redis"), _value(args, "target_redis")
        missing += [f"--{s}-redis" for s, u in (("source", source), ("target", target)) if not u and not dry]
        user = cache_user_id(env, tenant.id)
        plan.cache = (RedisSide(source or "(--source-redis)", tenant.id, user, services["cache"] == Tier.shared.value),
                      RedisSide(target or "(--target-redis)", tenant.id, user, to is Tier.shared))
    if dry:
        print("\n".join(dry_run_lines(plan, args.confirm_retire)))
        return ExitCode.OK
    if missing:
        raise CommandError("the move needs " + "; ".join(missing))
    secrets = SecretsManagerWriter(kms_key_id=key_alias(env, tenant.id),
                                   tags={"tenant-id": tenant.id, "environment": env, "managed-by": "tenancy"})
    move = Move(plan, state, secrets, confirm_retire=args.confirm_retire, replace_target=args.replace_target)
    return move.abort() if args.abort else move.run()


def cmd_tenant_offboard(args) -> ExitCode:
    from pathlib import Path

    from tenancy.lifecycle.offboard import Offboard, OffboardPlan, dry_run_lines
    from tenancy.lifecycle.pgcopy import PgSide
    from tenancy.lifecycle.rediscopy import RedisSide
    from tenancy.lifecycle.state import default_path
    from tenancy.registry.models import Service
    from tenancy.registry.naming import cache_user_id, database_identifier, key_alias, tenant_database

    tenant = _tenant(args)
    env = args.environment
    pooled_db = tenant.tier(Service.database) is Tier.shared
    mode = _pooled_mode(tenant, args)
    admin = None if args.dry_run else _pool_admin(args)
    plan = OffboardPlan(tenant.id, env, tenant.tenant.status.value, args.bucket, args.key_id or key_alias(env, tenant.id),
                        db_instance=None if pooled_db else database_identifier(env, tenant.id),
                        retention_days=args.retention_days, lock_mode=args.lock_mode,
                        verify_restore_dsn=args.verify_restore_dsn)
    dsn = args.dsn
    if not dsn and args.outputs and not args.dry_run:
        from tenancy.lifecycle.connection import tenant_dsn_from_outputs

        dsn = tenant_dsn_from_outputs(Path(args.outputs), tenant.id)
    as_tenant = False
    if not dsn and pooled_db and admin:
        as_tenant = True
        dsn = admin
        if mode == "database":
            from psycopg.conninfo import make_conninfo

            dsn = make_conninfo(admin, dbname=tenant_database(tenant.id))
    if dsn or args.dry_run:
        plan.database = PgSide(dsn or "(--dsn)", tenant.id, pooled_db, mode, admin if pooled_db else None, as_tenant)
    if args.redis or args.dry_run:
        plan.cache = RedisSide(args.redis or "(--redis)", tenant.id, cache_user_id(env, tenant.id),
                               tenant.tier(Service.cache) is Tier.shared)
    if args.dry_run:
        print("\n".join(dry_run_lines(plan)))
        return ExitCode.OK
    if plan.database is None:
        raise CommandError("the offboarding needs the tenant's database: --dsn, --outputs, or (pooled) "
                           "--pool-admin-dsn / --platform-outputs")
    if plan.database.pooled and not admin:
        raise CommandError("a pooled tenant's login is disabled by the pooled database's admin: --pool-admin-dsn or "
                           "--platform-outputs")
    if plan.cache is None:
        raise CommandError("the offboarding needs the cache holding its keys: --redis (an admin URL)")
    state = Path(args.state) if args.state else default_path("offboarding", env, tenant.id)
    return Offboard(plan, state).run()


def cmd_tenant_restore_bundle(args) -> ExitCode:
    from tenancy.lifecycle import archive, bundle
    from tenancy.lifecycle.connection import aws_client

    bucket, key, version = bundle.parse_url(args.bundle)
    blob = bundle.BundleStore(bucket).get(key, version)
    manifest, files = bundle.verify(blob, aws_client("kms"), args.id)
    database = (manifest.get("database") or {}).get("checksums") or {}
    cache = (manifest.get("cache") or {}).get("checksum")
    print(f"bundle {args.bundle}: {manifest['tenant']} ({manifest['environment']}) of {manifest['created']}, "
          f"{len([k for k in database if not k.startswith('sequence ')])} table(s), "
          f"{cache[0] if cache else 0} key(s): verified")
    if args.verify_only:
        return ExitCode.OK
    if not args.target_dsn and not args.target_redis:
        raise CommandError("--target-dsn and/or --target-redis (or --verify-only)")
    for line in archive.restore(manifest, files, args.target_dsn, args.target_redis):
        print(f"restored {line}; checksums equal the bundle's")
    return ExitCode.OK
