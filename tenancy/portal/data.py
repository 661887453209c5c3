"""What the portal shows, and where it comes from:

- the registry: the project's own, validated as `tenancy validate` validates it, reloaded when a
  file changes (the portal runs on a checkout of the base branch; `git pull` refreshes it);
- usage, spend and the isolation report: the live account through boto3 (`--aws`; the same code as
  `tenancy report` and `tenancy audit`), kept for `--cache-seconds`; or a saved
  `tenancy audit --format json`;
- resources: a saved `tenancy plan --format json`, the offline plan of a stack run once at start
  in a subprocess (`--plan-stack`), or `pulumi stack output --json` (`--stack-outputs`).
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Optional

from tenancy.registry.loader import Registry, tenant_files
from tenancy.registry.problems import RegistryInvalid
from tenancy.registry.project import stack_files, validate_project
from tenancy.reports.period import Month

SECRET_OUTPUTS = {"apiKey"}


@dataclass(frozen=True)
class Unavailable:
    """A source that is not configured or failed: why, shown where the data would be."""

    reason: str

    def __bool__(self) -> bool:
        return False


class _Cached:
    """Values by key, each kept for `ttl` seconds (failures for a minute at most). Thread-safe; one
    computation per key at a time."""

    def __init__(self, ttl: float):
        self.ttl = ttl
        self._values: dict[Any, tuple[float, Any]] = {}
        self._locks: dict[Any, threading.Lock] = {}
        self._lock = threading.Lock()

    def get(self, key: Any, compute: Callable[[], Any]) -> Any:
        with self._lock:
            lock = self._locks.setdefault(key, threading.Lock())
        with lock:
            now = time.monotonic()
            found = self._values.get(key)
            if found is not None and found[0] > now:
                return found[1]
            value = compute()
            ttl = min(self.ttl, 60.0) if isinstance(value, Unavailable) else self.ttl
            self._values[key] = (now + ttl, value)
            return value


@dataclass
class Sources:
    project: Path
    registry_dir: Path
    environment: str = "prod"
    aws: bool = False
    region: Optional[str] = None
    audit_json: Optional[Path] = None
    plan_json: Optional[Path] = None
    plan_stack: Optional[str] = None
    stack_outputs: Optional[Path] = None
    cache_seconds: float = 900.0
    session_factory: Optional[Callable[[], Any]] = None  # boto3.Session by default
    _registry: Optional[tuple[tuple, Registry]] = field(default=None, init=False, repr=False)
    _registry_lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)
    _cache: _Cached = field(init=False, repr=False)
    _plan: Any = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        self._cache = _Cached(self.cache_seconds)
        if self.plan_json is None and self.plan_stack is None:
            self._plan = Unavailable("no offline plan or stack outputs configured (--plan-json, --plan-stack, "
                                     "--stack-outputs)")
        elif self.plan_json is None:
            self._plan = Unavailable(f"the offline plan of {self.plan_stack} has not started")

    # -- the registry ---------------------------------------------------------------------------
    def _fingerprint(self) -> tuple:
        paths = [*tenant_files(self.registry_dir), self.registry_dir / "plans.yaml", *stack_files(self.project)]
        out = []
        for path in paths:
            try:
                stat = path.stat()
            except OSError:
                continue
            out.append((str(path), stat.st_mtime_ns, stat.st_size))
        return tuple(out)

    def registry(self) -> Registry:
        """The validated registry (RegistryInvalid when it does not validate)."""
        fingerprint = self._fingerprint()
        with self._registry_lock:
            if self._registry is None or self._registry[0] != fingerprint:
                self._registry = (fingerprint, validate_project(self.project, self.registry_dir))
            return self._registry[1]

    def tenant_ids(self) -> list[str]:
        try:
            return [t.id for t in self.registry().tenants]
        except RegistryInvalid:  # an invalid registry lets no tenant in
            return []

    # -- the account ----------------------------------------------------------------------------
    def session(self):
        if self.session_factory is not None:
            return self.session_factory()
        import boto3

        return boto3.Session(region_name=self.region) if self.region else boto3.Session()

    def _live(self, what: str, compute: Callable[[], Any]) -> Any:
        if not self.aws:
            return Unavailable(f"{what}: the live account is not configured (tenancy portal --aws)")
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            return compute()
        except (BotoCoreError, ClientError) as exc:
            return Unavailable(f"{what}: cannot read the account: {exc}")

    def usage(self, month: Month):
        def compute():
            from tenancy.reports.usage import collect_usage

            return self._live("usage", lambda: collect_usage(self.session(), self.registry(), self.environment, month))

        return self._cache.get(("usage", month), compute)

    def costs(self, month: Month):
        def compute():
            from tenancy.reports.billing import CE_REGION, collect_costs

            return self._live("spend", lambda: collect_costs(self.session().client("ce", region_name=CE_REGION),
                                                             self.registry(), month))

        return self._cache.get(("costs", month), compute)

    def findings(self):
        """The isolation report: every finding as a dict (severity, tenant, arn, problem, remedy)."""
        if self.audit_json is not None:
            try:
                data = json.loads(self.audit_json.read_text(encoding="utf-8"))
                return list(data["findings"])
            except (OSError, ValueError, KeyError, TypeError) as exc:
                return Unavailable(f"cannot read the audit report {self.audit_json}: {exc}")

        def compute():
            from tenancy.audit.live import audit

            return self._live("audit", lambda: [asdict(f) for f in audit(self.session(), self.registry(),
                                                                         self.environment)])

        if not self.aws:
            return Unavailable("no isolation report: run with --aws, or give --audit-json (tenancy audit --format json)")
        return self._cache.get(("audit",), compute)

    # -- resources ------------------------------------------------------------------------------
    def start_plan(self) -> None:
        """Run the offline plan of --plan-stack once, in a subprocess (the harness's Pulumi runtime
        keeps process-wide state), in the background."""
        if self.plan_stack is None or self.plan_json is not None:
            return
        self._plan = Unavailable(f"planning {self.plan_stack} offline...")

        def run():
            try:
                done = subprocess.run([sys.executable, "-m", "tenancy", "plan", "--stack", self.plan_stack,
                                       "--cwd", str(self.project), "--format", "json"],
                                      capture_output=True, text=True, timeout=1800, check=False)
                self._plan = json.loads(done.stdout) if done.stdout.strip().startswith("{") else Unavailable(
                    f"the offline plan of {self.plan_stack} failed: {done.stderr.strip()[-500:]}")
            except (OSError, ValueError, subprocess.TimeoutExpired) as exc:
                self._plan = Unavailable(f"the offline plan of {self.plan_stack} failed: {exc}")

        threading.Thread(target=run, name="portal-plan", daemon=True).start()

    def _plan_data(self):
        if self.plan_json is not None and self._plan is None:
            try:
                self._plan = json.loads(self.plan_json.read_text(encoding="utf-8"))
            except (OSError, ValueError) as exc:
                self._plan = Unavailable(f"cannot read {self.plan_json}: {exc}")
        return self._plan

    def resources(self, tenant_id: str):
        """{source, resourceCount, resourcesByType, outputs} of the tenant, or Unavailable."""
        outputs: dict[str, Any] = {}
        if self.stack_outputs is not None:
            try:
                data = json.loads(self.stack_outputs.read_text(encoding="utf-8"))
                outputs = dict((data.get("tenants") or {}).get(tenant_id) or {})
            except (OSError, ValueError, AttributeError) as exc:
                return Unavailable(f"cannot read {self.stack_outputs}: {exc}")
        plan = self._plan_data()
        found = None
        if isinstance(plan, dict):
            found = next((t for t in plan.get("tenants", []) if t.get("id") == tenant_id), None)
        if found is None and not outputs:
            if isinstance(plan, Unavailable) and self.stack_outputs is None:
                return plan
            return Unavailable(f"{tenant_id} is not in the {'plan' if plan else 'stack outputs'}")
        merged = {**((found or {}).get("outputs") or {}), **outputs}
        shown = {k: ("[secret]" if k in SECRET_OUTPUTS else _shown(v)) for k, v in sorted(merged.items())}
        source = " and ".join(s for s in (f"offline plan of {plan.get('stack')}" if found else "",
                                          "stack outputs" if outputs else "") if s)
        return {"source": source, "resourceCount": (found or {}).get("resourceCount"),
                "resourcesByType": (found or {}).get("resourcesByType") or {}, "outputs": shown}


def _shown(value: Any) -> str:
    if isinstance(value, (dict, list)):
        return json.dumps(value, sort_keys=True, separators=(", ", ": "))
    return "-" if value is None else str(value)
