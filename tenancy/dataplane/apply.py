"""Apply the pooled tier's data-plane isolation: SQL to the pooled PostgreSQL (one transaction) and
ACL rules to a Redis server (one MULTI/EXEC). Errors become DataPlaneError with a message that
names the server but never a password."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

from tenancy.dataplane.credentials import env_name
from tenancy.dataplane.postgres import Statement, bootstrap_statements, pooled_tenants
from tenancy.dataplane.redis_acl import DEFAULT_OFF, AclRule
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


def plan_bootstrap(tenants: list[EffectiveTenant], database: str, passwords: dict[str, str],
                   existing_roles: set[str], reset_passwords: bool) -> list[Statement]:
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
    return bootstrap_statements(tenants, database, chosen)


def bootstrap_database(dsn: str, tenants: list[EffectiveTenant], passwords: dict[str, str],
                       reset_passwords: bool = False) -> BootstrapResult:
    import psycopg

    where = safe_location(dsn)
    try:
        conn = psycopg.connect(dsn, connect_timeout=CONNECT_TIMEOUT_SECONDS, autocommit=False)
    except psycopg.OperationalError as exc:
        raise DataPlaneError(f"cannot connect to {where}: {_first_line(exc)}") from None
    try:
        with conn:
            database = conn.info.dbname
            roles = {database_role(t.id) for t in pooled_tenants(tenants)}
            existing = {row[0] for row in conn.execute(
                "SELECT rolname FROM pg_roles WHERE rolname = ANY(%s)", [list(roles)])}
            statements = plan_bootstrap(tenants, database, passwords, existing, reset_passwords)
            for statement in statements:
                conn.execute(statement.composed())
        return BootstrapResult(len(statements), len(pooled_tenants(tenants)), database, sorted(roles - existing))
    except psycopg.Error as exc:
        raise DataPlaneError(f"{where}: nothing was changed (rolled back): {_first_line(exc)}") from None
    finally:
        conn.close()


def _first_line(exc: Exception) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]


def apply_cache_acl(url: str, rules: list[AclRule]) -> int:
    """Apply every rule and switch the default user off, atomically; return the number of rules."""
    import redis

    where = safe_location(url)
    client = redis.Redis.from_url(url, socket_connect_timeout=CONNECT_TIMEOUT_SECONDS, decode_responses=True)
    try:
        me = client.acl_whoami()
        if me == "default":
            raise DataPlaneError(f"{where}: connected as the default user, which this switches off; connect as "
                                 "an admin user (redis://admin:PASSWORD@host:port)")
        pipe = client.pipeline(transaction=True)
        for rule in [*rules, DEFAULT_OFF]:
            pipe.execute_command("ACL", "SETUSER", *rule.args())
        pipe.execute()
        return len(rules)
    except redis.AuthenticationError:
        raise DataPlaneError(f"{where}: authentication failed (check the user and password)") from None
    except redis.ConnectionError as exc:
        raise DataPlaneError(f"cannot connect to {where}: {_first_line(exc)}") from None
    except redis.ResponseError as exc:
        raise DataPlaneError(f"{where}: nothing was changed: {_first_line(exc)}") from None
    finally:
        client.close()
