"""Feature flags outgrow one AppConfig application (20 environments each, one per tenant): tenants
spread over the platform's flags applications by a hash of their own id."""

from __future__ import annotations

from tenancy.plan.harness import run_program
from tenancy.registry.naming import flags_shard

from ..conftest import PROJECT
from .conftest import dev_config


def test_each_tenant_deploys_its_flags_to_the_application_its_id_selects():
    rec = run_program(PROJECT, "dev", dev_config(pool='{"flagsApplications": 3}'))
    apps = sorted(rec.of_type("aws:appconfig/application:Application"), key=lambda a: a.input("name"))
    assert [a.input("name") for a in apps] == [f"tenancy-dev-flags-{i}" for i in range(3)]
    environments = rec.of_type("aws:appconfig/environment:Environment")
    assert environments
    for env in environments:
        tenant = env.input("name")
        assert env.input("applicationId") == apps[flags_shard(tenant, 3)].id


def test_the_shard_depends_on_the_id_alone_and_spreads():
    ids = [f"tenant{i}" for i in range(200)]
    shards = [flags_shard(i, 5) for i in ids]
    assert shards == [flags_shard(i, 5) for i in ids]  # no state: adding others moves nobody
    assert all(15 <= shards.count(s) <= 65 for s in range(5))
