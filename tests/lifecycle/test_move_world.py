"""The world the move and offboarding tests run in (no tests here): a project with tenants that may
live in every tier, a pooled PostgreSQL database bootstrapped by the data plane, databases of their
own on a second cluster, a pooled Redis with the tenants' ACL users and two Redis servers of their
own, the tenants' connection secrets on moto, and a writer that keeps writing through a move."""

from __future__ import annotations

import contextlib
import itertools
import json
import shutil
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import boto3
import psycopg
import redis

from tenancy.dataplane.apply import apply_cache_acl, bootstrap_database
from tenancy.dataplane.postgres import database_options
from tenancy.dataplane.redis_acl import acl_rules
from tenancy.registry.naming import cache_user_id, database_role
from tenancy.registry.project import validate_project

from ..conftest import PROJECT
from ..run_cli import tenancy

ENV = "dev"
FLEX_PLAN = """  flex:
    defaultIsolation: shared
    allowedIsolation: [shared, dedicated, isolated]
    allowedOverrides: {database: [shared, dedicated, isolated], cache: [shared, dedicated, isolated]}
    quotas: {maxUsers: 100, maxProjects: 10, maxAIRequests: 10000, storageLimit: 20, computeLimit: 4, networkBandwidth: 100}
"""
TENANTS = {"zeta": "schema", "rho": "row"}
MODES = {**TENANTS, "northwind": "row", "brightside": "schema"}  # with the sample's pooled tenants
_names = itertools.count()


def make_project(root: Path) -> Path:
    """The tests' sample project plus a plan that allows every tier and two tenants on it."""
    project = root / "project"
    shutil.copytree(PROJECT, project, ignore=shutil.ignore_patterns("__pycache__"))
    plans = project / "tenants" / "plans.yaml"
    text = plans.read_text()
    assert text.count("\nplans:\n") == 1
    plans.write_text(text.replace("\nplans:\n", "\nplans:\n" + FLEX_PLAN, 1))  # wherever `plans:` sits in the file
    for tenant_id, mode in TENANTS.items():
        (project / "tenants" / f"{tenant_id}.yaml").write_text(
            f"id: {tenant_id}\nname: {tenant_id.title()} Ltd\nplan: flex\nenvironments: [dev]\ndataIsolation: {mode}\n"
            f"billing: {{costCenter: cc-{tenant_id}}}\n")
    return project


def password(tenant_id: str) -> str:
    return f"pw-{tenant_id}-secret"


class World:
    """Per test: a fresh pooled database, fresh own databases, caches emptied."""

    def __init__(self, tmp_path: Path, postgres_cluster, redis_instance):
        self.tmp = tmp_path
        self.project = make_project(tmp_path)
        self.tenants = validate_project(self.project).in_environment(ENV)
        self.pool_pg, self.own_pg = postgres_cluster("pool"), postgres_cluster("own")
        n = next(_names)
        self.pool_db, self.dbs = f"pool_{n}", {"dedicated": f"dedicated_{n}", "isolated": f"isolated_{n}"}
        self.pool_pg.sql("postgres", f"CREATE DATABASE {self.pool_db} OWNER tenancy_admin")
        for name in self.dbs.values():
            self.own_pg.sql("postgres", f"CREATE DATABASE {name} OWNER tenancy_admin")
        self.caches = {"shared": redis_instance("pool"), "dedicated": redis_instance("dedicated"),
                       "isolated": redis_instance("isolated")}
        for cache in self.caches.values():
            cache.reset()
        self.bootstrap()
        self.cache_acl()

    # -- the pooled data plane, as its commands would set it up ------------------------------------------
    def passwords(self) -> dict[str, str]:
        return {t.id: password(t.id) for t in self.tenants}

    def bootstrap(self) -> None:
        bootstrap_database(self.admin_dsn("shared"), self.tenants, self.passwords(), reset_passwords=True,
                           options=database_options(self.project, ENV))

    def cache_acl(self) -> None:
        apply_cache_acl(self.caches["shared"].url(), acl_rules(self.tenants, ENV, self.passwords()))

    # -- where things are ----------------------------------------------------------------------------------
    def admin_dsn(self, tier: str) -> str:
        if tier == "shared":
            return self.pool_pg.dsn(database=self.pool_db)
        return self.own_pg.dsn(database=self.dbs[tier])

    def tenant_dsn(self, tenant_id: str) -> str:
        return self.pool_pg.dsn(user=database_role(tenant_id), password=password(tenant_id), database=self.pool_db)

    def data_dsn(self, tier: str, tenant_id: str) -> str:
        """What the move copies with: the tenant's login in the pool, the admin on its own database."""
        return self.tenant_dsn(tenant_id) if tier == "shared" else self.admin_dsn(tier)

    def redis_url(self, tier: str) -> str:
        return self.caches[tier].url()

    def tenant_redis_url(self, tier: str, tenant_id: str) -> str:
        return self.caches[tier].url(cache_user_id(ENV, tenant_id), password(tenant_id))

    # -- seed data ----------------------------------------------------------------------------------------------
    def seed(self, tenant_id: str) -> None:
        if TENANTS[tenant_id] == "schema":
            s = f"tenant_{tenant_id}"
            with psycopg.connect(self.tenant_dsn(tenant_id), autocommit=True) as conn:
                for statement in (
                    f"CREATE TABLE {s}.customers (id serial PRIMARY KEY, name text NOT NULL UNIQUE, "
                    "created timestamptz NOT NULL DEFAULT now())",
                    f"CREATE TABLE {s}.orders (id int PRIMARY KEY, customer_id int NOT NULL REFERENCES {s}.customers(id), "
                    "note text, amount numeric(10,2) DEFAULT 0, tags text[], meta jsonb, "
                    "doubled numeric GENERATED ALWAYS AS (amount * 2) STORED)",
                    f"CREATE INDEX orders_note ON {s}.orders (note)",
                    f"CREATE TABLE {s}.audit (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, "
                    "line text CHECK (line <> ''), at timestamptz DEFAULT now())",
                    f"CREATE TABLE {s}.notes (txt text, n int)",
                    f"INSERT INTO {s}.customers (name) VALUES ('alpha'), ('beta'), ('gam\"ma\\n''s')",
                    f"INSERT INTO {s}.orders (id, customer_id, note, amount, tags, meta) SELECT g, 1 + g % 3, "
                    f"'order ' || g, g * 1.25, ARRAY['t' || g, NULL], jsonb_build_object('g', g, 'x', 'é\t\\') "
                    "FROM generate_series(1, 40) g",
                    f"INSERT INTO {s}.audit (line) SELECT 'line ' || g FROM generate_series(1, 10) g",
                    f"INSERT INTO {s}.notes VALUES ('x', 1), ('x', 1), ('x', 1), ('y', NULL), (NULL, NULL)",
                ):
                    conn.execute(statement)
        else:
            with psycopg.connect(self.admin_dsn("shared"), autocommit=True) as conn:
                conn.execute("CREATE TABLE IF NOT EXISTS shared.orders (tenant_id text NOT NULL, id int NOT NULL, "
                             "note text, amount numeric(10,2), PRIMARY KEY (tenant_id, id))")
            self.bootstrap()  # grants the new shared table to the row-mode tenants
            for owner in (tenant_id, "northwind"):
                with psycopg.connect(self.tenant_dsn(owner), autocommit=True) as conn:
                    conn.execute("INSERT INTO shared.orders SELECT %s, g, 'order ' || g, g * 0.5 "
                                 "FROM generate_series(1, 30) g", [owner])
        tenant = redis.Redis.from_url(self.tenant_redis_url("shared", tenant_id))
        for i in range(20):
            tenant.set(f"{tenant_id}:s:{i}", f"value {i}")
        tenant.hset(f"{tenant_id}:h", mapping={"a": "1", "b": "2"})
        tenant.rpush(f"{tenant_id}:l", "x", "y", "x")
        tenant.zadd(f"{tenant_id}:z", {"m": 1.5, "n": 2})
        tenant.sadd(f"{tenant_id}:set", "p", "q")
        tenant.set(f"{tenant_id}:ttl", "expires", ex=3600)
        tenant.close()
        redis.Redis.from_url(self.tenant_redis_url("shared", "brightside")).set("brightside:other", "not moved")

    # -- connection secrets (moto) -----------------------------------------------------------------------------------
    def create_secrets(self, tenant_id: str) -> dict[str, str]:
        client = boto3.client("secretsmanager")
        ids = {"database": f"tenancy/{ENV}/{tenant_id}/database", "cache": f"tenancy/{ENV}/{tenant_id}/cache"}
        client.create_secret(Name=ids["database"], SecretString=json.dumps({
            "engine": "postgres", "host": "127.0.0.1", "port": self.pool_pg.port, "username": database_role(tenant_id),
            "password": password(tenant_id), "dbname": self.pool_db}))
        client.create_secret(Name=ids["cache"], SecretString=json.dumps({
            "host": "127.0.0.1", "port": self.caches["shared"].port, "db": 0,
            "username": cache_user_id(ENV, tenant_id), "password": password(tenant_id)}))
        return ids

    # -- the command ------------------------------------------------------------------------------------------------------
    def move(self, tenant_id: str, to: str, source: str, *extra: str, from_flag: bool = True):
        args = ["tenant", "move", tenant_id, "--to", to, "--environment", ENV, "--cwd", str(self.project),
                "--source-dsn", self.data_dsn(source, tenant_id), "--target-dsn", self.data_dsn(to, tenant_id),
                "--source-redis", self.redis_url(source), "--target-redis", self.redis_url(to),
                "--state", str(self.state_path(tenant_id))]
        if from_flag:
            args += ["--from", source]
        if TENANTS[tenant_id] == "row":
            args += ["--pool-admin-dsn", self.admin_dsn("shared")]
        return tenancy(*args, *extra, cwd=self.tmp)

    def state_path(self, tenant_id: str) -> Path:
        return self.tmp / "state" / f"{ENV}-{tenant_id}.json"

    # -- reading a side ---------------------------------------------------------------------------------------------------
    def orders(self, tier: str, tenant_id: str) -> dict[int, str]:
        """The tenant's orders on a side: id -> note."""
        table = f"tenant_{tenant_id}.orders" if MODES[tenant_id] == "schema" else "shared.orders"
        with psycopg.connect(self.data_dsn(tier, tenant_id)) as conn:
            exists = conn.execute("SELECT to_regclass(%s)", [table]).fetchone()[0]
            if exists is None:
                return {}
            return dict(conn.execute(f"SELECT id, note FROM {table}").fetchall())

    def keys(self, tier: str, tenant_id: str) -> dict[bytes, bytes]:
        admin = redis.Redis.from_url(self.redis_url(tier))
        out = {}
        for key in admin.scan_iter(match=f"{tenant_id}:*"):
            out[key] = admin.get(key) if admin.type(key) == b"string" else admin.type(key)
        admin.close()
        return out


@dataclass(eq=False)
class Writer(threading.Thread):
    """Keeps writing as the tenant's application would: inserts, updates and deletes of orders and
    string keys, through the endpoints its connection secrets name. A failed write is retried,
    re-reading the secrets, until it is acknowledged; `model` holds every acknowledged write."""

    tenant_id: str
    secret_ids: dict[str, str]
    mode: str
    start_at: int = 1000
    model_rows: dict[int, str] = field(default_factory=dict)
    model_keys: dict[str, str] = field(default_factory=dict)
    failures: int = 0
    endpoints: set = field(default_factory=set)
    error: BaseException | None = None

    def __post_init__(self):
        threading.Thread.__init__(self, daemon=True)
        self._halt = threading.Event()
        self._gate = threading.Lock()
        self._db = self._cache = None
        self._config: dict = {}
        self.acknowledged = 0

    def stop(self) -> None:
        self._halt.set()
        self.join(timeout=60)
        if self.error:
            raise self.error

    @contextlib.contextmanager
    def paused(self):
        with self._gate:
            yield

    def wait_for(self, count: int, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        target = self.acknowledged + count
        while self.acknowledged < target:
            if self.error:
                raise self.error
            assert time.monotonic() < deadline, f"the writer is stuck ({self.failures} failures)"
            time.sleep(0.01)

    # -- connections through the secrets --------------------------------------------------------------------------------
    def _refresh(self) -> None:
        client = boto3.client("secretsmanager")
        self._config = {k: json.loads(client.get_secret_value(SecretId=v)["SecretString"])
                        for k, v in self.secret_ids.items()}
        for conn in (self._db, self._cache):
            with contextlib.suppress(Exception):
                conn.close()
        db, cache = self._config["database"], self._config["cache"]
        self._db = psycopg.connect(host=db["host"], port=db["port"], dbname=db["dbname"], user=db["username"],
                                   password=db["password"], autocommit=True, connect_timeout=5)
        self._cache = redis.Redis(host=cache["host"], port=cache["port"], db=cache.get("db", 0),
                                  username=cache["username"], password=cache["password"], socket_timeout=5)
        self.endpoints.add((db["port"], db["dbname"], cache["port"]))

    def _table(self) -> str:
        return f"tenant_{self.tenant_id}.orders" if self.mode == "schema" else "shared.orders"

    def _do(self, op: str, i: int, note: str) -> None:
        table, key = self._table(), f"{self.tenant_id}:o:{i}"
        if self.mode == "schema":
            sql = {"insert": f"INSERT INTO {table} (id, customer_id, note) VALUES (%(i)s, 1, %(n)s) ON CONFLICT (id) DO NOTHING",
                   "update": f"UPDATE {table} SET note = %(n)s WHERE id = %(i)s",
                   "delete": f"DELETE FROM {table} WHERE id = %(i)s"}[op]
        else:
            sql = {"insert": f"INSERT INTO {table} (tenant_id, id, note) VALUES (%(t)s, %(i)s, %(n)s) "
                             "ON CONFLICT (tenant_id, id) DO NOTHING",
                   "update": f"UPDATE {table} SET note = %(n)s WHERE tenant_id = %(t)s AND id = %(i)s",
                   "delete": f"DELETE FROM {table} WHERE tenant_id = %(t)s AND id = %(i)s"}[op]
        self._db.execute(sql, {"i": i, "n": note, "t": self.tenant_id})
        if op == "delete":
            self._cache.delete(key)
        else:
            self._cache.set(key, note, ex=3600)

    def _write(self, op: str, i: int, note: str) -> None:
        deadline = time.monotonic() + 60
        while True:
            try:
                if self._db is None:
                    self._refresh()
                self._do(op, i, note)
                break
            except (psycopg.Error, redis.RedisError):
                self.failures += 1
                assert time.monotonic() < deadline, f"write {op} {i} never got through"
                time.sleep(0.02)
                with contextlib.suppress(psycopg.Error, redis.RedisError):
                    self._refresh()
        if op == "delete":
            self.model_rows.pop(i, None)
            self.model_keys.pop(f"{self.tenant_id}:o:{i}", None)
        else:
            self.model_rows[i] = note
            self.model_keys[f"{self.tenant_id}:o:{i}"] = note

    def run(self) -> None:
        try:
            for i in itertools.count(self.start_at):
                if self._halt.is_set():
                    break
                with self._gate:
                    self._write("insert", i, f"n{i}")
                    if i % 5 == 4 and i - 2 in self.model_rows:
                        self._write("update", i - 2, f"u{i}")
                    if i % 7 == 6 and i - 4 in self.model_rows:
                        self._write("delete", i - 4, "")
                    self.acknowledged += 1
                time.sleep(0.002)
        except BaseException as exc:  # noqa: BLE001 - reported by stop()
            self.error = exc
        finally:
            for conn in (self._db, self._cache):
                with contextlib.suppress(Exception):
                    conn.close()
