"""Usage per tenant from data seeded into moto: API requests from each tenant's usage plan (by its
tags, else its description; another environment's plan never counts), CloudWatch metrics of the
databases and caches a tenant has of its own, storage used against `storageLimit`, and the three
renderings."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime

import pytest

from tenancy.reports.period import Month
from tenancy.reports.render import render
from tenancy.reports.usage import GIB, collect_usage

from .conftest import put_metric, seed_usage_plan

MAY = Month(2025, 5)


def at(day: int, hour: int = 12) -> datetime:
    return datetime(2025, 5, day, hour, tzinfo=UTC)


@pytest.fixture
def seeded(aws):
    seed_usage_plan(aws, "acme", "dev", "enterprise", {"web": {"2025-05-01": 1000, "2025-05-31": 500},
                                                        "batch": {"2025-05-02": 250}})
    seed_usage_plan(aws, "acme", "prod", "enterprise", {"web": {"2025-05-01": 99999}})  # another environment
    seed_usage_plan(aws, "brightside", "dev", "starter", {"app": {"2025-05-10": 7000, "2025-05-11": 5000}},
                    tagged=False)  # found by its description
    seed_usage_plan(aws, "ghost", "dev", "starter", {"app": {"2025-05-10": 5}})  # not in the registry
    aws.client("rds").create_db_instance(
        DBInstanceIdentifier="dev-globex", DBInstanceClass="db.t4g.medium", Engine="postgres",
        MasterUsername="admin_user", MasterUserPassword="password-123", AllocatedStorage=80)
    rds = ("AWS/RDS", "DBInstanceIdentifier", "dev-globex")
    put_metric(aws, rds[0], "CPUUtilization", rds[1], rds[2], {at(1): 10.0, at(2): 30.0, at(3): 50.0})
    put_metric(aws, rds[0], "CPUUtilization", rds[1], rds[2], {datetime(2025, 6, 1, 1, tzinfo=UTC): 99.0})  # June
    put_metric(aws, rds[0], "DatabaseConnections", rds[1], rds[2], {at(1): 5.0, at(2): 12.0})
    put_metric(aws, rds[0], "FreeStorageSpace", rds[1], rds[2], {at(1): 40.0 * GIB, at(20): 30.0 * GIB})
    for node, memory in (("dev-initech-001", 40.0), ("dev-initech-002", 70.0)):
        put_metric(aws, "AWS/ElastiCache", "DatabaseMemoryUsagePercentage", "CacheClusterId", node,
                   {at(5): memory, at(6): memory - 10})
        put_metric(aws, "AWS/ElastiCache", "CurrConnections", "CacheClusterId", node, {at(5): 8.0})
    return aws


def test_api_requests_per_tenant_against_its_quota(seeded, registry):
    report = collect_usage(seeded, registry, "dev", MAY)
    acme = report.tenant("acme")
    assert acme.api.requests == 1750  # both keys, dev's plan only
    assert acme.api.daily["2025-05-01"] == 1000 and acme.api.daily["2025-05-02"] == 250
    assert acme.api.daily["2025-05-31"] == 500 and len(acme.api.daily) == 31
    assert (acme.api.quota, acme.api.quota_period) == (200000, "MONTH")
    assert acme.api.share == pytest.approx(1750 / 200000)
    brightside = report.tenant("brightside")
    assert brightside.api.requests == 12000 and brightside.api.quota == 10000
    assert brightside.api.share == pytest.approx(1.2)
    assert report.tenant("northwind").api is None
    assert "no API Gateway usage plan found for it" in report.tenant("northwind").notes
    assert report.tenant("ghost") is None


def test_database_and_cache_metrics_of_the_tenants_that_have_their_own(seeded, registry):
    report = collect_usage(seeded, registry, "dev", MAY)
    globex = report.tenant("globex")
    assert globex.database.identifier == "dev-globex"
    metrics = globex.database.metrics
    assert metrics["cpuAverage"] == pytest.approx(30.0) and metrics["cpuMax"] == 50.0  # June's 99 is not May's
    assert metrics["connectionsMax"] == 12.0
    assert metrics["freeStorageMinGiB"] == pytest.approx(30.0)
    assert metrics["allocatedStorageGiB"] == 80.0 and globex.storage_used_gib == pytest.approx(50.0)
    assert globex.storage_limit_gib == 80  # its own quota
    assert globex.cache is None and any("pooled cache" in n for n in globex.notes)
    initech = report.tenant("initech")
    assert initech.cache.identifier == "dev-initech"
    assert initech.cache.metrics["memoryMaxPercent"] == 70.0  # the fuller node
    assert initech.cache.metrics["connectionsMax"] == 8.0
    assert initech.database.metrics["cpuAverage"] is None  # no data: none, not zero
    brightside = report.tenant("brightside")
    assert brightside.database is None and brightside.cache is None
    assert any("pooled database" in n for n in brightside.notes)


def test_one_tenant_only_and_a_month_not_started(seeded, registry):
    only = collect_usage(seeded, registry, "dev", MAY, tenants=["acme"])
    assert [t.tenant for t in only.tenants] == ["acme"]
    future = collect_usage(seeded, registry, "dev", Month(2099, 1))
    assert future.tenant("acme").api.requests == 0 and future.tenant("acme").api.daily == {}


def test_the_renderings_carry_the_same_numbers(seeded, registry):
    report = collect_usage(seeded, registry, "dev", MAY)
    markdown = render(report, "markdown")
    assert "| acme | enterprise | active | 1,750 | 200,000/month | 1% | dev-acme |" in markdown
    assert "| brightside | starter | active | 12,000 | 10,000/month | 120% | pooled |" in markdown
    rows = {r["tenant"]: r for r in csv.DictReader(io.StringIO(render(report, "csv")))}
    assert rows["acme"]["api_requests"] == "1750" and rows["globex"]["db_usedStorageGiB"] == "50.0"
    assert rows["northwind"]["api_requests"] == "" and rows["initech"]["cache_memoryMaxPercent"] == "70.0"
    html = render(report, "html")
    assert html.count('src="data:image/svg+xml;base64,') == 3  # quota share, per day, database CPU
    assert "<td>brightside</td>" in html and "<script" not in html
