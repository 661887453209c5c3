"""Cost per tenant for one month, from Cost Explorer grouped by the `tenant-id` cost allocation tag
(and by service), against each tenant's monthly budget (`billing.monthlyBudget`, else its plan's).

Cost Explorer sees only activated cost allocation tags (README: "Cost"), and answers from the payer
account: run it there, or in a member account for that account's costs. Costs tagged with an id the
registry does not know are listed apart (an orphan or a typo in a tag), and untagged costs are the
platform's and everything shared.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Optional

from tenancy.registry.loader import Registry
from tenancy.registry.naming import ENVIRONMENT_TAG, TENANT_TAG
from tenancy.reports.period import Month

METRIC = "UnblendedCost"
CE_REGION = "us-east-1"  # Cost Explorer's one endpoint


@dataclass
class TenantCost:
    tenant: str
    amount: float
    by_service: dict[str, float] = field(default_factory=dict)
    name: Optional[str] = None
    plan: Optional[str] = None
    budget: Optional[float] = None  # None: not in the registry
    cost_center: Optional[str] = None

    @property
    def known(self) -> bool:
        return self.budget is not None

    @property
    def share(self) -> Optional[float]:
        return self.amount / self.budget if self.budget else None

    @property
    def over_budget(self) -> bool:
        return self.budget is not None and self.amount > self.budget


@dataclass
class BillingReport:
    month: Month
    environment: Optional[str]  # None: every environment
    currency: str
    metric: str
    tenants: list[TenantCost]  # the registry's first, then unknown ids
    untagged: float = 0.0
    estimated: bool = False

    @property
    def total(self) -> float:
        return sum(t.amount for t in self.tenants) + self.untagged

    def tenant(self, tenant_id: str) -> Optional[TenantCost]:
        return next((t for t in self.tenants if t.tenant == tenant_id), None)

    @property
    def services(self) -> list[str]:
        totals: dict[str, float] = {}
        for t in self.tenants:
            for service, amount in t.by_service.items():
                totals[service] = totals.get(service, 0.0) + amount
        return sorted(totals, key=lambda s: (-totals[s], s))


def _request(month: Month, environment: Optional[str], metric: str) -> dict[str, Any]:
    request: dict[str, Any] = {
        "TimePeriod": {"Start": month.start.isoformat(), "End": month.end.isoformat()},
        "Granularity": "MONTHLY", "Metrics": [metric],
        "GroupBy": [{"Type": "TAG", "Key": TENANT_TAG}, {"Type": "DIMENSION", "Key": "SERVICE"}]}
    if environment:
        request["Filter"] = {"Tags": {"Key": ENVIRONMENT_TAG, "Values": [environment], "MatchOptions": ["EQUALS"]}}
    return request


def tag_value(key: str) -> str:
    """Cost Explorer names a tag group `tenant-id$acme` (`tenant-id$` for untagged costs)."""
    prefix = f"{TENANT_TAG}$"
    return key[len(prefix):] if key.startswith(prefix) else key


def collect_costs(ce, registry: Registry, month: Month, environment: Optional[str] = None,
                  metric: str = METRIC) -> BillingReport:
    """The month's cost per tenant (a Cost Explorer client: Cost Explorer lives in us-east-1)."""
    amounts: dict[str, dict[str, float]] = {}
    currency, estimated = "USD", False
    request = _request(month, environment, metric)
    while True:
        page = ce.get_cost_and_usage(**request)
        for period in page.get("ResultsByTime", []):
            estimated = estimated or bool(period.get("Estimated"))
            for group in period.get("Groups", []):
                keys = group.get("Keys") or []
                tenant = tag_value(keys[0]) if keys else ""
                service = keys[1] if len(keys) > 1 else "(all services)"
                value = (group.get("Metrics") or {}).get(metric) or {}
                amount = float(value.get("Amount") or 0)
                currency = value.get("Unit") or currency
                per_service = amounts.setdefault(tenant, {})
                per_service[service] = per_service.get(service, 0.0) + amount
        token = page.get("NextPageToken")
        if not token:
            break
        request["NextPageToken"] = token

    rows = []
    for tenant in registry.tenants:
        if environment and not any(e.value == environment for e in tenant.tenant.environments):
            continue
        by_service = amounts.pop(tenant.id, {})
        rows.append(TenantCost(tenant.id, round(sum(by_service.values()), 2), _rounded(by_service), tenant.tenant.name,
                               tenant.tenant.plan, tenant.monthly_budget, tenant.tenant.billing.cost_center))
    untagged = round(sum(amounts.pop("", {}).values()), 2)
    for unknown, by_service in sorted(amounts.items()):
        rows.append(TenantCost(unknown, round(sum(by_service.values()), 2), _rounded(by_service)))
    return BillingReport(month, environment, currency, metric, rows, untagged, estimated)


def _rounded(by_service: dict[str, float]) -> dict[str, float]:
    return {k: round(v, 2) for k, v in sorted(by_service.items(), key=lambda kv: (-kv[1], kv[0])) if round(v, 2)}
