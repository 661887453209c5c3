"""`db-check` on a real PostgreSQL 15: nothing to report on a database the project bootstrapped, and
each planted weakness reported, by kind and subject."""

from __future__ import annotations

import dataclasses

import pytest

from tenancy.dataplane.db_check import KINDS, Finding, db_check, exit_code, split_accepted
from tenancy.registry.models import DataIsolation, Status
from tenancy.registry.naming import database_role

from .test_pool_sql import make_tenants, snapshot
from .test_postgres_attacks import NOTES, Pool


@pytest.fixture
def base(dev_tenants):
    return next(t for t in dev_tenants if t.id == "northwind")


def make_checked(database, base, as_superuser=True) -> Pool:
    """Row tenants a and b, schema tenant c, database tenant d, suspended schema tenant s, a
    shared table written as a migration should; bootstrapped again, as the owner of pg_catalog (a
    self-managed server's superuser) or as an RDS-like master user."""
    server, name = database
    a, b = make_tenants(base, "chk", 2, DataIsolation.row)
    [c] = make_tenants(base, "chk", 1, DataIsolation.schema_)
    [d] = make_tenants(base, "chk", 1, DataIsolation.database)
    [s] = make_tenants(base, "chk", 1, DataIsolation.schema_, status=Status.suspended)
    pool = Pool(server, name, {"a": a, "b": b, "c": c, "d": d, "s": s})
    pool.bootstrap()  # the admin owns schema shared, where migrations (as the admin) create tables
    pool.migrate(NOTES)
    pool.bootstrap(as_superuser=as_superuser)
    return pool


def check(pool: Pool, keys=None, **changes) -> list[Finding]:
    tenants = [pool.tenants[k] for k in (keys if keys is not None else pool.tenants)]
    tenants = [dataclasses.replace(t, tenant=t.tenant.model_copy(update=changes.get(t.id, {}))) for t in tenants]
    return db_check(pool.server.dsn(database=pool.name), tenants, pool.options.tenant_column)


@pytest.fixture
def checked(database, base) -> Pool:
    return make_checked(database, base)


def test_a_database_bootstrapped_by_the_project_reports_nothing_and_is_left_as_it_was(checked):
    with checked.connect("a") as a:
        a.execute("INSERT INTO notes (email) VALUES ('ceo@a.example')")
    with checked.connect("c") as c:
        c.execute("CREATE TABLE own (id serial PRIMARY KEY, email text UNIQUE)")  # its own schema: anything goes
    before = snapshot(checked.server, checked.name)
    findings = check(checked)
    assert findings == [] and exit_code(findings) == 0
    assert snapshot(checked.server, checked.name) == before


def test_an_rds_like_admin_leaves_only_what_its_master_user_cannot_fix(database, base):
    pool = make_checked(database, base, as_superuser=False)
    findings = check(pool)
    kinds = {f.kind for f in findings}
    assert {"write-without-create", "session-limits"} <= kinds <= {"write-without-create", "session-limits",
                                                                   "public-rights"}
    assert [f.subject for f in findings if f.kind == "session-limits"] == ["temp_file_limit"]
    assert all(f.subject in ("postgres", "template1") for f in findings if f.kind == "public-rights")
    assert any(f.subject.startswith(f"{pool.dbname('d')}: ") for f in findings)  # its own database too
    assert exit_code(findings) == 1
    to_fix, accepted = split_accepted(findings, ["write-without-create", "session-limits:temp_file_limit",
                                                 "public-rights:postgres",
                                                 "public-rights:template1"])
    assert to_fix == [] and accepted == findings
    with pytest.raises(ValueError, match="unknown finding kind"):
        split_accepted(findings, ["write-without-creat"])


PLANTED = {
    # name: (statements as the superuser, with {a} {b} {d} for roles and {db} for the database; expected kind, subject)
    "row security off": (["ALTER TABLE shared.notes NO FORCE ROW LEVEL SECURITY"], "row-security", "shared.notes"),
    "a table created after bootstrap": (["CREATE TABLE shared.later (tenant_id text)"], "row-security", "shared.later"),
    "a table without the tenant column": (["CREATE TABLE shared.plain (owner text)"], "tenant-policy", "shared.plain"),
    "a permissive policy beside the tenant's": (["CREATE POLICY everyone ON shared.notes USING (true)"],
                                                "tenant-policy", "shared.notes"),
    "the tenant policy weakened": (["ALTER POLICY tenant_isolation ON shared.notes USING (true)"],
                                   "tenant-policy", "shared.notes"),
    "a unique key across tenants": (["CREATE UNIQUE INDEX notes_email ON shared.notes (email)"],
                                    "unique-key", "shared.notes"),
    "a shared sequence": (["ALTER TABLE shared.notes ADD COLUMN n bigserial"], "shared-sequence", "shared.notes"),
    "a foreign key without the tenant": (["CREATE TABLE shared.comments (tenant_id text, note uuid, note_tenant text, "
                                          "FOREIGN KEY (note_tenant, note) REFERENCES shared.notes (tenant_id, id))"],
                                         "foreign-key", "shared.comments"),
    "a grant on an unprotected table": (["CREATE TABLE shared.open (tenant_id text)", "GRANT SELECT ON shared.open TO {b}"],
                                        "reachable", "shared.open"),
    "a grant on a sequence": (["CREATE SEQUENCE shared.counter", "GRANT USAGE ON SEQUENCE shared.counter TO {b}"],
                              "reachable", "shared.counter"),
    "TRUNCATE on a protected table": (["GRANT TRUNCATE ON shared.notes TO {b}"], "reachable", "shared.notes"),
    "a definer function": (["CREATE FUNCTION shared.everything() RETURNS bigint LANGUAGE sql SECURITY DEFINER "
                            "AS 'SELECT count(*) FROM shared.notes'"], "reachable", "shared.everything()"),
    "a table in public": (["GRANT USAGE ON SCHEMA public TO {b}", "CREATE TABLE public.settings (x int)",
                           "GRANT SELECT ON public.settings TO PUBLIC"], "reachable", "public.settings"),
    "another schema tenant's table": (["GRANT USAGE ON SCHEMA {c} TO {b}", "CREATE TABLE {c}.own (x int)",
                                       "GRANT SELECT ON {c}.own TO {b}"], "reachable", "{c}.own"),
    "default privileges": (["ALTER DEFAULT PRIVILEGES IN SCHEMA shared GRANT SELECT ON TABLES TO {b}"],
                           "default-privileges", "postgres in shared"),
    "a tenant role that may create databases": (["ALTER ROLE {b} CREATEDB"], "role-attributes", "{b}"),
    "a tenant role in another role": (["GRANT {a} TO {b}"], "role-attributes", "{b}"),
    "a connection limit lifted": (["ALTER ROLE {b} CONNECTION LIMIT -1"], "session-limits", "{b}"),
    "a statement timeout lifted by the tenant": (["ALTER ROLE {b} SET statement_timeout = 0"], "session-limits", "{b}"),
    "PUBLIC on the pooled database": (["GRANT CONNECT ON DATABASE {db} TO PUBLIC"], "public-rights", "{db}"),
    "PUBLIC on schema shared": (["GRANT USAGE ON SCHEMA shared TO PUBLIC"], "public-rights", "schema shared"),
    "PUBLIC on another database": (["GRANT CONNECT ON DATABASE template1 TO PUBLIC"], "public-rights", "template1"),
    "large objects for PUBLIC again": (["GRANT EXECUTE ON FUNCTION lo_from_bytea(oid, bytea) TO PUBLIC"],
                                       "write-without-create", "{db}: lo_from_bytea(oid,bytea)"),
    "another tenant on a tenant's database": (["GRANT CONNECT ON DATABASE {d} TO {b}"], "own-database", "{d}"),
}


@pytest.mark.parametrize("planted", list(PLANTED))
def test_each_planted_weakness_is_reported(checked, planted):
    statements, kind, subject = PLANTED[planted]
    names = {k: checked.role(k) for k in checked.tenants} | {"db": checked.name}
    with checked.superuser() as su:
        for statement in statements:
            su.execute(statement.format(**names))
    findings = check(checked)
    assert kind in KINDS
    assert subject.format(**names) in {f.subject for f in findings if f.kind == kind}, findings
    assert exit_code(findings) == 1
    with checked.superuser() as su:  # leave the shared server as a new one would be
        su.execute("REVOKE CONNECT ON DATABASE template1 FROM PUBLIC")


def test_a_tenant_gone_from_the_registry_or_suspended_that_can_still_log_in(checked):
    gone = check(checked, ["b", "c", "d", "s"])  # a left the registry; bootstrap has not run since
    assert [f for f in gone if f.kind == "login"] == [
        Finding("login", checked.role("a"), f"tenant {checked.id('a')} is no longer in the pool, yet its role can "
                                            "log in: run db-bootstrap (NOLOGIN, data kept)")]
    checked.bootstrap(["b", "c", "d", "s"], as_superuser=True)
    assert check(checked, ["b", "c", "d", "s"]) == []
    with checked.superuser() as su:
        su.execute(f"ALTER ROLE {checked.role('s')} LOGIN")  # a suspended tenant let back in by hand
    assert [f.subject for f in check(checked, ["b", "c", "d", "s"]) if f.kind == "login"] == [checked.role("s")]


def test_a_missing_own_database_and_a_database_never_bootstrapped(database, base):
    server, name = database
    assert check(Pool(server, name, {})) == [Finding("not-bootstrapped", name, "no tenancy.tenant_roles: "
                                                                               "run db-bootstrap")]
    pool = make_checked(database, base)
    [late] = make_tenants(base, "chk", 1, DataIsolation.database)
    pool.tenants["late"] = late
    assert Finding("own-database", database_role(late.id), f"tenant {late.id} has dataIsolation database, but its "
                                                           "database does not exist: run db-bootstrap") in check(pool)


def test_unreachable_server_is_an_environment_error(postgres):
    from tenancy.dataplane.apply import DataPlaneError

    with pytest.raises(DataPlaneError, match="cannot connect to host=127.0.0.1 port=1"):
        db_check("host=127.0.0.1 port=1 dbname=tenants user=x password=hunter2 connect_timeout=2", [])
    with pytest.raises(DataPlaneError) as caught:
        db_check(postgres.dsn(password="wrong"), [])
    assert "wrong" not in str(caught.value)
