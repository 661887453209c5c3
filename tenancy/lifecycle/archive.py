"""A tenant's data into a bundle's files, and a bundle's files back into an empty database and cache."""

from __future__ import annotations

from typing import Any, Optional

from tenancy.dataplane.apply import safe_location
from tenancy.lifecycle import pgcopy, rediscopy
from tenancy.lifecycle.bundle import FORMAT, KEYS_FILE, BundleError, table_file
from tenancy.lifecycle.pgcopy import Layout, PgSide
from tenancy.lifecycle.rediscopy import RedisSide
from tenancy.lifecycle.state import now
from tenancy.lifecycle.verify import VerificationFailed, checksum_problems, summary
from tenancy.registry.access import key_prefix


def export_data(tenant_id: str, environment: str, database: Optional[PgSide],
                cache: Optional[RedisSide]) -> tuple[dict[str, Any], dict[str, bytes], dict[str, Any]]:
    """(manifest, files, live checksums): the tables from one snapshot with their checksums, the
    keys with theirs (the tenant's writes are frozen while this runs)."""
    manifest: dict[str, Any] = {"format": FORMAT, "tenant": tenant_id, "environment": environment, "created": now()}
    files: dict[str, bytes] = {}
    live: dict[str, Any] = {}
    if database:
        with pgcopy.data_connection(database) as conn:
            layout = pgcopy.read_layout(conn, database)
            with pgcopy.errors(database.where, "exporting the tenant's tables"), pgcopy.snapshot(conn):
                for table in layout.tables:
                    files[table_file(table.qualified)] = pgcopy.export_rows(conn, table)
                sums = pgcopy.checksums(conn, layout)
                sequences = pgcopy.sequence_values(conn, layout)
        manifest["database"] = {"source": database.describe(), "layout": layout.as_dict(), "checksums": sums,
                                "sequences": sequences}
        live["database"] = sums
    if cache:
        client = rediscopy.connect(cache.url)
        try:
            with rediscopy.errors(cache.where, "exporting the tenant's keys"):
                files[KEYS_FILE] = rediscopy.export_keys(client, cache.prefix)
                live["cache"] = rediscopy.checksum(client, cache.prefix)
        finally:
            client.close()
        manifest["cache"] = {"source": cache.describe(), "prefix": key_prefix(tenant_id), "checksum": live["cache"]}
    return manifest, files, live


def restore(manifest: dict[str, Any], files: dict[str, bytes], target_dsn: Optional[str],
            target_redis: Optional[str]) -> list[str]:
    """Recreate the bundle's tables in an empty database (its own schemas, as on an own instance)
    and its keys in an empty cache, then compare the result's checksums with the manifest's.
    Returns what was restored; raises VerificationFailed when the checksums differ."""
    tenant_id = manifest["tenant"]
    done, problems = [], []
    database = manifest.get("database")
    if database and target_dsn:
        layout = Layout.from_dict(database["layout"])
        side = PgSide(target_dsn, tenant_id, pooled=False)
        conn = pgcopy.connect(target_dsn, autocommit=False)
        try:
            with pgcopy.errors(side.where, "restoring the bundle's tables"):
                busy = pgcopy.occupied(conn, side, layout)
                if busy:
                    raise BundleError(f"{side.where} is not empty where the bundle's tables go: {', '.join(busy[:5])}")
                pgcopy.create_tables(conn, side, layout)
                for table in layout.ordered():
                    pgcopy.import_rows(conn, table, files.get(table_file(table.qualified), b""))
                pgcopy.add_constraints(conn, layout)
                pgcopy.set_sequences(conn, layout, database.get("sequences") or {})
                conn.commit()
                restored = pgcopy.checksums(conn, layout)
                conn.rollback()
        finally:
            conn.close()
        problems += checksum_problems(database["checksums"], restored, "bundle", "restored database")
        done.append(f"database: {summary(restored)} restored to {side.where}")
    cache = manifest.get("cache")
    if cache and target_redis:
        client = rediscopy.connect(target_redis)
        prefix = cache["prefix"].encode()
        try:
            with rediscopy.errors(safe_location(target_redis), "restoring the bundle's keys"):
                if rediscopy.scan_keys(client, prefix):
                    raise BundleError(f"{safe_location(target_redis)} already holds keys under "
                                      f"{cache['prefix']}*")
                rediscopy.import_keys(client, files.get(KEYS_FILE, b""))
                restored_keys = rediscopy.checksum(client, prefix)
        finally:
            client.close()
        if restored_keys != cache["checksum"]:
            problems.append(f"keys: {cache['checksum'][0]} in the bundle, {restored_keys[0]} restored, checksums "
                            f"{'equal' if restored_keys[1] == cache['checksum'][1] else 'differ'}")
        done.append(f"cache: {restored_keys[0]} key(s) restored to {safe_location(target_redis)}")
    if problems:
        raise VerificationFailed("the restored data differs from the bundle: " + "; ".join(problems))
    return done
