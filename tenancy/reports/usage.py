"""Usage per tenant for one month, from the live account (boto3; `AWS_ENDPOINT_URL` points it at moto):

- API requests: the tenant's API Gateway usage plan (found by its `tenant-id` and `environment` tags,
  else by the description the program writes, `<id>: <plan> plan limits`), summed per day over its
  keys with GetUsage, against the quota the plan enforces (the tenant's `maxAIRequests` per the
  plan's `quotaPeriod`);
- a database or cache of the tenant's own: CloudWatch metrics (GetMetricData, daily periods) of its
  RDS instance (`<env>-<id>`) and of each node of its replication group (`<env>-<id>-001`...), and the
  instance's allocated storage, so storage used can stand against `storageLimit`.

Pooled databases and caches have no per-tenant CloudWatch metrics: the pool's are the platform's
(`tenancy cache-usage` measures a pooled tenant's share of the cache).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any, Optional

from tenancy.registry.loader import Registry
from tenancy.registry.models import Service, Tier
from tenancy.registry.naming import ENVIRONMENT_TAG, TENANT_TAG, cache_group_id, database_identifier
from tenancy.registry.tiers import EffectiveTenant
from tenancy.reports.period import Month

GIB = 1 << 30
DAY_SECONDS = 86400
MAX_QUERIES = 500  # GetMetricData's limit per call

# (key, CloudWatch metric, statistic, scale): the database and cache metrics a report shows.
DATABASE_METRICS = (
    ("cpuAverage", "CPUUtilization", "Average", 1.0),
    ("cpuMax", "CPUUtilization", "Maximum", 1.0),
    ("connectionsMax", "DatabaseConnections", "Maximum", 1.0),
    ("freeStorageMinGiB", "FreeStorageSpace", "Minimum", 1.0 / GIB),
)
CACHE_METRICS = (
    ("memoryMaxPercent", "DatabaseMemoryUsagePercentage", "Maximum", 1.0),
    ("engineCpuAverage", "EngineCPUUtilization", "Average", 1.0),
    ("connectionsMax", "CurrConnections", "Maximum", 1.0),
)
LABELS = {
    "cpuAverage": "CPU average %", "cpuMax": "CPU max %", "connectionsMax": "connections max",
    "freeStorageMinGiB": "free storage min GiB", "usedStorageGiB": "storage used GiB",
    "allocatedStorageGiB": "storage allocated GiB", "memoryMaxPercent": "memory max %",
    "engineCpuAverage": "engine CPU average %",
}


@dataclass
class ApiUsage:
    usage_plan_id: str
    requests: int
    quota: int  # the tenant's maxAIRequests
    quota_period: str  # DAY | WEEK | MONTH
    daily: dict[str, int] = field(default_factory=dict)  # ISO day -> requests

    @property
    def share(self) -> Optional[float]:
        """Requests as a share of the quota, when the quota's period is the month."""
        return self.requests / self.quota if self.quota_period == "MONTH" and self.quota else None


@dataclass
class StoreUsage:
    """A database or cache of the tenant's own, and its metrics over the month (None: no data)."""

    kind: str  # database | cache
    identifier: str
    tier: str
    metrics: dict[str, Optional[float]] = field(default_factory=dict)


@dataclass
class TenantUsage:
    tenant: str
    name: str
    plan: str
    status: str
    api: Optional[ApiUsage] = None
    database: Optional[StoreUsage] = None
    cache: Optional[StoreUsage] = None
    storage_limit_gib: Optional[float] = None
    notes: list[str] = field(default_factory=list)

    @property
    def storage_used_gib(self) -> Optional[float]:
        return self.database.metrics.get("usedStorageGiB") if self.database else None


@dataclass
class UsageReport:
    month: Month
    environment: str
    tenants: list[TenantUsage]

    def tenant(self, tenant_id: str) -> Optional[TenantUsage]:
        return next((t for t in self.tenants if t.tenant == tenant_id), None)


def _tags(value: Any) -> dict[str, str]:
    if isinstance(value, dict):
        return {str(k): str(v) for k, v in value.items()}
    if isinstance(value, list):  # [{Key, Value}], as some SDKs and mocks give them
        return {str(t.get("Key", t.get("key"))): str(t.get("Value", t.get("value"))) for t in value if isinstance(t, dict)}
    return {}


def usage_plans_by_tenant(apigateway, tenant_ids: Iterable[str], environment: str) -> dict[str, str]:
    """Each tenant's usage plan id: its tags first, else the description the program writes."""
    wanted = set(tenant_ids)
    by_tag: dict[str, str] = {}
    by_description: dict[str, str] = {}
    for page in apigateway.get_paginator("get_usage_plans").paginate():
        for plan in page.get("items", []):
            tags = _tags(plan.get("tags"))
            tenant = tags.get(TENANT_TAG)
            if tenant in wanted and tags.get(ENVIRONMENT_TAG, environment) == environment:
                by_tag.setdefault(tenant, plan["id"])
                continue
            prefix = (plan.get("description") or "").split(":", 1)[0]
            if prefix in wanted and TENANT_TAG not in tags:
                by_description.setdefault(prefix, plan["id"])
    return {**by_description, **by_tag}


def api_usage(apigateway, usage_plan_id: str, days: list[date]) -> dict[str, int]:
    """Requests per day (summed over the plan's keys) from GetUsage, paged to the end."""
    daily = {d.isoformat(): 0 for d in days}
    if not days:
        return daily
    kwargs: dict[str, Any] = {"usagePlanId": usage_plan_id, "startDate": days[0].isoformat(),
                              "endDate": days[-1].isoformat(), "limit": 1000}
    while True:
        page = apigateway.get_usage(**kwargs)
        for per_day in (page.get("items") or {}).values():
            for offset, entry in enumerate(per_day or []):
                if offset < len(days) and entry:
                    daily[days[offset].isoformat()] += int(entry[0])
        position = page.get("position")
        if not position:
            return daily
        kwargs["position"] = position


@dataclass(frozen=True)
class _Query:
    key: str  # (owner, store kind, metric key, node)
    namespace: str
    metric: str
    dimension: str
    value: str
    stat: str


def _metric_data(cloudwatch, queries: list[_Query], start: datetime, end: datetime) -> dict[_Query, list[float]]:
    """Every query's daily datapoints, in calls of at most 500 queries, paged to the end."""
    out: dict[_Query, list[float]] = {q: [] for q in queries}
    for first in range(0, len(queries), MAX_QUERIES):
        batch = queries[first:first + MAX_QUERIES]
        by_id = {f"q{i}": q for i, q in enumerate(batch)}
        kwargs: dict[str, Any] = {
            "StartTime": start, "EndTime": end, "ScanBy": "TimestampAscending",
            "MetricDataQueries": [{"Id": qid, "ReturnData": True, "MetricStat": {
                "Metric": {"Namespace": q.namespace, "MetricName": q.metric,
                           "Dimensions": [{"Name": q.dimension, "Value": q.value}]},
                "Period": DAY_SECONDS, "Stat": q.stat}} for qid, q in by_id.items()]}
        while True:
            page = cloudwatch.get_metric_data(**kwargs)
            for result in page.get("MetricDataResults", []):
                query = by_id.get(result.get("Id"))
                if query is not None:
                    out[query].extend(float(v) for v in result.get("Values", []))
            token = page.get("NextToken")
            if not token:
                break
            kwargs["NextToken"] = token
    return out


def _combine(stat: str, values: list[float]) -> Optional[float]:
    if not values:
        return None
    if stat == "Maximum":
        return max(values)
    if stat == "Minimum":
        return min(values)
    return sum(values) / len(values)


def cache_nodes(environment: str, tenant: EffectiveTenant) -> list[str]:
    """The member clusters of the tenant's replication group, as ElastiCache names them."""
    group = cache_group_id(environment, tenant.id)
    return [f"{group}-{i:03d}" for i in range(1, tenant.plan.cache.replicas + 2)]


def _allocated_storage(rds, identifier: str) -> Optional[float]:
    from botocore.exceptions import ClientError

    try:
        found = rds.describe_db_instances(DBInstanceIdentifier=identifier).get("DBInstances", [])
    except ClientError:
        return None
    return float(found[0]["AllocatedStorage"]) if found and found[0].get("AllocatedStorage") is not None else None


def collect_usage(session, registry: Registry, environment: str, month: Month,
                  tenants: Optional[Iterable[str]] = None, today: Optional[date] = None) -> UsageReport:
    """The month's usage of every tenant of `environment` (or of `tenants` among them)."""
    today = today or datetime.now(UTC).date()
    wanted = None if tenants is None else set(tenants)
    chosen = [t for t in registry.in_environment(environment) if wanted is None or t.id in wanted]
    rows = {t.id: TenantUsage(t.id, t.tenant.name, t.tenant.plan, t.tenant.status.value,
                              storage_limit_gib=t.quotas.storage_limit) for t in chosen}
    days = month.days(until=today) if month.start <= today else []

    apigateway = session.client("apigateway")
    plans = usage_plans_by_tenant(apigateway, rows, environment)
    for tenant in chosen:
        row = rows[tenant.id]
        plan_id = plans.get(tenant.id)
        if plan_id is None:
            row.notes.append("no API Gateway usage plan found for it")
            continue
        daily = api_usage(apigateway, plan_id, days)
        row.api = ApiUsage(plan_id, sum(daily.values()), tenant.quotas.max_ai_requests,
                           tenant.plan.api.quota_period.value, daily)

    queries: list[_Query] = []
    rds = session.client("rds")
    for tenant in chosen:
        row = rows[tenant.id]
        if tenant.tier(Service.database) is Tier.shared:
            row.notes.append("pooled database: the pool's metrics are not per tenant")
        else:
            identifier = database_identifier(environment, tenant.id)
            row.database = StoreUsage("database", identifier, tenant.tier(Service.database).value)
            queries += [_Query((tenant.id, "database", key, identifier), "AWS/RDS", metric, "DBInstanceIdentifier",
                               identifier, stat) for key, metric, stat, _ in DATABASE_METRICS]
            allocated = _allocated_storage(rds, identifier) if days else None
            row.database.metrics["allocatedStorageGiB"] = allocated
            if allocated is None and days:
                row.notes.append(f"no RDS instance {identifier} in the account")
        if tenant.tier(Service.cache) is Tier.shared:
            row.notes.append("pooled cache: `tenancy cache-usage` measures its share")
        else:
            group = cache_group_id(environment, tenant.id)
            row.cache = StoreUsage("cache", group, tenant.tier(Service.cache).value)
            queries += [_Query((tenant.id, "cache", key, node), "AWS/ElastiCache", metric, "CacheClusterId", node, stat)
                        for node in cache_nodes(environment, tenant) for key, metric, stat, _ in CACHE_METRICS]
    if queries and days:
        end = min(month.end_time(), datetime.now(UTC).replace(microsecond=0))
        data = _metric_data(session.client("cloudwatch"), queries, month.start_time(), end)
        scales = {key: (stat, scale) for key, _, stat, scale in DATABASE_METRICS + CACHE_METRICS}
        gathered: dict[tuple, list[float]] = {}
        for query, values in data.items():
            tenant_id, kind, key, _ = query.key
            if kind == "database":  # one instance: combine its daily points
                gathered.setdefault((tenant_id, kind, key), []).extend(values)
            else:  # per node first, then across the nodes
                combined = _combine(query.stat, values)
                gathered.setdefault((tenant_id, kind, key), [])
                if combined is not None:
                    gathered[(tenant_id, kind, key)].append(combined)
        for (tenant_id, kind, key), values in gathered.items():
            stat, scale = scales[key]
            value = _combine(stat, values)
            store = rows[tenant_id].database if kind == "database" else rows[tenant_id].cache
            store.metrics[key] = None if value is None else round(value * scale, 3)
    for row in rows.values():
        if row.database is not None:
            allocated, free = row.database.metrics.get("allocatedStorageGiB"), row.database.metrics.get("freeStorageMinGiB")
            row.database.metrics["usedStorageGiB"] = (round(max(allocated - free, 0.0), 3)
                                                      if allocated is not None and free is not None else None)
    return UsageReport(month, environment, [rows[t.id] for t in chosen])
