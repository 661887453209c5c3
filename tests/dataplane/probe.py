"""Try, as each tenant, to reach every other tenant's data; every success is a breach.

The isolation tests assert that the probe finds nothing, and that it does find a deliberately
weakened grant or ACL, so a probe that could never fail would be caught too."""

from __future__ import annotations

from itertools import permutations

import psycopg
import redis

from tenancy.registry.naming import database_role


def _attempt(conn, statement: str, params=()) -> tuple[bool, object]:
    """Run one statement in its own savepoint: (succeeded, rows or rowcount)."""
    try:
        with conn.transaction():
            cur = conn.execute(statement, params)
            return True, (cur.fetchall() if cur.description else cur.rowcount)
    except psycopg.Error:
        return False, None


def probe_postgres(dsn_for, tables: dict[str, list[str]], row_tenants: list[str], shared_tables: list[str]) -> list[str]:
    """`tables`: each schema tenant's own tables (qualified); `row_tenants` share `shared_tables`."""
    breaches = []
    everyone = sorted(set(tables) | set(row_tenants))
    for a, b in permutations(everyone, 2):
        with psycopg.connect(dsn_for(a), autocommit=False) as conn:
            for table in tables.get(b, []):
                ok, rows = _attempt(conn, f"SELECT count(*) FROM {table}")
                if ok:
                    breaches.append(f"{a} read {b}'s {table}")
                if _attempt(conn, f"INSERT INTO {table} DEFAULT VALUES")[0]:
                    breaches.append(f"{a} wrote into {b}'s {table}")
                schema = table.split(".")[0]
                ok, rows = _attempt(conn, "SELECT table_name FROM information_schema.tables WHERE table_schema = %s",
                                    (schema,))
                if ok and rows:
                    breaches.append(f"{a} listed {b}'s schema {schema}")
                if _attempt(conn, f"CREATE TABLE {schema}.planted (x int)")[0]:
                    breaches.append(f"{a} created a table in {b}'s schema")
            if b in row_tenants:
                for table in shared_tables:
                    ok, rows = _attempt(conn, f"SELECT count(*) FROM {table} WHERE tenant_id = %s", (b,))
                    if ok and rows[0][0] > 0:
                        breaches.append(f"{a} read {b}'s rows of {table}")
                    ok, count = _attempt(conn, f"UPDATE {table} SET tenant_id = tenant_id WHERE tenant_id = %s", (b,))
                    if ok and count:
                        breaches.append(f"{a} updated {b}'s rows of {table}")
                    if _attempt(conn, f"INSERT INTO {table} (tenant_id) VALUES (%s)", (b,))[0]:
                        breaches.append(f"{a} inserted a row as {b} into {table}")
            for escape in (f"SET ROLE {database_role(b)}", f"SET SESSION AUTHORIZATION {database_role(b)}",
                           "UPDATE tenancy.tenant_roles SET tenant_id = tenant_id",
                           *[f"ALTER TABLE {t} DISABLE ROW LEVEL SECURITY" for t in shared_tables]):
                ok, count = _attempt(conn, escape)
                if ok and not (escape.startswith("UPDATE") and count == 0):
                    breaches.append(f"{a} could: {escape}")
            for table in shared_tables:
                if a in row_tenants and _attempt(conn, f"SET row_security = off; SELECT count(*) FROM {table}")[0]:
                    breaches.append(f"{a} read {table} with row security off")
    return breaches


def probe_redis(url_for, tenants: list[str]) -> list[str]:
    breaches = []
    for a, b in permutations(tenants, 2):
        client = redis.Redis.from_url(url_for(a), decode_responses=True)
        attempts = {
            f"GET {b}:k": lambda: client.get(f"{b}:k"),
            f"SET {b}:k": lambda: client.set(f"{b}:k", "x"),
            "SCAN": lambda: client.scan(0, match=f"{b}:*"),
            f"KEYS {b}:*": lambda: client.keys(f"{b}:*"),
            "RANDOMKEY": lambda: client.randomkey(),
            f"PUBLISH {b}:ch": lambda: client.publish(f"{b}:ch", "x"),
            "PUBSUB CHANNELS": lambda: client.pubsub_channels(),
        }
        for what, attempt in attempts.items():
            try:
                attempt()
                breaches.append(f"{a} could {what}")
            except redis.exceptions.NoPermissionError:
                pass
        pubsub = client.pubsub()
        try:
            pubsub.subscribe(f"{b}:ch")
            message = pubsub.get_message(timeout=1)
            if message and message.get("type") == "subscribe":
                breaches.append(f"{a} could SUBSCRIBE {b}:ch")
        except (redis.exceptions.NoPermissionError, redis.exceptions.ResponseError):
            pass
        finally:
            pubsub.close()
        client.close()
    return breaches
