"""The database helper on a real PostgreSQL bootstrapped by the project's own db-bootstrap (the
dataplane tests' server and tenants, imported): the service logs in as the pooled-services login,
which db-bootstrap does not create; the fixture adds it and the grants the helper needs, which is
exactly what db-bootstrap would have to add (see GRANTS). Attacks first: without those grants, with
the login alone, across tenants, and through a pooled connection that a block left dirty."""

from __future__ import annotations

import asyncio
import dataclasses
import threading

import psycopg
import pytest
from psycopg_pool import AsyncConnectionPool, ConnectionPool

from tenancy.context import NoTenantError, TenantMismatchError, tenant_scope
from tenancy.context.database import (
    AsyncTenantDatabase,
    TenantDatabase,
    TenantDatabaseError,
    reset_connection,
    tenant_transaction,
)
from tenancy.registry.models import DataIsolation, Status
from tenancy.registry.naming import database_role

from ..dataplane.test_pool_sql import make_tenants
from .pooled import POOL_LOGIN, Pooled, make_pooled


@pytest.fixture
def ungranted(database, base, pool_login) -> Pooled:
    return make_pooled(database, base)


@pytest.fixture
def pooled(ungranted) -> Pooled:
    ungranted.grant()
    return ungranted


@pytest.fixture
def pool(pooled):
    with ConnectionPool(pooled.conninfo(), min_size=1, max_size=1, kwargs={"autocommit": True},
                        reset=reset_connection) as connections:
        yield connections


def add_note(db: TenantDatabase, tenant: str, body: str) -> None:
    with db.transaction(tenant) as conn:
        conn.execute("INSERT INTO notes (body) VALUES (%s)", [body])  # no tenant_id: the role's


def notes(db: TenantDatabase, tenant: str) -> list[tuple]:
    with db.transaction(tenant) as conn:
        return conn.execute("SELECT tenant_id, body FROM notes ORDER BY body").fetchall()


def identity(conn) -> tuple:
    return conn.execute("SELECT current_user::text, session_user::text").fetchone()


# -- attacks ------------------------------------------------------------------------------------------------

def test_without_the_grant_the_helper_refuses_and_names_the_missing_grant(ungranted):
    ungranted.grant_connect()
    role = database_role(ungranted.id("a"))
    refusal = pytest.raises(TenantDatabaseError, match=f"missing `GRANT {role} TO {POOL_LOGIN}`")
    with refusal, TenantDatabase(ungranted.conninfo()).transaction(ungranted.id("a")):
        pytest.fail("ran without the grant")


def test_the_pool_login_alone_reads_nothing(pooled):
    add_note(TenantDatabase(pooled.conninfo()), pooled.id("a"), "a-secret")
    with psycopg.connect(pooled.conninfo(), autocommit=True) as conn:
        for statement in ("SELECT * FROM shared.notes", "SELECT tenancy.current_tenant()",
                          "SELECT * FROM tenancy.tenant_roles"):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute(statement)


def test_each_tenant_sees_and_changes_only_its_own_rows(pooled):
    db = TenantDatabase(pooled.conninfo())
    a, b = pooled.id("a"), pooled.id("b")
    for body in ("a-1", "a-2"):
        add_note(db, a, body)
    add_note(db, b, "b-1")
    assert notes(db, a) == [(a, "a-1"), (a, "a-2")]
    assert notes(db, b) == [(b, "b-1")]
    with db.transaction(a) as conn:
        # No WHERE anywhere: row security scopes every statement to the role's tenant.
        assert conn.execute("SELECT count(*) FROM notes").fetchone() == (2,)
        assert conn.execute("UPDATE notes SET body = body || '!'").rowcount == 2
        assert conn.execute("DELETE FROM notes WHERE body = 'a-2!'").rowcount == 1
        assert conn.execute("SELECT count(*) FROM shared.notes WHERE tenant_id = %s", [b]).fetchone() == (0,)
    with pytest.raises(psycopg.errors.InsufficientPrivilege), db.transaction(a) as conn:
        conn.execute("INSERT INTO notes (tenant_id, body) VALUES (%s, 'planted')", [b])
    assert pooled.superuser_rows() == [(a, "a-1!"), (b, "b-1")]


def test_a_schema_tenant_reaches_only_its_own_schema(pooled):
    db = TenantDatabase(pooled.conninfo())
    s, a = pooled.id("s"), pooled.id("a")
    with db.transaction(s) as conn:
        assert conn.execute("SHOW search_path").fetchone() == (database_role(s),)
        conn.execute("CREATE TABLE items (name text)")  # unqualified: its own schema
        conn.execute("INSERT INTO items VALUES ('s-secret')")
    with db.transaction(s) as conn:
        assert conn.execute("SELECT name FROM items").fetchall() == [("s-secret",)]
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("SELECT * FROM shared.notes")
    with db.transaction(a) as conn:
        assert conn.execute("SHOW search_path").fetchone() == ("shared",)
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute(f"SELECT * FROM {database_role(s)}.items")


def test_the_tenant_roles_session_limits_apply_inside_and_end_after(pooled):
    role = database_role(pooled.id("a"))
    with psycopg.connect(pooled.conninfo(), autocommit=True) as conn:
        config = dict(item.split("=", 1) for item in conn.execute(
            "SELECT rolconfig FROM pg_roles WHERE rolname = %s", [role]).fetchone()[0])
        default = conn.execute("SHOW statement_timeout").fetchone()[0]
        with tenant_transaction(conn, pooled.id("a")):
            for name in ("statement_timeout", "idle_in_transaction_session_timeout", "work_mem"):
                shown = conn.execute("SELECT current_setting(%s)", [name]).fetchone()[0]
                with psycopg.connect(pooled.server.superuser_dsn(pooled.name)) as su:
                    su.execute(f"SET {name} = '{config[name]}'")
                    assert shown == su.execute(f"SHOW {name}").fetchone()[0], name
        assert conn.execute("SHOW statement_timeout").fetchone()[0] == default
        assert identity(conn) == (POOL_LOGIN, POOL_LOGIN)


def test_an_error_mid_transaction_leaves_the_pooled_connection_as_the_login(pooled, pool):
    db = TenantDatabase(pool)
    a = pooled.id("a")
    add_note(db, a, "a-1")
    with pytest.raises(psycopg.errors.UndefinedTable), db.transaction(a) as conn:
        conn.execute("INSERT INTO notes (body) VALUES ('lost')")
        conn.execute("SELECT * FROM no_such_table")
    with pool.connection() as conn:
        assert identity(conn) == (POOL_LOGIN, POOL_LOGIN)
        assert conn.info.transaction_status == psycopg.pq.TransactionStatus.IDLE
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("SELECT * FROM shared.notes")
    assert notes(db, a) == [(a, "a-1")]  # 'lost' was rolled back


def test_a_session_level_set_role_in_a_block_does_not_survive_it(pooled, pool):
    db = TenantDatabase(pool)
    a, b = pooled.id("a"), pooled.id("b")
    add_note(db, b, "b-secret")
    with db.transaction(a) as conn:
        conn.execute(f"SET ROLE {database_role(b)}")  # application code gone wrong (documented limit)
    with pool.connection() as conn:
        assert identity(conn) == (POOL_LOGIN, POOL_LOGIN)
    assert notes(db, a) == []


def test_a_raw_commit_inside_a_block_fails_closed(pooled, pool):
    db = TenantDatabase(pool)
    a = pooled.id("a")
    add_note(db, pooled.id("b"), "b-secret")
    with pytest.raises(psycopg.Error), db.transaction(a) as conn:
        conn.execute("COMMIT")  # ends the transaction, and with it SET LOCAL ROLE
        conn.execute("SELECT * FROM notes")  # now as the login: refused, never another tenant's rows
    with pool.connection() as conn:
        assert identity(conn) == (POOL_LOGIN, POOL_LOGIN)


def test_a_connection_handed_over_inside_a_transaction_is_refused(pooled):
    with psycopg.connect(pooled.conninfo(), autocommit=False) as conn:
        conn.execute("SELECT 1")  # an open transaction, as a careless caller leaves it
        refusal = pytest.raises(TenantDatabaseError, match="inside a transaction")
        with refusal, tenant_transaction(conn, pooled.id("a")):
            pytest.fail("ran inside someone else's transaction")
        assert identity(conn) == (POOL_LOGIN, POOL_LOGIN)


def test_non_autocommit_connections_are_left_idle_as_the_login(pooled):
    with ConnectionPool(pooled.conninfo(), min_size=1, max_size=1) as connections:
        db = TenantDatabase(connections)
        add_note(db, pooled.id("a"), "a-1")
        assert notes(db, pooled.id("a")) == [(pooled.id("a"), "a-1")]
        with connections.connection() as conn:
            assert conn.info.transaction_status == psycopg.pq.TransactionStatus.IDLE
            assert identity(conn) == (POOL_LOGIN, POOL_LOGIN)


def test_reset_connection_undoes_a_role_left_on_a_connection(pooled):
    with psycopg.connect(pooled.conninfo(), autocommit=True) as conn:
        conn.execute(f"SET ROLE {database_role(pooled.id('a'))}")
        reset_connection(conn)
        assert identity(conn) == (POOL_LOGIN, POOL_LOGIN)


def test_two_tenants_hammering_one_small_pool_never_see_each_other(pooled):
    failures: list[str] = []
    with ConnectionPool(pooled.conninfo(), min_size=2, max_size=2, kwargs={"autocommit": True},
                        reset=reset_connection) as connections:
        db = TenantDatabase(connections)

        def work(tenant: str) -> None:
            try:
                with tenant_scope(tenant):
                    for n in range(25):
                        with db.transaction() as conn:
                            conn.execute("INSERT INTO notes (body) VALUES (%s)", [f"{tenant}-{n}"])
                            owners = {row[0] for row in conn.execute("SELECT tenant_id FROM notes")}
                            bound = conn.execute("SELECT tenancy.current_tenant()").fetchone()[0]
                            if owners != {tenant} or bound != tenant:
                                failures.append(f"{tenant} saw {owners} as {bound}")
                        if n % 5 == 0:
                            try:
                                with db.transaction() as conn:
                                    conn.execute("SELECT 1/0")
                            except psycopg.errors.DivisionByZero:
                                pass
            except Exception as exc:  # pragma: no cover - reported below
                failures.append(repr(exc))

        threads = [threading.Thread(target=work, args=(pooled.id(k),)) for k in ("a", "b", "a", "b")]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert failures == []
    counts = {}
    for tenant, _ in pooled.superuser_rows():
        counts[tenant] = counts.get(tenant, 0) + 1
    assert counts == {pooled.id("a"): 50, pooled.id("b"): 50}


def test_suspended_and_removed_tenants_are_refused(pooled):
    db = TenantDatabase(pooled.conninfo())
    a, b = pooled.id("a"), pooled.id("b")
    suspended = pooled.tenants["a"].tenant.model_copy(update={"status": Status.suspended})
    pooled.tenants["a"] = dataclasses.replace(pooled.tenants["a"], tenant=suspended)
    pooled.bootstrap()
    with pytest.raises(TenantDatabaseError, match="suspended"), db.transaction(a):
        pass
    del pooled.tenants["b"]
    pooled.bootstrap()  # b left the pool: NOLOGIN, unbound, data kept; its membership still granted
    with pytest.raises(TenantDatabaseError, match="not bound"), db.transaction(b):
        pass


def test_tenants_are_checked_before_any_sql(pooled):
    db = TenantDatabase(pooled.conninfo())
    with pytest.raises(NoTenantError):
        db.transaction().__enter__()
    with pytest.raises(ValueError):
        db.transaction('a"; RESET ROLE; --').__enter__()
    with tenant_scope(pooled.id("a")), pytest.raises(TenantMismatchError):
        db.transaction(pooled.id("b")).__enter__()
    with pytest.raises(TenantDatabaseError, match="not a pooled tenant"), db.transaction("not-here"):
        pass


def test_a_database_mode_tenant_is_refused_in_the_pooled_database(database, base, pool_login):
    (d,) = make_tenants(base, "ctx", 1, DataIsolation.database)
    pooled = make_pooled(database, base, d=d)
    pooled.grant()
    refusal = pytest.raises(TenantDatabaseError, match="database of its own")
    with refusal, TenantDatabase(pooled.conninfo()).transaction(d.id):
        pytest.fail("ran in the pooled database")


def test_the_async_helper_scopes_rows_and_resets_pooled_connections(pooled):
    a, b = pooled.id("a"), pooled.id("b")
    add_note(TenantDatabase(pooled.conninfo()), b, "b-secret")

    async def go():
        async with AsyncConnectionPool(pooled.conninfo(), min_size=1, max_size=1, kwargs={"autocommit": True},
                                       open=False) as connections:
            db = AsyncTenantDatabase(connections)
            with tenant_scope(a):
                async with db.transaction() as conn:
                    await conn.execute("INSERT INTO notes (body) VALUES ('a-async')")
                async with db.transaction() as conn:
                    await conn.execute(f"SET ROLE {database_role(b)}")  # committed: survives without the reset
                try:
                    async with db.transaction() as conn:
                        await conn.execute("SELECT 1/0")
                except psycopg.errors.DivisionByZero:
                    pass
                async with db.transaction() as conn:
                    rows = await (await conn.execute("SELECT tenant_id, body FROM notes")).fetchall()
            async with connections.connection() as conn:
                who = await (await conn.execute("SELECT current_user::text")).fetchone()
            return rows, who

    rows, who = asyncio.run(go())
    assert rows == [(a, "a-async")]
    assert who == (POOL_LOGIN,)


def test_db_bootstrap_revokes_the_pool_logins_membership_when_a_tenant_is_suspended_or_leaves(pooled):
    """Below the helper: the pool login itself, running `SET ROLE` by hand, may no longer become a
    suspended or departed tenant once db-bootstrap has run (NOLOGIN alone would not stop it)."""
    a, b, s = pooled.id("a"), pooled.id("b"), pooled.id("s")
    suspended = pooled.tenants["a"].tenant.model_copy(update={"status": Status.suspended})
    pooled.tenants["a"] = dataclasses.replace(pooled.tenants["a"], tenant=suspended)
    del pooled.tenants["b"]
    pooled.grant()
    with psycopg.connect(pooled.conninfo(), autocommit=True) as conn:
        for gone in (a, b):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute(f"SET ROLE {database_role(gone)}")
        conn.execute(f"SET ROLE {database_role(s)}")  # the active one still works
        assert conn.execute("SELECT current_user::text").fetchone() == (database_role(s),)
