"""The plan diff engine on small programs run by the offline harness (real recordings, real secret
wrappers, no registry): create, update with the changed keys, replace on a known trigger, delete,
owners, other tenants' changes, and secrets never shown."""

from __future__ import annotations

import json

import pulumi
import pulumi_aws as aws
import pytest

from tenancy.plan.diff import PLATFORM, REPLACE_TRIGGERS, PlanDiff, diff_plans, render_text
from tenancy.plan.harness import run_function
from tenancy.registry.naming import PLATFORM_COMPONENT_TYPE, TENANT_COMPONENT_TYPE

PASSWORD = "hunter2-very-secret"


class FakeTenant(pulumi.ComponentResource):
    def __init__(self, tenant_id: str):
        super().__init__(TENANT_COMPONENT_TYPE, f"dev-{tenant_id}", {"tags": {"tenant-id": tenant_id}})


def program(alpha_users: int = 10, beta_rate: int = 5, alpha_password: str = PASSWORD, gamma: bool = False,
            delta: bool = True, flags: str = "v1", queue_name: str = "dev-alpha"):
    def build():
        platform = pulumi.ComponentResource(PLATFORM_COMPONENT_TYPE, "dev-platform", {})
        aws.sqs.Queue("dev-platform-events", name="dev-platform-events", opts=pulumi.ResourceOptions(parent=platform))
        alpha, beta = FakeTenant("alpha"), FakeTenant("beta")
        in_alpha, in_beta = pulumi.ResourceOptions(parent=alpha), pulumi.ResourceOptions(parent=beta)
        aws.sqs.Queue("dev-alpha-queue", name=queue_name, tags={"maxUsers": str(alpha_users)}, opts=in_alpha)
        aws.secretsmanager.SecretVersion("dev-alpha-login", secret_id="arn:secret",
                                         secret_string=pulumi.Output.secret(json.dumps({"password": alpha_password})),
                                         opts=in_alpha)
        aws.appconfig.HostedConfigurationVersion("dev-alpha-flags", application_id="app1",
                                                 configuration_profile_id="prof1", content_type="application/json",
                                                 content=pulumi.Output.secret(flags), opts=in_alpha)
        aws.apigateway.UsagePlan("dev-beta-plan", throttle_settings={"rate_limit": beta_rate, "burst_limit": 10},
                                 opts=in_beta)
        if delta:
            aws.sqs.Queue("dev-beta-old", name="dev-beta-old", opts=pulumi.ResourceOptions(parent=beta, protect=True))
        if gamma:
            gamma_tenant = FakeTenant("gamma")
            aws.sqs.Queue("dev-gamma-queue", name="dev-gamma", opts=pulumi.ResourceOptions(parent=gamma_tenant))
    return build


def run(**kwargs):
    return run_function(program(**kwargs), project="tenancy", stack="dev", config={"aws:region": "eu-west-1"})


@pytest.fixture(scope="module")
def base():
    return run()


def test_two_runs_of_the_same_program_differ_in_nothing(base):
    diff = diff_plans(base, run(), stack="dev")
    assert diff.changes == [] and diff.tenants() == set()


def test_an_update_names_its_owner_and_the_input_keys_that_change(base):
    diff = diff_plans(base, run(alpha_users=20), stack="dev")
    [change] = diff.changes
    assert (change.name, change.owner, change.owner_is_tenant, change.action) == ("dev-alpha-queue", "alpha", True,
                                                                                  "update")
    assert change.keys == ("tags",)
    assert [(c.path, c.before, c.after) for c in change.changes] == [("tags.maxUsers", "10", "20")]
    assert diff.tenants() == {"alpha"} and PlanDiff([diff]).other_tenants({"alpha"}) == set()


def test_a_change_to_another_tenant_is_reported_as_such(base):
    diff = PlanDiff([diff_plans(base, run(alpha_users=20, beta_rate=7), stack="dev")])
    assert diff.tenants() == {"alpha", "beta"}
    assert diff.other_tenants({"alpha"}) == {"beta"}
    text = "\n".join(render_text(diff, ("alpha",)))
    assert "other tenants' resources change: beta" in text
    assert "throttleSettings.rateLimit: 5 -> 7" in text


def test_created_and_deleted_resources_and_their_owners(base):
    diff = diff_plans(base, run(gamma=True, delta=False), stack="dev")
    assert {(c.action, c.name, c.owner) for c in diff.changes} == {
        ("create", "dev-gamma-queue", "gamma"), ("delete", "dev-beta-old", "beta")}
    deleted = next(c for c in diff.changes if c.action == "delete")
    assert deleted.protected  # `pulumi up` would stop there
    assert "[protected" in "\n".join(render_text(PlanDiff([diff])))
    assert diff.counts() == {"create": 1, "update": 0, "replace": 0, "delete": 1}


def test_a_stack_that_does_not_exist_on_one_side_is_all_creates_or_all_deletes(base):
    created = diff_plans(None, base, stack="dev-alpha")
    assert not created.existed and {c.action for c in created.changes} == {"create"}
    assert len(created.changes) == len(base.resources)
    assert {c.action for c in diff_plans(base, None).changes} == {"delete"}
    assert {c.owner for c in created.changes} == {"alpha", "beta", PLATFORM}


def test_a_known_replace_trigger_makes_a_replacement_and_says_which_key(base):
    diff = diff_plans(base, run(flags="v2"), stack="dev")
    [change] = diff.changes
    assert change.action == "replace" and change.replace_keys == ("content",)
    assert "content" in REPLACE_TRIGGERS[change.type][0]
    assert REPLACE_TRIGGERS[change.type][1].startswith("https://github.com/hashicorp/terraform-provider-aws/")
    # an input the table does not list is an update, even where the provider might replace
    [renamed] = diff_plans(base, run(queue_name="dev-alpha-2")).changes
    assert renamed.action == "update" and renamed.keys == ("name",)


def test_secret_inputs_show_that_they_change_never_their_value(base):
    changed = run(alpha_password="another-secret-value", flags="v2")
    diff = diff_plans(base, changed, stack="dev")
    secret = next(c for c in diff.changes if c.name == "dev-alpha-login")
    assert secret.action == "update" and secret.keys == ("secretString",)
    assert [(c.before, c.after) for c in secret.changes] == [("[secret]", "[secret]")]
    shown = "\n".join(render_text(PlanDiff([diff]))) + json.dumps(PlanDiff([diff]).as_dict(("alpha",)))
    for value in (PASSWORD, "another-secret-value", "v1", "v2"):
        assert value not in shown


def test_a_plan_result_is_accepted_as_well_as_a_recording(base):
    class Result:  # what tenancy.plan.run.PlanResult carries
        recording = base

    assert diff_plans(Result(), base).changes == []
    with pytest.raises(TypeError):
        diff_plans(object(), base)
