"""A tenant's queries in the pooled PostgreSQL, under the tenant's own role, so the bootstrap's row
security (`row` tenants: policy `tenant_isolation` keyed by `tenancy.current_tenant()`, which maps
`current_user` to its tenant) and schema rights (`schema` tenants) apply with no `WHERE tenant_id`
in application code:

    pool = ConnectionPool(conninfo, kwargs={"autocommit": True}, reset=reset_connection)
    db = TenantDatabase(pool)
    with db.transaction() as conn:          # the tenant of the request in progress
        conn.execute("SELECT * FROM notes")  # only this tenant's rows

The service logs in as the platform's pooled-services login (NOINHERIT, no rights of its own) and
each transaction runs `SET LOCAL ROLE tenant_<id>`, checks that the role is bound to that tenant in
`tenancy.tenant_roles` (a removed tenant is refused) and may log in (a suspended tenant is refused),
and applies the role's own settings that a session may set (search_path, statement_timeout,
idle_in_transaction_session_timeout, work_mem; not temp_file_limit, which only a superuser sets:
keep it in the instance's parameters). SET LOCAL ends with the transaction, commit or rollback;
after every block the connection is rolled back if still in a transaction and `RESET ROLE` undoes
a session-level SET ROLE the application may have run, or the connection is closed (a pool discards
it). A connection handed over inside a transaction is refused: a role set there would outlive
the block.

This needs, beyond what db-bootstrap grants: the login itself (`CREATE ROLE <login> LOGIN NOINHERIT`),
CONNECT on the pooled database for it, and `GRANT tenant_<id> TO <login>` for each pooled tenant in
`row` or `schema` mode (revoked again when a tenant leaves the pool). `database` tenants have a
database of their own: give their transactions a connection (pool) to that database.

What it does not do: the login may SET ROLE to every pooled tenant, so SQL run through the helper
must be the service's own, never a tenant's (`RESET ROLE` or `SET ROLE tenant_b` inside a block
would work). A service that runs a tenant's own SQL should log in as the tenant's login instead."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import Any, Optional

import psycopg
from psycopg import errors, sql
from psycopg.pq import TransactionStatus

from tenancy.registry.naming import database_role

from .tenant import resolve_tenant

# After SET LOCAL ROLE: who we are, whose tenant that role is, whether it may log in; and the role's
# own session settings, applied for this transaction only.
_CHECK_AND_SETTINGS = """
SELECT current_user::text, tenancy.current_tenant(), r.rolcanlogin,
       (SELECT count(set_config(c.name, c.value, true))
          FROM (SELECT split_part(x, '=', 1) AS name, substr(x, strpos(x, '=') + 1) AS value
                  FROM unnest(r.rolconfig) x) c
          JOIN pg_settings s ON s.name = c.name AND s.context = 'user')
  FROM pg_roles r WHERE r.rolname = current_user"""


class TenantDatabaseError(Exception):
    """The helper refused to run a tenant's transaction (and ran nothing)."""


def _switch(role: str) -> sql.Composable:
    # search_path back to the login's default first: a session-level SET by earlier code is not kept.
    return sql.SQL("SET LOCAL ROLE {}; SET LOCAL search_path TO DEFAULT").format(sql.Identifier(role))


def _switch_refused(exc: psycopg.Error, tenant: str, role: str, login: str) -> TenantDatabaseError:
    if isinstance(exc, errors.InsufficientPrivilege):
        return TenantDatabaseError(
            f"the login {login} may not SET ROLE {role} (tenant {tenant}): missing `GRANT {role} TO {login}`; "
            f"db-bootstrap grants it for every active pooled tenant in the row or schema mode, never for a "
            f"suspended tenant, one that left the pool, or one with a database of its own")
    if isinstance(exc, errors.InvalidParameterValue):
        return TenantDatabaseError(f"tenant {tenant} has no role {role} here: not a pooled tenant of this database")
    return TenantDatabaseError(f"tenant {tenant}: cannot switch to role {role}: {str(exc).strip()}")


def _check_refused(exc: psycopg.Error, tenant: str, role: str) -> TenantDatabaseError:
    return TenantDatabaseError(f"tenant {tenant} is not bound in this database (a `dataIsolation: database` tenant "
                               f"has a database of its own): role {role}: {str(exc).strip()}")


def _judge(row: Optional[tuple], tenant: str, role: str) -> None:
    if row is None or row[0] != role:
        raise TenantDatabaseError(f"tenant {tenant}: the session is not role {role} after SET ROLE")
    if row[1] != tenant:
        raise TenantDatabaseError(f"tenant {tenant}: role {role} is not bound to it in this database "
                                  f"(the tenant left the pool, or the role belongs to another tenant)")
    if not row[2]:
        raise TenantDatabaseError(f"tenant {tenant} is suspended: role {role} may not log in")


def _check_idle(conn: Any) -> None:
    if conn.closed:
        raise TenantDatabaseError("the connection is closed")
    if conn.info.transaction_status != TransactionStatus.IDLE:
        raise TenantDatabaseError("the connection is inside a transaction: a tenant's role set there would "
                                  "outlive the block (commit or roll back first)")


# -- sync ----------------------------------------------------------------------------------------------

def reset_connection(conn: psycopg.Connection) -> None:
    """Back to the login itself: rolled back if in a transaction, then RESET ROLE (also a pool's
    `reset` callback). A connection that cannot be reset is closed, so no pool hands it out again."""
    if conn.closed:
        return
    try:
        if conn.info.transaction_status != TransactionStatus.IDLE:
            conn.rollback()
        autocommit = conn.autocommit
        conn.autocommit = True
        try:
            conn.execute("RESET ROLE")
        finally:
            conn.autocommit = autocommit
    except psycopg.Error:
        conn.close()


@contextmanager
def tenant_transaction(conn: psycopg.Connection, tenant_id: Optional[str] = None) -> Iterator[psycopg.Connection]:
    """One transaction on `conn` as the tenant's role (the tenant in context by default): committed
    when the block ends, rolled back when it raises; the connection is reset either way."""
    tenant = resolve_tenant(tenant_id)
    role = database_role(tenant)
    _check_idle(conn)
    try:
        with conn.transaction():
            try:
                conn.execute(_switch(role))
            except psycopg.Error as exc:
                raise _switch_refused(exc, tenant, role, conn.info.user) from None
            try:
                row = conn.execute(_CHECK_AND_SETTINGS).fetchone()
            except psycopg.Error as exc:
                raise _check_refused(exc, tenant, role) from None
            _judge(row, tenant, role)
            yield conn
    finally:
        reset_connection(conn)


class TenantDatabase:
    """Tenant transactions on connections from a pool (anything with a `connection()` context manager,
    such as psycopg_pool.ConnectionPool) or, given a conninfo string, on a new connection each."""

    def __init__(self, source: Any):
        self._source = source

    @contextmanager
    def _connection(self) -> Iterator[psycopg.Connection]:
        if isinstance(self._source, str):
            with psycopg.connect(self._source, autocommit=True) as conn:
                yield conn
        else:
            with self._source.connection() as conn:
                yield conn

    @contextmanager
    def transaction(self, tenant_id: Optional[str] = None) -> Iterator[psycopg.Connection]:
        tenant = resolve_tenant(tenant_id)  # refused before a connection is taken
        with self._connection() as conn, tenant_transaction(conn, tenant) as tenant_conn:
            yield tenant_conn


# -- async ---------------------------------------------------------------------------------------------

async def async_reset_connection(conn: psycopg.AsyncConnection) -> None:
    if conn.closed:
        return
    try:
        if conn.info.transaction_status != TransactionStatus.IDLE:
            await conn.rollback()
        autocommit = conn.autocommit
        await conn.set_autocommit(True)
        try:
            await conn.execute("RESET ROLE")
        finally:
            await conn.set_autocommit(autocommit)
    except psycopg.Error:
        await conn.close()


@asynccontextmanager
async def async_tenant_transaction(conn: psycopg.AsyncConnection,
                                   tenant_id: Optional[str] = None) -> AsyncIterator[psycopg.AsyncConnection]:
    tenant = resolve_tenant(tenant_id)
    role = database_role(tenant)
    _check_idle(conn)
    try:
        async with conn.transaction():
            try:
                await conn.execute(_switch(role))
            except psycopg.Error as exc:
                raise _switch_refused(exc, tenant, role, conn.info.user) from None
            try:
                row = await (await conn.execute(_CHECK_AND_SETTINGS)).fetchone()
            except psycopg.Error as exc:
                raise _check_refused(exc, tenant, role) from None
            _judge(row, tenant, role)
            yield conn
    finally:
        await async_reset_connection(conn)


class AsyncTenantDatabase:
    """TenantDatabase for asyncio: psycopg_pool.AsyncConnectionPool, or a conninfo string."""

    def __init__(self, source: Any):
        self._source = source

    @asynccontextmanager
    async def _connection(self) -> AsyncIterator[psycopg.AsyncConnection]:
        if isinstance(self._source, str):
            async with await psycopg.AsyncConnection.connect(self._source, autocommit=True) as conn:
                yield conn
        else:
            async with self._source.connection() as conn:
                yield conn

    @asynccontextmanager
    async def transaction(self, tenant_id: Optional[str] = None) -> AsyncIterator[psycopg.AsyncConnection]:
        tenant = resolve_tenant(tenant_id)
        async with self._connection() as conn, async_tenant_transaction(conn, tenant) as tenant_conn:
            yield tenant_conn
