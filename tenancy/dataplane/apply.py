"""Apply the pooled tier's data-plane isolation: SQL to the pooled PostgreSQL (one transaction) and
ACL rules to a Redis server (one MULTI/EXEC); measure the pooled cache's per-tenant usage. Errors
become DataPlaneError with a message that names the server but never a password."""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass, field
from urllib.parse import urlsplit, urlunsplit

from tenancy.dataplane.credentials import env_name
from tenancy.dataplane.postgres import (
    DEFAULT_OPTIONS,
    NOTICE_PREFIX,
    SKIPPED_PREFIX,
    DatabaseOptions,
    Statement,
    bootstrap_statements,
    create_database_statements,
    database_tenants,
    own_database_statements,
    pooled_tenants,
    tenant_database,
)
from tenancy.dataplane.redis_acl import DEFAULT_OFF, AclRule
from tenancy.dataplane.redis_usage import MOVE_TO_DEDICATED_SHARE, SAMPLE_PER_TENANT, CacheUsage, measure_usage
from tenancy.exits import CommandError
from tenancy.registry.naming import database_role
from tenancy.registry.tiers import EffectiveTenant

CONNECT_TIMEOUT_SECONDS = 10


class DataPlaneError(CommandError):
    """The server refused or the change failed (and was rolled back): exit 2."""


def safe_location(url: str) -> str:
    """A DSN or URL without its password, for messages."""
    if "://" not in url:
        return " ".join(part for part in url.split() if not part.startswith("password="))
    parts = urlsplit(url)
    host = parts.hostname or ""
    netloc = (f"{parts.username}@" if parts.username else "") + host + (f":{parts.port}" if parts.port else "")
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


@dataclass(frozen=True)
class BootstrapResult:
    statements: int
    tenants: int
    database: str
    created_roles: list[str]
    skipped: list[str] = field(default_factory=list)  # "shared.x: why": tables no tenant was granted
    warnings: list[str] = field(default_factory=list)  # what the admin could not do, and tenants that left
    created_databases: list[str] = field(default_factory=list)  # dataIsolation: database
    ended_sessions: int = 0  # sessions of roles that may no longer log in, ended after the commit


def plan_bootstrap(tenants: list[EffectiveTenant], database: str, passwords: dict[str, str],
                   existing_roles: set[str], reset_passwords: bool,
                   options: DatabaseOptions = DEFAULT_OPTIONS) -> list[Statement]:
    """Which passwords to set (new roles, or all on a reset) and the statements; refuses to go on
    when an active new role has no password, before anything is applied."""
    pooled = pooled_tenants(tenants)
    missing = [t.id for t in pooled if database_role(t.id) not in existing_roles and not t.suspended
               and t.id not in passwords]
    if missing:
        names = ", ".join(env_name("db", t) for t in missing)
        raise DataPlaneError(f"no password for the new role(s) of {', '.join(missing)}: give the stack outputs "
                             f"(--stack-outputs) or set {names}")
    chosen = {t.id: passwords[t.id] for t in pooled if t.id in passwords
              and (reset_passwords or database_role(t.id) not in existing_roles)}
    return bootstrap_statements(tenants, database, chosen, options)


def bootstrap_database(dsn: str, tenants: list[EffectiveTenant], passwords: dict[str, str],
                       reset_passwords: bool = False, options: DatabaseOptions = DEFAULT_OPTIONS) -> BootstrapResult:
    """The pooled database in one transaction; then each `database` tenant's own database (created
    when missing, then set up in a transaction of its own); then the sessions of roles that may no
    longer log in are ended (a NOLOGIN role's open sessions would otherwise live on)."""
    import psycopg

    where = safe_location(dsn)
    notices: list[str] = []
    conn = _connect(dsn, where, notices)
    try:
        try:
            with conn.transaction():
                database = conn.info.dbname
                roles = {database_role(t.id) for t in pooled_tenants(tenants)}
                existing = {row[0] for row in conn.execute(
                    "SELECT rolname FROM pg_roles WHERE rolname = ANY(%s)", [list(roles)])}
                statements = plan_bootstrap(tenants, database, passwords, existing, reset_passwords, options)
                for statement in statements:
                    conn.execute(statement.composed())
        except psycopg.Error as exc:
            raise DataPlaneError(f"{where}: nothing was changed (rolled back): {_first_line(exc)}") from None
        created = _own_databases(conn, dsn, where, tenants, notices)
        ended = _end_sessions(conn, notices)
    finally:
        conn.close()
    skipped = [n.removeprefix(SKIPPED_PREFIX) for n in notices if n.startswith(SKIPPED_PREFIX)]
    warnings = [n.removeprefix(NOTICE_PREFIX) for n in notices if not n.startswith(SKIPPED_PREFIX)]
    return BootstrapResult(len(statements), len(pooled_tenants(tenants)), database, sorted(roles - existing),
                           skipped, warnings, created, ended)


def _connect(dsn: str, where: str, notices: list[str], **changes):
    import psycopg
    from psycopg.conninfo import make_conninfo

    try:
        conn = psycopg.connect(make_conninfo(dsn, **changes) if changes else dsn,
                               connect_timeout=CONNECT_TIMEOUT_SECONDS, autocommit=False)
    except psycopg.OperationalError as exc:
        raise DataPlaneError(f"cannot connect to {where}: {_first_line(exc)}") from None

    def collect(diagnostic) -> None:
        message = diagnostic.message_primary or ""
        if message.startswith(NOTICE_PREFIX):
            notices.append(message)

    conn.add_notice_handler(collect)
    return conn


def _own_databases(conn, dsn: str, where: str, tenants: list[EffectiveTenant], notices: list[str]) -> list[str]:
    """`dataIsolation: database`: create each missing database (no transaction may hold CREATE
    DATABASE), then set each up in a transaction inside it."""
    import psycopg

    created = []
    for tenant in database_tenants(tenants):
        name = tenant_database(tenant.id)
        try:
            conn.autocommit = True
            if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone() is None:
                for statement in create_database_statements(tenant):
                    conn.execute(statement.composed())
                created.append(name)
            own = _connect(dsn, where, notices, dbname=name)
            try:
                with own:
                    for statement in own_database_statements(tenant):
                        own.execute(statement.composed())
            finally:
                own.close()
        except psycopg.Error as exc:
            raise DataPlaneError(f"{where}: the pooled database was bootstrapped, but {tenant.id}'s own database "
                                 f"{name} failed (run db-bootstrap again): {_first_line(exc)}") from None
    return created


def _end_sessions(conn, notices: list[str]) -> int:
    """End the open sessions of bound tenant roles that may not log in (suspended, left the pool):
    NOLOGIN only refuses new ones. Needs pg_signal_backend (RDS's master user has it)."""
    import psycopg

    try:
        conn.autocommit = True
        row = conn.execute("SELECT count(*) FILTER (WHERE pg_terminate_backend(a.pid)) FROM pg_stat_activity a "
                           "JOIN pg_roles r ON r.oid = a.usesysid JOIN tenancy.tenant_roles t ON t.role_name = r.rolname "
                           "WHERE NOT r.rolcanlogin").fetchone()
        return int(row[0])
    except psycopg.Error as exc:
        notices.append(f"{NOTICE_PREFIX}the sessions of tenants that may no longer log in were not ended: "
                       f"{_first_line(exc)}")
        return 0


def _first_line(exc: Exception) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]


@contextmanager
def _redis_admin(url: str, refused: str, **options):
    """An admin client of the cache at `url`; its failures as DataPlaneError naming the server
    (never the password), `refused` saying what a refused command means for the caller."""
    import redis

    where = safe_location(url)
    client = redis.Redis.from_url(url, socket_connect_timeout=CONNECT_TIMEOUT_SECONDS, **options)
    try:
        yield client, where
    except redis.AuthenticationError:
        raise DataPlaneError(f"{where}: authentication failed (check the user and password)") from None
    except redis.ConnectionError as exc:
        raise DataPlaneError(f"cannot connect to {where}: {_first_line(exc)}") from None
    except redis.ResponseError as exc:
        raise DataPlaneError(f"{where}: {refused}: {_first_line(exc)}") from None
    finally:
        client.close()


def apply_cache_acl(url: str, rules: list[AclRule]) -> int:
    """Apply every rule and switch the default user off, atomically; return the number of rules."""
    with _redis_admin(url, "nothing was changed", decode_responses=True) as (client, where):
        if client.acl_whoami() == "default":
            raise DataPlaneError(f"{where}: connected as the default user, which this switches off; connect as "
                                 "an admin user (redis://admin:PASSWORD@host:port)")
        pipe = client.pipeline(transaction=True)
        for rule in [*rules, DEFAULT_OFF]:
            pipe.execute_command("ACL", "SETUSER", *rule.args())
        pipe.execute()
        return len(rules)


def cache_usage(url: str, tenant_ids: list[str], threshold: float = MOVE_TO_DEDICATED_SHARE,
                sample_per_tenant: int = SAMPLE_PER_TENANT) -> CacheUsage:
    """Per-tenant keys and memory of the pooled cache, read-only, as an admin user (SCAN, MEMORY
    USAGE, INFO memory: a tenant user may run none of them)."""
    with _redis_admin(url, "the measurement was refused") as (client, _):
        return measure_usage(client, tenant_ids, sample_per_tenant=sample_per_tenant, threshold=threshold)
