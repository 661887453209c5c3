"""The pooled PostgreSQL's tenant isolation, proven against a real PostgreSQL 15."""

from __future__ import annotations

import dataclasses
import itertools
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

import psycopg
import pytest

from tenancy.dataplane.apply import DataPlaneError, bootstrap_database
from tenancy.registry.models import DataIsolation, Status
from tenancy.registry.naming import database_role

from ..conftest import PROJECT
from .probe import probe_postgres

_ids = itertools.count()


def make_tenants(base, prefix: str, n: int, isolation: DataIsolation, **changes):
    """n pooled tenants like `base`, with fresh ids (roles are cluster-wide, so each test has its own)."""
    out = []
    for _ in range(n):
        tenant_id = f"{prefix}{next(_ids)}"
        model = base.tenant.model_copy(update={"id": tenant_id, **changes})
        out.append(dataclasses.replace(base, tenant=model, data_isolation=isolation))
    return out


def passwords_of(tenants) -> dict[str, str]:
    return {t.id: f"pw-{t.id}-secret" for t in tenants}


def tenant_dsn(server, name, tenant_id):
    return server.dsn(database_role(tenant_id), f"pw-{tenant_id}-secret", name)


@pytest.fixture
def base(dev_tenants):
    return next(t for t in dev_tenants if t.id == "northwind")


def public_entries(acl: str | None) -> list[str]:
    """The entries of an ACL (`{grantee=privileges/grantor,...}`) that grant to PUBLIC (no grantee)."""
    return [entry for entry in (acl or "{}").strip("{}").split(",") if entry.startswith("=")]


def snapshot(server, name) -> dict:
    """Everything the bootstrap controls, as the catalogs show it."""
    queries = {
        "roles": "SELECT rolname, rolsuper, rolbypassrls, rolcreaterole, rolcreatedb, rolcanlogin, rolconnlimit, "
                 "rolinherit, rolconfig FROM pg_roles WHERE rolname LIKE 'tenant\\_%' ORDER BY 1",
        "schemas": "SELECT nspname, nspowner::regrole::text, nspacl::text FROM pg_namespace ORDER BY 1",
        "database": f"SELECT datacl::text FROM pg_database WHERE datname = '{name}'",
        "policies": "SELECT schemaname, tablename, policyname, qual, with_check FROM pg_policies ORDER BY 1, 2, 3",
        "rls": "SELECT relname, relrowsecurity, relforcerowsecurity, relacl::text FROM pg_class c JOIN pg_namespace n "
               "ON n.oid = c.relnamespace WHERE nspname IN ('shared', 'tenancy') ORDER BY 1",
        "defaults": "SELECT defaclrole::regrole::text, defaclnamespace, defaclobjtype, defaclacl::text FROM pg_default_acl "
                    "ORDER BY 1, 2, 3",
        "bindings": "SELECT * FROM tenancy.tenant_roles ORDER BY 1",
        "functions": "SELECT proname, prosecdef, proacl::text, prosrc FROM pg_proc WHERE pronamespace = "
                     "'tenancy'::regnamespace",
    }
    out = {}
    with psycopg.connect(server.superuser_dsn(name), autocommit=True) as conn:
        for key, query in queries.items():
            try:
                out[key] = conn.execute(query).fetchall()
            except (psycopg.errors.UndefinedTable, psycopg.errors.InvalidSchemaName):
                out[key] = "absent"
    return out


def run_cli(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "tenancy", *args], cwd=PROJECT, capture_output=True, text=True,
                          env={"PATH": os.environ["PATH"], **(env or {})})


def test_dry_run_prints_one_transaction_without_connecting_or_passwords():
    result = run_cli("db-bootstrap", "--environment", "dev", "--dry-run",
                     env={"TENANCY_DB_PASSWORD_BRIGHTSIDE": "top-secret-value"})
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[1] == "BEGIN;" and lines[-1] == "COMMIT;"
    assert "top-secret-value" not in result.stdout and "PASSWORD '********'" in result.stdout
    assert 'CREATE SCHEMA IF NOT EXISTS "tenant_brightside"' in result.stdout  # schema tenant
    assert 'ALTER ROLE "tenant_northwind" SET search_path = "shared"' in result.stdout  # row tenant
    # deny by default: no default privileges, shared tables granted one by one once they qualify
    assert "DEFAULT PRIVILEGES IN SCHEMA" not in result.stdout
    assert not [line for line in result.stdout.splitlines() if "ON ALL TABLES" in line and "GRANT" in line]
    assert 'REVOKE ALL ON ALL TABLES IN SCHEMA "shared" FROM "tenancy_pool"' in result.stdout  # no rights of its own
    assert "FORCE ROW LEVEL SECURITY" in result.stdout and "GRANT SELECT, INSERT, UPDATE, DELETE ON shared.%I" in result.stdout
    for rule in ("unique keys not led by", "a sequence every tenant shares", "foreign keys without",
                 "other permissive policies widen", "ALTER DEFAULT PRIVILEGES FOR ROLE %I %s REVOKE ALL"):
        assert rule in result.stdout, rule
    # session limits from the plan, and the functions that write without CREATE
    assert """ALTER ROLE "tenant_brightside" SET statement_timeout = '30s'""" in result.stdout
    assert "idle_in_transaction_session_timeout" in result.stdout and "SET work_mem" in result.stdout
    assert "SET temp_file_limit = '1024MB'" in result.stdout and "pg_catalog.lo_from_bytea(oid,bytea)" in result.stdout
    # tenants that left the pool, and ids used again
    assert "ALTER ROLE %I NOLOGIN" in result.stdout and "its id belonged to a tenant that left the pool" in result.stdout


def test_roles_are_locked_down_and_public_loses_its_rights(database, base):
    server, name = database
    tenants = make_tenants(base, "lock", 2, DataIsolation.row)
    suspended = make_tenants(base, "susp", 1, DataIsolation.schema_, status=Status.suspended)
    result = bootstrap_database(server.dsn(database=name), tenants + suspended, passwords_of(tenants + suspended))
    assert sorted(result.created_roles) == sorted(database_role(t.id) for t in tenants + suspended)
    state = snapshot(server, name)
    roles = {r[0]: r for r in state["roles"]}
    for t in tenants:
        _, superuser, bypass, createrole, createdb, login, limit, inherit, config = roles[database_role(t.id)]
        assert (superuser, bypass, createrole, createdb, login, inherit) == (False, False, False, False, True, False)
        assert limit == t.plan.database.connection_limit
        assert sorted(config) == ["idle_in_transaction_session_timeout=60s", "search_path=shared",
                                  "statement_timeout=30s", "work_mem=4MB"]  # temp_file_limit: not by this admin
    assert roles[database_role(suspended[0].id)][5] is False  # NOLOGIN
    [(database_acl,)] = state["database"]
    public_schema_acl = next(s[2] for s in state["schemas"] if s[0] == "public")
    assert public_entries(database_acl) == [] and public_entries(public_schema_acl) == []
    assert public_entries("{=Tc/postgres,a=UC/b}") == ["=Tc/postgres"]  # the helper does see PUBLIC


def test_a_second_run_changes_nothing(database, base):
    server, name = database
    server.sql(name, "CREATE SCHEMA shared AUTHORIZATION tenancy_admin",
               "CREATE TABLE shared.notes (id serial PRIMARY KEY, tenant_id text NOT NULL, body text)",  # skipped
               "CREATE TABLE shared.events (tenant_id text, id uuid, PRIMARY KEY (tenant_id, id))",  # granted
               "ALTER TABLE shared.notes OWNER TO tenancy_admin", "ALTER SEQUENCE shared.notes_id_seq OWNER TO tenancy_admin",
               "ALTER TABLE shared.events OWNER TO tenancy_admin")
    tenants = make_tenants(base, "idem", 2, DataIsolation.row) + make_tenants(base, "idems", 1, DataIsolation.schema_)
    bootstrap_database(server.dsn(database=name), tenants, passwords_of(tenants))
    first = snapshot(server, name)
    again = bootstrap_database(server.dsn(database=name), tenants, passwords_of(tenants))
    assert again.created_roles == []
    assert snapshot(server, name) == first


def test_schema_and_row_tenants_cannot_reach_each_other(database, base):
    server, name = database
    server.sql(name, "CREATE SCHEMA shared AUTHORIZATION tenancy_admin")
    schema_tenants = make_tenants(base, "sch", 2, DataIsolation.schema_)
    row_tenants = make_tenants(base, "row", 2, DataIsolation.row)
    everyone = schema_tenants + row_tenants
    bootstrap_database(server.dsn(database=name), everyone, passwords_of(everyone))
    with psycopg.connect(server.dsn(database=name), autocommit=True) as admin:
        admin.execute("CREATE TABLE shared.notes (id uuid DEFAULT gen_random_uuid(), "
                      "tenant_id text NOT NULL DEFAULT tenancy.current_tenant(), body text, PRIMARY KEY (tenant_id, id))")
    bootstrap_database(server.dsn(database=name), everyone, passwords_of(everyone))  # protects the new table
    tables = {}
    for t in schema_tenants:
        with psycopg.connect(tenant_dsn(server, name, t.id), autocommit=True) as conn:
            conn.execute("CREATE TABLE notes (id serial PRIMARY KEY, body text DEFAULT 'x')")  # its own sequence
            conn.execute("INSERT INTO notes DEFAULT VALUES")
        tables[t.id] = [f"{database_role(t.id)}.notes"]
    for t in row_tenants:
        with psycopg.connect(tenant_dsn(server, name, t.id), autocommit=True) as conn:
            conn.execute("INSERT INTO notes (body) VALUES ('mine')")
            assert conn.execute("SELECT tenancy.current_tenant()").fetchone() == (t.id,)
            assert conn.execute("SELECT DISTINCT tenant_id FROM notes").fetchall() == [(t.id,)]
    breaches = probe_postgres(lambda tid: tenant_dsn(server, name, tid), tables, [t.id for t in row_tenants],
                              ["shared.notes"])
    assert breaches == []

    # the probe can fail: a weakened grant is found at once
    victim, intruder = schema_tenants
    server.sql(name, f"GRANT USAGE ON SCHEMA {database_role(victim.id)} TO {database_role(intruder.id)}",
               f"GRANT SELECT ON ALL TABLES IN SCHEMA {database_role(victim.id)} TO {database_role(intruder.id)}")
    breaches = probe_postgres(lambda tid: tenant_dsn(server, name, tid), tables, [t.id for t in row_tenants],
                              ["shared.notes"])
    assert f"{intruder.id} read {victim.id}'s {database_role(victim.id)}.notes" in breaches


def test_twenty_tenants_in_parallel_each_see_only_their_own_rows_and_lose_none(database, base):
    server, name = database
    server.sql(name, "CREATE SCHEMA shared AUTHORIZATION tenancy_admin")
    with psycopg.connect(server.dsn(database=name), autocommit=True) as admin:
        admin.execute("CREATE TABLE shared.events (id uuid DEFAULT gen_random_uuid(), tenant_id text NOT NULL, n int, "
                      "PRIMARY KEY (tenant_id, id))")
    tenants = make_tenants(base, "par", 20, DataIsolation.row)
    bootstrap_database(server.dsn(database=name), tenants, passwords_of(tenants))
    connections_per_tenant, rows_per_connection = 3, 40

    def work(job):
        tenant, worker = job
        with psycopg.connect(tenant_dsn(server, name, tenant.id), autocommit=True) as conn:
            for i in range(rows_per_connection):
                conn.execute("INSERT INTO events (tenant_id, n) VALUES (%s, %s)", (tenant.id, worker * 1000 + i))
                seen = conn.execute("SELECT DISTINCT tenant_id FROM events").fetchall()
                assert seen == [(tenant.id,)], seen
        return tenant.id

    jobs = [(t, w) for t in tenants for w in range(connections_per_tenant)]
    with ThreadPoolExecutor(max_workers=30) as pool:
        assert len(list(pool.map(work, jobs))) == len(jobs)
    for tenant in tenants:
        with psycopg.connect(tenant_dsn(server, name, tenant.id)) as conn:
            rows = conn.execute("SELECT tenant_id, n FROM events").fetchall()
        assert len(rows) == connections_per_tenant * rows_per_connection
        assert {r[0] for r in rows} == {tenant.id} and len({r[1] for r in rows}) == len(rows)


def test_suspended_tenant_cannot_log_in_and_keeps_its_data(database, base):
    server, name = database
    [tenant] = make_tenants(base, "pause", 1, DataIsolation.schema_)
    bootstrap_database(server.dsn(database=name), [tenant], passwords_of([tenant]))
    with psycopg.connect(tenant_dsn(server, name, tenant.id), autocommit=True) as conn:
        conn.execute("CREATE TABLE notes AS SELECT 1 AS x")
    suspended = dataclasses.replace(tenant, tenant=tenant.tenant.model_copy(update={"status": Status.suspended}))
    bootstrap_database(server.dsn(database=name), [suspended], {})
    with pytest.raises(psycopg.OperationalError, match="not permitted to log in"):
        psycopg.connect(tenant_dsn(server, name, tenant.id))
    with psycopg.connect(server.superuser_dsn(name)) as conn:
        assert conn.execute(f"SELECT x FROM {database_role(tenant.id)}.notes").fetchall() == [(1,)]


def test_a_new_role_without_a_password_is_refused_before_anything_changes(database, base):
    server, name = database
    tenants = make_tenants(base, "nopw", 2, DataIsolation.schema_)
    before = snapshot(server, name)
    with pytest.raises(DataPlaneError, match=f"TENANCY_DB_PASSWORD_{tenants[1].id.upper()}"):
        bootstrap_database(server.dsn(database=name), tenants, passwords_of(tenants[:1]))
    assert snapshot(server, name) == before


def test_a_failing_statement_rolls_everything_back(database, base):
    server, name = database
    server.sql(name, "CREATE SCHEMA tenancy AUTHORIZATION tenancy_admin",
               "CREATE TABLE tenancy.tenant_roles (role_name name PRIMARY KEY, tenant_id integer)",
               "ALTER TABLE tenancy.tenant_roles OWNER TO tenancy_admin")
    tenants = make_tenants(base, "roll", 2, DataIsolation.schema_)
    before = snapshot(server, name)
    with pytest.raises(DataPlaneError, match="nothing was changed"):
        bootstrap_database(server.dsn(database=name), tenants, passwords_of(tenants))
    assert snapshot(server, name) == before


def test_unreachable_server_and_bad_credentials_exit_two_with_a_clear_message(postgres):
    closed = run_cli("db-bootstrap", "--environment", "dev", "--dsn",
                     "host=127.0.0.1 port=1 dbname=tenants user=x password=hunter2 connect_timeout=2")
    assert closed.returncode == 2 and "Traceback" not in closed.stderr
    assert "db-bootstrap: cannot connect to host=127.0.0.1 port=1" in closed.stderr and "hunter2" not in closed.stderr
    wrong = run_cli("db-bootstrap", "--environment", "dev", "--dsn", postgres.dsn(password="wrong-password"))
    assert wrong.returncode == 2 and "password authentication failed" in wrong.stderr
    assert "wrong-password" not in wrong.stderr


def test_the_cli_applies_the_registry_with_passwords_from_the_environment(database, dev_tenants):
    server, name = database
    pooled = [t for t in dev_tenants if t.data_isolation is not None]  # the pooled-database tenants
    env = {f"TENANCY_DB_PASSWORD_{t.id.upper()}": f"pw-{t.id}-secret" for t in pooled}
    result = run_cli("db-bootstrap", "--environment", "dev", "--dsn", server.dsn(database=name), env=env)
    assert result.returncode == 0, result.stderr
    assert "pw-" not in result.stdout
    again = run_cli("db-bootstrap", "--environment", "dev", "--dsn", server.dsn(database=name), env=env)
    assert again.returncode == 0 and "new roles: none;" in again.stdout


# -- the pooled connection limits against the instance's max_connections (tenancy validate) ------------

def _project_with(tmp_path, pool_class: str, professional_limit: int = 40, extra: str = ""):
    import shutil

    project = tmp_path / "project"
    shutil.copytree(PROJECT, project, ignore=shutil.ignore_patterns("__pycache__"))
    stack = project / "Pulumi.dev.yaml"
    stack.write_text(stack.read_text().replace("databaseInstanceClass: db.t4g.medium",
                                               f"databaseInstanceClass: {pool_class}{extra}"))
    plans = project / "tenants" / "plans.yaml"
    plans.write_text(plans.read_text().replace("connectionLimit: 40}", f"connectionLimit: {professional_limit}}}"))
    return project


def test_rds_default_max_connections_from_the_instance_memory():
    from tenancy.registry.connections import default_max_connections

    assert default_max_connections("db.t4g.medium") == 450  # 4 GiB / 9531392
    assert default_max_connections("db.r6g.xlarge") == 3604  # 32 GiB
    assert default_max_connections("db.r6i.32xlarge") == 5000  # LEAST(..., 5000)
    assert default_max_connections("db.x9.huge") is None


def test_pooled_connection_limits_must_fit_the_pooled_instance(tmp_path):
    fits = run_cli("validate", "--cwd", str(_project_with(tmp_path / "a", "db.t4g.micro")))
    assert fits.returncode == 0, fits.stderr  # 10 + 40 + 10 of about 112 - 13
    over = run_cli("validate", "--cwd", str(_project_with(tmp_path / "b", "db.t4g.micro", professional_limit=100)))
    assert over.returncode == 1 and "Traceback" not in over.stderr
    assert ("Pulumi.dev.yaml:13: stack dev: tenancy:pool.databaseInstanceClass: the 3 pooled tenants may open 120 "
            "connections together (northwind 100, brightside 10, umbrella 10), more than the 99 the pooled instance "
            "has for them: max_connections about 112 on db.t4g.micro") in over.stderr


def test_an_unknown_instance_class_needs_its_max_connections(tmp_path):
    unknown = run_cli("validate", "--cwd", str(_project_with(tmp_path / "a", "db.x9.huge")))
    assert unknown.returncode == 1
    assert "tenancy:pool.databaseInstanceClass: the pooled tenants' connection limits cannot be checked: " \
           "'db.x9.huge' is not a known instance class; set tenancy:pool.databaseMaxConnections" in unknown.stderr
    given = run_cli("validate", "--cwd", str(_project_with(tmp_path / "b", "db.x9.huge",
                                                           extra="\n    databaseMaxConnections: 50")))
    assert given.returncode == 1 and "tenancy:pool.databaseMaxConnections: the 3 pooled tenants may open 60" in given.stderr
    enough = run_cli("validate", "--cwd", str(_project_with(tmp_path / "c", "db.x9.huge",
                                                            extra="\n    databaseMaxConnections: 500")))
    assert enough.returncode == 0, enough.stderr


def test_the_dry_run_of_a_database_tenant_and_the_options_of_an_environment(dev_tenants, tmp_path):
    from tenancy.dataplane.postgres import bootstrap_script, database_options

    northwind = next(t for t in dev_tenants if t.id == "northwind")
    [own] = make_tenants(northwind, "dry", 1, DataIsolation.database)
    lines = bootstrap_script([own], "tenants", {own.id: "secret-pw"}, database_options(PROJECT, "dev"))
    text = "\n".join(lines)
    assert lines[0] == "BEGIN;" and "secret-pw" not in text and "PASSWORD '********'" in text
    name = database_role(own.id)
    assert text.index("COMMIT;") < text.index(f'CREATE DATABASE "{name}" TEMPLATE template0 ALLOW_CONNECTIONS false;')
    assert f'REVOKE ALL ON DATABASE "{name}" FROM PUBLIC;' in text and f"\\connect {name}" in text
    assert f'GRANT CONNECT ON DATABASE "{name}" TO "{name}";' in text and lines[-1] == "COMMIT;"
    assert f'REVOKE ALL ON DATABASE "tenants" FROM "{name}";' in text  # nothing in the shared database
    options = database_options(PROJECT, "dev", ["acme"])
    assert (options.tenant_column, options.environment, options.readmit) == ("tenant_id", "dev", frozenset({"acme"}))


def test_db_check_through_the_cli_reports_a_planted_weakness_and_exits_one(database, dev_tenants):
    import json

    server, name = database
    pooled = [t for t in dev_tenants if t.data_isolation is not None]
    env = {f"TENANCY_DB_PASSWORD_{t.id.upper()}": f"pw-{t.id}-secret" for t in pooled}
    assert run_cli("db-bootstrap", "--environment", "dev", "--dsn", server.dsn(database=name), env=env).returncode == 0
    dsn = server.dsn(database=name)
    # what an RDS-like admin cannot fix itself (the instance's parameters and the superuser's
    # databases do): accepted, as on RDS
    accept = ["--accept", "write-without-create", "--accept", "public-rights:template1",
              "--accept", "public-rights:postgres", "--accept", "session-limits"]
    clean = run_cli("db-check", "--environment", "dev", "--dsn", dsn, *accept)
    assert clean.returncode == 0, clean.stdout + clean.stderr
    # a migration adds a shared table and, as careless teams do, grants it to a tenant directly
    tenant = next(t for t in pooled if t.data_isolation is DataIsolation.row)
    server.sql(name, f"CREATE TABLE shared.leaky (tenant_id text, secret text); "
                     f"GRANT SELECT ON shared.leaky TO {database_role(tenant.id)}")
    found = run_cli("db-check", "--environment", "dev", "--dsn", dsn, *accept, "--format", "json")
    assert found.returncode == 1 and "Traceback" not in found.stderr
    subjects = {f["subject"] for f in json.loads(found.stdout)["findings"]}
    assert any("leaky" in s for s in subjects), subjects
    assert "admin-secret-pw" not in found.stdout + found.stderr
    usage = run_cli("db-check", "--environment", "dev", "--dsn", dsn, "--accept", "no-such-kind")
    assert usage.returncode == 2 and "unknown finding kind" in usage.stderr
