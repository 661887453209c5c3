"""`tenancy db-check`: what in the pooled PostgreSQL lets one tenant reach another's data, or outlive
its place in the pool. Read-only (one read-only transaction per database, rolled back); returns
findings as data, one per thing to fix, each with a kind from KINDS.

It judges the catalogs on its own, not through anything db-bootstrap created, so a bootstrap bug or
a hand-made change shows here too.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from tenancy.dataplane.apply import CONNECT_TIMEOUT_SECONDS, DataPlaneError, _first_line, safe_location
from tenancy.dataplane.postgres import (
    POLICY,
    SHARED_SCHEMA,
    TENANT_COLUMN,
    WRITE_WITHOUT_CREATE,
    database_tenants,
    pooled_tenants,
    schema_name,
    tenant_database,
)
from tenancy.registry.models import DataIsolation
from tenancy.registry.naming import POOL_DATABASE_LOGIN, database_role
from tenancy.registry.tiers import EffectiveTenant

KINDS = {
    "not-bootstrapped": "db-bootstrap has never run on this database",
    "row-security": "a shared table without row security enabled and forced",
    "tenant-policy": "a shared table without the exact tenant policy, or with another permissive policy beside it",
    "unique-key": "a unique index or constraint on a shared table not led by the tenant column",
    "shared-sequence": "a shared table column drawing on a sequence every tenant shares",
    "foreign-key": "a foreign key between shared tables that does not carry the tenant column",
    "reachable": "a table, view, sequence or SECURITY DEFINER function a tenant role reaches without the policy",
    "default-privileges": "a role set to grant tenant roles (or PUBLIC, in schema shared) what it creates later",
    "login": "a role of a tenant that left the pool, or is suspended, that can still log in",
    "role-attributes": "a tenant role with rights beyond its own data, or a member of another role",
    "session-limits": "a tenant role whose session limits are not its plan's (or are unlimited)",
    "public-rights": "PUBLIC may connect to a database, or use a schema, that tenants share",
    "write-without-create": "PUBLIC may run a function that writes without any CREATE privilege",
    "own-database": "a dataIsolation: database tenant's database missing or open to others",
    "pool-login": "the pooled services' login holds rights of its own, inherits, or may SET ROLE to a role other "
                  "than an active pooled tenant's",
}
ROLE_LIMITS = ("statement_timeout", "idle_in_transaction_session_timeout", "work_mem", "temp_file_limit")


@dataclass(frozen=True, order=True)
class Finding:
    kind: str  # a key of KINDS
    subject: str  # the table, role, function or database
    message: str

    def __str__(self) -> str:
        return f"{self.kind}: {self.subject}: {self.message}"


def db_check(dsn: str, tenants: list[EffectiveTenant], tenant_column: str = TENANT_COLUMN,
             pool_login: Optional[str] = POOL_DATABASE_LOGIN) -> list[Finding]:
    """Every finding in the pooled database and in each `database` tenant's own database;
    `pool_login`: the pooled services' login to judge (None: none is used)."""
    import psycopg
    from psycopg.conninfo import make_conninfo

    where = safe_location(dsn)
    findings: list[Finding] = []
    targets = [(None, dsn)] + [(t, make_conninfo(dsn, dbname=tenant_database(t.id))) for t in database_tenants(tenants)]
    for tenant, target in targets:
        try:
            conn = psycopg.connect(target, connect_timeout=CONNECT_TIMEOUT_SECONDS, autocommit=False)
        except psycopg.OperationalError as exc:
            if tenant is not None and "does not exist" in str(exc):
                continue  # reported from the pooled database
            raise DataPlaneError(f"cannot connect to {where}: {_first_line(exc)}") from None
        try:
            conn.read_only = True
            if tenant is None:
                findings += pooled_database_findings(conn, tenants, tenant_column, pool_login)
            else:
                findings += own_database_findings(conn, tenant)
            conn.rollback()
        except psycopg.Error as exc:
            raise DataPlaneError(f"{where}: the check failed: {_first_line(exc)}") from None
        finally:
            conn.close()
    return sorted(set(findings))


def _rows(conn, query: str, params=None) -> list[tuple]:
    return conn.execute(query, params).fetchall()


def pooled_database_findings(conn, tenants: list[EffectiveTenant], column: str,
                             pool_login: Optional[str] = POOL_DATABASE_LOGIN) -> list[Finding]:
    if _rows(conn, "SELECT to_regclass('tenancy.tenant_roles')")[0][0] is None:
        return [Finding("not-bootstrapped", conn.info.dbname, "no tenancy.tenant_roles: run db-bootstrap")]
    pooled = pooled_tenants(tenants)
    bound = dict(_rows(conn, "SELECT t.role_name::text, t.tenant_id FROM tenancy.tenant_roles t "
                             "JOIN pg_roles r ON r.rolname = t.role_name"))
    existing = {r for (r,) in _rows(conn, "SELECT rolname::text FROM pg_roles WHERE rolname = ANY(%s)",
                                    [[database_role(t.id) for t in pooled]])}
    roles = sorted(set(bound) | existing)
    findings, protected = _shared_table_findings(conn, column, roles)
    findings += _reach_findings(conn, roles, protected, tenants)
    findings += _default_privilege_findings(conn, roles)
    findings += _login_findings(conn, pooled, bound)
    findings += _role_findings(conn, pooled, roles)
    if pool_login:
        findings += _pool_login_findings(conn, pooled, pool_login)
    findings += _public_findings(conn, [SHARED_SCHEMA, "tenancy", "public"], other_databases=True)
    for tenant in database_tenants(tenants):
        findings += _database_acl_findings(conn, tenant, conn.info.dbname)
    return findings


def _expected_policies(conn, column: str) -> set[str]:
    """The policy's expressions as PostgreSQL prints them (a varchar column is cast to text)."""
    quoted = _rows(conn, "SELECT quote_ident(%s)", [column])[0][0]
    return {f"({quoted} = tenancy.current_tenant())", f"(({quoted})::text = tenancy.current_tenant())"}


def _shared_table_findings(conn, column: str, roles: list[str]) -> tuple[list[Finding], set[int]]:
    """The shared tables' own findings, and the oids of those protected by the tenant policy."""
    findings, protected = [], set()
    tables = _rows(conn, """
        SELECT c.oid, format('%%I.%%I', n.nspname, c.relname), c.relrowsecurity AND c.relforcerowsecurity, a.attnum,
               a.atttypid IN ('text'::regtype, 'varchar'::regtype)
        FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        LEFT JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = %s AND a.attnum > 0 AND NOT a.attisdropped
        WHERE n.nspname = %s AND c.relkind IN ('r', 'p') ORDER BY 2""", [column, SHARED_SCHEMA])
    tenant_oids = [oid for (oid,) in _rows(conn, "SELECT oid FROM pg_roles WHERE rolname = ANY(%s)", [roles])]
    expected = _expected_policies(conn, column)
    for oid, name, forced, attnum, text_column in tables:
        problems = []
        if not forced:
            problems.append(Finding("row-security", name, "row security is not enabled and forced" + (
                "" if attnum else f", and it has no {column} column for the tenant policy")))
        if attnum is None or not text_column:
            problems.append(Finding("tenant-policy", name, f"no text column {column}: no tenant policy can "
                                                           "protect it; no tenant may be granted it"))
        else:
            policy = _rows(conn, "SELECT polpermissive, polcmd, polroles = ARRAY[0]::oid[], "
                                 "pg_get_expr(polqual, polrelid), pg_get_expr(polwithcheck, polrelid) "
                                 "FROM pg_policy WHERE polrelid = %s AND polname = %s", [oid, POLICY])
            if not policy or not (policy[0][0] and policy[0][1] == "*" and policy[0][2]
                                  and policy[0][3] in expected and policy[0][4] in expected):
                problems.append(Finding("tenant-policy", name, f"no policy {POLICY} FOR ALL TO PUBLIC USING and "
                                                               f"WITH CHECK ({column} = tenancy.current_tenant())"))
            for (other,) in _rows(conn, "SELECT polname FROM pg_policy WHERE polrelid = %s AND polpermissive "
                                        "AND polname <> %s AND (0 = ANY(polroles) OR polroles && %s::oid[])",
                                  [oid, POLICY, tenant_oids]):
                problems.append(Finding("tenant-policy", name, f"permissive policy {other} widens {POLICY}"))
            for (index,) in _rows(conn, "SELECT indexrelid::regclass::text FROM pg_index WHERE indrelid = %s "
                                        "AND (indisunique OR indisexclusion) AND indkey[0] <> %s ORDER BY 1",
                                  [oid, attnum]):
                problems.append(Finding("unique-key", name, f"{index} is not led by {column}: a tenant learns "
                                                            "another's values from 'duplicate key'"))
            for (col,) in _rows(conn, "SELECT a.attname::text FROM pg_attribute a LEFT JOIN pg_attrdef d "
                                      "ON d.adrelid = a.attrelid AND d.adnum = a.attnum WHERE a.attrelid = %s "
                                      "AND a.attnum > 0 AND NOT a.attisdropped AND (a.attidentity <> '' "
                                      "OR pg_get_expr(d.adbin, d.adrelid) LIKE '%%nextval(%%') ORDER BY a.attnum",
                                [oid]):
                problems.append(Finding("shared-sequence", name, f"column {col} draws on a sequence every tenant "
                                                                 "shares: its values tell the others' row counts"))
            for (fk,) in _rows(conn, """
                    SELECT k.conname::text FROM pg_constraint k
                    JOIN pg_attribute pa ON pa.attrelid = k.confrelid AND pa.attname = %s AND NOT pa.attisdropped
                    WHERE k.conrelid = %s AND k.contype = 'f' AND NOT EXISTS (
                      SELECT 1 FROM generate_subscripts(k.conkey, 1) s WHERE k.conkey[s] = %s AND k.confkey[s] = pa.attnum)
                    ORDER BY 1""", [column, oid, attnum]):
                problems.append(Finding("foreign-key", name, f"{fk} does not carry {column}: a tenant can probe "
                                                             "and point at another tenant's rows"))
        findings += problems
        if not problems:
            protected.add(oid)
    return findings, protected


def _reach_findings(conn, roles: list[str], protected: set[int], tenants: list[EffectiveTenant]) -> list[Finding]:
    findings = []
    for role in roles:
        if not _rows(conn, "SELECT has_database_privilege(%s, current_database(), 'CONNECT')", [role])[0][0]:
            continue
        own = role  # a schema tenant's schema is named after its role
        for oid, name, kind in _rows(conn, """
                SELECT c.oid, format('%%I.%%I', n.nspname, c.relname), c.relkind FROM pg_class c
                JOIN pg_namespace n ON n.oid = c.relnamespace
                WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f', 'S') AND n.nspname <> ALL(%s) AND n.nspname <> %s
                  AND n.nspname NOT LIKE 'pg\\_%%' AND has_schema_privilege(%s, n.oid, 'USAGE')
                  AND CASE WHEN c.relkind = 'S' THEN has_sequence_privilege(%s, c.oid, 'USAGE, SELECT, UPDATE')
                      ELSE has_table_privilege(%s, c.oid, 'SELECT, INSERT, UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER')
                        OR has_any_column_privilege(%s, c.oid, 'SELECT, INSERT, UPDATE, REFERENCES') END
                ORDER BY 2""", [["pg_catalog", "information_schema"], own, role, role, role, role]):
            if oid not in protected:
                what = "sequence" if kind == "S" else "table"
                findings.append(Finding("reachable", name, f"role {role} reaches this {what}, which no tenant "
                                                           "policy protects"))
            elif _rows(conn, "SELECT has_table_privilege(%s, %s, 'TRUNCATE, REFERENCES, TRIGGER')", [role, oid])[0][0]:
                findings.append(Finding("reachable", name, f"role {role} may TRUNCATE, reference or trigger on it, "
                                                           "which row security does not filter"))
        for (fn,) in _rows(conn, """
                SELECT p.oid::regprocedure::text FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
                WHERE p.prosecdef AND n.nspname <> ALL(%s) AND n.nspname <> %s AND n.nspname NOT LIKE 'pg\\_%%'
                  AND NOT (n.nspname = 'tenancy' AND p.proname = 'tenant_of')
                  AND has_schema_privilege(%s, n.oid, 'USAGE') AND has_function_privilege(%s, p.oid, 'EXECUTE')
                ORDER BY 1""", [["pg_catalog", "information_schema"], own, role, role]):
            findings.append(Finding("reachable", fn, f"role {role} may call this SECURITY DEFINER function, which "
                                                     "runs with its owner's rights"))
    return findings


def _default_privilege_findings(conn, roles: list[str]) -> list[Finding]:
    return [Finding("default-privileges", f"{owner} in {schema}", f"grants {grantee} {kind} it creates later")
            for owner, schema, grantee, kind in _rows(conn, """
                SELECT DISTINCT a.defaclrole::regrole::text, coalesce(n.nspname::text, 'every schema'),
                       CASE WHEN x.grantee = 0 THEN 'PUBLIC' ELSE x.grantee::regrole::text END,
                       CASE a.defaclobjtype WHEN 'r' THEN 'the tables' WHEN 'S' THEN 'the sequences'
                            WHEN 'f' THEN 'the functions' WHEN 'T' THEN 'the types' ELSE 'the schemas' END
                FROM pg_default_acl a LEFT JOIN pg_namespace n ON n.oid = a.defaclnamespace
                CROSS JOIN LATERAL aclexplode(a.defaclacl) x
                WHERE x.grantee IN (SELECT oid FROM pg_roles WHERE rolname = ANY(%s))
                   OR (x.grantee = 0 AND n.nspname = %s) ORDER BY 1, 2, 3, 4""", [roles, SHARED_SCHEMA])]


def _login_findings(conn, pooled: list[EffectiveTenant], bound: dict[str, str]) -> list[Finding]:
    active = {database_role(t.id) for t in pooled if not t.suspended}
    suspended = {database_role(t.id) for t in pooled if t.suspended}
    findings = []
    for (role,) in _rows(conn, "SELECT rolname::text FROM pg_roles WHERE rolcanlogin AND rolname = ANY(%s) ORDER BY 1",
                         [sorted(set(bound) | suspended)]):
        if role in suspended:
            findings.append(Finding("login", role, "its tenant is suspended, yet the role can log in"))
        elif role not in active:
            findings.append(Finding("login", role, f"tenant {bound[role]} is no longer in the pool, yet its role can "
                                                   "log in: run db-bootstrap (NOLOGIN, data kept)"))
    return findings


def _role_findings(conn, pooled: list[EffectiveTenant], roles: list[str]) -> list[Finding]:
    findings = []
    for role, superuser, bypass, replication, createrole, createdb, inherit, limit in _rows(conn, """
            SELECT rolname::text, rolsuper, rolbypassrls, rolreplication, rolcreaterole, rolcreatedb, rolinherit,
                   rolconnlimit FROM pg_roles WHERE rolname = ANY(%s) ORDER BY 1""", [roles]):
        rights = [name for name, held in (("SUPERUSER", superuser), ("BYPASSRLS", bypass), ("REPLICATION", replication),
                                          ("CREATEROLE", createrole), ("CREATEDB", createdb), ("INHERIT", inherit))
                  if held]
        if rights:
            findings.append(Finding("role-attributes", role, f"has {', '.join(rights)}"))
        if limit < 0:
            findings.append(Finding("session-limits", role, "has no connection limit"))
    for member, group in _rows(conn, "SELECT u.rolname::text, g.rolname::text FROM pg_auth_members m "
                                     "JOIN pg_roles u ON u.oid = m.member JOIN pg_roles g ON g.oid = m.roleid "
                                     "WHERE u.rolname = ANY(%s) ORDER BY 1, 2", [roles]):
        findings.append(Finding("role-attributes", member, f"is a member of {group}: SET ROLE {group} is open to it"))
    instance_temp_limit = _rows(conn, "SELECT reset_val FROM pg_settings WHERE name = 'temp_file_limit'")[0][0]
    settings = dict(_rows(conn, """
        SELECT r.rolname::text, s.setconfig FROM pg_db_role_setting s JOIN pg_roles r ON r.oid = s.setrole
        WHERE s.setdatabase = 0 AND r.rolname = ANY(%s)""", [roles]))
    unlimited = []
    for tenant in pooled:
        role = database_role(tenant.id)
        if role not in roles:
            continue
        have = dict(item.split("=", 1) for item in settings.get(role) or [])
        limits = tenant.plan.database
        want = {"statement_timeout": f"{limits.statement_timeout_seconds}s",
                "idle_in_transaction_session_timeout": f"{limits.idle_in_transaction_timeout_seconds}s",
                "work_mem": f"{limits.work_mem_mib}MB", "temp_file_limit": f"{limits.temp_file_limit_mib}MB"}
        for name in ROLE_LIMITS:
            if name == "temp_file_limit" and name not in have:
                if instance_temp_limit == "-1":
                    unlimited.append(role)
            elif have.get(name) != want[name]:
                findings.append(Finding("session-limits", role, f"{name} is {have.get(name, 'not set')}, its plan "
                                                                f"says {want[name]}"))
    if unlimited:
        findings.append(Finding("session-limits", "temp_file_limit", f"unlimited for {len(unlimited)} tenant role(s) "
                                f"({', '.join(unlimited[:3])}{', ...' if len(unlimited) > 3 else ''}): neither the "
                                "roles nor the instance set it, so one tenant can fill the disk; set it in the "
                                "instance's parameters, or run db-bootstrap as a role that may"))
    return findings


def _pool_login_findings(conn, pooled: list[EffectiveTenant], login: str) -> list[Finding]:
    """The pooled services' login must act only through SET ROLE to an active pooled tenant (row or
    schema mode) for a transaction: NOINHERIT, no rights of its own, members of those roles alone,
    and never with ADMIN OPTION (which would let it hand a tenant's role to anyone)."""
    found = _rows(conn, "SELECT rolsuper, rolbypassrls, rolreplication, rolcreaterole, rolcreatedb, rolinherit "
                        "FROM pg_roles WHERE rolname = %s", [login])
    if not found:
        return []  # no such login: nothing can use it
    findings = []
    rights = [name for name, held in zip(("SUPERUSER", "BYPASSRLS", "REPLICATION", "CREATEROLE", "CREATEDB",
                                          "INHERIT"), found[0]) if held]
    if rights:
        findings.append(Finding("pool-login", login, f"has {', '.join(rights)}"))
    allowed = {database_role(t.id) for t in pooled
               if not t.suspended and t.data_isolation is not DataIsolation.database} | {"rds_iam"}
    for group, admin in _rows(conn, "SELECT g.rolname::text, m.admin_option FROM pg_auth_members m "
                                    "JOIN pg_roles u ON u.oid = m.member JOIN pg_roles g ON g.oid = m.roleid "
                                    "WHERE u.rolname = %s ORDER BY 1", [login]):
        if group not in allowed:
            findings.append(Finding("pool-login", login, f"is a member of {group}, not an active pooled tenant's "
                                                         f"role: SET ROLE {group} is open to it (run db-bootstrap)"))
        elif admin:
            findings.append(Finding("pool-login", login, f"holds {group} WITH ADMIN OPTION: it can grant that "
                                                         "tenant's role to any role"))
    for kind, name in _rows(conn, """
            SELECT 'table', c.oid::regclass::text FROM pg_class c, aclexplode(c.relacl) x
             WHERE x.grantee = (SELECT oid FROM pg_roles WHERE rolname = %(l)s)
            UNION SELECT 'schema', n.nspname::text FROM pg_namespace n, aclexplode(n.nspacl) x
             WHERE x.grantee = (SELECT oid FROM pg_roles WHERE rolname = %(l)s) AND x.privilege_type <> 'USAGE'
            UNION SELECT 'owned', c.oid::regclass::text FROM pg_class c
             WHERE c.relowner = (SELECT oid FROM pg_roles WHERE rolname = %(l)s)
            ORDER BY 1, 2""", {"l": login}):
        what = f"owns {name}" if kind == "owned" else f"holds rights on {kind} {name} of its own"
        findings.append(Finding("pool-login", login, f"{what}: it reads without SET ROLE"))
    return findings


def _public_findings(conn, schemas: list[str], other_databases: bool) -> list[Finding]:
    findings = []
    if _rows(conn, "SELECT datname FROM pg_database WHERE datname = current_database() AND "
                   "(datacl IS NULL OR EXISTS (SELECT 1 FROM aclexplode(datacl) x WHERE x.grantee = 0))"):
        findings.append(Finding("public-rights", conn.info.dbname, "PUBLIC may connect (or create temporary tables)"))
    for (schema,) in _rows(conn, "SELECT nspname::text FROM pg_namespace WHERE nspname = ANY(%s) AND "
                                 "EXISTS (SELECT 1 FROM aclexplode(nspacl) x WHERE x.grantee = 0) ORDER BY 1", [schemas]):
        findings.append(Finding("public-rights", f"schema {schema}", "PUBLIC may use it"))
    if other_databases:
        for (name,) in _rows(conn, "SELECT datname::text FROM pg_database WHERE datname <> current_database() "
                                   "AND datallowconn AND (datacl IS NULL OR EXISTS (SELECT 1 FROM aclexplode(datacl) x "
                                   "WHERE x.grantee = 0)) ORDER BY 1"):
            findings.append(Finding("public-rights", name, "PUBLIC may connect: tenants meet there (LISTEN/NOTIFY, "
                                                           "advisory locks)"))
    for (fn,) in _rows(conn, """
            SELECT p.oid::regprocedure::text FROM unnest(%s::text[]) f JOIN pg_proc p ON p.oid = to_regprocedure(f)
            WHERE p.proacl IS NULL OR EXISTS (SELECT 1 FROM aclexplode(p.proacl) x WHERE x.grantee = 0)
            ORDER BY 1""", [list(WRITE_WITHOUT_CREATE)]):
        findings.append(Finding("write-without-create", f"{conn.info.dbname}: {fn}",
                                "PUBLIC may run it: any tenant writes without CREATE (revoke as the owner of pg_catalog)"))
    return findings


def _database_acl_findings(conn, tenant: EffectiveTenant, main_db: str) -> list[Finding]:
    name, role = tenant_database(tenant.id), database_role(tenant.id)
    row = _rows(conn, "SELECT datdba FROM pg_database WHERE datname = %s", [name])
    if not row:
        return [Finding("own-database", name, f"tenant {tenant.id} has dataIsolation database, but its database "
                                              "does not exist: run db-bootstrap")]
    findings = []
    for (grantee,) in _rows(conn, """
            SELECT DISTINCT CASE WHEN x.grantee = 0 THEN 'PUBLIC' ELSE x.grantee::regrole::text END
            FROM pg_database d CROSS JOIN LATERAL aclexplode(coalesce(d.datacl, acldefault('d', d.datdba))) x
            WHERE d.datname = %s AND x.grantee <> d.datdba AND x.grantee::regrole::text <> %s
              AND x.privilege_type IN ('CONNECT', 'TEMPORARY') ORDER BY 1""", [name, role]):
        findings.append(Finding("own-database", name, f"{grantee} may connect to tenant {tenant.id}'s database"))
    if _rows(conn, "SELECT has_database_privilege(%s, %s, 'CONNECT')", [role, main_db])[0][0]:
        findings.append(Finding("own-database", main_db, f"role {role} (dataIsolation database) may connect to the "
                                                         "shared database"))
    return findings


def own_database_findings(conn, tenant: EffectiveTenant) -> list[Finding]:
    """Inside a `database` tenant's own database: PUBLIC's rights, and the functions that write."""
    return [f for f in _public_findings(conn, ["public", schema_name(tenant.id)], other_databases=False)
            if f.subject != conn.info.dbname]  # its ACL is judged from the pooled database


def split_accepted(findings: list[Finding], accepted: list[str]) -> tuple[list[Finding], list[Finding]]:
    """(to fix, accepted): `accepted` holds KIND or KIND:SUBJECT, for what the platform knowingly
    cannot fix where it runs (on RDS: write-without-create, public-rights:template1)."""
    unknown = sorted({a.split(":", 1)[0] for a in accepted} - set(KINDS))
    if unknown:
        raise ValueError(f"unknown finding kind(s) {', '.join(unknown)}; kinds: {', '.join(KINDS)}")
    keep, skip = [], []
    for finding in findings:
        hit = finding.kind in accepted or f"{finding.kind}:{finding.subject}" in accepted
        (skip if hit else keep).append(finding)
    return keep, skip


def exit_code(findings: list[Finding]) -> int:
    """0 clean, 1 findings (tenancy.exits)."""
    from tenancy.exits import ExitCode

    return ExitCode.FAILED if findings else ExitCode.OK
