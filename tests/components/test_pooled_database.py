"""The pooled PostgreSQL holds every shared tenant: it grows before one tenant fills it, pages
someone when it gets full, caps each session's temporary files, and a `dataIsolation: database`
tenant's login names its own database."""

from __future__ import annotations

import json

from tenancy.plan.harness import run_program
from tenancy.registry.naming import tenant_database

from ..conftest import PROJECT
from .conftest import dev_config


def pooled_db(rec):
    [db] = [r for r in rec.of_type("aws:rds/instance:Instance") if r.name.endswith("-pool-db-instance")]
    return db


def test_the_pooled_database_autoscales_and_alarms_before_it_fills(dev):
    rec = dev
    db = pooled_db(rec)
    allocated, ceiling = db.input("allocatedStorage"), db.input("maxAllocatedStorage")
    assert ceiling >= allocated * 1.1  # what RDS accepts; and room to grow
    [alarm] = [a for a in rec.of_type("aws:cloudwatch/metricAlarm:MetricAlarm") if a.name.endswith("-pool-db-storage")]
    assert alarm.input("dimensions") == {"DBInstanceIdentifier": db.outputs["identifier"]}
    assert 0 < alarm.input("threshold") < allocated * 1024 ** 3
    [topic] = [t for t in rec.of_type("aws:sns/topic:Topic") if t.name.endswith("-pool-alarms")]
    assert alarm.input("alarmActions") == [topic.outputs["arn"]] and topic.input("kmsMasterKeyId")


def test_every_session_of_the_pooled_database_has_a_temp_file_limit():
    rec = run_program(PROJECT, "dev", dev_config(pool='{"databaseTempFileLimitKB": 2048}'))
    [group] = [g for g in rec.of_type("aws:rds/parameterGroup:ParameterGroup") if g.name.endswith("-pool-db-params")]
    params = {p["name"]: p["value"] for p in group.input("parameters")}
    assert params["temp_file_limit"] == "2048"


def test_a_database_mode_tenant_connects_to_its_own_database(registry_dir):
    northwind = registry_dir / "northwind.yaml"
    lines = [line for line in northwind.read_text().splitlines() if not line.startswith("dataIsolation:")]
    northwind.write_text("\n".join(lines + ["dataIsolation: database"]) + "\n")
    rec = run_program(PROJECT, "dev", dev_config(registry=str(registry_dir)))

    def login(tenant: str) -> dict:
        return json.loads(rec.named(f"dev-{tenant}-db-login-value").input("secretString"))

    assert login("northwind")["dbname"] == tenant_database("northwind") != "tenants"
    assert login("brightside")["dbname"] == "tenants"  # a schema tenant stays in the shared database
