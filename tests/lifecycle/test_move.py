"""`tenancy tenant move` against real PostgreSQL and Redis servers and a moto Secrets Manager: moves
through every tier while the tenant keeps writing, with nothing lost and the old copy kept until the
retirement is confirmed; a move stopped after any step resumes from its state file."""

from __future__ import annotations

import json

import psycopg
import pytest
import redis

import tenancy.lifecycle.move as move_module
from tenancy.lifecycle.move import Move

from ..run_cli import tenancy
from .test_move_world import ENV, World, Writer


@pytest.fixture
def world(tmp_path, postgres_cluster, redis_instance, aws_env):
    return World(tmp_path, postgres_cluster, redis_instance)


def _seeded(world: World, tier: str, tenant_id: str) -> dict[int, str]:
    return {k: v for k, v in world.orders(tier, tenant_id).items() if k < 1000}


def _written(world: World, tier: str, tenant_id: str) -> dict[int, str]:
    return {k: v for k, v in world.orders(tier, tenant_id).items() if k >= 1000}


def _written_keys(world: World, tier: str, tenant_id: str) -> dict[str, str]:
    return {k.decode(): v.decode() for k, v in world.keys(tier, tenant_id).items() if b":o:" in k}


def _move_while_writing(world: World, writer: Writer, tenant_id: str, to: str, source: str) -> None:
    """One move with the writer running; then, with it paused, everything it wrote is on the target,
    the old copy is still there, and the confirmed retirement removes it."""
    seeded = _seeded(world, source, tenant_id)
    other_keys = world.keys(source, tenant_id)
    writer.wait_for(20)
    if to == "shared":  # provisioning a pooled target: the data plane's commands for the tenant
        world.bootstrap()
        world.cache_acl()
    result = world.move(tenant_id, to, source)
    assert result.returncode == 0, result.stderr + result.stdout
    assert "WRITE FREEZE" in result.stdout and "not confirmed. The old copy is kept" in result.stdout
    writer.wait_for(20)  # it writes to the target now
    with writer.paused():
        assert _written(world, to, tenant_id) == writer.model_rows
        assert _written_keys(world, to, tenant_id) == writer.model_keys
        assert _seeded(world, to, tenant_id) == seeded
        assert {k for k in world.keys(to, tenant_id) if b":o:" not in k} == {k for k in other_keys if b":o:" not in k}
        assert world.orders(source, tenant_id) and world.keys(source, tenant_id), "the old copy is kept"
    state = json.loads(world.state_path(tenant_id).read_text())
    assert state["status"] == "cut-over" and "retire" not in state["steps"]
    assert state["steps"]["verify"]["checksums"], "verified by checksums"
    result = world.move(tenant_id, to, source, "--confirm-retire")
    assert result.returncode == 0, result.stderr + result.stdout
    assert world.orders(source, tenant_id) == {} and world.keys(source, tenant_id) == {}
    assert json.loads(world.state_path(tenant_id).read_text())["status"] == "complete"


def test_schema_tenant_moves_through_every_tier_while_writing(world):
    world.seed("zeta")
    writer = Writer("zeta", world.create_secrets("zeta"), "schema")
    writer.start()
    try:
        for to, source in (("dedicated", "shared"), ("isolated", "dedicated"), ("shared", "isolated")):
            _move_while_writing(world, writer, "zeta", to, source)
    finally:
        writer.stop()
    assert writer.failures > 0, "the writer met the write freeze"
    # The two secrets are rewritten one after the other, so the writer may also see a mixed pair
    # for a moment: what matters is that each side went through every tier.
    assert len({db for _, db, _ in writer.endpoints}) == 3 and len({c for _, _, c in writer.endpoints}) >= 2, \
        f"it followed the secrets through every tier (and back to the pool): {writer.endpoints}"
    assert _written(world, "shared", "zeta") == writer.model_rows
    assert _written_keys(world, "shared", "zeta") == writer.model_keys
    with psycopg.connect(world.tenant_dsn("zeta"), autocommit=True) as conn:
        # the sequences moved with the rows: new rows get new ids, the tenant owns its tables again
        assert conn.execute("INSERT INTO tenant_zeta.customers (name) VALUES ('delta') RETURNING id").fetchone()[0] == 4
        assert conn.execute("INSERT INTO tenant_zeta.audit (line) VALUES ('l') RETURNING id").fetchone()[0] == 11
        assert conn.execute("SELECT count(*) FROM tenant_zeta.notes").fetchone()[0] == 5
    assert redis.Redis.from_url(world.redis_url("shared")).get("brightside:other") == b"not moved"


def test_row_tenant_moves_out_of_the_pool_and_back_while_writing(world):
    world.seed("rho")
    writer = Writer("rho", world.create_secrets("rho"), "row")
    writer.start()
    try:
        for to, source in (("dedicated", "shared"), ("shared", "dedicated")):
            _move_while_writing(world, writer, "rho", to, source)
    finally:
        writer.stop()
    assert _written(world, "shared", "rho") == writer.model_rows
    # the neighbour's rows in the same shared table were never touched
    assert len(world.orders("shared", "northwind")) == 30
    with psycopg.connect(world.admin_dsn("dedicated")) as conn:
        assert conn.execute("SELECT to_regclass('shared.orders')").fetchone()[0] is None, "retired"


class Crash(Exception):
    """A run that dies (the process killed) at one point."""


def _crash(world: World, point: str, tenant_id: str = "zeta", to: str = "dedicated", source: str = "shared") -> None:
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(move_module, "Move", _crashing_at(point))
        with pytest.raises(Crash):
            world.move(tenant_id, to, source)


def _crashing_at(point: str):
    class CrashingMove(Move):
        def __init__(self, *args, **kwargs):
            def hook(reached: str) -> None:
                if reached == point:
                    raise Crash(point)
            super().__init__(*args, hook=hook, **kwargs)
    return CrashingMove


@pytest.mark.parametrize("point", ["provision", "copy", "verify:frozen", "verify", "cutover"])
def test_a_move_stopped_after_any_step_resumes_from_its_state_file(world, point):
    world.seed("zeta")
    world.create_secrets("zeta")
    _crash(world, point)
    state = json.loads(world.state_path("zeta").read_text())
    tenant = psycopg.connect(world.tenant_dsn("zeta"), autocommit=True)
    frozen = point in ("verify:frozen", "verify")
    if frozen:  # the freeze outlives the crash: the old copy takes no write meanwhile
        assert state["freeze"]["status"] == "frozen"
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            tenant.execute("INSERT INTO tenant_zeta.orders (id, customer_id) VALUES (500, 1)")
    elif point != "cutover":  # not frozen yet: the tenant writes on, and the resumed move carries it
        tenant.execute("INSERT INTO tenant_zeta.orders (id, customer_id, note) VALUES (500, 1, 'late')")
        tenant.execute("UPDATE tenant_zeta.orders SET note = 'changed' WHERE id = 1")
        tenant.execute("DELETE FROM tenant_zeta.orders WHERE id = 2")
        redis.Redis.from_url(world.tenant_redis_url("shared", "zeta")).set("zeta:late", "1")
    tenant.close()
    expected = world.orders("shared", "zeta")
    if point == "copy":  # the registry edited meanwhile: the state, not the registry, says where the data is
        path = world.project / "tenants" / "zeta.yaml"
        path.write_text(path.read_text().replace("dataIsolation: schema\n", "services: {database: dedicated, cache: dedicated}\n"))
    result = world.move("zeta", "dedicated", "shared", "--confirm-retire", from_flag=point != "copy")
    assert result.returncode == 0, result.stderr + result.stdout
    assert "resuming the move of zeta" in result.stdout
    assert world.orders("dedicated", "zeta") == expected
    if not frozen and point != "cutover":
        assert expected[500] == "late" and expected[1] == "changed" and 2 not in expected
        assert redis.Redis.from_url(world.redis_url("dedicated")).get("zeta:late") == b"1"
    assert world.orders("shared", "zeta") == {}
    secret = json.loads(__import__("boto3").client("secretsmanager").get_secret_value(
        SecretId=f"tenancy/{ENV}/zeta/database")["SecretString"])
    assert secret["dbname"] == world.dbs["dedicated"]
    assert json.loads(world.state_path("zeta").read_text())["status"] == "complete"


def test_copies_that_differ_stop_the_move_and_lift_the_freeze(world):
    world.seed("zeta")
    world.create_secrets("zeta")
    _crash(world, "copy")
    with psycopg.connect(world.admin_dsn("dedicated"), autocommit=True) as conn:
        conn.execute("INSERT INTO tenant_zeta.orders (id, customer_id, note) VALUES (9999, 1, 'stray')")
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("tenancy.lifecycle.pgcopy.sync_rows", lambda *a: {})  # a final pass that misses it
        result = world.move("zeta", "dedicated", "shared")
    assert result.returncode == 1, result.stderr
    assert "tenant_zeta.orders: 40 rows in the source, 41 in the target" in result.stderr
    assert "Traceback" not in result.stderr
    with psycopg.connect(world.tenant_dsn("zeta"), autocommit=True) as tenant:  # writes are back
        tenant.execute("INSERT INTO tenant_zeta.orders (id, customer_id) VALUES (501, 1)")
    secret = json.loads(__import__("boto3").client("secretsmanager").get_secret_value(
        SecretId=f"tenancy/{ENV}/zeta/database")["SecretString"])
    assert secret["dbname"] == world.pool_db, "nothing was cut over"
    result = world.move("zeta", "dedicated", "shared")  # the same command: the final pass runs again
    assert result.returncode == 0, result.stderr
    assert world.orders("dedicated", "zeta") == world.orders("shared", "zeta")


def test_abort_before_the_cutover_restores_the_source(world):
    world.seed("zeta")
    world.create_secrets("zeta")
    _crash(world, "verify:frozen")
    result = world.move("zeta", "dedicated", "shared", "--abort")
    assert result.returncode == 0, result.stderr
    with psycopg.connect(world.tenant_dsn("zeta"), autocommit=True) as tenant:
        tenant.execute("INSERT INTO tenant_zeta.orders (id, customer_id) VALUES (502, 1)")
    assert world.orders("dedicated", "zeta") == {} and world.keys("dedicated", "zeta") == {}
    assert redis.Redis.from_url(world.tenant_redis_url("shared", "zeta")).set("zeta:after", "1")


def test_a_target_holding_the_tenants_data_is_refused(world):
    world.seed("zeta")
    world.create_secrets("zeta")
    with psycopg.connect(world.admin_dsn("dedicated"), autocommit=True) as conn:
        conn.execute("CREATE SCHEMA tenant_zeta")
        conn.execute("CREATE TABLE tenant_zeta.orders (id int)")
    result = world.move("zeta", "dedicated", "shared")
    assert result.returncode == 2
    assert "already holds data where the tenant's would go: table tenant_zeta.orders" in result.stderr
    assert "--replace-target" in result.stderr
    result = world.move("zeta", "dedicated", "shared", "--replace-target")
    assert result.returncode == 0, result.stderr
    assert world.orders("dedicated", "zeta") == world.orders("shared", "zeta")


def test_a_resumed_move_must_name_the_same_servers(world):
    world.seed("zeta")
    world.create_secrets("zeta")
    _crash(world, "copy")
    result = world.move("zeta", "isolated", "shared")
    assert result.returncode == 2 and "a move of zeta to dedicated" in result.stderr and "in progress" in result.stderr


def test_dry_run_and_usage(tmp_path):
    from .test_move_world import make_project

    project = make_project(tmp_path)
    result = tenancy("tenant", "move", "zeta", "--to", "dedicated", "--environment", ENV, "--cwd", str(project),
                     "--dry-run", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    for text in ("tenancy tenant set zeta isolationLevel=dedicated dataIsolation=null", "pulumi up --stack dev-zeta", "WRITE FREEZE",
                 "tenancy/dev/zeta/database", "kept until the command runs again with --confirm-retire"):
        assert text in result.stdout
    assert not (tmp_path / ".tenancy").exists()
    result = tenancy("tenant", "move", "zeta", "--to", "shared", "--environment", ENV, "--cwd", str(project),
                     cwd=tmp_path)
    assert result.returncode == 2 and "nothing to move" in result.stderr and "--from" in result.stderr
    result = tenancy("tenant", "move", "brightside", "--to", "dedicated", "--environment", ENV, "--cwd", str(project),
                     cwd=tmp_path)
    assert result.returncode == 2 and "plan starter does not allow" in result.stderr
    result = tenancy("tenant", "move", "zeta", "--to", "dedicated", "--environment", ENV, "--cwd", str(project),
                     cwd=tmp_path)
    assert result.returncode == 2 and "--source-dsn" in result.stderr and "Traceback" not in result.stderr
