"""One tenant's PostgreSQL data, copied between the pooled database and a database of its own.

Shapes are kept: a table keeps its schema and name on both sides (`tenant_<id>.orders` in schema
mode, `shared.orders` in row mode, whatever schemas the tenant uses on its own instance), so the
application's SQL works unchanged and only the endpoint moves.

- A side (`PgSide`) is a data connection that runs with the tenant's rights: in the pool the
  tenant's own login (row security then shows it its rows and nothing else), on its own instance
  that instance's admin (the owner of the tenant's tables). Row mode also needs the pooled
  database's admin, the owner of the shared tables, to freeze and retire.
- What moves: tables (columns, defaults, identity and generated columns, constraints, indexes) and
  sequences with their values. Views, functions, types and partitioned tables in the tenant's
  schemas are refused by name (they need pg_dump/pg_restore).
- Copy: COPY per table from one REPEATABLE READ snapshot into one target transaction; constraints
  and indexes after the data.
- Sync (the final pass, under a write freeze): per table the source's and the target's row
  hashes by key (the primary key, else a unique key of NOT NULL columns, else the multiset of
  whole rows); changed and new rows are upserted parents first, rows gone are deleted children
  first, sequences set.
- Checksums: per table the row count and the md5 of the sorted md5s of each row's text, computed
  by each server with the same session settings; per sequence its value.
- Freeze: the owner of the tenant's tables revokes INSERT, UPDATE, DELETE and TRUNCATE from the
  role the application uses (recorded, so unfreezing grants back exactly that), and that role's
  other sessions in the database are ended, so no write is in flight.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from typing import Any, Optional

from psycopg import sql

from tenancy.dataplane.apply import DataPlaneError, safe_location
from tenancy.dataplane.postgres import SHARED_SCHEMA, schema_name
from tenancy.registry.naming import database_role

CONNECT_TIMEOUT_SECONDS = 10
BATCH = 1000
TERMINATE_WAIT_MS = 10000
WRITE_PRIVILEGES = ("INSERT", "UPDATE", "DELETE", "TRUNCATE")
SYSTEM_SCHEMAS = ("pg_catalog", "information_schema", "tenancy", "pg_toast")
# The same text for the same value on every server: row hashes and COPY files depend on it.
SESSION_SETTINGS = (
    "SET DateStyle = 'ISO, YMD'", "SET IntervalStyle = 'postgres'", "SET TimeZone = 'UTC'",
    "SET extra_float_digits = 1", "SET bytea_output = 'hex'", "SET statement_timeout = 0",
    "SET idle_in_transaction_session_timeout = 0", "SET lock_timeout = '60s'",
    "SET search_path = pg_catalog",  # every name the catalogs print comes schema-qualified
)


def first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]


# -- sides and connections ------------------------------------------------------------------------

@dataclass(frozen=True)
class PgSide:
    """Where a tenant's tables live. `pooled`: the pooled database, `mode` schema|row|database;
    else a database of its own (every non-system schema is the tenant's)."""

    dsn: str
    tenant_id: str
    pooled: bool
    mode: str = "schema"
    admin_dsn: Optional[str] = None  # the pooled database's admin (row mode: freeze, retire)
    as_tenant: bool = False  # `dsn` is the admin's: the session takes the tenant's role (a NOLOGIN tenant)

    @property
    def where(self) -> str:
        return safe_location(self.dsn)

    @property
    def row_mode(self) -> bool:
        return self.pooled and self.mode == "row"

    @property
    def role(self) -> str:
        return database_role(self.tenant_id)

    def describe(self) -> str:
        kind = f"pooled database ({self.mode} mode)" if self.pooled else "its own database"
        return f"{kind} at {self.where}"


def connect(dsn: str, autocommit: bool = True):
    import psycopg

    where = safe_location(dsn)
    try:
        conn = psycopg.connect(dsn, connect_timeout=CONNECT_TIMEOUT_SECONDS, autocommit=True)
    except psycopg.Error as exc:
        raise DataPlaneError(f"cannot connect to {where}: {first_line(exc)}") from None
    try:
        for setting in SESSION_SETTINGS:
            conn.execute(setting)
    except psycopg.Error as exc:
        conn.close()
        raise DataPlaneError(f"{where}: {first_line(exc)}") from None
    conn.autocommit = autocommit
    return conn


@contextmanager
def data_connection(side: PgSide) -> Iterator[Any]:
    """The side's data connection, with the tenant's rights: its own login, or (`as_tenant`) the
    admin's session under the tenant's role, the admin a member of it only while this lasts."""
    import psycopg

    conn = connect(side.dsn)
    granted = False
    try:
        if side.as_tenant:
            role = sql.Identifier(side.role)
            with errors(side.where, f"acting as role {side.role}"):
                if not conn.execute("SELECT pg_has_role(current_user, %s, 'MEMBER')", [side.role]).fetchone()[0]:
                    conn.execute(sql.SQL("GRANT {} TO CURRENT_USER").format(role))
                    granted = True
                conn.execute(sql.SQL("SET ROLE {}").format(role))
        yield conn
    finally:
        if granted and not conn.closed:
            try:
                conn.rollback()
                conn.autocommit = True
                conn.execute("RESET ROLE")
                conn.execute(sql.SQL("REVOKE {} FROM CURRENT_USER").format(sql.Identifier(side.role)))
            except psycopg.Error:
                pass
        conn.close()


@contextmanager
def errors(where: str, doing: str) -> Iterator[None]:
    """A server's refusal as a DataPlaneError that says what was being done (exit 2)."""
    import psycopg

    try:
        yield
    except psycopg.Error as exc:
        raise DataPlaneError(f"{where}: {doing}: {first_line(exc)}") from None


# -- the layout: what the tenant's data is ----------------------------------------------------------

@dataclass
class Column:
    name: str
    type: str
    not_null: bool = False
    default: Optional[str] = None
    identity: str = ""  # "a" ALWAYS, "d" BY DEFAULT
    generated: str = ""  # "s" stored
    collation: Optional[str] = None

    def ddl(self) -> sql.Composable:
        parts = [sql.Identifier(self.name), sql.SQL(self.type)]
        if self.collation:
            parts.append(sql.SQL("COLLATE " + self.collation))
        if self.identity:
            parts.append(sql.SQL("GENERATED ALWAYS AS IDENTITY" if self.identity == "a"
                                 else "GENERATED BY DEFAULT AS IDENTITY"))
        elif self.generated:
            parts.append(sql.SQL(f"GENERATED ALWAYS AS ({self.default}) STORED"))
        elif self.default is not None:
            parts.append(sql.SQL("DEFAULT " + self.default))
        if self.not_null:
            parts.append(sql.SQL("NOT NULL"))
        return sql.SQL(" ").join(parts)


@dataclass
class Table:
    schema: str
    name: str
    columns: list[Column]
    key: list[str] = field(default_factory=list)  # primary key, else a unique key of NOT NULL columns
    constraints: list[list[str]] = field(default_factory=list)  # [name, contype, definition]
    indexes: list[str] = field(default_factory=list)
    references: list[str] = field(default_factory=list)  # "schema.table" this one's foreign keys name
    identity_columns: list[str] = field(default_factory=list)

    @property
    def qualified(self) -> str:
        return f"{self.schema}.{self.name}"

    @property
    def ident(self) -> sql.Identifier:
        return sql.Identifier(self.schema, self.name)

    @property
    def writable(self) -> list[Column]:
        return [c for c in self.columns if not c.generated]

    def column_list(self, columns: Optional[list[Column]] = None) -> sql.Composable:
        return sql.SQL(", ").join(sql.Identifier(c.name) for c in (columns or self.writable))

    def row_text(self, alias: str = "x") -> sql.Composable:
        """ROW(x.a, x.b, ...)::text over every column, in this table's order (the source's)."""
        return sql.SQL("ROW({})::text").format(
            sql.SQL(", ").join(sql.Identifier(alias, c.name) for c in self.columns))

    def key_text(self, alias: str = "x") -> sql.Composable:
        return sql.SQL("ROW({})::text").format(sql.SQL(", ").join(sql.Identifier(alias, c) for c in self.key))


@dataclass
class Sequence:
    schema: str
    name: str
    type: str
    start: int
    increment: int
    minimum: int
    maximum: int
    cache: int
    cycle: bool
    owned_by: Optional[list[str]] = None  # [schema, table, column]

    @property
    def qualified(self) -> str:
        return f"{self.schema}.{self.name}"

    def ddl(self) -> sql.Composable:
        return sql.SQL("CREATE SEQUENCE {s} AS {t} INCREMENT BY {i} MINVALUE {mn} MAXVALUE {mx} START WITH {st} "
                       "CACHE {c} {cy}").format(
            s=sql.Identifier(self.schema, self.name), t=sql.SQL(self.type), i=sql.Literal(self.increment),
            mn=sql.Literal(self.minimum), mx=sql.Literal(self.maximum), st=sql.Literal(self.start),
            c=sql.Literal(self.cache), cy=sql.SQL("CYCLE" if self.cycle else "NO CYCLE"))


@dataclass
class Layout:
    schemas: list[str]
    tables: list[Table]
    sequences: list[Sequence]

    def ordered(self) -> list[Table]:
        """Parents before the tables whose foreign keys name them (cycles keep their order)."""
        by_name = {t.qualified: t for t in self.tables}
        done: dict[str, Table] = {}
        visiting: set[str] = set()

        def visit(table: Table) -> None:
            if table.qualified in done or table.qualified in visiting:
                return
            visiting.add(table.qualified)
            for parent in table.references:
                if parent in by_name and parent != table.qualified:
                    visit(by_name[parent])
            visiting.discard(table.qualified)
            done[table.qualified] = table

        for table in sorted(self.tables, key=lambda t: t.qualified):
            visit(table)
        return list(done.values())

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Layout:
        tables = [Table(**{**t, "columns": [Column(**c) for c in t["columns"]]}) for t in data["tables"]]
        return cls(list(data["schemas"]), tables, [Sequence(**s) for s in data["sequences"]])


def _rows(conn, query, params=()) -> list[tuple]:
    return conn.execute(query, params).fetchall()


def tenant_schemas(conn, side: PgSide) -> list[str]:
    if side.pooled:
        return [SHARED_SCHEMA] if side.row_mode else [schema_name(side.tenant_id)]
    return [r[0] for r in _rows(conn, """
        SELECT n.nspname FROM pg_namespace n
        WHERE n.nspname <> ALL(%s) AND n.nspname NOT LIKE 'pg\\_%%' AND has_schema_privilege(n.oid, 'USAGE')
          AND EXISTS (SELECT 1 FROM pg_class c WHERE c.relnamespace = n.oid AND c.relkind IN ('r', 'p', 'S', 'v', 'm', 'f'))
        ORDER BY 1""", [list(SYSTEM_SCHEMAS)])]


def unsupported_objects(conn, schemas: list[str]) -> list[str]:
    """Objects of the tenant's schemas this copy cannot carry (shared schema excluded: it is the
    platform's, and only the tables granted to the tenant are its)."""
    own = [s for s in schemas if s != SHARED_SCHEMA]
    if not own:
        return []
    return [r[0] for r in _rows(conn, """
        SELECT CASE c.relkind WHEN 'v' THEN 'view ' WHEN 'm' THEN 'materialized view ' WHEN 'f' THEN 'foreign table '
                              ELSE 'partitioned table ' END || format('%%I.%%I', n.nspname, c.relname)
          FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
         WHERE n.nspname = ANY(%(s)s) AND (c.relkind IN ('v', 'm', 'f', 'p') OR c.relispartition)
        UNION ALL
        SELECT 'function ' || p.oid::regprocedure::text FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
         WHERE n.nspname = ANY(%(s)s)
        UNION ALL
        SELECT 'type ' || format('%%I.%%I', n.nspname, t.typname) FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
         WHERE n.nspname = ANY(%(s)s)
           AND (t.typtype IN ('e', 'd', 'r', 'm') OR (t.typtype = 'b' AND t.typcategory <> 'A')
                OR (t.typtype = 'c' AND (SELECT relkind FROM pg_class WHERE oid = t.typrelid) = 'c'))
        ORDER BY 1""", {"s": own})]


def read_layout(conn, side: PgSide) -> Layout:
    """The tenant's tables and sequences as the data connection sees them."""
    with errors(side.where, "reading the tenant's tables"):
        schemas = tenant_schemas(conn, side)
        refused = unsupported_objects(conn, schemas)
        if refused:
            raise DataPlaneError(f"{side.where}: the tenant's schemas hold objects this move cannot copy: "
                                 f"{', '.join(refused)} (copy them with pg_dump/pg_restore, or drop them)")
        tables = [_read_table(conn, oid, schema, name) for oid, schema, name in _rows(conn, """
            SELECT c.oid, n.nspname, c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
             WHERE n.nspname = ANY(%s) AND c.relkind = 'r' AND NOT c.relispartition
               AND has_table_privilege(c.oid, 'SELECT') ORDER BY 2, 3""", [schemas])]
        sequences = [] if side.row_mode else [Sequence(*row[:9], owned_by=list(row[9]) if row[9] else None)
                                              for row in _rows(conn, """
            SELECT n.nspname, c.relname, format_type(s.seqtypid, NULL), s.seqstart, s.seqincrement, s.seqmin,
                   s.seqmax, s.seqcache, s.seqcycle,
                   (SELECT ARRAY[tn.nspname::text, tc.relname::text, a.attname::text] FROM pg_depend d
                      JOIN pg_class tc ON tc.oid = d.refobjid JOIN pg_namespace tn ON tn.oid = tc.relnamespace
                      JOIN pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid
                     WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'a'
                       AND d.refclassid = 'pg_class'::regclass)
              FROM pg_sequence s JOIN pg_class c ON c.oid = s.seqrelid JOIN pg_namespace n ON n.oid = c.relnamespace
             WHERE n.nspname = ANY(%s)
               AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid
                                                         AND d.deptype = 'i')
             ORDER BY 1, 2""", [schemas])]
    return Layout(schemas, tables, sequences)


def _read_table(conn, oid: int, schema: str, name: str) -> Table:
    columns = [Column(*row) for row in _rows(conn, """
        SELECT a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull, pg_get_expr(d.adbin, d.adrelid),
               a.attidentity::text, a.attgenerated::text,
               CASE WHEN a.attcollation <> 0 AND a.attcollation <> t.typcollation
                    THEN format('%%I.%%I', cn.nspname, co.collname) END
          FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid
          LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
          LEFT JOIN pg_collation co ON co.oid = a.attcollation
          LEFT JOIN pg_namespace cn ON cn.oid = co.collnamespace
         WHERE a.attrelid = %s AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum""", [oid])]
    for column in columns:
        column.identity = column.identity.strip()
        column.generated = column.generated.strip()
    constraints = [list(row) for row in _rows(conn, """
        SELECT conname::text, contype::text, pg_get_constraintdef(oid) FROM pg_constraint
         WHERE conrelid = %s AND contype IN ('p', 'u', 'c', 'x', 'f') ORDER BY contype = 'f', conname""", [oid])]
    indexes = [r[0] for r in _rows(conn, """
        SELECT pg_get_indexdef(i.indexrelid) FROM pg_index i
         WHERE i.indrelid = %s AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid
                                                                               AND c.conrelid = i.indrelid)
         ORDER BY i.indexrelid::regclass::text""", [oid])]
    keys = _rows(conn, """
        SELECT c.contype::text, array_agg(a.attname::text ORDER BY k.ord), bool_and(a.attnotnull)
          FROM pg_constraint c CROSS JOIN LATERAL unnest(c.conkey) WITH ORDINALITY AS k(attnum, ord)
          JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.attnum
         WHERE c.conrelid = %s AND c.contype IN ('p', 'u') GROUP BY c.oid, c.contype, c.conname
         ORDER BY c.contype, c.conname""", [oid])
    key = next((list(cols) for kind, cols, not_null in keys if kind == "p" or not_null), [])
    references = [r[0] for r in _rows(conn, """
        SELECT DISTINCT format('%%s.%%s', n.nspname, c.relname) FROM pg_constraint k
          JOIN pg_class c ON c.oid = k.confrelid JOIN pg_namespace n ON n.oid = c.relnamespace
         WHERE k.conrelid = %s AND k.contype = 'f'""", [oid])]
    return Table(schema, name, columns, key, constraints, indexes, references,
                 [c.name for c in columns if c.identity])


# -- the target: empty, created, cleared ------------------------------------------------------------------

def occupied(conn, side: PgSide, layout: Layout) -> list[str]:
    """What the target already holds where the copy would write: rows the tenant sees (row mode),
    else tables and sequences in the schemas the copy creates."""
    with errors(side.where, "looking for earlier data of the tenant"):
        if side.row_mode:
            out = []
            for table in layout.tables:
                exists = conn.execute("SELECT to_regclass(%s) IS NOT NULL", [_regclass(table)]).fetchone()[0]
                if exists and conn.execute(sql.SQL("SELECT EXISTS (SELECT 1 FROM {})").format(table.ident)).fetchone()[0]:
                    out.append(f"rows in {table.qualified}")
            return out
        return [f"{'table' if kind == 'r' else 'sequence'} {schema}.{name}" for kind, schema, name in _rows(conn, """
            SELECT c.relkind::text, n.nspname, c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
             WHERE n.nspname = ANY(%s) AND c.relkind IN ('r', 'p', 'S') ORDER BY 2, 3""", [layout.schemas])]


def drop_schema_objects(conn, schemas: list[str]) -> list[str]:
    """Every table and sequence in these schemas (a target the move owns: empty when it began, or
    given up with --replace-target). Runs in the caller's transaction."""
    found = _rows(conn, """
        SELECT c.relkind::text, n.nspname, c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
         WHERE n.nspname = ANY(%s) AND c.relkind IN ('r', 'p', 'S') AND NOT c.relispartition
         ORDER BY c.relkind = 'S', 2, 3""", [schemas])
    for kind, schema, name in found:
        conn.execute(sql.SQL("DROP {k} IF EXISTS {n} CASCADE").format(
            k=sql.SQL("SEQUENCE" if kind == "S" else "TABLE"), n=sql.Identifier(schema, name)))
    return [f"{schema}.{name}" for _, schema, name in found]


def _regclass(table: Table) -> str:
    return sql.Identifier(table.schema, table.name).as_string(None)


def clear(conn, side: PgSide, layout: Layout, admin=None) -> None:
    """Remove what a copy wrote (or an earlier copy left): the tenant's rows (row mode), else the
    layout's tables and sequences. Runs in the caller's transaction."""
    if side.row_mode:
        _row_mode_delete(conn, side, layout, admin)
        return
    for table in reversed(layout.ordered()):
        conn.execute(sql.SQL("DROP TABLE IF EXISTS {} CASCADE").format(table.ident))
    for sequence in layout.sequences:
        conn.execute(sql.SQL("DROP SEQUENCE IF EXISTS {} CASCADE").format(sql.Identifier(sequence.schema, sequence.name)))


def _row_mode_delete(conn, side: PgSide, layout: Layout, admin) -> None:
    """The tenant deletes its own rows (row security limits it to them). A frozen tenant lacks
    DELETE: the admin grants it for the statement and takes it back."""
    granted = []
    for table in reversed(layout.ordered()):
        if not conn.execute("SELECT has_table_privilege(%s, 'DELETE')", [_regclass(table)]).fetchone()[0]:
            if admin is None:
                raise DataPlaneError(f"{side.where}: the tenant may not delete from {table.qualified}: give the "
                                     "pooled database's admin connection")
            admin.execute(sql.SQL("GRANT DELETE ON {} TO {}").format(table.ident, sql.Identifier(side.role)))
            granted.append(table)
    try:
        for table in reversed(layout.ordered()):
            conn.execute(sql.SQL("DELETE FROM {}").format(table.ident))
    finally:
        for table in granted:
            admin.execute(sql.SQL("REVOKE DELETE ON {} FROM {}").format(table.ident, sql.Identifier(side.role)))


def create_tables(conn, side: PgSide, layout: Layout) -> list[str]:
    """Schemas, sequences and tables (without constraints and indexes, which follow the data);
    in the pool's row mode the shared tables must exist already with the same columns. Returns
    the tables created."""
    if side.row_mode:
        check_existing(conn, side, layout)
        return []
    for schema in layout.schemas:
        present = conn.execute("SELECT 1 FROM pg_namespace WHERE nspname = %s", [schema]).fetchone()
        if present is None:
            conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
    for sequence in layout.sequences:
        conn.execute(sequence.ddl())
    created = []
    for table in layout.tables:
        conn.execute(sql.SQL("CREATE TABLE {} ({})").format(
            table.ident, sql.SQL(", ").join(c.ddl() for c in table.columns)))
        created.append(table.qualified)
    for sequence in layout.sequences:
        if sequence.owned_by:
            schema, name, column = sequence.owned_by
            conn.execute(sql.SQL("ALTER SEQUENCE {} OWNED BY {}").format(
                sql.Identifier(sequence.schema, sequence.name), sql.Identifier(schema, name, column)))
    return created


def add_constraints(conn, layout: Layout) -> None:
    """Keys, checks and indexes, then foreign keys (every table holds its rows by then)."""
    for table in layout.tables:
        for name, kind, definition in table.constraints:
            if kind != "f":
                conn.execute(sql.SQL("ALTER TABLE {} ADD CONSTRAINT {} {}").format(
                    table.ident, sql.Identifier(name), sql.SQL(definition)))
        for index in table.indexes:
            conn.execute(sql.SQL(index))
    for table in layout.tables:
        for name, kind, definition in table.constraints:
            if kind == "f":
                conn.execute(sql.SQL("ALTER TABLE {} ADD CONSTRAINT {} {}").format(
                    table.ident, sql.Identifier(name), sql.SQL(definition)))


def check_existing(conn, side: PgSide, layout: Layout) -> None:
    """Row mode: the pooled tables exist and the tenant may write them, with the source's columns."""
    problems = []
    for table in layout.tables:
        rows = _rows(conn, """
            SELECT a.attname::text, format_type(a.atttypid, a.atttypmod) FROM pg_attribute a
             WHERE a.attrelid = to_regclass(%s) AND a.attnum > 0 AND NOT a.attisdropped""", [_regclass(table)])
        if not rows:
            problems.append(f"{table.qualified} does not exist (run the schema migrations and db-bootstrap first)")
            continue
        found = dict(rows)
        wrong = [c.name for c in table.columns if found.get(c.name) != c.type]
        if wrong:
            problems.append(f"{table.qualified}: columns {', '.join(wrong)} missing or of another type")
        elif not conn.execute("SELECT has_table_privilege(%s, 'INSERT')", [_regclass(table)]).fetchone()[0]:
            problems.append(f"{table.qualified}: the tenant may not insert (is it a row-mode pooled tenant, and has "
                            "db-bootstrap run?)")
    if problems:
        raise DataPlaneError(f"{side.where}: the pooled tables cannot take the tenant's rows: " + "; ".join(problems))


# -- copy, sync, checksums -------------------------------------------------------------------------------

@contextmanager
def snapshot(conn) -> Iterator[None]:
    """One consistent read of the source across every table."""
    import psycopg

    conn.autocommit = False
    conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
    conn.read_only = True
    try:
        yield
    finally:
        conn.rollback()
        conn.read_only = None
        conn.isolation_level = None
        conn.autocommit = True


def copy_rows(source, target, layout: Layout, insert: bool = False) -> dict[str, int]:
    """Every table, parents first, from the source's snapshot into the target's transaction: COPY,
    or (`insert`: a target under row security, which COPY FROM refuses) batched INSERTs."""
    counts = {}
    for table in layout.ordered():
        columns = table.column_list()
        rows = 0
        if insert:
            texts = sql.SQL(", ").join(sql.SQL("x.{}::text").format(sql.Identifier(c.name)) for c in table.writable)
            with source.cursor(name=f"tenancy_copy_{len(counts)}") as cursor:
                cursor.execute(sql.SQL("SELECT {} FROM {} AS x").format(texts, table.ident))
                while batch := cursor.fetchmany(BATCH):
                    _insert(target, table, batch, upsert=False)
                    rows += len(batch)
        else:
            out_query = sql.SQL("COPY (SELECT {} FROM {}) TO STDOUT").format(columns, table.ident)
            in_query = sql.SQL("COPY {} ({}) FROM STDIN").format(table.ident, columns)
            with source.cursor().copy(out_query) as out, target.cursor().copy(in_query) as into:
                for chunk in out:
                    into.write(chunk)
                    rows += bytes(chunk).count(b"\n")
        counts[table.qualified] = rows
    return counts


def sequence_values(conn, layout: Layout) -> dict[str, list]:
    """Every sequence's (last_value, is_called): the layout's own and its identity columns'."""
    out = {}
    for sequence in layout.sequences:
        out[sequence.qualified] = list(conn.execute(sql.SQL("SELECT last_value, is_called FROM {}").format(
            sql.Identifier(sequence.schema, sequence.name))).fetchone())
    for table in layout.tables:
        for column in table.identity_columns:
            name = conn.execute("SELECT pg_get_serial_sequence(%s, %s)", [_regclass(table), column]).fetchone()[0]
            if name:
                value = conn.execute(sql.SQL("SELECT last_value, is_called FROM {}").format(sql.SQL(name))).fetchone()
                out[f"{table.qualified}.{column}"] = list(value)
    return out


def set_sequences(conn, layout: Layout, values: dict[str, list]) -> None:
    for sequence in layout.sequences:
        if sequence.qualified in values:
            last, called = values[sequence.qualified]
            conn.execute("SELECT setval(%s::regclass, %s, %s)",
                         [sql.Identifier(sequence.schema, sequence.name).as_string(None), last, called])
    for table in layout.tables:
        for column in table.identity_columns:
            key = f"{table.qualified}.{column}"
            if key in values:
                last, called = values[key]
                conn.execute("SELECT setval(pg_get_serial_sequence(%s, %s), %s, %s)",
                             [_regclass(table), column, last, called])


def checksums(conn, layout: Layout) -> dict[str, list]:
    """Per table [rows, md5 of the sorted row md5s]; per sequence [last_value, is_called]."""
    out: dict[str, list] = {}
    for table in layout.tables:
        count, digest = conn.execute(sql.SQL(
            "SELECT count(*), md5(coalesce(string_agg(h, '' ORDER BY h COLLATE \"C\"), '')) "
            "FROM (SELECT md5({row}) AS h FROM {t} AS x) s").format(row=table.row_text(), t=table.ident)).fetchone()
        out[table.qualified] = [int(count), digest]
    for name, value in sequence_values(conn, layout).items():
        out[f"sequence {name}"] = value
    return out


def _hashes(conn, table: Table) -> tuple[dict, Counter]:
    """Keyed tables: {key text: row md5}; others: a Counter of row md5s."""
    if table.key:
        rows = conn.execute(sql.SQL("SELECT {k}, md5({r}) FROM {t} AS x").format(
            k=table.key_text(), r=table.row_text(), t=table.ident)).fetchall()
        return dict(rows), Counter()
    rows = conn.execute(sql.SQL("SELECT md5({r}) FROM {t} AS x").format(r=table.row_text(), t=table.ident)).fetchall()
    return {}, Counter(r[0] for r in rows)


def _fetch(conn, table: Table, where: sql.Composable, values: list) -> list[tuple]:
    """Rows as text (every type has a text form), to insert with casts to the column types."""
    cols = sql.SQL(", ").join(sql.SQL("x.{}::text").format(sql.Identifier(c.name)) for c in table.writable)
    out = []
    for start in range(0, len(values), BATCH):
        out += conn.execute(sql.SQL("SELECT {c} FROM {t} AS x WHERE {w} = ANY(%s)").format(
            c=cols, t=table.ident, w=where), [values[start:start + BATCH]]).fetchall()
    return out


def _insert(conn, table: Table, rows: list[tuple], upsert: bool) -> None:
    if not rows:
        return
    writable = table.writable
    overriding = sql.SQL(" OVERRIDING SYSTEM VALUE") if any(c.identity == "a" for c in writable) else sql.SQL("")
    values = sql.SQL(", ").join(sql.SQL("%s::" + c.type) for c in writable)
    query = sql.SQL("INSERT INTO {t} ({c}){o} VALUES ({v})").format(
        t=table.ident, c=table.column_list(), o=overriding, v=values)
    if upsert:
        others = [c for c in writable if c.name not in table.key]
        conflict = sql.SQL(", ").join(sql.Identifier(k) for k in table.key)
        if others:
            query += sql.SQL(" ON CONFLICT ({k}) DO UPDATE SET {s}").format(k=conflict, s=sql.SQL(", ").join(
                sql.SQL("{c} = EXCLUDED.{c}").format(c=sql.Identifier(c.name)) for c in others))
        else:
            query += sql.SQL(" ON CONFLICT ({k}) DO NOTHING").format(k=conflict)
    with conn.cursor() as cursor:
        cursor.executemany(query, rows)


def _delete(conn, table: Table, where: sql.Composable, values: list) -> None:
    for start in range(0, len(values), BATCH):
        conn.execute(sql.SQL("DELETE FROM {t} AS x WHERE {w} = ANY(%s)").format(t=table.ident, w=where),
                     [values[start:start + BATCH]])


def sync_rows(source, target, layout: Layout) -> dict[str, dict[str, int]]:
    """Make the target's rows equal the source's: the final pass under the write freeze. Keyed
    tables: upserts parents first, deletions children first; other tables: the rows whose copies
    differ are deleted and inserted again. Runs in the callers' snapshot and transaction."""
    ordered = layout.ordered()
    changes: dict[str, dict[str, int]] = {}
    deletions: list[tuple[Table, list]] = []
    for table in ordered:
        src_keys, src_rows = _hashes(source, table)
        dst_keys, dst_rows = _hashes(target, table)
        if table.key:
            changed = [k for k, h in src_keys.items() if dst_keys.get(k) != h]
            gone = [k for k in dst_keys if k not in src_keys]
            _insert(target, table, _fetch(source, table, table.key_text(), changed), upsert=True)
            deletions.append((table, gone))
            changes[table.qualified] = {"upserted": len(changed), "deleted": len(gone)}
        else:
            differ = [h for h in set(src_rows) | set(dst_rows) if src_rows[h] != dst_rows[h]]
            _delete(target, table, sql.SQL("md5({})").format(table.row_text()), [h for h in differ if dst_rows[h]])
            _insert(target, table, _fetch(source, table, sql.SQL("md5({})").format(table.row_text()),
                                          [h for h in differ if src_rows[h]]), upsert=False)
            changes[table.qualified] = {"upserted": sum(src_rows[h] for h in differ),
                                        "deleted": sum(dst_rows[h] for h in differ)}
    for table, gone in reversed(deletions):
        _delete(target, table, table.key_text(), gone)
    set_sequences(target, layout, sequence_values(source, layout))
    return changes


# -- the write freeze ----------------------------------------------------------------------------------------

def _app_role(conn, side: PgSide) -> str:
    """The role the application writes with: the tenant's in the pool, the admin on its own instance."""
    return side.role if side.pooled else conn.execute("SELECT current_user").fetchone()[0]


def _owner(data, side: PgSide, admin):
    owner = admin if side.row_mode else data
    if owner is None:
        raise DataPlaneError(f"{side.where}: a row-mode tenant's writes are frozen and restored by the pooled "
                             "database's admin: give its connection")
    return owner


def write_rights(data, side: PgSide, layout: Layout, admin=None) -> dict[str, Any]:
    """What the application's role may write now: the record a freeze keeps (saved before the
    revoke, so a run interrupted halfway still knows what to grant back)."""
    owner = _owner(data, side, admin)
    role = _app_role(data, side)
    with errors(side.where, "reading the tenant's write rights"):
        held = {}
        for table in layout.tables:
            privileges = [p for p in WRITE_PRIVILEGES if owner.execute(
                "SELECT has_table_privilege(%s, %s, %s)", [role, _regclass(table), p]).fetchone()[0]]
            if privileges:
                held[table.qualified] = privileges
    return {"role": role, "revoked": held}


def revoke_writes(data, side: PgSide, record: dict[str, Any], admin=None, keep_pids: Iterable[int] = ()) -> int:
    """The freeze: the owner of the tenant's tables (the tenant itself in schema mode, the admin in
    row mode and on its own instance) revokes the recorded write rights from the application's
    role, checks none is left, and ends that role's other sessions in the database (their
    uncommitted writes roll back). Returns the sessions ended."""
    owner = _owner(data, side, admin)
    role = record["role"]
    with errors(side.where, "freezing the tenant's writes"):
        for name, privileges in record["revoked"].items():
            schema, table = name.split(".", 1)
            owner.execute(sql.SQL("REVOKE {p} ON {t} FROM {r}").format(
                p=sql.SQL(", ").join(sql.SQL(p) for p in privileges), t=sql.Identifier(schema, table),
                r=sql.Identifier(role)))
        left = sorted(name for name in record["revoked"] if any(owner.execute(
            "SELECT has_table_privilege(%s, %s, %s)", [role, sql.Identifier(*name.split(".", 1)).as_string(None), p]
        ).fetchone()[0] for p in WRITE_PRIVILEGES[:3]))
        if left:
            raise DataPlaneError(f"{side.where}: role {role} can still write {', '.join(left)} after the freeze "
                                 "(a superuser, or tables owned by another role?)")
        return end_sessions(owner, role, keep_pids)


def unfreeze(data, side: PgSide, record: dict[str, Any], admin=None) -> None:
    """Grant back exactly what the freeze revoked."""
    owner = _owner(data, side, admin)
    with errors(side.where, "restoring the tenant's write rights"):
        for name, privileges in record.get("revoked", {}).items():
            schema, table = name.split(".", 1)
            if owner.execute("SELECT to_regclass(%s) IS NOT NULL",
                             [sql.Identifier(schema, table).as_string(None)]).fetchone()[0]:
                owner.execute(sql.SQL("GRANT {p} ON {t} TO {r}").format(
                    p=sql.SQL(", ").join(sql.SQL(p) for p in privileges), t=sql.Identifier(schema, table),
                    r=sql.Identifier(record["role"])))


def end_sessions(conn, role: str, keep_pids: Iterable[int] = ()) -> int:
    """End `role`'s sessions in this database, except ours, and wait until they are gone: their
    uncommitted writes roll back, and a commit that was already on its way is visible to the next
    snapshot (pg_terminate_backend only signals; its timeout waits for the exit)."""
    keep = [conn.info.backend_pid, *keep_pids]
    rows = conn.execute("SELECT pid, pg_terminate_backend(pid, %s) FROM pg_stat_activity "
                        "WHERE usename = %s AND datname = current_database() AND pid <> ALL(%s)",
                        [TERMINATE_WAIT_MS, role, keep]).fetchall()
    stuck = [pid for pid, ended in rows if not ended]
    if stuck:  # false also for a session that ended on its own meanwhile
        stuck = [r[0] for r in conn.execute("SELECT pid FROM pg_stat_activity WHERE pid = ANY(%s)", [stuck]).fetchall()]
    if stuck:
        raise DataPlaneError(f"sessions {', '.join(map(str, stuck))} of role {role} did not end within "
                             f"{TERMINATE_WAIT_MS // 1000}s; nothing is cut over while they may still write")
    return len(rows)


def disable_login(admin, side: PgSide, keep_pids: Iterable[int] = ()) -> int:
    """The pooled tenant's role may no longer log in; its sessions end. (Its own instance: its
    access ends with the instance, after the final snapshot.)"""
    with errors(safe_location(admin.info.dsn), f"disabling role {side.role}"):
        admin.execute(sql.SQL("ALTER ROLE {} NOLOGIN").format(sql.Identifier(side.role)))
        return end_sessions(admin, side.role, keep_pids)


def retire(data, side: PgSide, layout: Layout, admin=None) -> None:
    """Delete the tenant's data on this side (the old copy after a verified move): its rows in row
    mode, else the layout's tables and sequences, and on its own instance the schemas left empty."""
    with errors(side.where, "retiring the old copy"):
        data.autocommit = False
        try:
            clear(data, side, layout, admin)
            if not side.pooled:
                for schema in layout.schemas:
                    data.execute(sql.SQL("DROP SCHEMA IF EXISTS {} RESTRICT").format(sql.Identifier(schema)))
            data.commit()
        except BaseException:
            data.rollback()
            raise
        finally:
            data.autocommit = True


# -- files: the bundle's tables ---------------------------------------------------------------------------------

def export_rows(conn, table: Table) -> bytes:
    """A table's rows in COPY text format, in a stable order (by every column's text)."""
    out = bytearray()
    query = sql.SQL("COPY (SELECT {c} FROM {t} AS x ORDER BY {r} COLLATE \"C\") TO STDOUT").format(
        c=table.column_list(), t=table.ident, r=table.row_text())
    with conn.cursor().copy(query) as copy:
        for chunk in copy:
            out += bytes(chunk)
    return bytes(out)


def import_rows(conn, table: Table, data: bytes) -> None:
    with conn.cursor().copy(sql.SQL("COPY {} ({}) FROM STDIN").format(table.ident, table.column_list())) as copy:
        copy.write(data)

