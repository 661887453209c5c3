"""Screenshots of the portal's main pages for docs/, taken with the tests' own headless browser:

    .venv/bin/python -m tests.portal.screenshots [--out docs] [--no-plan]

It builds what the tests build: the tests' project in a throwaway git repository, a moto account
that conforms to the registry (benchmarks/aws_account.py) with one drift for the audit to find,
usage plans, CloudWatch metrics and Cost Explorer results for this month, identity providers on
loopback; then it runs the real offline plan of the dev stack for the resources (about 20 s; skip
it with --no-plan) and serves the portal on loopback."""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from benchmarks.aws_account import build, moto_server
from tenancy.portal.data import Unavailable
from tenancy.registry.project import validate_project
from tenancy.reports.period import Month

from ..context.idp import JwksServer, UserPool
from ..reports.conftest import REGION, aws_environment, install_get_usage, put_metric, seed_costs, seed_usage_plan
from . import browser
from .conftest import Identities, LiveServer, make_repo, portal_app

SHOTS = ("portal-login", "portal-tenants", "portal-tenant", "portal-quota-refused", "portal-proposed",
         "portal-billing-report")


def seed(session, registry, endpoint: str, month: Month) -> None:
    account = build(session, registry.in_environment("dev"), "dev")
    # a drift for the isolation report: globex's data security group opened to the internet
    session.client("ec2").authorize_security_group_ingress(
        GroupId=account.tenants["globex"].data_group,
        IpPermissions=[{"IpProtocol": "tcp", "FromPort": 5432, "ToPort": 5432, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}])
    today = datetime.now(UTC).date()
    days = month.days(until=today)
    shape = {"acme": 4200, "brightside": 310, "globex": 1900, "initech": 5200, "northwind": 2600, "umbrella": 0}
    for tenant in registry.in_environment("dev"):
        base = shape.get(tenant.id, 100)
        per_day = {d.isoformat(): int(base * (0.7 + 0.6 * ((d.day * 7 + len(tenant.id)) % 10) / 10)) for d in days}
        seed_usage_plan(session, tenant.id, "dev", tenant.tenant.plan, {"app": per_day})
    rds = session.client("rds")
    for identifier, storage in (("dev-globex", 80), ("dev-initech", 100), ("dev-acme", 100)):
        rds.create_db_instance(DBInstanceIdentifier=identifier, DBInstanceClass="db.t4g.medium", Engine="postgres",
                               MasterUsername="admin_user", MasterUserPassword="password-123", AllocatedStorage=storage)
    start = datetime.combine(days[0], datetime.min.time(), tzinfo=UTC) + timedelta(hours=12)
    points = [start + timedelta(days=i) for i in range(len(days))]
    for identifier, cpu, free in (("dev-globex", 35, 22), ("dev-initech", 55, 61), ("dev-acme", 20, 88)):
        put_metric(session, "AWS/RDS", "CPUUtilization", "DBInstanceIdentifier", identifier,
                   {p: cpu + (i % 7) * 4 for i, p in enumerate(points)})
        put_metric(session, "AWS/RDS", "FreeStorageSpace", "DBInstanceIdentifier", identifier,
                   {p: (free - i * 0.2) * (1 << 30) for i, p in enumerate(points)})
        put_metric(session, "AWS/RDS", "DatabaseConnections", "DBInstanceIdentifier", identifier,
                   {p: 10 + i % 5 for i, p in enumerate(points)})
    seed_costs(endpoint, month.label, [
        ("acme", "Amazon Relational Database Service", 980.40), ("acme", "Amazon ElastiCache", 412.10),
        ("acme", "Amazon Virtual Private Cloud", 96.00), ("acme", "AWS Key Management Service", 3.00),
        ("brightside", "Amazon Simple Queue Service", 12.40), ("brightside", "AWS Key Management Service", 1.00),
        ("globex", "Amazon Relational Database Service", 690.00), ("globex", "AWS Key Management Service", 1.00),
        ("initech", "Amazon Relational Database Service", 1530.00), ("initech", "Amazon ElastiCache", 880.00),
        ("initech", "Amazon Virtual Private Cloud", 240.00), ("northwind", "Amazon Simple Queue Service", 44.00),
        ("umbrella", "AWS Key Management Service", 1.00), ("", "Amazon Elastic Compute Cloud - Compute", 1210.00),
    ], estimated=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", default="docs", help="where the PNG files go (default docs/)")
    parser.add_argument("--no-plan", action="store_true", help="skip the offline plan (no resources section)")
    args = parser.parse_args(argv)
    if browser.missing():
        print(browser.missing(), file=sys.stderr)
        return 2
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    install_get_usage()
    month = Month.current()
    with tempfile.TemporaryDirectory(prefix="tenancy-screenshots-") as tmp, moto_server() as endpoint:
        os.environ.update(aws_environment(endpoint))
        import boto3

        repo = make_repo(Path(tmp) / "repo")
        seed(boto3.Session(region_name=REGION), validate_project(repo), endpoint, month)
        jwks = JwksServer()
        identities = Identities(UserPool(jwks, "Tenants"), UserPool(jwks, "Platform"), UserPool(jwks, "Rogue"))
        app = portal_app(repo, identities, aws=True, **({} if args.no_plan else {"plan_stack": "dev"}))
        sources = app.state.portal.sources
        deadline = time.monotonic() + 600
        while isinstance(sources._plan_data(), Unavailable) and "planning" in sources._plan_data().reason:
            if time.monotonic() > deadline:
                raise SystemExit("the offline plan took longer than 10 minutes")
            time.sleep(1)
        server = LiveServer(app)
        driver = browser.chrome()
        try:
            shoot(driver, server.url, identities, out)
        finally:
            driver.quit()
            server.stop()
            jwks.stop()
    for name in SHOTS:
        print(out / f"{name}.png")
    return 0


def shoot(driver, url: str, identities: Identities, out: Path) -> None:
    from selenium.webdriver.common.by import By

    driver.get(f"{url}/login")
    browser.full_page_screenshot(driver, out / "portal-login.png")
    browser.sign_in(driver, url, identities.platform_admin())
    browser.full_page_screenshot(driver, out / "portal-tenants.png")
    driver.get(f"{url}/tenants/globex")
    browser.full_page_screenshot(driver, out / "portal-tenant.png")
    driver.get(f"{url}/reports/billing")
    browser.full_page_screenshot(driver, out / "portal-billing-report.png")

    browser.sign_in(driver, url, identities.tenant_admin("brightside"))
    field = driver.find_element(By.ID, "quotas.maxUsers")
    field.clear()
    field.send_keys("400")
    browser.submit(driver, driver.find_element(By.ID, "propose-quotas"))
    browser.full_page_screenshot(driver, out / "portal-quota-refused.png")
    field = driver.find_element(By.ID, "quotas.maxUsers")
    field.clear()
    field.send_keys("45")
    browser.submit(driver, driver.find_element(By.ID, "propose-quotas"))
    browser.full_page_screenshot(driver, out / "portal-proposed.png")


if __name__ == "__main__":
    sys.exit(main())
