"""`tenancy tenant offboard`: a tenant leaves with a verified export, and nothing goes before it.

  1 suspend      the registry must say suspended (`tenancy tenant suspend <id>`): its workloads stop;
                 its remaining writes are frozen (write rights revoked, sessions ended, cache user
                 read-only), so the export is the last state of its data
  2 export       tables and keys into a bundle encrypted with the tenant's own KMS key (envelope:
                 GenerateDataKey + AES-256-GCM), written to a bucket with versioning and object lock
  3 verify       download that exact version, decrypt, check every file and every checksum against
                 the live data (and, with --verify-restore-dsn, restore it into an empty database);
                 a bundle that fails stops here with exit 1: the freeze is lifted, nothing else changed
  4 snapshot     a final snapshot of the tenant's own database instance, when it has one
  5 offboarding  the registry status to set (`tenancy tenant set <id> status=offboarding`)
  6 access       its pooled database login disabled (NOLOGIN, sessions ended) and its cache user off
  7 key          its KMS key scheduled for deletion with the full 30-day window (until then
                 `aws kms cancel-key-deletion` brings it, and the bundle, back)

Data is never deleted here: the pooled rows, schema and keys stay (unreachable) until the tenant is
removed from the registry and its data purged; its own instance goes with `pulumi up` after that.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Optional

from tenancy.exits import CommandError, ExitCode
from tenancy.lifecycle import archive, bundle, pgcopy, rediscopy
from tenancy.lifecycle.pgcopy import PgSide
from tenancy.lifecycle.rediscopy import RedisSide
from tenancy.lifecycle.state import StateFile, now
from tenancy.lifecycle.verify import VerificationFailed, summary

STEPS = ("suspend", "export", "verify", "snapshot", "offboarding", "access", "key")
KEY_DELETION_DAYS = 30  # the longest window KMS allows: the bundle stays readable until the key goes
SNAPSHOT_TIMEOUT_SECONDS = 3600


class OffboardError(CommandError):
    """The offboarding cannot go on as asked (exit 2)."""


@dataclass
class OffboardPlan:
    tenant_id: str
    environment: str
    status: str  # the registry's
    bucket: str
    key_id: str  # the tenant's KMS key (alias or ARN)
    database: Optional[PgSide] = None
    cache: Optional[RedisSide] = None
    db_instance: Optional[str] = None  # its own RDS instance, for the final snapshot
    retention_days: int = KEY_DELETION_DAYS
    lock_mode: str = "GOVERNANCE"
    verify_restore_dsn: Optional[str] = None
    tags: Optional[dict[str, str]] = None

    def object_key(self) -> str:
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        return f"offboarding/{self.environment}/{self.tenant_id}/{stamp}.bundle"


def dry_run_lines(plan: OffboardPlan) -> list[str]:
    return [
        f"offboard {plan.tenant_id} ({plan.environment}) (dry run: nothing is changed)",
        f"step 1/7 suspend: registry status is {plan.status}"
        + ("" if plan.status != "active" else f" (run `tenancy tenant suspend {plan.tenant_id}` first)")
        + "; freeze its writes" + _services(plan),
        f"step 2/7 export: tables and keys, encrypted with {plan.key_id}, to s3://{plan.bucket}/offboarding/"
        f"{plan.environment}/{plan.tenant_id}/ (object lock {plan.lock_mode}, {plan.retention_days} days)",
        "step 3/7 verify: download, decrypt, checksums" + (", restore into the scratch database"
                                                           if plan.verify_restore_dsn else ""),
        f"step 4/7 snapshot: {'final snapshot of ' + plan.db_instance if plan.db_instance else 'none (pooled database)'}",
        f"step 5/7 offboarding: tenancy tenant set {plan.tenant_id} status=offboarding",
        "step 6/7 access: " + ", ".join(filter(None, [
            plan.database and plan.database.pooled and f"role {plan.database.role} NOLOGIN",
            plan.cache and f"cache user {plan.cache.user} off"])) if (plan.database or plan.cache) else
        "step 6/7 access: nothing pooled",
        f"step 7/7 key: schedule the deletion of {plan.key_id} in {KEY_DELETION_DAYS} days",
    ]


def _services(plan: OffboardPlan) -> str:
    parts = [plan.database and plan.database.describe(), plan.cache and plan.cache.describe()]
    return (" on " + " and ".join(p for p in parts if p)) if any(parts) else ""


class Offboard:
    """One offboarding, run (or resumed) from its state file; `hook(step)` after each step."""

    def __init__(self, plan: OffboardPlan, state_path: Path, *, kms=None, rds=None,
                 store: Optional[bundle.BundleStore] = None, out: Callable[[str], None] = print,
                 hook: Optional[Callable[[str], None]] = None):
        from tenancy.lifecycle.connection import aws_client

        self.plan = plan
        self.state_path = Path(state_path)
        self.kms = kms or aws_client("kms")
        self.rds = rds
        self.store = store or bundle.BundleStore(plan.bucket)
        self.say = out
        self.hook = hook or (lambda step: None)
        self.state: Optional[StateFile] = None

    def run(self) -> ExitCode:
        state = StateFile.load(self.state_path)
        if state is not None and (state.data.get("tenant"), state.data.get("environment")) != (
                self.plan.tenant_id, self.plan.environment):
            raise OffboardError(f"{self.state_path} records the offboarding of {state.data.get('tenant')}")
        if state is None:
            state = StateFile.new(self.state_path, kind="offboarding", tenant=self.plan.tenant_id,
                                  environment=self.plan.environment, bucket=self.plan.bucket, status="in-progress")
            state.save()
        elif state.data.get("status") == "complete":
            self.say(f"{self.plan.tenant_id} is offboarded already ({self.state_path}); bundle "
                     f"{state.step('export').get('url')}")
            return ExitCode.OK
        else:
            done = [s for s in STEPS if state.done(s)]
            self.say(f"resuming the offboarding of {self.plan.tenant_id} from {state.path} "
                     f"(done: {', '.join(done) or 'nothing yet'})")
        self.state = state
        state.lock()
        try:
            for number, step in enumerate(STEPS, 1):
                if state.done(step):
                    continue
                self.say(f"step {number}/7 {step}")
                getattr(self, f"_{step}")()
                self.hook(step)
            state.data["status"] = "complete"
            state.save()
            self.say(f"{self.plan.tenant_id} offboarded: bundle {state.step('export')['url']}; next: remove "
                     f"tenants/{self.plan.tenant_id}.yaml and deploy (its protected resources need `pulumi state "
                     "unprotect` first), then purge its pooled data")
            return ExitCode.OK
        finally:
            state.unlock()

    # -- 1 ----------------------------------------------------------------------------------------------------
    def _suspend(self) -> None:
        if self.plan.status == "active":
            raise OffboardError(f"{self.plan.tenant_id} is active in the registry: suspend it first "
                                f"(tenancy tenant suspend {self.plan.tenant_id}, then deploy), then offboard")
        freeze = self.state.data.setdefault("freeze", {})
        notes = []
        if self.plan.database:
            side = self.plan.database
            with pgcopy.data_connection(side) as data, _admin(side) as admin:
                layout = pgcopy.read_layout(data, side)
                if "database" not in freeze:
                    freeze["database"] = pgcopy.write_rights(data, side, layout, admin)
                    self.state.save()
                ended = pgcopy.revoke_writes(data, side, freeze["database"], admin, keep_pids=[data.info.backend_pid])
            notes.append(f"database writes revoked from {freeze['database']['role']} ({ended} session(s) ended)")
        if self.plan.cache:
            if "cache" not in freeze:
                freeze["cache"] = rediscopy.acl_commands(self.plan.cache)
                self.state.save()
            rediscopy.deny_writes(self.plan.cache)
            notes.append(f"cache user {self.plan.cache.user} read-only")
        freeze.update(status="frozen", since=freeze.get("since") or now())
        self.state.mark_done("suspend", registry_status=self.plan.status)
        self.say(f"  registry: {self.plan.status}; WRITE FREEZE: {'; '.join(notes) or 'no data services'}")

    def _unfreeze(self) -> None:
        freeze = self.state.data.get("freeze") or {}
        if self.plan.database and freeze.get("database"):
            side = self.plan.database
            with pgcopy.data_connection(side) as data, _admin(side) as admin:
                pgcopy.unfreeze(data, side, freeze["database"], admin)
        if self.plan.cache and freeze.get("cache"):
            rediscopy.unfreeze(self.plan.cache, freeze["cache"])
        self.state.data["freeze"] = {"status": "released", "at": now()}
        self.state.data["steps"].pop("suspend", None)
        self.state.save()

    # -- 2 ----------------------------------------------------------------------------------------------------
    def _export(self) -> None:
        plan = self.plan
        manifest, files, live = archive.export_data(plan.tenant_id, plan.environment, plan.database, plan.cache)
        plaintext = bundle.pack(manifest, files)
        blob = bundle.seal(plaintext, self.kms, plan.key_id, bundle.encryption_context(plan.tenant_id, plan.environment))
        created = self.store.ensure()
        stored = self.store.put(plan.object_key(), blob, plan.retention_days, plan.lock_mode,
                                plan.tags or {"tenant-id": plan.tenant_id, "environment": plan.environment})
        self.state.mark_done("export", bucket=stored.bucket, key=stored.key, version_id=stored.version_id,
                             url=stored.url, retain_until=stored.retain_until, plaintext_sha256=bundle.sha256(plaintext),
                             size=len(blob), live=live)
        rows = summary(live["database"]) if "database" in live else "no database"
        keys = f"{live['cache'][0]} key(s)" if "cache" in live else "no cache"
        self.say(f"  {rows}, {keys} -> {stored.url} (bucket {created}; locked until {stored.retain_until})")

    # -- 3 ----------------------------------------------------------------------------------------------------
    def _verify(self) -> None:
        record = self.state.step("export")
        try:
            blob = self.store.get(record["key"], record["version_id"])
            manifest, files = bundle.verify(blob, self.kms, self.plan.tenant_id, record["plaintext_sha256"],
                                            record["live"])
            restored = (archive.restore(manifest, files, self.plan.verify_restore_dsn, None)
                        if self.plan.verify_restore_dsn else [])
        except VerificationFailed as exc:
            self._unfreeze()
            self.state.data["steps"].pop("export", None)
            self.state.mark_failed("verify", str(exc))
            raise VerificationFailed(f"{exc}. The offboarding stopped: nothing was deleted or disabled, the tenant's "
                                     f"write rights are back, and the failed bundle stays at {record['url']}. Run "
                                     "the same command to export again") from None
        self.state.mark_done("verify", restored=restored)
        self.say(f"  bundle verified: decrypts with {self.plan.key_id}, every file and checksum as exported"
                 + "".join(f"; {line}" for line in restored))

    # -- 4 ----------------------------------------------------------------------------------------------------
    def _snapshot(self) -> None:
        if not self.plan.db_instance:
            self.state.mark_done("snapshot", snapshot=None)
            self.say("  no database instance of its own: the bundle is its database's copy")
            return
        from botocore.exceptions import BotoCoreError, ClientError

        from tenancy.lifecycle.connection import aws_client

        rds = self.rds or aws_client("rds")
        name = self.state.step("snapshot").get("snapshot") or (
            f"{self.plan.db_instance}-offboarding-{datetime.now(UTC).strftime('%Y%m%d%H%M%S')}")
        self.state.step("snapshot")["snapshot"] = name
        self.state.save()
        try:
            existing = rds.describe_db_snapshots(DBInstanceIdentifier=self.plan.db_instance,
                                                 SnapshotType="manual").get("DBSnapshots", [])
            if not any(s["DBSnapshotIdentifier"] == name for s in existing):
                rds.create_db_snapshot(DBInstanceIdentifier=self.plan.db_instance, DBSnapshotIdentifier=name,
                                       Tags=[{"Key": k, "Value": v} for k, v in (self.plan.tags or {
                                           "tenant-id": self.plan.tenant_id,
                                           "environment": self.plan.environment}).items()])
            deadline = time.monotonic() + SNAPSHOT_TIMEOUT_SECONDS
            while True:
                status = rds.describe_db_snapshots(DBSnapshotIdentifier=name)["DBSnapshots"][0]["Status"]
                if status == "available":
                    break
                if status in ("failed", "deleted") or time.monotonic() > deadline:
                    raise OffboardError(f"snapshot {name} of {self.plan.db_instance} is {status}")
                time.sleep(15)
        except ClientError as exc:
            raise OffboardError(f"final snapshot of {self.plan.db_instance}: {bundle._code(exc)}") from None
        except BotoCoreError as exc:
            raise OffboardError(f"final snapshot of {self.plan.db_instance}: {type(exc).__name__}") from None
        self.state.mark_done("snapshot", snapshot=name)
        self.say(f"  final snapshot {name} of {self.plan.db_instance} available")

    # -- 5 ----------------------------------------------------------------------------------------------------
    def _offboarding(self) -> None:
        command = f"tenancy tenant set {self.plan.tenant_id} status=offboarding"
        self.state.mark_done("offboarding", registry_change=command)
        self.say(f"  the export is verified: set the registry status with `{command}` (its resources stay until "
                 "it is removed from the registry)")

    # -- 6 ----------------------------------------------------------------------------------------------------
    def _access(self) -> None:
        details: dict[str, Any] = {}
        notes = []
        if self.plan.database:
            side = self.plan.database
            if side.pooled:
                if not side.admin_dsn:
                    raise OffboardError("disabling the tenant's pooled login needs the pooled database's admin "
                                        "(--pool-admin-dsn or --platform-outputs)")
                admin = pgcopy.connect(side.admin_dsn)
                try:
                    details["sessions_ended"] = pgcopy.disable_login(admin, side)
                finally:
                    admin.close()
                notes.append(f"role {side.role} may no longer log in")
            else:
                notes.append("its own instance keeps only the frozen copy; it goes when the tenant leaves the registry")
        if self.plan.cache:
            details["cache_connections_closed"] = rediscopy.disable_user(self.plan.cache)
            notes.append(f"cache user {self.plan.cache.user} off")
        self.state.mark_done("access", **details)
        self.say(f"  {'; '.join(notes) or 'no data access to remove'}")

    # -- 7 ----------------------------------------------------------------------------------------------------
    def _key(self) -> None:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            metadata = self.kms.describe_key(KeyId=self.plan.key_id)["KeyMetadata"]
            if metadata.get("KeyState") == "PendingDeletion":
                when = metadata.get("DeletionDate")
            else:
                when = self.kms.schedule_key_deletion(KeyId=metadata["KeyId"],
                                                      PendingWindowInDays=KEY_DELETION_DAYS)["DeletionDate"]
        except ClientError as exc:
            raise OffboardError(f"scheduling the deletion of {self.plan.key_id}: {bundle._code(exc)}") from None
        except BotoCoreError as exc:
            raise OffboardError(f"scheduling the deletion of {self.plan.key_id}: {type(exc).__name__}") from None
        shown = when.strftime("%Y-%m-%d") if hasattr(when, "strftime") else str(when)
        self.state.mark_done("key", key_arn=metadata["Arn"], deletion_date=shown)
        self.say(f"  key {metadata['Arn']} is deleted on {shown}; until then `aws kms cancel-key-deletion` and "
                 "`aws kms enable-key` make the bundle readable again, after that no one can read it")


class _NoAdmin:
    def __enter__(self):
        return None

    def __exit__(self, *exc):
        return False


def _admin(side: PgSide):
    """The pooled database's admin connection when the side needs one (row mode), else None."""
    if side.row_mode and side.admin_dsn:
        from contextlib import closing

        return closing(pgcopy.connect(side.admin_dsn))
    return _NoAdmin()
