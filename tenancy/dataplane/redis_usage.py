"""Per-tenant memory and key counts in the pooled cache, and the share at which a tenant should move
to a dedicated cache.

Redis cannot cap memory per user: every tenant shares `maxmemory`, and one tenant that fills it
makes every other tenant's writes fail (`noeviction`) or their keys disappear (`allkeys-*`). The ACL
cannot prevent that, so it is measured. One pass of SCAN over the whole keyspace, as an admin user,
counts every key by its `<id>:` prefix; `MEMORY USAGE` is asked of the first `sample_per_tenant`
keys of each tenant (SCAN's order is the hash table's, so effectively random) and the tenant's bytes
are estimated as their mean times its key count. SCAN and MEMORY USAGE are incremental and
read-only: safe on a live primary, and on ElastiCache (neither is a restricted command).

A tenant whose estimated bytes reach `MOVE_TO_DEDICATED_SHARE` (a fifth) of the capacity should move
to a dedicated cache: at that size one more doubling (a migration, a backfill, a bug) takes 40% of
a node that other tenants need, and ElastiCache already keeps a quarter of the node back
(`reserved-memory-percent`), so there is no room left to absorb it. The capacity is `maxmemory`
(what ElastiCache sets from the node type); on a server without one it falls back to the memory in
use, and says so.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field

MOVE_TO_DEDICATED_SHARE = 0.20
SAMPLE_PER_TENANT = 1000
SCAN_COUNT = 1000


@dataclass(frozen=True)
class TenantUsage:
    tenant_id: str
    keys: int
    sampled: int  # keys whose MEMORY USAGE was asked
    bytes: int  # estimated: the sampled keys' mean times `keys`
    share: float  # of the capacity
    largest_key_bytes: int  # among the sampled keys


@dataclass(frozen=True)
class CacheUsage:
    capacity_bytes: int
    capacity_basis: str  # "maxmemory", or "used_memory" on a server without maxmemory
    used_bytes: int
    threshold: float
    tenants: list[TenantUsage] = field(default_factory=list)
    unowned_keys: int = 0  # keys under no pooled tenant's prefix

    def over_threshold(self) -> list[TenantUsage]:
        return [t for t in self.tenants if t.share >= self.threshold]


def _text(value) -> str:
    return value.decode(errors="replace") if isinstance(value, bytes) else str(value)


def measure_usage(client, tenant_ids: list[str], *, sample_per_tenant: int = SAMPLE_PER_TENANT,
                  threshold: float = MOVE_TO_DEDICATED_SHARE, capacity_bytes: int | None = None,
                  scan_count: int = SCAN_COUNT) -> CacheUsage:
    """Count and size every pooled tenant's keys with an admin `client` (a redis-py client, with or
    without decoded responses)."""
    wanted = set(tenant_ids)
    keys = dict.fromkeys(tenant_ids, 0)
    sampled = dict.fromkeys(tenant_ids, 0)
    sizes = dict.fromkeys(tenant_ids, 0)
    largest = dict.fromkeys(tenant_ids, 0)
    unowned = 0
    cursor = 0
    while True:
        cursor, page = client.scan(cursor, count=scan_count)
        to_size, pending = [], dict.fromkeys(tenant_ids, 0)
        for key in page:
            owner = _text(key).partition(":")[0]
            if owner not in wanted or ":" not in _text(key):
                unowned += 1
                continue
            keys[owner] += 1
            if sampled[owner] + pending[owner] < sample_per_tenant:
                pending[owner] += 1
                to_size.append((key, owner))
        if to_size:
            pipe = client.pipeline(transaction=False)
            for key, _ in to_size:
                pipe.memory_usage(key)
            for (_, owner), size in zip(to_size, pipe.execute()):
                if size is not None:  # expired or deleted between SCAN and MEMORY USAGE
                    sampled[owner] += 1
                    sizes[owner] += size
                    largest[owner] = max(largest[owner], size)
        if int(cursor) == 0:
            break
    memory = client.info("memory")
    used = int(memory["used_memory"])
    maxmemory = int(memory.get("maxmemory", 0))
    if capacity_bytes is None:
        capacity_bytes, basis = (maxmemory, "maxmemory") if maxmemory else (used, "used_memory")
    else:
        basis = "given"
    tenants = []
    for tenant in tenant_ids:
        estimate = round(sizes[tenant] * keys[tenant] / sampled[tenant]) if sampled[tenant] else 0
        tenants.append(TenantUsage(tenant, keys[tenant], sampled[tenant], estimate,
                                   estimate / capacity_bytes if capacity_bytes else 0.0, largest[tenant]))
    tenants.sort(key=lambda t: (-t.bytes, t.tenant_id))
    return CacheUsage(capacity_bytes, basis, used, threshold, tenants, unowned)


def render_table(usage: CacheUsage) -> str:
    over = {t.tenant_id for t in usage.over_threshold()}
    lines = [f"capacity {usage.capacity_bytes} bytes ({usage.capacity_basis}), in use {usage.used_bytes}; "
             f"move to a dedicated cache at {usage.threshold:.0%} of capacity",
             f"{'tenant':<24} {'keys':>10} {'sampled':>8} {'bytes':>14} {'share':>7} {'largest key':>12}"]
    for t in usage.tenants:
        flag = "  MOVE TO DEDICATED" if t.tenant_id in over else ""
        lines.append(f"{t.tenant_id:<24} {t.keys:>10} {t.sampled:>8} {t.bytes:>14} {t.share:>7.1%} "
                     f"{t.largest_key_bytes:>12}{flag}")
    lines.append(f"{'(no tenant)':<24} {usage.unowned_keys:>10}")
    return "\n".join(lines)


def render_json(usage: CacheUsage) -> str:
    return json.dumps({"version": 1, **asdict(usage),
                       "over_threshold": [t.tenant_id for t in usage.over_threshold()]}, indent=2)
