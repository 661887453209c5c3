"""Rate limits, quotas, feature flags, monitoring and budgets per tenant: every value traces back to
the registry and the plan."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from tenancy.plan.harness import SECRET_MASK

from .conftest import DEV_TENANTS as TENANTS
from .conftest import run_dev

SCHEMA = json.loads((Path(__file__).parent / "feature_flags_schema.json").read_text())


def of(rec, tenant, type_):
    return [r for r in rec.tenant("dev", tenant) if r.type == type_]


def one(rec, tenant, type_):
    [found] = of(rec, tenant, type_)
    return found


def key_arn(rec, tenant):
    return one(rec, tenant, "aws:kms/key:Key").outputs["arn"]


@pytest.mark.parametrize("tenant", TENANTS)
def test_usage_plan_and_key_follow_the_plan_and_the_tenant_quota(dev, registry, tenant):
    effective = registry.get(tenant)
    plan = one(dev, tenant, "aws:apigateway/usagePlan:UsagePlan")
    assert plan.input("throttleSettings") == {"rateLimit": effective.plan.api.rate_limit,
                                              "burstLimit": effective.plan.api.burst_limit}
    assert plan.input("quotaSettings") == {"limit": effective.quotas.max_ai_requests,
                                           "period": effective.plan.api.quota_period.value}
    key = one(dev, tenant, "aws:apigateway/apiKey:ApiKey")
    assert key.input("enabled") is (not effective.suspended)
    link = one(dev, tenant, "aws:apigateway/usagePlanKey:UsagePlanKey")
    assert (link.input("keyId"), link.input("usagePlanId")) == (key.id, plan.id)
    assert dev.outputs["tenants"][tenant]["apiKey"] == SECRET_MASK


def test_usage_plans_attach_to_the_configured_api_stage():
    rec = run_dev(api='{"restApiId": "a1b2c3", "stage": "v1"}')
    stages = {r.input("apiStages")[0]["apiId"] + "/" + r.input("apiStages")[0]["stage"]
              for r in rec.of_type("aws:apigateway/usagePlan:UsagePlan")}
    assert stages == {"a1b2c3/v1"}


@pytest.mark.parametrize("tenant, own_db", [("globex", True), ("initech", True), ("acme", True), ("brightside", False)])
def test_an_own_database_takes_its_storage_from_the_storage_limit(dev, registry, tenant, own_db):
    effective = registry.get(tenant)
    dbs = of(dev, tenant, "aws:rds/instance:Instance")
    assert bool(dbs) is own_db
    if own_db:
        limit = int(effective.quotas.storage_limit)
        allocated = dbs[0].input("allocatedStorage")
        assert allocated == min(effective.plan.database.allocated_storage, limit)
        ceiling = dbs[0].input("maxAllocatedStorage")
        # RDS refuses an autoscaling ceiling under 110% of the allocation: then there is none.
        if limit >= allocated * 1.1:
            assert ceiling == limit
        else:
            assert ceiling is None


@pytest.mark.parametrize("tenant", TENANTS)
def test_log_group_and_topic_are_encrypted_with_the_tenant_key_and_alarms_reach_the_topic(dev, registry, tenant):
    effective = registry.get(tenant)
    logs = next(r for r in of(dev, tenant, "aws:cloudwatch/logGroup:LogGroup") if r.input("name").endswith("/app"))
    assert logs.input("retentionInDays") == effective.plan.monitoring.log_retention_days
    assert logs.input("kmsKeyId") == key_arn(dev, tenant)
    topic = one(dev, tenant, "aws:sns/topic:Topic")
    assert topic.input("kmsMasterKeyId") == key_arn(dev, tenant)
    alarms = {r.name.rsplit("-monitoring-", 1)[1]: r for r in of(dev, tenant, "aws:cloudwatch/metricAlarm:MetricAlarm")}
    expected = {"dlq-not-empty", "oldest-message"}
    if tenant in ("globex", "initech", "acme"):
        expected |= {"database-cpu", "database-storage"}
    groups = of(dev, tenant, "aws:elasticache/replicationGroup:ReplicationGroup")
    # ElastiCache publishes memory per node (CacheClusterId `<group>-001`...), never per group.
    nodes = [f"{g.input('replicationGroupId')}-{i:03d}" for g in groups for i in range(1, int(g.input("numCacheClusters")) + 1)]
    expected |= {f"cache-memory-{node.rsplit('-', 1)[1]}" for node in nodes}
    assert set(alarms) == expected
    assert sorted(a.input("dimensions")["CacheClusterId"] for n, a in alarms.items() if n.startswith("cache-")) == nodes
    assert all(a.input("alarmActions") == [topic.outputs["arn"]] for a in alarms.values())
    queues = {q.name.rsplit("-", 1)[1]: q.outputs["name"] for q in of(dev, tenant, "aws:sqs/queue:Queue")}
    assert alarms["dlq-not-empty"].input("dimensions") == {"QueueName": queues["dlq"]}
    assert alarms["dlq-not-empty"].input("threshold") == 0
    assert alarms["oldest-message"].input("threshold") == effective.plan.monitoring.oldest_message_age_seconds
    if "database-cpu" in alarms:
        assert alarms["database-cpu"].input("threshold") == effective.plan.monitoring.database_cpu_percent
        # free storage is measured against what is allocated now, not the autoscaling ceiling
        (db,) = of(dev, tenant, "aws:rds/instance:Instance")
        percent = effective.plan.monitoring.database_free_storage_percent
        assert alarms["database-storage"].input("threshold") == db.input("allocatedStorage") * percent / 100 * 1024 ** 3
    assert len(of(dev, tenant, "aws:cloudwatch/dashboard:Dashboard")) == 1


@pytest.mark.parametrize("tenant", TENANTS)
def test_budget_follows_the_registry_with_forecast_and_actual_alerts(dev, registry, tenant):
    effective = registry.get(tenant)
    budget = one(dev, tenant, "aws:budgets/budget:Budget")
    expected = effective.tenant.billing.monthly_budget
    if expected is None:
        expected = effective.plan.default_monthly_budget
    assert float(budget.input("limitAmount")) == expected and budget.input("timeUnit") == "MONTHLY"
    assert budget.input("costFilters") == [{"name": "TagKeyValue", "values": [f"user:tenant-id${tenant}"]}]
    notes = {(n["notificationType"], n["threshold"]) : n for n in budget.input("notifications")}
    assert set(notes) == {("FORECASTED", 80), ("ACTUAL", 100)}
    topic = one(dev, tenant, "aws:sns/topic:Topic").outputs["arn"]
    for note in notes.values():
        assert note["subscriberSnsTopicArns"] == [topic]
        assert note.get("subscriberEmailAddresses", []) == list(effective.tenant.billing.alert_emails)


@pytest.mark.parametrize("tenant", TENANTS)
def test_feature_flags_are_valid_appconfig_content_with_the_tenant_features_and_limits(dev, registry, tenant):
    effective = registry.get(tenant)
    version = one(dev, tenant, "aws:appconfig/hostedConfigurationVersion:HostedConfigurationVersion")
    content = json.loads(version.input("content"))
    jsonschema.validate(content, SCHEMA)
    assert {f for f, v in content["values"].items() if v["enabled"]} >= set(effective.tenant.features)
    assert content["values"]["active"]["enabled"] is (not effective.suspended)
    limits = content["values"]["limits"]
    assert limits["maxUsers"] == effective.quotas.max_users
    assert limits["maxProjects"] == effective.quotas.max_projects
    assert limits["networkBandwidth"] == effective.quotas.network_bandwidth
    profile = one(dev, tenant, "aws:appconfig/configurationProfile:ConfigurationProfile")
    assert profile.input("type") == "AWS.AppConfig.FeatureFlags"
    environment = one(dev, tenant, "aws:appconfig/environment:Environment")
    deployment = one(dev, tenant, "aws:appconfig/deployment:Deployment")
    assert deployment.input("environmentId") == environment.outputs["environmentId"]
    assert deployment.input("configurationProfileId") == profile.outputs["configurationProfileId"]


def test_the_schema_used_here_rejects_a_malformed_document():
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"version": "1", "flags": {"Bad Name": {"name": "x"}}}, SCHEMA)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"version": "1", "values": {"sso": {}}}, SCHEMA)


def test_the_workload_role_may_read_its_own_flags_and_ship_its_own_logs(dev):
    access = next(r for r in dev.tenant("dev", "acme") if r.type == "aws:iam/rolePolicy:RolePolicy"
                  and r.name.endswith("-identity-access"))
    statements = {s["Sid"]: s for s in json.loads(access.input("policy"))["Statement"]}
    profile = one(dev, "acme", "aws:appconfig/configurationProfile:ConfigurationProfile").outputs["configurationProfileId"]
    assert statements["ReadOwnFlags"]["Resource"][0].endswith(f"/configuration/{profile}")
    assert statements["ShipOwnLogs"]["Resource"][0].endswith(":log-group:/tenancy/dev/acme/app:*")
