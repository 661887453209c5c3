"""The pooled PostgreSQL's tenant isolation, as idempotent SQL generated from the registry.

Deny by default. Per pooled tenant a login role that cannot escape (not a superuser, no BYPASSRLS or
REPLICATION, checked; NOCREATEROLE, NOCREATEDB, NOINHERIT, no membership in other roles), its plan's
connection limit and session limits (statement_timeout, idle_in_transaction_session_timeout,
work_mem, temp_file_limit), and either
- `schema`: a schema of its own, usable by that role alone, on its search_path;
- `row`: the tables of schema `shared`, each granted (SELECT, INSERT, UPDATE, DELETE) only once it
  qualifies: row security enabled and forced with the policy `tenant_isolation` keyed by
  `tenancy.current_tenant()` (which maps the role itself, current_user, to its tenant: a role cannot
  become another role, so there is no session variable to set), no other permissive policy, every
  unique key led by the tenant column, no sequence shared by all tenants, and foreign keys that
  carry the tenant column. Tables that do not qualify are skipped, revoked and reported. No default
  privileges: a table a migration creates is reachable by no tenant until db-bootstrap runs again;
- `database`: a database of its own in the pooled instance (CONNECT for its role alone), with a
  schema of its own there; this also separates LISTEN/NOTIFY, catalogs, statistics, advisory locks
  and large objects, which no privilege separates inside one database.
PUBLIC loses its rights on the database and the public schema, and, where the admin may (the owner
of pg_catalog: a superuser, not RDS's master user), the functions that write without any CREATE
privilege (large objects, WAL messages). Suspended tenants, and tenants no longer pooled, become
NOLOGIN and keep everything; a tenant id whose earlier owner left data behind is refused. Nothing
here drops anything. Every statement can run again with no effect.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from psycopg import sql

from tenancy.registry import naming
from tenancy.registry.models import DataIsolation, Service, Tier
from tenancy.registry.naming import POOL_DATABASE_LOGIN, database_role
from tenancy.registry.tiers import EffectiveTenant

SHARED_SCHEMA = "shared"
CONTROL_SCHEMA = "tenancy"
TENANT_COLUMN = "tenant_id"
POLICY = "tenant_isolation"
NOTICE_PREFIX = "tenancy: "  # notices the bootstrap raises for the operator (skipped tables, limits)
SKIPPED_PREFIX = NOTICE_PREFIX + "skipped "
MASK = "'********'"

# Functions PUBLIC may run that write without any CREATE privilege: large objects (stored in the
# database for anyone to fill) and WAL messages (pg_logical_emit_message writes WAL of any size).
WRITE_WITHOUT_CREATE = (
    "pg_catalog.lo_creat(integer)", "pg_catalog.lo_create(oid)", "pg_catalog.lo_from_bytea(oid,bytea)",
    "pg_catalog.lo_import(text)", "pg_catalog.lo_import(text,oid)", "pg_catalog.lo_put(oid,bigint,bytea)",
    "pg_catalog.lowrite(integer,bytea)", "pg_catalog.lo_truncate(integer,integer)",
    "pg_catalog.lo_truncate64(integer,bigint)", "pg_catalog.pg_logical_emit_message(boolean,text,text)",
    "pg_catalog.pg_logical_emit_message(boolean,text,bytea)",
)


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


@dataclass(frozen=True)
class DatabaseOptions:
    """What the bootstrap needs besides the registry: the shared tables' tenant column
    (`tenancy:pool.tenantColumn`), the environment the database belongs to (stamped on the first
    run; a run for another environment is refused, so a wrong --environment cannot lock every
    tenant out), and the removed tenants that may come back with their data (`--readmit`)."""

    tenant_column: str = TENANT_COLUMN
    environment: Optional[str] = None
    readmit: frozenset[str] = frozenset()
    pool_login: Optional[str] = POOL_DATABASE_LOGIN  # the pooled services' login; None: leave it alone


DEFAULT_OPTIONS = DatabaseOptions()


def database_options(project_dir: Path, environment: str, readmit: Iterable[str] = ()) -> DatabaseOptions:
    """The options of an environment's pooled database, from its stack files' `tenancy:pool`."""
    from tenancy.exits import CommandError
    from tenancy.registry.project import read_stacks

    columns = {s.settings.pool.tenant_column for s in read_stacks(Path(project_dir))
               if s.settings.environment.value == environment}
    if len(columns) > 1:
        raise CommandError(f"the stack files of {environment} disagree on tenancy:pool.tenantColumn "
                           f"({', '.join(sorted(columns))}); one pooled database has one tenant column")
    return DatabaseOptions(tenant_column=columns.pop() if columns else TENANT_COLUMN, environment=environment,
                           readmit=frozenset(readmit))


def schema_name(tenant_id: str) -> str:
    return database_role(tenant_id)


tenant_database = naming.tenant_database  # the one definition, which the login secret names too


def _s(text: str, **parts) -> Statement:
    return Statement(sql.SQL(text).format(**parts))


def _array(values: Iterable[str], cast: str) -> sql.Composable:
    return sql.SQL("ARRAY[{}]::{}").format(sql.SQL(", ").join(sql.Literal(v) for v in values), sql.SQL(cast))


def pooled_tenants(tenants: list[EffectiveTenant]) -> list[EffectiveTenant]:
    return [t for t in tenants if t.tier(Service.database) is Tier.shared]


def _mode(tenants: list[EffectiveTenant], mode: DataIsolation) -> list[EffectiveTenant]:
    return [t for t in pooled_tenants(tenants) if t.data_isolation is mode]


def database_tenants(tenants: list[EffectiveTenant]) -> list[EffectiveTenant]:
    """Pooled tenants with a database of their own in the pooled instance."""
    return _mode(tenants, DataIsolation.database)


# -- once per database -------------------------------------------------------------------------------

def database_statements(database: str, options: DatabaseOptions = DEFAULT_OPTIONS) -> list[Statement]:
    """Once per database: PUBLIC's rights gone, the tenant binding, the environment stamp."""
    db = sql.Identifier(database)
    out = [
        _s("REVOKE ALL ON DATABASE {db} FROM PUBLIC", db=db),
        _s("REVOKE ALL ON SCHEMA public FROM PUBLIC"),
        _s("CREATE SCHEMA IF NOT EXISTS {s}", s=sql.Identifier(CONTROL_SCHEMA)),
        _s("REVOKE ALL ON SCHEMA {s} FROM PUBLIC", s=sql.Identifier(CONTROL_SCHEMA)),
        _s("CREATE TABLE IF NOT EXISTS tenancy.tenant_roles "
           "(role_name name PRIMARY KEY, tenant_id text NOT NULL UNIQUE)"),
        # Set when the tenant leaves the pool: its role is NOLOGIN, its data kept, its id not reusable.
        _s("ALTER TABLE tenancy.tenant_roles ADD COLUMN IF NOT EXISTS removed_at timestamptz"),
        _s("REVOKE ALL ON tenancy.tenant_roles FROM PUBLIC"),
        # Inside a SECURITY DEFINER function current_user is its owner, so the lookup takes the role
        # as an argument and current_tenant(), with the caller's rights, passes its current_user.
        _s("CREATE OR REPLACE FUNCTION tenancy.tenant_of(role_name name) RETURNS text LANGUAGE sql STABLE "
           "SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS "
           "$$ SELECT tenant_id FROM tenancy.tenant_roles WHERE tenant_roles.role_name = tenant_of.role_name "
           "AND tenant_roles.removed_at IS NULL $$"),
        _s("REVOKE ALL ON FUNCTION tenancy.tenant_of(name) FROM PUBLIC"),
        _s("CREATE OR REPLACE FUNCTION tenancy.current_tenant() RETURNS text LANGUAGE sql STABLE "
           "AS $$ SELECT tenancy.tenant_of(current_user) $$"),
        _s("REVOKE ALL ON FUNCTION tenancy.current_tenant() FROM PUBLIC"),
        _s("CREATE SCHEMA IF NOT EXISTS {s}", s=sql.Identifier(SHARED_SCHEMA)),
        _s("REVOKE ALL ON SCHEMA {s} FROM PUBLIC", s=sql.Identifier(SHARED_SCHEMA)),
    ]
    if options.environment is not None:
        env = sql.Literal(options.environment)
        out += [
            _s("CREATE TABLE IF NOT EXISTS tenancy.instance (environment text NOT NULL, "
               "one boolean PRIMARY KEY DEFAULT true CHECK (one))"),
            _s("REVOKE ALL ON tenancy.instance FROM PUBLIC"),
            _s("INSERT INTO tenancy.instance (environment) VALUES ({env}) ON CONFLICT (one) DO NOTHING", env=env),
            _s("DO $$ BEGIN IF (SELECT environment FROM tenancy.instance) <> {env} THEN RAISE EXCEPTION "
               "'this database holds the tenants of the % environment, not of %: check --dsn and --environment', "
               "(SELECT environment FROM tenancy.instance), {env}; END IF; END $$", env=env),
        ]
    return out


def reuse_guard(tenants: list[EffectiveTenant], options: DatabaseOptions = DEFAULT_OPTIONS) -> list[Statement]:
    """Refuse a pooled tenant whose id belonged to a tenant that left the pool (or whose role and
    binding were dropped by hand) while that tenant's data still exists: objects its role owns here,
    tables in its schema, its database, or rows under its id in a shared table. The rows are counted
    as the policy shows them to that tenant, by binding the admin to its id in a subtransaction
    that is always rolled back."""
    candidates = [t for t in pooled_tenants(tenants) if t.id not in options.readmit]
    if not candidates:
        return []
    pairs = sql.SQL(", ").join(sql.SQL("({}, {})").format(sql.Literal(t.id), sql.Literal(database_role(t.id)))
                               for t in candidates)
    col = sql.Literal(options.tenant_column)
    return [_s("""DO $$
DECLARE
  c record; t record; found text[]; present boolean;
  col name := {col};
BEGIN
  FOR c IN SELECT * FROM (VALUES {pairs}) AS v(tenant_id, role_name) LOOP
    CONTINUE WHEN EXISTS (SELECT 1 FROM tenancy.tenant_roles b WHERE b.tenant_id = c.tenant_id AND b.removed_at IS NULL);
    found := ARRAY[]::text[];
    IF EXISTS (SELECT 1 FROM pg_shdepend d JOIN pg_roles r ON r.oid = d.refobjid WHERE r.rolname = c.role_name
               AND d.deptype = 'o' AND d.dbid = (SELECT oid FROM pg_database WHERE datname = current_database())) THEN
      found := found || format('objects owned by role %I', c.role_name);
    END IF;
    IF EXISTS (SELECT 1 FROM pg_class k JOIN pg_namespace n ON n.oid = k.relnamespace WHERE n.nspname = c.role_name) THEN
      found := found || format('tables in schema %I', c.role_name);
    END IF;
    IF EXISTS (SELECT 1 FROM pg_database WHERE datname = c.role_name) THEN
      found := found || format('database %I', c.role_name);
    END IF;
    BEGIN
      DELETE FROM tenancy.tenant_roles WHERE tenant_id = c.tenant_id OR role_name = current_user;
      INSERT INTO tenancy.tenant_roles (role_name, tenant_id) VALUES (current_user, c.tenant_id);
      FOR t IN SELECT k.relname FROM pg_class k JOIN pg_namespace n ON n.oid = k.relnamespace
               JOIN pg_attribute a ON a.attrelid = k.oid AND a.attname = col AND NOT a.attisdropped
               WHERE n.nspname = 'shared' AND k.relkind IN ('r', 'p')
                 AND a.atttypid IN ('text'::regtype, 'varchar'::regtype) AND has_table_privilege(k.oid, 'SELECT')
               ORDER BY k.relname LOOP
        EXECUTE format('SELECT EXISTS (SELECT 1 FROM shared.%I WHERE %I = $1)', t.relname, col) INTO present
          USING c.tenant_id;
        IF present THEN found := found || format('rows in shared.%I', t.relname); END IF;
      END LOOP;
      RAISE EXCEPTION USING ERRCODE = 'TN001';
    EXCEPTION WHEN SQLSTATE 'TN001' THEN NULL;
    END;
    IF cardinality(found) > 0 THEN
      RAISE EXCEPTION 'tenant %: its id belonged to a tenant that left the pool, whose data is still here (%); '
        'finish that tenant''s offboarding (export, then delete its rows, schema, database and role), choose '
        'another id, or, if it is the same tenant coming back, run db-bootstrap with --readmit %',
        c.tenant_id, array_to_string(found, ', '), c.tenant_id;
    END IF;
  END LOOP;
END $$""", col=col, pairs=pairs)]


# -- per tenant ---------------------------------------------------------------------------------------

def tenant_statements(tenant: EffectiveTenant, database: str, password: Optional[str]) -> list[Statement]:
    """One pooled tenant's role, binding and data rights. `password` is set only when given (a new
    role, or a deliberate reset), so a second run changes nothing."""
    name = database_role(tenant.id)
    role, db = sql.Identifier(name), sql.Identifier(database)
    login = sql.SQL("NOLOGIN" if tenant.suspended else "LOGIN")
    limits = tenant.plan.database
    out = [
        _s("DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = {n}) THEN CREATE ROLE {r} NOLOGIN; "
           "END IF; END $$", n=sql.Literal(name), r=role),
        # An admin that is not a superuser (RDS's master) may not even name SUPERUSER, BYPASSRLS or
        # REPLICATION; new roles never have them, and the check below refuses a role that does.
        _s("ALTER ROLE {r} WITH {login} NOCREATEROLE NOCREATEDB NOINHERIT CONNECTION LIMIT {limit}",
           r=role, login=login, limit=sql.Literal(limits.connection_limit)),
        _s("DO $$ BEGIN IF EXISTS (SELECT FROM pg_roles WHERE rolname = {n} AND (rolsuper OR rolbypassrls "
           "OR rolreplication)) THEN RAISE EXCEPTION 'role % is a superuser, bypasses row security or replicates; "
           "a superuser must remove that by hand', {n}; END IF; END $$", n=sql.Literal(name)),
        # No membership in any role: nothing to SET ROLE to, no rights to inherit.
        _s("DO $$ DECLARE m record; BEGIN FOR m IN SELECT g.rolname FROM pg_auth_members a "
           "JOIN pg_roles g ON g.oid = a.roleid JOIN pg_roles u ON u.oid = a.member WHERE u.rolname = {n} LOOP "
           "EXECUTE format('REVOKE %I FROM %I', m.rolname, {n}); END LOOP; END $$", n=sql.Literal(name)),
    ]
    if password is not None:
        out.append(Statement(sql.SQL("ALTER ROLE {r} WITH").format(r=role), secret=password))
    # Session defaults: a runaway statement or an abandoned transaction ends. (temp_file_limit, which
    # a tenant cannot raise, is set for every tenant at once: see session_limit_statements.)
    out += [
        _s("ALTER ROLE {r} SET statement_timeout = {v}", r=role, v=sql.Literal(f"{limits.statement_timeout_seconds}s")),
        _s("ALTER ROLE {r} SET idle_in_transaction_session_timeout = {v}", r=role,
           v=sql.Literal(f"{limits.idle_in_transaction_timeout_seconds}s")),
        _s("ALTER ROLE {r} SET work_mem = {v}", r=role, v=sql.Literal(f"{limits.work_mem_mib}MB")),
        _s("INSERT INTO tenancy.tenant_roles (role_name, tenant_id) VALUES ({n}, {t}) ON CONFLICT (role_name) "
           "DO UPDATE SET tenant_id = EXCLUDED.tenant_id, removed_at = NULL "
           "WHERE tenancy.tenant_roles.tenant_id <> EXCLUDED.tenant_id OR tenancy.tenant_roles.removed_at IS NOT NULL",
           n=sql.Literal(name), t=sql.Literal(tenant.id)),
    ]
    own, shared = sql.Identifier(schema_name(tenant.id)), sql.Identifier(SHARED_SCHEMA)
    if tenant.data_isolation is DataIsolation.database:
        # Nothing in the pooled database: its own database is set up after this transaction.
        return out + [
            _s("REVOKE ALL ON DATABASE {db} FROM {r}", db=db, r=role),
            _s("REVOKE ALL ON SCHEMA {s} FROM {r}", s=shared, r=role),
            _s("REVOKE ALL ON SCHEMA tenancy FROM {r}", r=role),
            _s("ALTER ROLE {r} SET search_path = {s}", r=role, s=own),
        ]
    out += [
        _s("GRANT CONNECT ON DATABASE {db} TO {r}", db=db, r=role),
        _s("GRANT USAGE ON SCHEMA tenancy TO {r}", r=role),
        _s("GRANT EXECUTE ON FUNCTION tenancy.tenant_of(name), tenancy.current_tenant() TO {r}", r=role),
    ]
    if tenant.data_isolation is DataIsolation.row:
        # The shared tables themselves are granted by shared_tables_statement, each once it qualifies.
        out += [
            _s("GRANT USAGE ON SCHEMA {s} TO {r}", s=shared, r=role),
            _s("ALTER ROLE {r} SET search_path = {s}", r=role, s=shared),
        ]
    else:
        out += [
            _s("REVOKE ALL ON SCHEMA {s} FROM {r}", s=shared, r=role),
            _s("CREATE SCHEMA IF NOT EXISTS {s}", s=own),
            _s("REVOKE ALL ON SCHEMA {s} FROM PUBLIC", s=own),
            _s("GRANT USAGE, CREATE ON SCHEMA {s} TO {r}", s=own, r=role),
            _s("ALTER ROLE {r} SET search_path = {s}", r=role, s=own),
        ]
    return out


def pool_login_statements(tenants: list[EffectiveTenant], database: str, login: str) -> list[Statement]:
    """The pooled services' login (tenancy.context's TenantDatabase): no rights of its own and
    NOINHERIT, so it reads nothing until it runs `SET ROLE tenant_<id>` for one transaction; a
    member of exactly the active pooled tenants' roles in the shared database (`row` and `schema`
    modes), never with ADMIN OPTION. A suspended or departed tenant's membership is revoked: NOLOGIN
    alone would not stop SET ROLE. Grants of its own in the shared schema are revoked. On RDS it logs in with IAM (`rds_iam`, when that role exists); elsewhere give it a
    password by hand once."""
    role, db = sql.Identifier(login), sql.Identifier(database)
    members = _array((database_role(t.id) for t in pooled_tenants(tenants)
                      if not t.suspended and t.data_isolation is not DataIsolation.database), "text[]")
    return [
        _s("DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = {n}) THEN CREATE ROLE {r} NOLOGIN; "
           "END IF; END $$", n=sql.Literal(login), r=role),
        _s("ALTER ROLE {r} WITH LOGIN NOINHERIT NOCREATEROLE NOCREATEDB", r=role),
        # As for a tenant's role: an admin that is not a superuser may not name these attributes.
        _s("DO $$ BEGIN IF EXISTS (SELECT FROM pg_roles WHERE rolname = {n} AND (rolsuper OR rolbypassrls "
           "OR rolreplication)) THEN RAISE EXCEPTION 'role % (the pooled services'' login) is a superuser, bypasses "
           "row security or replicates; a superuser must remove that by hand', {n}; END IF; END $$",
           n=sql.Literal(login)),
        _s("GRANT CONNECT ON DATABASE {db} TO {r}", db=db, r=role),
        # No rights of its own in the shared schema: it reads only as a tenant, after SET ROLE.
        _s("REVOKE ALL ON ALL TABLES IN SCHEMA {s} FROM {r}", s=sql.Identifier(SHARED_SCHEMA), r=role),
        _s("REVOKE ALL ON ALL SEQUENCES IN SCHEMA {s} FROM {r}", s=sql.Identifier(SHARED_SCHEMA), r=role),
        _s("REVOKE CREATE ON SCHEMA {s} FROM {r}", s=sql.Identifier(SHARED_SCHEMA), r=role),
        _s("DO $$ BEGIN IF EXISTS (SELECT FROM pg_roles WHERE rolname = 'rds_iam') THEN "
           "EXECUTE format('GRANT rds_iam TO %I', {n}); END IF; END $$", n=sql.Literal(login)),
        _s("""DO $$
DECLARE m record;
BEGIN
  FOR m IN SELECT g.rolname FROM pg_auth_members a JOIN pg_roles g ON g.oid = a.roleid
           JOIN pg_roles u ON u.oid = a.member
           WHERE u.rolname = {n} AND g.rolname <> 'rds_iam' AND NOT (g.rolname = ANY({members})) LOOP
    EXECUTE format('REVOKE %I FROM %I', m.rolname, {n});
  END LOOP;
  FOR m IN SELECT g.rolname FROM pg_auth_members a JOIN pg_roles g ON g.oid = a.roleid
           JOIN pg_roles u ON u.oid = a.member WHERE u.rolname = {n} AND a.admin_option LOOP
    EXECUTE format('REVOKE ADMIN OPTION FOR %I FROM %I', m.rolname, {n});
  END LOOP;
  FOR m IN SELECT unnest({members}) AS rolname LOOP
    EXECUTE format('GRANT %I TO %I', m.rolname, {n});
  END LOOP;
END $$""", n=sql.Literal(login), members=members),
    ]


def session_limit_statements(tenants: list[EffectiveTenant]) -> list[Statement]:
    """temp_file_limit per tenant role: only a superuser, or a role granted SET on the parameter, may
    set it (RDS's master user may not: set it in the pooled instance's parameter group instead);
    without that right the bootstrap says so and db-check reports it."""
    pooled = pooled_tenants(tenants)
    if not pooled:
        return []
    sets = sql.SQL(" ").join(
        sql.SQL("ALTER ROLE {r} SET temp_file_limit = {v};").format(
            r=sql.Identifier(database_role(t.id)), v=sql.Literal(f"{t.plan.database.temp_file_limit_mib}MB"))
        for t in pooled)
    return [_s("DO $$ BEGIN IF has_parameter_privilege('temp_file_limit', 'SET') THEN {sets} ELSE RAISE NOTICE "
               "'tenancy: temp_file_limit not set for the tenant roles: % may not set it (a superuser may, or GRANT "
               "SET ON PARAMETER temp_file_limit); set it in the instance''s parameters', current_user; END IF; END $$",
               sets=sets)]


def removed_statements(tenants: list[EffectiveTenant]) -> list[Statement]:
    """Tenants bound here that are no longer pooled tenants of this environment: marked removed
    (their id cannot be reused while their data exists) and NOLOGIN at once; their data stays."""
    pooled = _array((t.id for t in pooled_tenants(tenants)), "text[]")
    return [_s("""DO $$
DECLARE b record;
BEGIN
  UPDATE tenancy.tenant_roles SET removed_at = now() WHERE removed_at IS NULL AND NOT (tenant_id = ANY({pooled}));
  FOR b IN SELECT r.rolname, t.tenant_id FROM tenancy.tenant_roles t JOIN pg_roles r ON r.rolname = t.role_name
           WHERE t.removed_at IS NOT NULL AND r.rolcanlogin ORDER BY 1 LOOP
    EXECUTE format('ALTER ROLE %I NOLOGIN', b.rolname);
    RAISE NOTICE 'tenancy: tenant % left the pool: role % may no longer log in; its data is kept', b.tenant_id, b.rolname;
  END LOOP;
END $$""", pooled=pooled)]


# -- the shared tables --------------------------------------------------------------------------------

def shared_tables_statement(tenants: list[EffectiveTenant], options: DatabaseOptions = DEFAULT_OPTIONS) -> Statement:
    """Every relation of schema `shared`: a table with the tenant column that the admin owns gets row
    security (enabled, forced) and the tenant policy; the row tenants get SELECT, INSERT, UPDATE and
    DELETE on it only if it then qualifies, and every other tenant role nothing. Whatever does not
    qualify is revoked from every tenant role and reported (a NOTICE starting 'tenancy: skipped')."""
    row_roles = _array((database_role(t.id) for t in _mode(tenants, DataIsolation.row)), "name[]")
    return _s("""DO $$
DECLARE
  col name := {col};
  row_roles name[] := {row_roles};
  bound name[] := ARRAY(SELECT t.role_name FROM tenancy.tenant_roles t JOIN pg_roles r ON r.rolname = t.role_name ORDER BY 1);
  tenant_oids oid[];
  t record; pol record; why text[]; expected text; names text; lacking name[]; r name;
BEGIN
  tenant_oids := ARRAY(SELECT oid FROM pg_roles WHERE rolname = ANY(bound));
  FOR t IN SELECT c.oid, c.relname, c.relkind, c.relowner, c.relrowsecurity, c.relforcerowsecurity,
                  pg_has_role(c.relowner, 'USAGE') AS mine, a.attnum, a.atttypid
           FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
           LEFT JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = col AND a.attnum > 0 AND NOT a.attisdropped
           WHERE n.nspname = 'shared' AND c.relkind IN ('r', 'p', 'v', 'm', 'f', 'S') ORDER BY c.relname
  LOOP
    why := ARRAY[]::text[];
    IF t.relkind NOT IN ('r', 'p') THEN
      why := why || 'not a table: views, sequences and foreign tables are never granted to tenants'::text;
    ELSIF t.attnum IS NULL THEN
      why := why || format('no %I column', col);
    ELSIF t.atttypid NOT IN ('text'::regtype, 'varchar'::regtype) THEN
      why := why || format('column %I is %s, not text', col, format_type(t.atttypid, NULL));
    ELSIF NOT t.mine THEN
      why := why || format('owned by %s, which the role running db-bootstrap is not a member of', t.relowner::regrole);
    ELSE
      IF NOT t.relrowsecurity THEN EXECUTE format('ALTER TABLE shared.%I ENABLE ROW LEVEL SECURITY', t.relname); END IF;
      IF NOT t.relforcerowsecurity THEN EXECUTE format('ALTER TABLE shared.%I FORCE ROW LEVEL SECURITY', t.relname); END IF;
      expected := CASE WHEN t.atttypid = 'text'::regtype THEN format('(%I = tenancy.current_tenant())', col)
                       ELSE format('((%I)::text = tenancy.current_tenant())', col) END;
      SELECT p.polpermissive, p.polcmd, p.polroles, pg_get_expr(p.polqual, p.polrelid) AS qual,
             pg_get_expr(p.polwithcheck, p.polrelid) AS checks
        INTO pol FROM pg_policy p WHERE p.polrelid = t.oid AND p.polname = 'tenant_isolation';
      IF NOT FOUND THEN
        EXECUTE format('CREATE POLICY tenant_isolation ON shared.%I USING (%I = tenancy.current_tenant()) '
                       'WITH CHECK (%I = tenancy.current_tenant())', t.relname, col, col);
      ELSIF NOT pol.polpermissive OR pol.polcmd <> '*' THEN
        why := why || 'policy tenant_isolation is not a permissive policy FOR ALL (drop it; db-bootstrap recreates it)'::text;
      ELSIF pol.polroles <> ARRAY[0]::oid[] OR pol.qual IS DISTINCT FROM expected OR pol.checks IS DISTINCT FROM expected THEN
        EXECUTE format('ALTER POLICY tenant_isolation ON shared.%I TO PUBLIC USING (%I = tenancy.current_tenant()) '
                       'WITH CHECK (%I = tenancy.current_tenant())', t.relname, col, col);
      END IF;
      SELECT string_agg(p.polname, ', ' ORDER BY p.polname) INTO names FROM pg_policy p
        WHERE p.polrelid = t.oid AND p.polpermissive AND p.polname <> 'tenant_isolation'
          AND (0 = ANY(p.polroles) OR p.polroles && tenant_oids);
      IF names IS NOT NULL THEN
        why := why || format('other permissive policies widen tenant_isolation: %s', names);
      END IF;
      SELECT string_agg(i.indexrelid::regclass::text, ', ' ORDER BY 1) INTO names FROM pg_index i
        WHERE i.indrelid = t.oid AND (i.indisunique OR i.indisexclusion) AND i.indkey[0] <> t.attnum;
      IF names IS NOT NULL THEN
        why := why || format('unique keys not led by %I tell one tenant another''s values: %s', col, names);
      END IF;
      SELECT string_agg(a.attname, ', ' ORDER BY a.attnum) INTO names FROM pg_attribute a
        LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
        WHERE a.attrelid = t.oid AND a.attnum > 0 AND NOT a.attisdropped
          AND (a.attidentity <> '' OR pg_get_expr(d.adbin, d.adrelid) LIKE '%nextval(%');
      IF names IS NOT NULL THEN
        why := why || format('a sequence every tenant shares tells each the others'' row counts: %s', names);
      END IF;
      SELECT string_agg(k.conname, ', ' ORDER BY k.conname) INTO names FROM pg_constraint k
        JOIN pg_attribute pa ON pa.attrelid = k.confrelid AND pa.attname = col AND NOT pa.attisdropped
        WHERE k.conrelid = t.oid AND k.contype = 'f'
          AND NOT EXISTS (SELECT 1 FROM generate_subscripts(k.conkey, 1) s
                          WHERE k.conkey[s] = t.attnum AND k.confkey[s] = pa.attnum);
      IF names IS NOT NULL THEN
        why := why || format('foreign keys without %I let a tenant probe and point at another''s rows: %s', col, names);
      END IF;
    END IF;
    IF cardinality(why) = 0 THEN
      lacking := ARRAY(SELECT x FROM unnest(row_roles) x WHERE NOT has_table_privilege(x, t.oid,
                       'SELECT') OR NOT has_table_privilege(x, t.oid, 'INSERT') OR NOT has_table_privilege(x, t.oid,
                       'UPDATE') OR NOT has_table_privilege(x, t.oid, 'DELETE'));
      FOREACH r IN ARRAY lacking LOOP
        EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE ON shared.%I TO %I', t.relname, r);
      END LOOP;
      FOREACH r IN ARRAY bound LOOP
        IF NOT r = ANY(row_roles) AND has_table_privilege(r, t.oid, 'SELECT, INSERT, UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER') THEN
          EXECUTE format('REVOKE ALL ON shared.%I FROM %I', t.relname, r);
        ELSIF r = ANY(row_roles) AND has_table_privilege(r, t.oid, 'TRUNCATE, REFERENCES, TRIGGER') THEN
          EXECUTE format('REVOKE TRUNCATE, REFERENCES, TRIGGER ON shared.%I FROM %I', t.relname, r);
        END IF;
      END LOOP;
    ELSE
      IF t.mine THEN
        FOREACH r IN ARRAY bound LOOP
          IF has_table_privilege(r, t.oid, 'SELECT, INSERT, UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER') THEN
            EXECUTE format('REVOKE ALL ON shared.%I FROM %I', t.relname, r);
          END IF;
        END LOOP;
        EXECUTE format('REVOKE ALL ON shared.%I FROM PUBLIC', t.relname);
      END IF;
      IF t.relkind <> 'S' THEN
        RAISE NOTICE 'tenancy: skipped shared.%: %', t.relname, array_to_string(why, '; ');
      END IF;
    END IF;
  END LOOP;
END $$""", col=sql.Literal(options.tenant_column), row_roles=row_roles)


def default_privileges_statement() -> Statement:
    """No default privileges for tenants: whatever a role was set to grant tenant roles on the objects
    it creates later (as an earlier bootstrap did), or PUBLIC on those of schema shared, is revoked
    where the admin may (it is a member of that role); otherwise reported."""
    return _s("""DO $$
DECLARE d record;
BEGIN
  FOR d IN SELECT a.defaclrole::regrole AS owner, n.nspname, x.grantee,
                  CASE a.defaclobjtype WHEN 'r' THEN 'TABLES' WHEN 'S' THEN 'SEQUENCES' WHEN 'f' THEN 'FUNCTIONS'
                                       WHEN 'T' THEN 'TYPES' ELSE 'SCHEMAS' END AS kind
           FROM pg_default_acl a LEFT JOIN pg_namespace n ON n.oid = a.defaclnamespace
           CROSS JOIN LATERAL aclexplode(a.defaclacl) x
           WHERE x.grantee IN (SELECT r.oid FROM pg_roles r JOIN tenancy.tenant_roles t ON t.role_name = r.rolname)
              OR (x.grantee = 0 AND n.nspname = 'shared')
           GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4 LOOP
    IF pg_has_role(d.owner, 'MEMBER') THEN
      EXECUTE format('ALTER DEFAULT PRIVILEGES FOR ROLE %I %s REVOKE ALL ON %s FROM %s', d.owner::text,
                     CASE WHEN d.nspname IS NULL THEN '' ELSE format('IN SCHEMA %I', d.nspname) END, d.kind,
                     CASE WHEN d.grantee = 0 THEN 'PUBLIC' ELSE quote_ident(d.grantee::regrole::text) END);
    ELSE
      RAISE NOTICE 'tenancy: role % grants % on the % it creates by default; only a member of % may revoke that',
        d.owner, CASE WHEN d.grantee = 0 THEN 'PUBLIC' ELSE d.grantee::regrole::text END, lower(d.kind), d.owner;
    END IF;
  END LOOP;
END $$""")


def definer_functions_statement() -> Statement:
    """SECURITY DEFINER functions in schema shared run with their owner's rights, beside the tenant
    policy: no tenant may call them (functions that run with the caller's rights stay callable)."""
    return _s("""DO $$
DECLARE f record; r name;
BEGIN
  FOR f IN SELECT p.oid::regprocedure AS fn, pg_has_role(p.proowner, 'MEMBER') AS mine FROM pg_proc p
           WHERE p.pronamespace = 'shared'::regnamespace AND p.prosecdef
             AND (p.proacl IS NULL OR EXISTS (SELECT 1 FROM aclexplode(p.proacl) x WHERE x.grantee = 0
                  OR x.grantee IN (SELECT r.oid FROM pg_roles r JOIN tenancy.tenant_roles t ON t.role_name = r.rolname)))
           ORDER BY 1 LOOP
    IF f.mine THEN
      EXECUTE format('REVOKE ALL ON FUNCTION %s FROM PUBLIC', f.fn);
      FOR r IN SELECT t.role_name FROM tenancy.tenant_roles t JOIN pg_roles g ON g.rolname = t.role_name LOOP
        EXECUTE format('REVOKE ALL ON FUNCTION %s FROM %I', f.fn, r);
      END LOOP;
    END IF;
    RAISE NOTICE 'tenancy: skipped function %: SECURITY DEFINER runs with its owner''s rights; no tenant may call it%',
      f.fn, CASE WHEN f.mine THEN '' ELSE ' (but the admin does not own it: revoke EXECUTE from PUBLIC by hand)' END;
  END LOOP;
END $$""")


def other_databases_statement() -> Statement:
    """Every other database of the instance (postgres, template1, ...) loses PUBLIC's CONNECT and
    TEMPORARY where the admin owns it: there tenants of every mode would meet (LISTEN/NOTIFY,
    advisory locks) and, on template1, stall CREATE DATABASE. Where it does not, it says so."""
    return _s("""DO $$
DECLARE d record;
BEGIN
  FOR d IN SELECT datname, pg_has_role(datdba, 'MEMBER') AS mine FROM pg_database
           WHERE datname <> current_database() AND datallowconn
             AND (datacl IS NULL OR EXISTS (SELECT 1 FROM aclexplode(datacl) x WHERE x.grantee = 0))
           ORDER BY datname LOOP
    IF d.mine THEN
      EXECUTE format('REVOKE CONNECT, TEMPORARY ON DATABASE %I FROM PUBLIC', d.datname);
    ELSE
      RAISE NOTICE 'tenancy: every role may still connect to database %, where tenants meet: only its owner may '
        'revoke CONNECT from PUBLIC', d.datname;
    END IF;
  END LOOP;
END $$""")


def write_without_create_statement() -> Statement:
    """Revoke from PUBLIC the functions that write without any CREATE privilege, where the admin
    owns them (a superuser does; RDS's master user does not, so it is reported instead)."""
    return _s("""DO $$
DECLARE f regprocedure; left_over text[] := ARRAY[]::text[];
BEGIN
  FOR f IN SELECT to_regprocedure(x) FROM unnest({functions}) x WHERE to_regprocedure(x) IS NOT NULL LOOP
    CONTINUE WHEN NOT (SELECT p.proacl IS NULL OR EXISTS (SELECT 1 FROM aclexplode(p.proacl) a WHERE a.grantee = 0)
                       FROM pg_proc p WHERE p.oid = f);
    IF pg_has_role((SELECT proowner FROM pg_proc WHERE oid = f), 'MEMBER') THEN
      EXECUTE format('REVOKE EXECUTE ON FUNCTION %s FROM PUBLIC', f);
    ELSE
      left_over := left_over || f::text;
    END IF;
  END LOOP;
  IF cardinality(left_over) > 0 THEN
    RAISE NOTICE 'tenancy: in database %, every role may still write without CREATE through %: only their owner '
      '(a superuser) may revoke that', current_database(), array_to_string(left_over, ', ');
  END IF;
END $$""", functions=_array(WRITE_WITHOUT_CREATE, "text[]"))


# -- the whole bootstrap ------------------------------------------------------------------------------

def bootstrap_statements(tenants: list[EffectiveTenant], database: str, passwords: dict[str, str],
                         options: DatabaseOptions = DEFAULT_OPTIONS) -> list[Statement]:
    """The one transaction on the pooled database (`dataIsolation: database` tenants' own databases
    follow it: see own_database_statements)."""
    out = database_statements(database, options)
    out += reuse_guard(tenants, options)
    for tenant in pooled_tenants(tenants):
        out += tenant_statements(tenant, database, passwords.get(tenant.id))
    out += session_limit_statements(tenants)
    out += removed_statements(tenants)
    if options.pool_login:
        out += pool_login_statements(tenants, database, options.pool_login)
    out += [shared_tables_statement(tenants, options), default_privileges_statement(),
            definer_functions_statement(), other_databases_statement(), write_without_create_statement()]
    return out


def create_database_statements(tenant: EffectiveTenant) -> list[Statement]:
    """A `database` tenant's database, when it does not exist yet (outside any transaction: CREATE
    DATABASE cannot run in one). Nobody may connect until PUBLIC's rights are gone."""
    db, role = sql.Identifier(tenant_database(tenant.id)), sql.Identifier(database_role(tenant.id))
    return [
        _s("CREATE DATABASE {db} TEMPLATE template0 ALLOW_CONNECTIONS false", db=db),
        _s("REVOKE ALL ON DATABASE {db} FROM PUBLIC", db=db),
        _s("GRANT CONNECT ON DATABASE {db} TO {r}", db=db, r=role),
        _s("ALTER DATABASE {db} ALLOW_CONNECTIONS true", db=db),
    ]


def own_database_statements(tenant: EffectiveTenant) -> list[Statement]:
    """One transaction inside a `database` tenant's own database: CONNECT for its role alone, its
    schema, PUBLIC's rights gone."""
    db, role = sql.Identifier(tenant_database(tenant.id)), sql.Identifier(database_role(tenant.id))
    own = sql.Identifier(schema_name(tenant.id))
    return [
        _s("REVOKE ALL ON DATABASE {db} FROM PUBLIC", db=db),
        _s("GRANT CONNECT ON DATABASE {db} TO {r}", db=db, r=role),
        _s("REVOKE ALL ON SCHEMA public FROM PUBLIC"),
        _s("CREATE SCHEMA IF NOT EXISTS {s}", s=own),
        _s("REVOKE ALL ON SCHEMA {s} FROM PUBLIC", s=own),
        _s("GRANT USAGE, CREATE ON SCHEMA {s} TO {r}", s=own, r=role),
        write_without_create_statement(),
    ]


def bootstrap_script(tenants: list[EffectiveTenant], database: str, passwords: dict[str, str],
                     options: DatabaseOptions = DEFAULT_OPTIONS) -> list[str]:
    """Every statement in the order applied, passwords masked: the pooled database's transaction,
    then each `database` tenant's database (created when missing) and its own transaction."""
    lines = ["BEGIN;", *(s.printable() + ";" for s in bootstrap_statements(tenants, database, passwords, options)),
             "COMMIT;"]
    for tenant in database_tenants(tenants):
        name = tenant_database(tenant.id)
        lines += [f"-- {tenant.id}: dataIsolation database; when {name} does not exist yet:",
                  *(s.printable() + ";" for s in create_database_statements(tenant)),
                  f"\\connect {name}", "BEGIN;", *(s.printable() + ";" for s in own_database_statements(tenant)),
                  "COMMIT;"]
    return lines
