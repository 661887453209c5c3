"""`tenancy tenant move`: a tenant's data to another tier, in five ordered, resumable steps.

  1 provision  print the registry change and the stacks that create the target (this tool does not
               run Pulumi); check the target is reachable, shaped to take the data and empty of it
  2 copy       the tenant's tables (COPY from one snapshot, with the tenant's rights) and keys (SCAN,
               DUMP/RESTORE with TTLs) into the target, while the tenant keeps writing to the source
  3 verify     announce and start a write freeze on the source (its write rights revoked and its
               other sessions ended; its cache user loses @write), run the final pass (every row and
               key written since the copy), then compare per-table row counts and checksums,
               sequences, key counts and names and sampled values; a mismatch lifts the freeze and
               stops with exit 1
  4 cutover    the tenant's connection secrets point at the target, where it writes with full
               rights; the old copy stays read-only, so no late write can land there
  5 retire     only with --confirm-retire, and only after 3 and 4: delete the old copy; without it
               the command says how

The state file (`.tenancy/moves/<env>-<id>.json`) is written atomically after every step; a run
that stops anywhere resumes from it with the same command. `--abort`, before the cut-over, lifts the
freeze and removes the target copy.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

from tenancy.exits import CommandError, ExitCode
from tenancy.lifecycle import pgcopy, rediscopy
from tenancy.lifecycle.connection import SecretWriter, cache_secret_value, database_secret_value
from tenancy.lifecycle.pgcopy import PgSide
from tenancy.lifecycle.rediscopy import RedisSide
from tenancy.lifecycle.state import StateFile, now
from tenancy.lifecycle.verify import VerificationFailed, checksum_problems, summary
from tenancy.registry.models import Service, Tier
from tenancy.registry.tiers import EffectiveTenant

STEPS = ("provision", "copy", "verify", "cutover", "retire")
DATA_SERVICES = (Service.database, Service.cache)



@contextmanager
def one_transaction(conn):
    """The block as one transaction on an autocommit connection: committed if it ends, rolled back
    if anything raises; the connection is back in autocommit either way."""
    conn.autocommit = False
    try:
        yield conn
        conn.commit()
    except BaseException:
        conn.rollback()
        raise
    finally:
        conn.autocommit = True

class MoveError(CommandError):
    """The move cannot go on as asked (exit 2): the message says what to do."""


# -- what moves where ----------------------------------------------------------------------------------

def moving_services(tenant: EffectiveTenant, to: Tier, service: Optional[Service] = None,
                    from_tier: Optional[Tier] = None) -> dict[str, str]:
    """{service: the tier its data is on now} for each data service that changes tier. The
    registry says where the data is, unless it was edited first: then --from says it."""
    if service is not None and service not in DATA_SERVICES:
        raise MoveError(f"--service {service.value}: only the database and the cache hold data to move")
    allowed = (tenant.plan.allowed_overrides.get(service, []) + tenant.plan.allowed_isolation if service
               else tenant.plan.allowed_isolation)
    if to not in allowed:
        raise MoveError(f"plan {tenant.tenant.plan} does not allow {'the ' + service.value + ' ' if service else ''}"
                        f"tier {to.value} (allowed: {', '.join(sorted({t.value for t in allowed}))}): change the plan "
                        "first")
    out = {}
    for each in ([service] if service else DATA_SERVICES):
        current = from_tier or tenant.tier(each)
        if current is not to:
            out[each.value] = current.value
    if not out:
        raise MoveError(f"nothing to move: {tenant.id}'s {service.value if service else 'database and cache'} "
                        f"{'is' if service else 'are'} {to.value} in the registry already; if the registry was edited "
                        "before the move, say where the data is now with --from TIER")
    return out


def registry_change(tenant_id: str, to: Tier, service: Optional[Service], data_isolation: Optional[str],
                    services: dict[str, str]) -> str:
    """The `tenancy tenant set` that gives the tenant its new tier (dataIsolation goes with the
    pooled database: it is refused on a database of its own)."""
    fields = [f"services.{service.value}={to.value}" if service else f"isolationLevel={to.value}"]
    if "database" in services:
        if to is Tier.shared and data_isolation:
            fields.append(f"dataIsolation={data_isolation}")
        elif services["database"] == Tier.shared.value:
            fields.append("dataIsolation=null")
    return f"tenancy tenant set {tenant_id} {' '.join(fields)}"


def target_stacks(environment: str, tenant: EffectiveTenant, to: Tier, service: Optional[Service]) -> list[str]:
    """The stacks that create the target: the tenant's own stack when it has (or gets) one, else the
    pool's; a shared target also needs the pooled data plane (db-bootstrap, cache-acl)."""
    isolation = tenant.isolation if service else to
    return [f"{environment}-{tenant.id}" if isolation is not Tier.shared else f"{environment}-pool"]


@dataclass
class MovePlan:
    tenant_id: str
    environment: str
    to: str
    services: dict[str, str]  # service -> tier it moves from
    database: Optional[tuple[PgSide, PgSide]] = None  # (source, target)
    cache: Optional[tuple[RedisSide, RedisSide]] = None
    stacks: list[str] = field(default_factory=list)
    registry_change: str = ""
    database_secret: str = ""
    cache_secret: str = ""
    scope: str = ""  # "--service database" or ""

    def locations(self) -> dict[str, dict[str, str]]:
        out = {}
        if self.database:
            out["database"] = {"source": self.database[0].where, "target": self.database[1].where}
        if self.cache:
            out["cache"] = {"source": self.cache[0].where, "target": self.cache[1].where}
        return out

    def command(self, *extra: str) -> str:
        return " ".join(["tenancy tenant move", self.tenant_id, "--to", self.to, *([self.scope] if self.scope else []),
                         "--environment", self.environment, "<the same connection options>", *extra])


# -- the state machine ------------------------------------------------------------------------------------

class Move:
    """One move, run (or resumed) from its state file. `hook(point)` is called after each step and
    after the freeze: tests inject failures there."""

    def __init__(self, plan: MovePlan, state_path: Path, secrets: Optional[SecretWriter], *,
                 confirm_retire: bool = False, replace_target: bool = False,
                 out: Callable[[str], None] = print, hook: Optional[Callable[[str], None]] = None):
        self.plan = plan
        self.state_path = Path(state_path)
        self.secrets = secrets
        self.confirm_retire = confirm_retire
        self.replace_target = replace_target
        self.say = out
        self.hook = hook or (lambda point: None)
        self.state: Optional[StateFile] = None
        self._verified_now = False

    # -- running -----------------------------------------------------------------------------------------
    def run(self) -> ExitCode:
        self.state = self._open()
        self.state.lock()
        try:
            for number, step in enumerate(STEPS, 1):
                if self.state.done(step):
                    continue
                if step == "retire" and not self.confirm_retire:
                    self._keep_old_copy()
                    return ExitCode.OK
                self.say(f"step {number}/5 {step}")
                getattr(self, f"_{step}")()
                self.hook(step)
            self.say(f"move of {self.plan.tenant_id} to {self.plan.to} complete; state: {self.state.path}")
            return ExitCode.OK
        finally:
            self.state.unlock()

    def abort(self) -> ExitCode:
        """Before the cut-over: lift the freeze and remove the target copy; the source is as before."""
        state = StateFile.load(self.state_path)
        if state is None or state.data.get("status") in ("complete", "aborted"):
            raise MoveError(f"no move of {self.plan.tenant_id} in progress ({self.state_path})")
        self.state = state
        self._check_same(state)
        state.lock()
        try:
            if state.done("cutover"):
                raise MoveError(f"{self.plan.tenant_id} already runs on the target (cut over {state.step('cutover')['at']}): "
                                "move it back instead")
            self._unfreeze()
            if self.plan.database:
                source, target = self.plan.database
                with self._pg() as (src, _, dst):
                    layout = pgcopy.read_layout(src, source)
                    with pgcopy.errors(target.where, "removing the target copy"):
                        self._clear_target(dst, layout)
            if self.plan.cache:
                rediscopy.clear(self.plan.cache[1])
            state.data["status"] = "aborted"
            state.data["aborted"] = now()
            state.save()
            self.say(f"move of {self.plan.tenant_id} aborted: the source keeps the data and its write rights; the "
                     "target copy was removed")
            return ExitCode.OK
        finally:
            state.unlock()

    def _open(self) -> StateFile:
        state = StateFile.load(self.state_path)
        if state is not None and state.data.get("status") in ("complete", "aborted"):
            archived = self.state_path.with_name(f"{self.state_path.stem}.{state.data.get('created', 'old')}"
                                                 .replace(":", "") + ".json")
            self.state_path.rename(archived)
            self.say(f"earlier move recorded in {archived}")
            state = None
        if state is not None:
            self._check_same(state)
            self.replace_target = self.replace_target or bool(state.data.get("replace_target"))
            done = [s for s in STEPS if state.done(s)]
            self.say(f"resuming the move of {self.plan.tenant_id} to {self.plan.to} from {state.path} "
                     f"(done: {', '.join(done) or 'nothing yet'})")
            return state
        state = StateFile.new(self.state_path, kind="move", tenant=self.plan.tenant_id,
                              environment=self.plan.environment, to=self.plan.to, services=self.plan.services,
                              locations=self.plan.locations(), secrets=self._secret_ids(),
                              replace_target=self.replace_target, status="in-progress")
        state.save()
        return state

    def _check_same(self, state: StateFile) -> None:
        data = state.data
        if (data.get("tenant"), data.get("environment")) != (self.plan.tenant_id, self.plan.environment):
            raise MoveError(f"{state.path} records a move of {data.get('tenant')} in {data.get('environment')}")
        if data.get("to") != self.plan.to or data.get("services") != self.plan.services:
            raise MoveError(f"{state.path}: a move of {self.plan.tenant_id} to {data.get('to')} "
                            f"({', '.join(f'{k} from {v}' for k, v in data.get('services', {}).items())}) is in progress; "
                            "finish it (the same command), or --abort it before the cut-over")
        if data.get("locations") != self.plan.locations():
            raise MoveError(f"{state.path}: this move runs between {_places(data.get('locations', {}))}, not "
                            f"{_places(self.plan.locations())}: give the same connection options")

    def _secret_ids(self) -> dict[str, str]:
        out = {}
        if self.plan.database:
            out["database"] = self.plan.database_secret
        if self.plan.cache:
            out["cache"] = self.plan.cache_secret
        return out

    # -- connections --------------------------------------------------------------------------------------
    @contextmanager
    def _pg(self) -> Iterator[tuple[Any, Any, Any]]:
        """(source data, source admin or None, target data) for the duration of a step."""
        source, target = self.plan.database
        with ExitStack() as stack:
            src = stack.enter_context(_closing(pgcopy.connect(source.dsn)))
            admin = stack.enter_context(_closing(pgcopy.connect(source.admin_dsn))) if source.admin_dsn else None
            dst = stack.enter_context(_closing(pgcopy.connect(target.dsn)))
            yield src, admin, dst

    def _clear_target(self, dst, layout: pgcopy.Layout) -> None:
        target = self.plan.database[1]
        with one_transaction(dst):
            if target.row_mode:
                pgcopy.clear(dst, target, layout)
            else:
                pgcopy.drop_schema_objects(dst, layout.schemas)

    # -- 1 provision -------------------------------------------------------------------------------------------
    def _provision(self) -> None:
        plan = self.plan
        for line in provision_lines(plan):
            self.say(f"  {line}")
        details: dict[str, Any] = {"stacks": plan.stacks, "registry_change": plan.registry_change}
        if plan.database:
            source, target = plan.database
            with self._pg() as (src, _, dst):
                layout = pgcopy.read_layout(src, source)
                _check_shape(layout, target)
                busy = pgcopy.occupied(dst, target, layout)
                if target.row_mode:
                    with pgcopy.errors(target.where, "checking the pooled tables"):
                        pgcopy.check_existing(dst, target, layout)
            if busy and not self.replace_target:
                raise MoveError(f"the target {target.describe()} already holds data where the tenant's would go: "
                                f"{_listed(busy)}; retire that copy first (the move that left it, with "
                                "--confirm-retire), or give it up with --replace-target")
            details["tables"] = [t.qualified for t in layout.tables]
            self.say(f"  database: {len(layout.tables)} table(s), {len(layout.sequences)} sequence(s) in "
                     f"{', '.join(layout.schemas) or 'no schema'}: {source.describe()} -> {target.describe()}")
        if plan.cache:
            source, target = plan.cache
            keys = rediscopy.key_count(target)
            if keys and not self.replace_target:
                raise MoveError(f"the target {target.describe()} already holds {keys} key(s) under "
                                f"{target.prefix.decode()}*; retire that copy first, or give it up with --replace-target")
            if target.pooled and not source.pooled:
                client = rediscopy.connect(source.url)
                try:
                    with rediscopy.errors(source.where, "counting keys"):
                        foreign = rediscopy.foreign_key_count(client, source.prefix)
                finally:
                    client.close()
                if foreign:
                    raise MoveError(f"{source.describe()} holds {foreign} key(s) outside {source.prefix.decode()}*, "
                                    "which the pooled cache would not let the tenant reach: rename or remove them first")
            details["cache_user"] = rediscopy.ensure_user(source, target)
            refused = rediscopy.may_write(target)
            if refused:
                raise MoveError(f"on the target {target.describe()}: {refused}; the tenant could not write there after "
                                "the cut-over (a pooled target: run tenancy cache-acl first)")
            self.say(f"  cache: {rediscopy.key_count(source)} key(s) under {source.prefix.decode()}*: "
                     f"{source.describe()} -> {target.describe()} (user {target.user}: {details['cache_user']})")
        self.state.mark_done("provision", **details)

    # -- 2 copy ----------------------------------------------------------------------------------------------------
    def _copy(self) -> None:
        details: dict[str, Any] = {}
        if self.plan.database:
            source, target = self.plan.database
            with self._pg() as (src, _, dst):
                layout = pgcopy.read_layout(src, source)
                with one_transaction(dst), pgcopy.errors(f"{source.where} -> {target.where}", "copying the tenant's tables"):
                    if target.row_mode:
                        pgcopy.clear(dst, target, layout)
                    else:
                        pgcopy.drop_schema_objects(dst, layout.schemas)
                    pgcopy.create_tables(dst, target, layout)
                    with pgcopy.snapshot(src):
                        counts = pgcopy.copy_rows(src, dst, layout, insert=target.row_mode)
                        sequences = pgcopy.sequence_values(src, layout)
                    if not target.row_mode:
                        pgcopy.add_constraints(dst, layout)
                    pgcopy.set_sequences(dst, layout, sequences)
            details["rows"] = counts
            self.say(f"  database: {sum(counts.values())} row(s) in {len(counts)} table(s) copied")
        if self.plan.cache:
            source, target = self.plan.cache
            rediscopy.clear(target)
            details["keys"] = rediscopy.copy_keys(source, target)
            self.say(f"  cache: {details['keys']} key(s) copied")
        self.state.mark_done("copy", **details)

    # -- 3 verify ---------------------------------------------------------------------------------------------------
    def _verify(self) -> None:
        self._freeze()
        self.hook("verify:frozen")
        details: dict[str, Any] = {}
        problems = []
        if self.plan.database:
            source, target = self.plan.database
            with self._pg() as (src, _, dst):
                layout = pgcopy.read_layout(src, source)
                with one_transaction(dst), pgcopy.errors(f"{source.where} -> {target.where}", "the final pass"), pgcopy.snapshot(src):
                    changes = pgcopy.sync_rows(src, dst, layout)
                left, right = self._checksums(src, dst, layout)
            problems += checksum_problems(left, right)
            details.update(final_pass=changes, checksums=left)
            moved = sum(c["upserted"] + c["deleted"] for c in changes.values())
            self.say(f"  database: final pass applied {moved} row change(s); {summary(left)} "
                     f"{'match' if not problems else 'DIFFER'}")
        if self.plan.cache:
            source, target = self.plan.cache
            synced = rediscopy.sync_keys(source, target)
            comparison = rediscopy.compare_keys(source, target)
            problems += comparison.problems()
            details.update(final_pass_keys=synced, keys=comparison.source_keys, sampled=comparison.sampled)
            self.say(f"  cache: final pass restored {synced['restored']} and deleted {synced['deleted']} key(s); "
                     f"{comparison.source_keys} key(s), {comparison.sampled} sampled, "
                     f"{'match' if comparison.equal else 'DIFFER'}")
        if problems:
            self._unfreeze()
            self.state.mark_failed("verify", "; ".join(problems))
            raise VerificationFailed("the copies differ, so nothing was cut over and the source's write rights are "
                                     "back: " + "; ".join(problems) + f". Run the same command to try the final pass "
                                     f"again, or {self.plan.command('--abort')}")
        self._verified_now = True
        self.state.mark_done("verify", **details)

    def _checksums(self, src, dst, layout) -> tuple[dict, dict]:
        source, target = self.plan.database
        with pgcopy.errors(source.where, "checksums"), pgcopy.snapshot(src):
            left = pgcopy.checksums(src, layout)
        with pgcopy.errors(target.where, "checksums"):
            right = pgcopy.checksums(dst, layout)
        return left, right

    def _freeze(self) -> None:
        freeze = self.state.data.setdefault("freeze", {})
        announced = []
        if self.plan.database:
            source, _ = self.plan.database
            with self._pg() as (src, admin, _):
                layout = pgcopy.read_layout(src, source)
                if "database" not in freeze:
                    freeze["database"] = pgcopy.write_rights(src, source, layout, admin)
                    self.state.save()
                record = freeze["database"]
                ended = pgcopy.revoke_writes(src, source, record, admin, keep_pids=[src.info.backend_pid])
            announced.append(f"role {record['role']} may not write {len(record['revoked'])} table(s) of "
                             f"{source.describe()} ({ended} session(s) ended)")
        if self.plan.cache:
            source, _ = self.plan.cache
            if "cache" not in freeze:
                freeze["cache"] = rediscopy.acl_commands(source)
                self.state.save()
            rediscopy.deny_writes(source)
            announced.append(f"cache user {source.user} may read, not write, on {source.describe()}")
        freeze.update(status="frozen", since=freeze.get("since") or now())
        self.state.save()
        self.say(f"  WRITE FREEZE for {self.plan.tenant_id} from {freeze['since']} until the cut-over: "
                 + "; ".join(announced) + ". Its writes fail until its applications read the new endpoint.")

    def _unfreeze(self) -> None:
        freeze = self.state.data.get("freeze") or {}
        if self.plan.database and freeze.get("database"):
            source, _ = self.plan.database
            with self._pg() as (src, admin, _):
                pgcopy.unfreeze(src, source, freeze["database"], admin)
        if self.plan.cache and freeze.get("cache"):
            rediscopy.unfreeze(self.plan.cache[0], freeze["cache"])
        if freeze:
            self.state.data["freeze"] = {"status": "released", "at": now()}
            self.state.save()
            self.say(f"  write freeze lifted: {self.plan.tenant_id} writes to the source again")

    # -- 4 cutover ---------------------------------------------------------------------------------------------------
    def _cutover(self) -> None:
        if not self._verified_now:
            self._recheck()
        if self.secrets is None:
            raise MoveError("the cut-over writes the tenant's connection secrets: no secret writer was given")
        written = {}
        if self.plan.database:
            target = self.plan.database[1]
            previous = self.secrets.read(self.plan.database_secret)
            written["database"] = self.secrets.write(self.plan.database_secret,
                                                     database_secret_value(target.dsn, previous))
            self.say(f"  secret {self.plan.database_secret} -> {target.where}")
        if self.plan.cache:
            target = self.plan.cache[1]
            previous = self.secrets.read(self.plan.cache_secret)
            written["cache"] = self.secrets.write(self.plan.cache_secret, cache_secret_value(target.url, previous))
            self.say(f"  secret {self.plan.cache_secret} -> {target.where}")
        self.state.data["status"] = "cut-over"
        self.state.data.setdefault("freeze", {})["status"] = "kept on the old copy until it is retired"
        self.state.mark_done("cutover", versions=written)
        self.say(f"  {self.plan.tenant_id} now writes to the target with full rights; the old copy stays read-only")

    def _recheck(self) -> None:
        """A cut-over resumed in a later run: the freeze held, so the copies must still be equal."""
        problems = []
        if self.plan.database:
            with self._pg() as (src, _, dst):
                layout = pgcopy.read_layout(src, self.plan.database[0])
                problems += checksum_problems(*self._checksums(src, dst, layout))
        if self.plan.cache:
            problems += rediscopy.compare_keys(*self.plan.cache).problems()
        if problems:
            self.state.data["steps"].pop("verify", None)
            self.state.save()
            raise VerificationFailed("the copies no longer match (did something lift the write freeze?): "
                                     + "; ".join(problems) + "; run the same command to repeat the final pass")

    # -- 5 retire -----------------------------------------------------------------------------------------------------
    def _keep_old_copy(self) -> None:
        kept = []
        if self.plan.database:
            kept.append(self.plan.database[0].describe())
        if self.plan.cache:
            kept.append(self.plan.cache[0].describe())
        self.say(f"step 5/5 retire: not confirmed. The old copy is kept, read-only: {'; '.join(kept)}. Once "
                 f"{self.plan.tenant_id} runs well on the target, delete it with:\n  "
                 + self.plan.command("--confirm-retire"))

    def _retire(self) -> None:
        if not (self.state.done("verify") and self.state.done("cutover")):
            raise MoveError("the old copy is retired only after a verified cut-over")
        details: dict[str, Any] = {}
        if self.plan.database:
            source, _ = self.plan.database
            with self._pg() as (src, admin, _):
                layout = pgcopy.read_layout(src, source)
                pgcopy.retire(src, source, layout, admin)
            details["tables"] = [t.qualified for t in layout.tables]
            self.say(f"  database: {len(layout.tables)} table(s) of the old copy deleted from {source.describe()}")
        if self.plan.cache:
            details["keys"] = rediscopy.clear(self.plan.cache[0])
            self.say(f"  cache: {details['keys']} key(s) of the old copy deleted from {self.plan.cache[0].describe()}")
        for line in retire_lines(self.plan):
            self.say(f"  {line}")
        self.state.data["status"] = "complete"
        self.state.mark_done("retire", **details)


# -- text ------------------------------------------------------------------------------------------------------

def provision_lines(plan: MovePlan) -> list[str]:
    stack = plan.stacks[0] if plan.stacks else "?"
    out = [f"registry: {plan.registry_change}   (tenancy plan shows what it changes)",
           f"stacks: pulumi up --stack {stack}   (a split install: tenancy stack-config --stack {stack} first)"]
    if plan.to == Tier.shared.value:
        out.append("pooled data plane: tenancy db-bootstrap and tenancy cache-acl for the environment (the tenant's "
                   "role, schema or row grants, and cache user)")
    out.append("the source keeps running: do not remove its resources until step 5 retires the old copy")
    return out


def retire_lines(plan: MovePlan) -> list[str]:
    out = []
    if plan.database and not plan.database[0].pooled:
        out.append("the old instance is empty now: it goes with the registry's change (pulumi up; it is protected, "
                   "so unprotect it on purpose first, and keep its final snapshot)")
    if any(side.pooled for side, _ in filter(None, (plan.database, plan.cache))):
        out.append("the tenant's pooled login and cache user are removed by db-bootstrap and the pool stack once the "
                   "registry no longer pools it")
    return out


def dry_run_lines(plan: MovePlan, confirm_retire: bool) -> list[str]:
    services = ", ".join(f"{svc} {tier} -> {plan.to}" for svc, tier in plan.services.items())
    out = [f"move {plan.tenant_id} ({plan.environment}): {services} (dry run: nothing is changed)",
           "step 1/5 provision:", *(f"  {line}" for line in provision_lines(plan))]
    if plan.database:
        source, target = plan.database
        out.append(f"step 2/5 copy: the tenant's tables from {source.describe()} to {target.describe()}")
    if plan.cache:
        source, target = plan.cache
        out.append(f"step 2/5 copy: keys {source.prefix.decode()}* from {source.describe()} to {target.describe()}")
    out.append("step 3/5 verify: WRITE FREEZE on the source (write rights revoked, sessions ended, cache user "
               "read-only), final pass, row counts, checksums, keys")
    secrets = [s for s in (plan.database and plan.database_secret, plan.cache and plan.cache_secret) if s]
    out.append(f"step 4/5 cutover: secrets {', '.join(secrets)} point at the target; the old copy stays read-only")
    out.append("step 5/5 retire: " + ("delete the old copy" if confirm_retire
                                      else "kept until the command runs again with --confirm-retire"))
    return out


def _listed(items: list[str], limit: int = 5) -> str:
    return ", ".join(items[:limit]) + (f" and {len(items) - limit} more" if len(items) > limit else "")


def _places(locations: dict[str, dict[str, str]]) -> str:
    return "; ".join(f"{svc} {where['source']} -> {where['target']}" for svc, where in locations.items()) or "nothing"


def _check_shape(layout: pgcopy.Layout, target: PgSide) -> None:
    """A pooled target takes the shapes the pool has: schema `tenant_<id>`, or `shared` in row mode."""
    if not target.pooled:
        return
    wanted = [pgcopy.SHARED_SCHEMA] if target.row_mode else [pgcopy.schema_name(target.tenant_id)]
    other = [s for s in layout.schemas if s not in wanted]
    if other:
        raise MoveError(f"the pooled database keeps a {target.mode}-mode tenant's tables in schema {wanted[0]}; the "
                        f"source also has schema(s) {', '.join(other)}: move those tables first, or choose the other "
                        "dataIsolation")


@contextmanager
def _closing(conn) -> Iterator[Any]:
    try:
        yield conn
    finally:
        conn.close()
