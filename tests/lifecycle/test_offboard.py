"""`tenancy tenant offboard` and `restore-bundle` against real PostgreSQL and Redis servers and a moto
server (KMS, S3, RDS): the bundle is encrypted with the tenant's key, locked, verified before anything
is disabled, and restores into an empty database with identical checksums; a tampered bundle stops
the offboarding with everything intact."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import boto3
import psycopg
import pytest
import redis

from tenancy.lifecycle import pgcopy
from tenancy.lifecycle.bundle import BundleStore
from tenancy.lifecycle.pgcopy import PgSide

from ..run_cli import tenancy
from .test_move_world import ENV, MODES, World, password

BUCKET = "tenancy-offboarding-test"


@pytest.fixture
def world(tmp_path, postgres_cluster, redis_instance, aws_env):
    return World(tmp_path, postgres_cluster, redis_instance)


def _tenant_key(tenant_id: str) -> str:
    kms = boto3.client("kms")
    key = kms.create_key(Description=f"{tenant_id}'s key", Tags=[{"TagKey": "tenant-id", "TagValue": tenant_id}])
    kms.create_alias(AliasName=f"alias/tenancy/{ENV}/{tenant_id}", TargetKeyId=key["KeyMetadata"]["KeyId"])
    return key["KeyMetadata"]["KeyId"]  # moto's CancelKeyDeletion and ScheduleKeyDeletion take no ARN


def _registry(world: World, tenant_id: str, drop: tuple[str, ...] = (), **fields: str) -> None:
    """The registry edit `tenancy tenant set` makes (its own tests cover it), by hand."""
    path = world.project / "tenants" / f"{tenant_id}.yaml"
    lines = [line for line in path.read_text().splitlines() if line.split(":")[0] not in drop]
    path.write_text("\n".join(lines) + "\n" + "".join(f"{k}: {v}\n" for k, v in fields.items()))


def _offboard(world: World, tenant_id: str, *args: str):
    return tenancy("tenant", "offboard", tenant_id, "--environment", ENV, "--cwd", str(world.project),
                   "--bucket", BUCKET, "--state", str(world.tmp / "offboarding" / f"{tenant_id}.json"), *args,
                   cwd=world.tmp)


def _pooled(world: World, tenant_id: str, *extra: str):
    return _offboard(world, tenant_id, "--pool-admin-dsn", world.admin_dsn("shared"),
                     "--redis", world.redis_url("shared"), *extra)


def _live_checksums(world: World, tenant_id: str) -> dict:
    side = PgSide(world.admin_dsn("shared"), tenant_id, pooled=True, mode=MODES[tenant_id], as_tenant=True)
    with pgcopy.data_connection(side) as conn:
        return pgcopy.checksums(conn, pgcopy.read_layout(conn, side))


def _bundle_object() -> dict:
    versions = boto3.client("s3").list_object_versions(Bucket=BUCKET)["Versions"]
    assert len(versions) == 1
    return versions[0]


@pytest.mark.parametrize("tenant_id", ["zeta", "rho"])  # schema mode, row mode
def test_offboarding_exports_a_locked_encrypted_bundle_that_restores_identically(world, postgres_cluster, tenant_id):
    world.seed(tenant_id)
    key_arn = _tenant_key(tenant_id)
    _registry(world, tenant_id, status="suspended")
    live = _live_checksums(world, tenant_id)
    result = _pooled(world, tenant_id)
    assert result.returncode == 0, result.stderr + result.stdout
    for text in ("WRITE FREEZE", "bundle verified", "status=offboarding", "may no longer log in", "deleted on"):
        assert text in result.stdout
    s3 = boto3.client("s3")
    assert s3.get_object_lock_configuration(Bucket=BUCKET)["ObjectLockConfiguration"]["ObjectLockEnabled"] == "Enabled"
    assert s3.get_bucket_versioning(Bucket=BUCKET)["Status"] == "Enabled"
    stored = _bundle_object()
    head = s3.head_object(Bucket=BUCKET, Key=stored["Key"], VersionId=stored["VersionId"])
    assert head["ObjectLockMode"] == "GOVERNANCE"
    assert (head["ObjectLockRetainUntilDate"] - datetime.now(UTC)).days >= 29
    blob = s3.get_object(Bucket=BUCKET, Key=stored["Key"])["Body"].read()
    assert b"order 1" not in blob and b"value 1" not in blob, "nothing readable without the key"
    # access removed, data kept, key scheduled with the full window
    with psycopg.connect(world.admin_dsn("shared")) as admin:
        assert admin.execute("SELECT rolcanlogin FROM pg_roles WHERE rolname = %s",
                             [f"tenant_{tenant_id}"]).fetchone()[0] is False
    with pytest.raises(psycopg.OperationalError):
        psycopg.connect(world.tenant_dsn(tenant_id))
    assert _live_checksums(world, tenant_id) == live
    flags = redis.Redis.from_url(world.redis_url("shared")).acl_getuser(f"dev-{tenant_id}")["flags"]
    assert "off" in flags and world.keys("shared", tenant_id)
    kms = boto3.client("kms")
    metadata = kms.describe_key(KeyId=key_arn)["KeyMetadata"]
    assert metadata["KeyState"] == "PendingDeletion"
    assert (metadata["DeletionDate"] - datetime.now(UTC)).days >= 29
    state = json.loads((world.tmp / "offboarding" / f"{tenant_id}.json").read_text())
    assert state["status"] == "complete" and state["steps"]["snapshot"]["snapshot"] is None
    assert _pooled(world, tenant_id).returncode == 0, "a second run finds it done"

    # the key pending deletion reads nothing; cancelled and enabled, the bundle restores identically
    target = postgres_cluster("own")
    target.sql("postgres", f"CREATE DATABASE restored_{tenant_id} OWNER tenancy_admin")
    empty_cache = world.caches["isolated"]
    url = f"s3://{BUCKET}/{stored['Key']}?versionId={stored['VersionId']}"
    restore = ("tenant", "restore-bundle", tenant_id, "--bundle", url, "--target-dsn",
               target.dsn(database=f"restored_{tenant_id}"), "--target-redis", empty_cache.url())
    result = tenancy(*restore, cwd=world.tmp)
    assert result.returncode == 2 and "cancel its deletion and enable it" in result.stderr
    kms.cancel_key_deletion(KeyId=key_arn)
    kms.enable_key(KeyId=key_arn)
    result = tenancy(*restore, cwd=world.tmp)
    assert result.returncode == 0, result.stderr
    assert "checksums equal the bundle's" in result.stdout
    restored_side = PgSide(target.dsn(database=f"restored_{tenant_id}"), tenant_id, pooled=False)
    with pgcopy.data_connection(restored_side) as conn:
        assert pgcopy.checksums(conn, pgcopy.read_layout(conn, restored_side)) == live
    assert world.keys("isolated", tenant_id) == world.keys("shared", tenant_id)
    result = tenancy(*restore, cwd=world.tmp)
    assert result.returncode == 2 and "not empty" in result.stderr, "a restore only goes into an empty database"


def test_a_tampered_bundle_stops_the_offboarding_with_everything_intact(world, monkeypatch):
    world.seed("zeta")
    key_arn = _tenant_key("zeta")
    _registry(world, "zeta", status="suspended")
    live = _live_checksums(world, "zeta")
    honest_get = BundleStore.get

    def tampered(self, key, version_id=None):
        blob = bytearray(honest_get(self, key, version_id))
        blob[-40] ^= 0x01
        return bytes(blob)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(BundleStore, "get", tampered)
        result = _pooled(world, "zeta")
    assert result.returncode == 1, result.stderr + result.stdout
    assert "fails authentication" in result.stderr and "nothing was deleted or disabled" in result.stderr
    assert "Traceback" not in result.stderr
    # everything intact: the key, the login and its writes, the cache user and its writes, the data
    assert boto3.client("kms").describe_key(KeyId=key_arn)["KeyMetadata"]["KeyState"] == "Enabled"
    with psycopg.connect(world.tenant_dsn("zeta"), autocommit=True) as tenant:
        tenant.execute("DELETE FROM tenant_zeta.notes WHERE txt = 'y'")
        tenant.execute("INSERT INTO tenant_zeta.notes VALUES ('y', NULL)")
    assert _live_checksums(world, "zeta") == live
    assert redis.Redis.from_url(world.tenant_redis_url("shared", "zeta")).set("zeta:s:0", "value 0")
    state = json.loads((world.tmp / "offboarding" / "zeta.json").read_text())
    assert state["steps"]["verify"]["status"] == "failed" and "export" not in state["steps"]

    # a bundle changed in the bucket (a new version) fails its own verification too
    stored = _bundle_object()
    blob = bytearray(boto3.client("s3").get_object(Bucket=BUCKET, Key=stored["Key"])["Body"].read())
    blob[-1] ^= 0xFF
    boto3.client("s3").put_object(Bucket=BUCKET, Key=stored["Key"], Body=bytes(blob), ChecksumAlgorithm="SHA256")
    result = tenancy("tenant", "restore-bundle", "zeta", "--bundle", f"s3://{BUCKET}/{stored['Key']}",
                     "--verify-only", cwd=world.tmp)
    assert result.returncode == 1 and "fails authentication" in result.stderr
    result = tenancy("tenant", "restore-bundle", "zeta", "--bundle",
                     f"s3://{BUCKET}/{stored['Key']}?versionId={stored['VersionId']}", "--verify-only", cwd=world.tmp)
    assert result.returncode == 0, "the version written is untouched"

    result = _pooled(world, "zeta")  # the same command exports afresh and finishes
    assert result.returncode == 0, result.stderr + result.stdout
    assert boto3.client("kms").describe_key(KeyId=key_arn)["KeyMetadata"]["KeyState"] == "PendingDeletion"


def test_a_tenant_with_its_own_database_gets_a_final_snapshot(world, postgres_cluster):
    world.seed("zeta")
    world.create_secrets("zeta")
    moved = world.move("zeta", "dedicated", "shared", "--confirm-retire")
    assert moved.returncode == 0, moved.stderr
    _tenant_key("zeta")
    _registry(world, "zeta", drop=("dataIsolation",), status="suspended",
              services="{database: dedicated, cache: dedicated}")
    boto3.client("rds").create_db_instance(DBInstanceIdentifier="dev-zeta", Engine="postgres",
                                           DBInstanceClass="db.t4g.medium", AllocatedStorage=20,
                                           MasterUsername="tenancy_admin", MasterUserPassword="admin-secret-pw")
    scratch = postgres_cluster("own")
    scratch.sql("postgres", "CREATE DATABASE scratch_zeta OWNER tenancy_admin")
    result = _offboard(world, "zeta", "--dsn", world.admin_dsn("dedicated"), "--redis", world.redis_url("dedicated"),
                       "--verify-restore-dsn", scratch.dsn(database="scratch_zeta"))
    assert result.returncode == 0, result.stderr + result.stdout
    snapshots = boto3.client("rds").describe_db_snapshots(DBInstanceIdentifier="dev-zeta")["DBSnapshots"]
    assert [s["Status"] for s in snapshots if "offboarding" in s["DBSnapshotIdentifier"]] == ["available"]
    assert "restored to" in result.stdout
    with (psycopg.connect(world.admin_dsn("dedicated"), autocommit=True) as conn,  # its copy: frozen, kept
          pytest.raises(psycopg.errors.InsufficientPrivilege)):
        conn.execute("INSERT INTO tenant_zeta.notes VALUES ('late', 1)")
    own_cache = redis.Redis.from_url(world.redis_url("dedicated"))
    assert "off" in own_cache.acl_getuser("dev-zeta")["flags"] and world.keys("dedicated", "zeta")


def test_an_active_tenant_is_not_offboarded_and_dry_run_changes_nothing(world):
    world.seed("zeta")
    _tenant_key("zeta")
    result = _pooled(world, "zeta")
    assert result.returncode == 2 and "suspend it first" in result.stderr
    with psycopg.connect(world.tenant_dsn("zeta"), autocommit=True) as tenant:
        tenant.execute("INSERT INTO tenant_zeta.notes VALUES ('still', 1)")
    result = _offboard(world, "zeta", "--dry-run")
    assert result.returncode == 0, result.stderr
    assert "step 7/7 key: schedule the deletion of alias/tenancy/dev/zeta in 30 days" in result.stdout
    assert "Buckets" not in boto3.client("s3").list_buckets() or not boto3.client("s3").list_buckets()["Buckets"]
    assert password("zeta")
