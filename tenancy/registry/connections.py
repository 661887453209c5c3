"""The pooled PostgreSQL's connection budget: the pooled tenants' connection limits, summed per
environment, must fit in the pooled instance's max_connections.

RDS for PostgreSQL's default is `LEAST({DBInstanceClassMemory/9531392}, 5000)`
(https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/CHAP_Limits.html#RDS_Limits.MaxConnections).
The memory of each class is from "Hardware specifications for DB instance classes"
(https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/Concepts.DBInstanceClass.Summary.html).
DBInstanceClassMemory is that memory less what RDS keeps for the operating system and its own
processes, so the figure here is an upper bound: the real one is a little lower. A class not in
the table, or a parameter group that sets max_connections, needs `tenancy:pool.databaseMaxConnections`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from tenancy.registry.models import Service, Tier
from tenancy.registry.tiers import EffectiveTenant

GIB = 1024 ** 3
BYTES_PER_CONNECTION = 9531392
MAX_DEFAULT_CONNECTIONS = 5000
# PostgreSQL's superuser_reserved_connections (3), and the platform's own sessions: db-bootstrap,
# schema migrations, monitoring.
RESERVED_CONNECTIONS = 3 + 10

_BURSTABLE = {"micro": 1, "small": 2, "medium": 4, "large": 8, "xlarge": 16, "2xlarge": 32}
_SIZES = {"large": 1, "xlarge": 2, "2xlarge": 4, "4xlarge": 8, "8xlarge": 16, "12xlarge": 24, "16xlarge": 32,
          "24xlarge": 48, "32xlarge": 64}
# family: (GiB per "large", the largest size offered)
_FAMILIES = {"m5": (8, "24xlarge"), "m6g": (8, "16xlarge"), "m6i": (8, "32xlarge"), "m7g": (8, "16xlarge"),
             "r5": (16, "24xlarge"), "r6g": (16, "16xlarge"), "r6i": (16, "32xlarge"), "r7g": (16, "16xlarge")}


def _memory_table() -> dict[str, float]:
    table = {f"db.{family}.{size}": gib for family in ("t3", "t4g") for size, gib in _BURSTABLE.items()}
    for family, (per_large, largest) in _FAMILIES.items():
        for size, factor in _SIZES.items():
            table[f"db.{family}.{size}"] = per_large * factor
            if size == largest:
                break
    return table


INSTANCE_MEMORY_GIB = _memory_table()


def default_max_connections(instance_class: str) -> int | None:
    """RDS's default max_connections for a class (an upper bound, see above), or None if unknown."""
    gib = INSTANCE_MEMORY_GIB.get(instance_class)
    if gib is None:
        return None
    return min(int(gib * GIB) // BYTES_PER_CONNECTION, MAX_DEFAULT_CONNECTIONS)


@dataclass(frozen=True)
class ConnectionBudget:
    instance_class: str
    max_connections: int | None  # None: unknown class and no explicit setting
    explicit: bool  # from tenancy:pool.databaseMaxConnections
    demand: dict[str, int]  # pooled tenant id -> its role's connection limit

    @property
    def usable(self) -> int | None:
        return None if self.max_connections is None else self.max_connections - RESERVED_CONNECTIONS

    @property
    def total(self) -> int:
        return sum(self.demand.values())

    def problem(self) -> str | None:
        """What is wrong, worded for the stack file, or None when the limits fit."""
        if self.max_connections is None:
            if not self.demand:
                return None
            return (f"the pooled tenants' connection limits cannot be checked: {self.instance_class!r} is not a "
                    f"known instance class; set tenancy:pool.databaseMaxConnections to the instance's "
                    f"max_connections (known classes: db.t4g.*, db.t3.*, db.m5/m6g/m6i/m7g.*, db.r5/r6g/r6i/r7g.*)")
        if self.total <= self.usable:
            return None
        biggest = ", ".join(f"{t} {n}" for t, n in sorted(self.demand.items(), key=lambda kv: (-kv[1], kv[0]))[:5])
        source = ("tenancy:pool.databaseMaxConnections" if self.explicit else
                  f"about {self.max_connections} on {self.instance_class} (LEAST(memory/9531392, 5000))")
        return (f"the {len(self.demand)} pooled tenants may open {self.total} connections together ({biggest}"
                f"{', ...' if len(self.demand) > 5 else ''}), more than the {self.usable} the pooled instance "
                f"has for them: max_connections {source}, less {RESERVED_CONNECTIONS} reserved for superusers and "
                f"the platform; choose a larger databaseInstanceClass or lower the plans' database.connectionLimit")


def connection_budget(instance_class: str, explicit_max: int | None,
                      tenants: Iterable[EffectiveTenant]) -> ConnectionBudget:
    """Every pooled-database tenant counts, suspended ones too (they keep their role and limit)."""
    demand = {t.id: t.plan.database.connection_limit for t in tenants if t.tier(Service.database) is Tier.shared}
    maximum = explicit_max if explicit_max is not None else default_max_connections(instance_class)
    return ConnectionBudget(instance_class, maximum, explicit_max is not None, demand)
