"""What a scanner (and an auditor) expects of production that dev may skip: enhanced monitoring
and log exports on every database, slow queries logged, a year of logs, budgets that can see the
tenant's costs."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="module")
def prod(prod_plan):
    return prod_plan


def test_every_prod_database_is_monitored_and_exports_its_logs(prod):
    databases = prod.of_type("aws:rds/instance:Instance")
    assert databases
    roles = {r.outputs.get("arn") for r in prod.of_type("aws:iam/role:Role") if r.name.endswith("-db-monitoring")
             or r.name.endswith("-pool-db-monitoring")}
    for db in databases:
        assert db.input("monitoringInterval") == 60
        assert db.input("monitoringRoleArn") in roles
        assert set(db.input("enabledCloudwatchLogsExports")) == {"postgresql", "upgrade"}
    attachments = prod.of_type("aws:iam/rolePolicyAttachment:RolePolicyAttachment")
    assert {a.input("policyArn") for a in attachments} == {
        "arn:aws:iam::aws:policy/service-role/AmazonRDSEnhancedMonitoringRole"}


def test_slow_statements_and_connections_are_logged(prod):
    for group in prod.of_type("aws:rds/parameterGroup:ParameterGroup"):
        params = {p["name"]: p["value"] for p in group.input("parameters")}
        assert params["rds.force_ssl"] == "1"
        assert int(params["log_min_duration_statement"]) > 0 and params["log_connections"] == "1"


def test_prod_keeps_every_log_group_at_least_a_year(prod):
    groups = prod.of_type("aws:cloudwatch/logGroup:LogGroup")
    assert groups and all(g.input("retentionInDays") >= 365 for g in groups)


def test_the_tenant_cost_tag_is_activated_so_budgets_see_costs(prod):
    [tag] = prod.of_type("aws:costexplorer/costAllocationTag:CostAllocationTag")
    assert (tag.input("tagKey"), tag.input("status")) == ("tenant-id", "Active")
    filters = {f["values"][0].split("$")[0] for b in prod.of_type("aws:budgets/budget:Budget")
               for f in b.input("costFilters")}
    assert filters == {"user:tenant-id"}
