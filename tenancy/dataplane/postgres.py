"""The pooled PostgreSQL's tenant isolation, as idempotent SQL generated from the registry.

Per pooled tenant a login role that cannot escape (not a superuser, no BYPASSRLS or REPLICATION,
checked; NOCREATEROLE, NOCREATEDB, NOINHERIT, no membership in other roles) with its plan's connection limit, and either
- `schema`: a schema of its own, usable by that role alone, on its search_path; or
- `row`: the shared tables of schema `shared`, with FORCE ROW LEVEL SECURITY and a policy keyed by
  `tenancy.current_tenant()`, which maps the role itself (current_user) to its tenant. A role cannot
  become another role, so it cannot change its tenant; there is no session variable to set.
PUBLIC loses its rights on the database and the public schema. Suspended tenants become NOLOGIN and
keep everything. Nothing here drops anything. Every statement can run again with no effect.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from psycopg import sql

from tenancy.registry.models import DataIsolation
from tenancy.registry.naming import database_role
from tenancy.registry.tiers import EffectiveTenant

SHARED_SCHEMA = "shared"
CONTROL_SCHEMA = "tenancy"
MASK = "'********'"


@dataclass(frozen=True)
class Statement:
    """One SQL statement; `secret` marks a password literal that is never printed."""

    query: sql.Composable
    secret: Optional[str] = None

    def composed(self) -> sql.Composable:
        """The statement to execute, password included."""
        if self.secret is None:
            return self.query
        return sql.Composed([self.query, sql.SQL(" PASSWORD "), sql.Literal(self.secret)])

    def printable(self) -> str:
        """The statement to show: a password is masked."""
        text = self.query.as_string(None)
        return text if self.secret is None else f"{text} PASSWORD {MASK}"


def schema_name(tenant_id: str) -> str:
    return database_role(tenant_id)


def _s(text: str, **parts) -> Statement:
    return Statement(sql.SQL(text).format(**parts))


def database_statements(database: str) -> list[Statement]:
    """Once per database: PUBLIC's rights gone, the tenant binding, RLS on every shared table."""
    db = sql.Identifier(database)
    return [
        _s("REVOKE ALL ON DATABASE {db} FROM PUBLIC", db=db),
        _s("REVOKE ALL ON SCHEMA public FROM PUBLIC"),
        _s("CREATE SCHEMA IF NOT EXISTS {s}", s=sql.Identifier(CONTROL_SCHEMA)),
        _s("REVOKE ALL ON SCHEMA {s} FROM PUBLIC", s=sql.Identifier(CONTROL_SCHEMA)),
        _s("CREATE TABLE IF NOT EXISTS tenancy.tenant_roles "
           "(role_name name PRIMARY KEY, tenant_id text NOT NULL UNIQUE)"),
        _s("REVOKE ALL ON tenancy.tenant_roles FROM PUBLIC"),
        # Inside a SECURITY DEFINER function current_user is its owner, so the lookup takes the role
        # as an argument and current_tenant(), with the caller's rights, passes its current_user.
        _s("CREATE OR REPLACE FUNCTION tenancy.tenant_of(role_name name) RETURNS text LANGUAGE sql STABLE "
           "SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS "
           "$$ SELECT tenant_id FROM tenancy.tenant_roles WHERE tenant_roles.role_name = tenant_of.role_name $$"),
        _s("REVOKE ALL ON FUNCTION tenancy.tenant_of(name) FROM PUBLIC"),
        _s("CREATE OR REPLACE FUNCTION tenancy.current_tenant() RETURNS text LANGUAGE sql STABLE "
           "AS $$ SELECT tenancy.tenant_of(current_user) $$"),
        _s("REVOKE ALL ON FUNCTION tenancy.current_tenant() FROM PUBLIC"),
        _s("CREATE SCHEMA IF NOT EXISTS {s}", s=sql.Identifier(SHARED_SCHEMA)),
        _s("REVOKE ALL ON SCHEMA {s} FROM PUBLIC", s=sql.Identifier(SHARED_SCHEMA)),
        _s("""DO $$
DECLARE t record;
BEGIN
  FOR t IN SELECT c.relname FROM pg_class c
           JOIN pg_namespace n ON n.oid = c.relnamespace
           JOIN pg_attribute a ON a.attrelid = c.oid
           WHERE n.nspname = 'shared' AND c.relkind IN ('r', 'p')
             AND a.attname = 'tenant_id' AND NOT a.attisdropped
  LOOP
    EXECUTE format('ALTER TABLE shared.%I ENABLE ROW LEVEL SECURITY', t.relname);
    EXECUTE format('ALTER TABLE shared.%I FORCE ROW LEVEL SECURITY', t.relname);
    IF NOT EXISTS (SELECT 1 FROM pg_policies WHERE schemaname = 'shared' AND tablename = t.relname
                   AND policyname = 'tenant_isolation') THEN
      EXECUTE format('CREATE POLICY tenant_isolation ON shared.%I '
                     'USING (tenant_id = tenancy.current_tenant()) '
                     'WITH CHECK (tenant_id = tenancy.current_tenant())', t.relname);
    END IF;
  END LOOP;
END $$"""),
    ]


def tenant_statements(tenant: EffectiveTenant, database: str, password: Optional[str]) -> list[Statement]:
    """One pooled tenant's role, binding and data rights. `password` is set only when given (a new
    role, or a deliberate reset), so a second run changes nothing."""
    name = database_role(tenant.id)
    role, db = sql.Identifier(name), sql.Identifier(database)
    login = sql.SQL("NOLOGIN" if tenant.suspended else "LOGIN")
    limit = sql.Literal(tenant.plan.database.connection_limit)
    out = [
        _s("DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = {n}) THEN CREATE ROLE {r} NOLOGIN; "
           "END IF; END $$", n=sql.Literal(name), r=role),
        # An admin that is not a superuser (RDS's master) may not even name SUPERUSER, BYPASSRLS or
        # REPLICATION; new roles never have them, and the check below refuses a role that does.
        _s("ALTER ROLE {r} WITH {login} NOCREATEROLE NOCREATEDB NOINHERIT CONNECTION LIMIT {limit}",
           r=role, login=login, limit=limit),
        _s("DO $$ BEGIN IF EXISTS (SELECT FROM pg_roles WHERE rolname = {n} AND (rolsuper OR rolbypassrls "
           "OR rolreplication)) THEN RAISE EXCEPTION 'role % is a superuser, bypasses row security or replicates; "
           "a superuser must remove that by hand', {n}; END IF; END $$", n=sql.Literal(name)),
    ]
    if password is not None:
        out.append(Statement(sql.SQL("ALTER ROLE {r} WITH").format(r=role), secret=password))
    out += [
        _s("INSERT INTO tenancy.tenant_roles (role_name, tenant_id) VALUES ({n}, {t}) ON CONFLICT (role_name) "
           "DO UPDATE SET tenant_id = EXCLUDED.tenant_id WHERE tenancy.tenant_roles.tenant_id <> EXCLUDED.tenant_id",
           n=sql.Literal(name), t=sql.Literal(tenant.id)),
        _s("GRANT CONNECT ON DATABASE {db} TO {r}", db=db, r=role),
        _s("GRANT USAGE ON SCHEMA tenancy TO {r}", r=role),
        _s("GRANT EXECUTE ON FUNCTION tenancy.tenant_of(name), tenancy.current_tenant() TO {r}", r=role),
    ]
    own, shared = sql.Identifier(schema_name(tenant.id)), sql.Identifier(SHARED_SCHEMA)
    if tenant.data_isolation is DataIsolation.row:
        out += [
            _s("GRANT USAGE ON SCHEMA {s} TO {r}", s=shared, r=role),
            _s("GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA {s} TO {r}", s=shared, r=role),
            _s("GRANT USAGE ON ALL SEQUENCES IN SCHEMA {s} TO {r}", s=shared, r=role),
            _s("ALTER DEFAULT PRIVILEGES IN SCHEMA {s} GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO {r}",
               s=shared, r=role),
            _s("ALTER DEFAULT PRIVILEGES IN SCHEMA {s} GRANT USAGE ON SEQUENCES TO {r}", s=shared, r=role),
            _s("ALTER ROLE {r} SET search_path = {s}", r=role, s=shared),
        ]
    else:
        out += [
            _s("CREATE SCHEMA IF NOT EXISTS {s}", s=own),
            _s("REVOKE ALL ON SCHEMA {s} FROM PUBLIC", s=own),
            _s("GRANT USAGE, CREATE ON SCHEMA {s} TO {r}", s=own, r=role),
            _s("ALTER ROLE {r} SET search_path = {s}", r=role, s=own),
        ]
    return out


def pooled_tenants(tenants: list[EffectiveTenant]) -> list[EffectiveTenant]:
    from tenancy.registry.models import Service, Tier

    return [t for t in tenants if t.tier(Service.database) is Tier.shared]


def bootstrap_statements(tenants: list[EffectiveTenant], database: str,
                         passwords: dict[str, str]) -> list[Statement]:
    out = database_statements(database)
    for tenant in pooled_tenants(tenants):
        out += tenant_statements(tenant, database, passwords.get(tenant.id))
    return out
