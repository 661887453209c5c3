"""What the portal shows besides the registry: usage, spend and the isolation audit read from an
account seeded into moto (the same code as `tenancy report` and `tenancy audit`), resources from a
saved plan and stack outputs, a saved audit; and a registry that stops validating."""

from __future__ import annotations

import json
import re

from tenancy.portal.data import Sources, Unavailable

from ..reports.conftest import aws, moto_endpoint, seed_costs, seed_usage_plan  # noqa: F401 (fixtures)
from .conftest import PortalClient, portal_app

MAY = "2025-05"


def test_usage_spend_and_isolation_from_the_account(aws, moto_endpoint, repo, identities):  # noqa: F811
    ec2 = aws.client("ec2")  # a drift for the audit: a security group of globex's open to the internet
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    group = ec2.create_security_group(GroupName="globex-data", Description="data", VpcId=vpc, TagSpecifications=[
        {"ResourceType": "security-group", "Tags": [{"Key": "tenant-id", "Value": "globex"},
                                                    {"Key": "environment", "Value": "dev"}]}])["GroupId"]
    ec2.authorize_security_group_ingress(GroupId=group, IpPermissions=[
        {"IpProtocol": "tcp", "FromPort": 5432, "ToPort": 5432, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}])
    seed_usage_plan(aws, "acme", "dev", "enterprise", {"web": {"2025-05-01": 1500, "2025-05-02": 250}})
    seed_usage_plan(aws, "brightside", "dev", "starter", {"web": {"2025-05-09": 9000}})
    seed_costs(moto_endpoint, MAY, [("acme", "Amazon Relational Database Service", 1501.75),
                                    ("brightside", "Amazon Simple Queue Service", 160.0)])
    client = PortalClient(portal_app(repo, identities, aws=True))
    try:
        client.sign_in(identities.platform_admin())
        index = client.get(f"/?month={MAY}").text
        acme = index[index.index('id="tenant-acme"'):index.index('id="tenant-brightside"')]
        assert "1,750 / 200,000" in acme and "1,501.75 / 2,500 USD" in acme
        globex = index[index.index('id="tenant-globex"'):index.index('id="tenant-initech"')]
        assert re.search(r'class="bad">\d+ \(\d+ high\)', globex)
        page = client.get(f"/tenants/globex?month={MAY}").text
        assert "admits the whole internet (0.0.0.0/0) on a data port" in page
        report = client.get(f"/reports/billing?month={MAY}")
        assert report.status_code == 200 and "1,501.75 USD" in report.text
        assert "style-src 'unsafe-inline'" in report.headers["content-security-policy"]
        usage = client.get(f"/reports/usage?month={MAY}")
        assert usage.status_code == 200 and "<td>1,750</td>" in usage.text

        client.sign_in(identities.tenant_admin("brightside"))
        page = client.get(f"/tenants/brightside?month={MAY}").text
        quota = page[page.index('id="quota-maxAIRequests"'):page.index('id="quota-storageLimit"')]
        assert "9,000" in quota and "90%" in quota
        assert "160.00 USD" in page and "over budget" in page
        assert "globex" not in page and "0.0.0.0/0" not in page  # another tenant's finding
        assert 'alt="API requests per day"' in page
    finally:
        client.close()


def test_without_the_account_each_section_says_why(repo, identities):
    client = PortalClient(portal_app(repo, identities))
    try:
        client.sign_in(identities.tenant_admin("acme"))
        page = client.get("/tenants/acme").text
        assert "the live account is not configured (tenancy portal --aws)" in page
        assert "no isolation report: run with --aws, or give --audit-json" in page
        assert "no offline plan or stack outputs configured" in page
    finally:
        client.close()


def test_resources_from_a_saved_plan_and_stack_outputs_and_a_saved_audit(tmp_path, repo):
    plan = tmp_path / "plan.json"
    plan.write_text(json.dumps({"version": 1, "stack": "dev", "tenants": [
        {"id": "acme", "resourceCount": 3, "resourcesByType": {"kms.Key": 1, "sqs.Queue": 2},
         "outputs": {"keyArn": "arn:aws:kms:eu-west-1:123456789012:key/k", "apiKey": "[secret]"}}]}))
    outputs = tmp_path / "outputs.json"
    outputs.write_text(json.dumps({"tenants": {"acme": {"apiKey": "s3cr3t", "queueUrl": "https://sqs/q",
                                                        "route": {"host": "acme.example"}}}}))
    audit = tmp_path / "audit.json"
    audit.write_text(json.dumps({"version": 1, "findings": [
        {"severity": "high", "tenant": "acme", "arn": "arn:x", "problem": "p", "remedy": "r"}]}))
    sources = Sources(repo, repo / "tenants", "dev", plan_json=plan, stack_outputs=outputs, audit_json=audit)
    acme = sources.resources("acme")
    assert acme["source"] == "offline plan of dev and stack outputs" and acme["resourceCount"] == 3
    assert acme["outputs"] == {"apiKey": "[secret]", "keyArn": "arn:aws:kms:eu-west-1:123456789012:key/k",
                               "queueUrl": "https://sqs/q", "route": '{"host": "acme.example"}'}
    assert isinstance(sources.resources("nobody"), Unavailable)
    assert sources.findings()[0]["problem"] == "p"
    broken = Sources(repo, repo / "tenants", "dev", audit_json=tmp_path / "missing.json")
    assert "cannot read the audit report" in broken.findings().reason


def test_a_registry_that_stops_validating(repo, identities):
    client = PortalClient(portal_app(repo, identities))
    try:
        client.sign_in(identities.tenant_admin("acme"))
        assert client.get("/tenants/acme").status_code == 200
        path = repo / "tenants" / "acme.yaml"
        path.write_text(path.read_text().replace("plan: enterprise", "plan: platinum"))
        refused = client.get("/tenants/acme")
        assert refused.status_code in (401, 303)  # its tenant is no longer served: signed out
        client.sign_in(identities.platform_admin())
        broken = client.get("/")
        assert broken.status_code == 503 and "tenants/acme.yaml:4: acme: plan:" in broken.text
    finally:
        client.close()


def test_a_tenant_admin_reads_its_findings_without_other_tenants_ids(tmp_path, repo, identities):
    audit = tmp_path / "audit.json"
    audit.write_text(json.dumps({"version": 1, "findings": [
        {"severity": "high", "tenant": "acme", "arn": "arn:aws:kms:eu-west-1:1:key/k",
         "problem": "the key policy grants tenant globex's role", "remedy": "Remove globex from the statement."},
        {"severity": "high", "tenant": "globex", "arn": "arn:x", "problem": "globex's own", "remedy": "r"}]}))
    client = PortalClient(portal_app(repo, identities, audit_json=audit))
    try:
        client.sign_in(identities.tenant_admin("acme"))
        page = client.get("/tenants/acme").text
        assert "the key policy grants tenant another tenant&#39;s role" in page
        assert "globex" not in page
        client.sign_in(identities.platform_admin())
        assert "the key policy grants tenant globex&#39;s role" in client.get("/tenants/acme").text
    finally:
        client.close()
