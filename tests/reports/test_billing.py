"""Cost per tenant from Cost Explorer results seeded into moto: grouped by the tenant-id tag and by
service, against each tenant's budget, unknown ids and untagged costs apart; and `tenancy report`."""

from __future__ import annotations

import csv
import io

import pytest

from tenancy.reports.billing import CE_REGION, collect_costs
from tenancy.reports.period import Month
from tenancy.reports.render import render

from ..conftest import PROJECT
from ..run_cli import tenancy
from .conftest import seed_costs, seed_usage_plan

MAY = Month(2025, 5)
GROUPS = [
    ("acme", "Amazon Relational Database Service", 1200.5),
    ("acme", "Amazon ElastiCache", 300.25),
    ("acme", "AWS Key Management Service", 1.0),
    ("brightside", "Amazon Simple Queue Service", 160.0),  # over its 150 budget
    ("globex", "Amazon Relational Database Service", 410.0),
    ("ghost", "Amazon EC2", 5.0),  # an id the registry does not know
    ("", "Amazon EC2", 99.0),  # untagged: the platform and shared costs
]


@pytest.fixture
def ce(aws):
    return aws.client("ce", region_name=CE_REGION)


def test_cost_per_tenant_by_service_against_the_budget(ce, moto_endpoint, registry):
    seed_costs(moto_endpoint, "2025-05", GROUPS)
    report = collect_costs(ce, registry, MAY)
    acme = report.tenant("acme")
    assert acme.amount == pytest.approx(1501.75)
    assert acme.by_service == {"Amazon Relational Database Service": 1200.5, "Amazon ElastiCache": 300.25,
                               "AWS Key Management Service": 1.0}
    assert acme.budget == 2500 and acme.share == pytest.approx(1501.75 / 2500) and not acme.over_budget
    brightside = report.tenant("brightside")
    assert brightside.over_budget and brightside.budget == 150
    umbrella = report.tenant("umbrella")
    assert umbrella.amount == 0 and umbrella.budget == 100  # in the registry, no cost
    ghost = report.tenant("ghost")
    assert ghost.amount == 5.0 and not ghost.known
    assert [t.tenant for t in report.tenants][-1] == "ghost"  # unknown ids after the registry's
    assert report.untagged == 99.0
    assert report.total == pytest.approx(1501.75 + 160 + 410 + 5 + 99)
    assert report.currency == "USD" and not report.estimated


def test_renderings(ce, moto_endpoint, registry):
    seed_costs(moto_endpoint, "2025-05", GROUPS, estimated=True)
    report = collect_costs(ce, registry, MAY)
    markdown = render(report, "markdown")
    assert "| acme | Acme Corp | enterprise | cc-104 | 1,501.75 USD | 2,500.00 USD | 60% |" in markdown
    assert "| brightside | Brightside Bakery | starter | cc-201 | 160.00 USD | 150.00 USD | 107% OVER |" in markdown
    assert "Over budget: brightside" in markdown and "Estimated" in markdown
    assert "Untagged (the platform and shared costs): 99.00 USD" in markdown
    rows = list(csv.DictReader(io.StringIO(render(report, "csv"))))
    acme = {r["service"]: r["amount"] for r in rows if r["tenant"] == "acme"}
    assert acme == {"Amazon Relational Database Service": "1200.50", "Amazon ElastiCache": "300.25",
                    "AWS Key Management Service": "1.00"}
    assert [r["amount"] for r in rows if r["service"] == "(untagged)"] == ["99.00"]
    html = render(report, "html")
    assert html.count('src="data:image/svg+xml;base64,') == 1 and "ghost (not in the registry)" in html


def test_the_command(aws, moto_endpoint, tmp_path):
    seed_costs(moto_endpoint, "2025-05", GROUPS)
    result = tenancy("report", "billing", "--month", "2025-05", "--format", "csv", cwd=PROJECT)
    assert result.returncode == 1 and "report: over budget: brightside" in result.stderr  # 160 of its 150
    assert "2025-05,,acme,yes,Acme Corp,enterprise,cc-104,Amazon ElastiCache,300.25,USD,2500.00" in result.stdout
    seed_costs(moto_endpoint, "2025-06", [g for g in GROUPS if g[0] != "brightside"])
    within = tenancy("report", "billing", "--month", "2025-06", "--format", "csv", cwd=PROJECT)
    assert within.returncode == 0, within.stderr
    seed_usage_plan(aws, "acme", "dev", "enterprise", {"web": {"2025-05-03": 42}})
    out = tmp_path / "usage.html"
    result = tenancy("report", "usage", "--month", "2025-05", "--environment", "dev", "--format", "html",
                     "--output", str(out), cwd=PROJECT)
    assert result.returncode == 0, result.stderr
    assert "<td>acme</td>" in out.read_text() and "<td>42</td>" in out.read_text()
    bad = tenancy("report", "billing", "--month", "2025-13", cwd=PROJECT)
    assert bad.returncode == 2 and "not a month such as 2025-05" in bad.stderr
