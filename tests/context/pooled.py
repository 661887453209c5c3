"""A pooled PostgreSQL database bootstrapped by the project's own db-bootstrap (the dataplane tests'
tenants and shared table, imported), plus the pooled-services login that the runtime library logs
in as. db-bootstrap grants that login its rights (`pool_login_statements`); `ungranted` databases
are bootstrapped without it, to show what the helper says when the rights are missing. The tests
give the login a password (on RDS it logs in with IAM)."""

from __future__ import annotations

from dataclasses import dataclass

import psycopg

from tenancy.dataplane.apply import bootstrap_database
from tenancy.dataplane.postgres import DatabaseOptions
from tenancy.registry.models import DataIsolation
from tenancy.registry.naming import POOL_DATABASE_LOGIN

from ..dataplane.test_pool_sql import make_tenants, passwords_of
from ..dataplane.test_postgres_attacks import NOTES

POOL_LOGIN, POOL_PASSWORD = POOL_DATABASE_LOGIN, "pool-login-pw"

CREATE_LOGIN = "CREATE ROLE {login} LOGIN NOINHERIT PASSWORD '{password}'"  # its password, set by hand


@dataclass
class Pooled:
    server: object
    name: str
    tenants: dict

    def id(self, key: str) -> str:
        return self.tenants[key].id

    def conninfo(self) -> str:
        return self.server.dsn(POOL_LOGIN, POOL_PASSWORD, self.name)

    def admin(self) -> psycopg.Connection:
        return psycopg.connect(self.server.dsn(database=self.name), autocommit=True)

    def bootstrap(self, pool_login: str | None = None) -> None:
        chosen = list(self.tenants.values())
        bootstrap_database(self.server.dsn(database=self.name), chosen, passwords_of(chosen),
                           options=DatabaseOptions(pool_login=pool_login))

    def grant_connect(self) -> None:
        """CONNECT alone (what a hand-made login would have), to show the helper's refusal."""
        with self.admin() as admin:
            admin.execute(f"GRANT CONNECT ON DATABASE {self.name} TO {POOL_LOGIN}")

    def grant(self) -> None:
        """db-bootstrap's own grants to the pooled services' login."""
        self.bootstrap(pool_login=POOL_LOGIN)

    def superuser_rows(self) -> list[tuple]:
        with psycopg.connect(self.server.superuser_dsn(self.name)) as su:
            return su.execute("SELECT tenant_id, body FROM shared.notes ORDER BY tenant_id, body").fetchall()


def create_pool_login(postgres) -> str:
    with psycopg.connect(postgres.dsn(database="postgres"), autocommit=True) as admin:
        if admin.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [POOL_LOGIN]).fetchone() is None:
            admin.execute(CREATE_LOGIN.format(login=POOL_LOGIN, password=POOL_PASSWORD))
    return POOL_LOGIN


def make_pooled(database, base, **extra) -> Pooled:
    """Row tenants a and b, schema tenant s (and any extra), bootstrapped, with shared.notes."""
    server, name = database
    a, b = make_tenants(base, "ctx", 2, DataIsolation.row)
    (s,) = make_tenants(base, "ctx", 1, DataIsolation.schema_)
    pooled = Pooled(server, name, {"a": a, "b": b, "s": s, **extra})
    pooled.bootstrap()
    with pooled.admin() as admin:
        admin.execute(NOTES)
    pooled.bootstrap()  # what a migration runs afterwards: the new table gets row security
    return pooled
