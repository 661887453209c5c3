"""Account capacity: what a plan needs of one account's service quotas, counted from the plan
itself, refused when over, and how many more tenants of each tier fit."""

from __future__ import annotations

import json
import shutil

import pytest

from tenancy.plan.capacity import QUOTAS, capacity, usage
from tenancy.plan.harness import run_program
from tenancy.registry.project import config_from_stack_file

from ..conftest import PROJECT
from ..run_cli import tenancy


@pytest.fixture(scope="module")
def dev(dev_plan):
    return dev_plan


def test_every_quota_has_a_name_a_default_and_a_scope():
    for quota in QUOTAS.values():
        assert quota.name and quota.default > 0 and quota.scope
        assert not quota.code or quota.code.startswith("L-")


def test_usage_counts_what_the_plan_creates(dev):
    used = usage(dev.registrations)
    assert used[("vpcs", "")] == len(dev.of_type("aws:ec2/vpc:Vpc"))
    assert used[("eips", "")] == len(dev.of_type("aws:ec2/eip:Eip"))
    pool_users = [u for (key, group), u in used.items() if key == "cache-users-per-group" and group == "dev-pool"]
    members = len(dev.of_type("aws:elasticache/userGroupAssociation:UserGroupAssociation")) + 1  # + default
    assert pool_users == [members]


def test_how_many_more_isolated_tenants_fit_is_bounded_by_the_region_wide_network_quotas(dev):
    # each isolated tenant (single NAT in dev) adds a VPC, an internet gateway, an Elastic IP and a NAT
    # gateway in the first zone
    vpcs, igws, eips = (len(dev.of_type(t)) for t in ("aws:ec2/vpc:Vpc", "aws:ec2/internetGateway:InternetGateway",
                                                      "aws:ec2/eip:Eip"))
    nats_in_first_zone = len(dev.of_type("aws:ec2/natGateway:NatGateway"))  # one per VPC, in zone a
    assert capacity(dev).fits["isolated"] == min(5 - vpcs, 5 - igws, 5 - eips, 5 - nats_in_first_zone)


def test_raised_quotas_count_by_code_or_name(dev):
    raised = {"L-F678F1CE": 50, "EC2-VPC Elastic IPs": 50, "L-A4707A72": 50, "NAT gateways per Availability Zone": 50}
    assert capacity(dev, raised).fits["isolated"] > capacity(dev).fits["isolated"]


def test_prod_with_a_nat_per_zone_needs_more_elastic_ips_than_the_default(tmp_path):
    config = config_from_stack_file(PROJECT / "Pulumi.prod.yaml")
    config.pop("tenancy:quotas")
    account = capacity(run_program(PROJECT, "prod", config))
    [over] = account.exceeded
    assert (over.quota.code, over.limit) == ("L-0263D0A3", 5) and over.used > 5
    assert "request quota L-0263D0A3" in str(over)


def test_plan_fails_when_a_quota_is_exceeded_and_names_the_code(tmp_path):
    project = tmp_path / "project"
    shutil.copytree(PROJECT, project, ignore=shutil.ignore_patterns("__pycache__"))
    prod = project / "Pulumi.prod.yaml"
    prod.write_text(prod.read_text().replace("tenancy:quotas: {L-0263D0A3: 20}", "tenancy:quotas: {L-0263D0A3: 5}"))
    plan = tenancy("plan", "--stack", "prod", "--format", "json", cwd=project)
    assert plan.returncode == 1
    data = json.loads(plan.stdout)
    assert data["exitCode"] == 1 and data["capacity"]["passed"] is False
    over = [q for q in data["capacity"]["quotas"] if q["used"] > q["limit"]]
    assert [(q["code"], q["limit"]) for q in over] == [("L-0263D0A3", 5)]


def test_the_capacity_command_lists_every_quota_and_what_more_fits():
    result = tenancy("capacity", "--stack", "dev", cwd=PROJECT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "VPCs per Region" in result.stdout and "L-F678F1CE" in result.stdout
    assert "more tenants that fit: dedicated" in result.stdout


def test_in_preview_ids_not_known_yet_never_add_up_to_a_false_alarm():
    # in preview every subnet, VPC and application id is unknown: counting them as one scope would
    # put every NAT gateway in one zone and fail a plan that deploys fine
    rec = run_program(PROJECT, "prod", preview=True)
    account = capacity(rec, {"L-0263D0A3": 20})  # as the prod stack file declares
    assert account.exceeded == []
    assert not [line for line in account.lines if line.quota.key == "nat-per-zone" and line.used > 1]
