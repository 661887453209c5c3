"""End to end: whole programs (the fixture project, tests/fixtures/sample) under the offline harness,
judged by the pack as the CLI loads it through the SDK's own analyzer. A handful of runs, each a few
seconds: the fixture's dev and prod plans pass every policy; dev in preview leaves only the policies
that need values unknown before the update; and one deliberate break per family of policies, in a
normal run and in preview. The rules themselves, every break of every policy, are unit cases on
in-memory stacks (test_stack_rules.py, test_resource_rules.py); the last test here checks that each
policy of the pack has one that it catches."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from tenancy.plan.policy_runner import check

from . import test_isolation, test_resource_rules, test_stack_rules
from .conftest import check_program, pack_config, run_variant

# Values computed by the cloud (ARNs, ids) are unknown in preview; the key and role policies name
# such values, and the access graph needs them all, so the engine reports these policies as not run
# rather than passed.
JUDGED_AFTER_PREVIEW = {"kms-key-policy-no-open-principal", "iam-tenant-scope", "tenant-isolation"}


@dataclass(frozen=True)
class Variant:
    family: str
    fires: frozenset[str]  # every policy the break trips in a normal run, no more
    policy: str  # the policy the break is for
    reported: tuple[str, str, str]  # one of its violations: (resource name, tenant, message)
    level: str  # in dev


VARIANTS = {
    "stateful-resources-protected": Variant(
        "resource rule; protection, advisory in dev", frozenset({"stateful-resources-protected"}),
        "stateful-resources-protected",
        ("dev-acme-db-instance", "acme", "a stateful resource is not protected; deleting or replacing it would lose data"),
        "advisory"),
    "no-cross-tenant-references": Variant(
        "cross-tenant stack rule, by dependency",
        frozenset({"no-cross-tenant-references", "tenant-isolation"}),
        "no-cross-tenant-references",
        ("break-cross-tenant", "initech", "break-cross-tenant of tenant initech depends on dev-acme-app-sg of tenant acme"),
        "mandatory"),
    "one-key-per-tenant": Variant(
        "cross-tenant stack rule, by value: keys", frozenset({"one-key-per-tenant", "no-cross-tenant-references"}),
        "one-key-per-tenant",
        ("dev-initech-queues-queue", "initech",
         "dev-initech-queues-queue of tenant initech is encrypted with dev-acme-key-cmk, the key of acme"),
        "mandatory"),
    "iam-tenant-scope": Variant(
        "IAM rule, judged only after preview", frozenset({"iam-tenant-scope", "no-cross-tenant-references"}),
        "iam-tenant-scope",
        ("dev-initech-identity-access", "initech",
         "dev-initech-identity-access of tenant initech names dev-acme-queues-queue of tenant acme"),
        "mandatory"),
    "tenant-cidrs-no-overlap": Variant(
        "network rule: a second isolated tenant on another's addresses", frozenset({"tenant-cidrs-no-overlap"}),
        "tenant-cidrs-no-overlap",
        ("dev-hooli-network-vpc", "hooli",
         "dev-hooli-network-vpc (10.64.0.0/20) of tenant hooli overlaps dev-acme-network-vpc (10.64.0.0/20) of tenant acme"),
        "mandatory"),
}


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_the_fixture_plans_pass_every_policy(pack, request, stack):
    report = check(request.getfixturevalue(f"{stack}_plan"), pack, pack_config(stack))  # the session's plain run
    assert report.violations == []
    assert report.not_run == []


def test_preview_with_unknown_values_skips_only_what_it_cannot_judge(pack):
    report = check_program(pack, "dev", preview=True)
    assert report.violations == []
    assert report.not_run == sorted(JUDGED_AFTER_PREVIEW)


def _reported(report, variant: Variant):
    found = report.of(variant.policy)
    assert variant.reported in [(v.resource_name, v.tenant, v.message) for v in found], \
        f"{variant.policy} did not report {variant.reported}; it reported {[(v.resource_name, v.message) for v in found]}"
    return next(v for v in found if (v.resource_name, v.tenant, v.message) == variant.reported)


@pytest.mark.parametrize("name", sorted(VARIANTS))
def test_a_break_of_each_family_is_caught_naming_the_resource_and_tenant(pack, name):
    variant = VARIANTS[name]
    recording = run_variant(name)
    report = check(recording, pack, pack_config("dev"))
    assert {v.policy for v in report.violations} == variant.fires
    assert report.not_run == []
    violation = _reported(report, variant)
    assert violation.urn.endswith(f"::{violation.resource_name}") and violation.resource_type
    assert violation.severity != "unspecified" and violation.remediation and violation.description
    assert violation.level == variant.level
    if variant.level == "advisory":  # the prod config makes it mandatory
        prod = check(recording, pack, pack_config("prod"))
        assert [v.level for v in prod.of(variant.policy)] == ["mandatory"] * len(report.of(variant.policy))


# Whole programs in preview for one break of each way a policy judges (after the update, by
# dependency, by address); every rule's preview behaviour is also tested on in-memory stacks.
PREVIEW_VARIANTS = ("iam-tenant-scope", "no-cross-tenant-references", "tenant-cidrs-no-overlap")


@pytest.mark.parametrize("name", PREVIEW_VARIANTS)
def test_in_preview_a_break_is_caught_or_its_policy_reported_as_not_run(pack, name):
    variant = VARIANTS[name]
    report = check(run_variant(name, preview=True), pack, pack_config("dev"), preview=True)
    assert report.not_run == sorted(JUDGED_AFTER_PREVIEW)
    # what can be judged is; a policy that needs values unknown yet may report what it already knows
    fired = {v.policy for v in report.violations}
    assert variant.fires - JUDGED_AFTER_PREVIEW <= fired <= variant.fires
    if variant.policy not in JUDGED_AFTER_PREVIEW:
        _reported(report, variant)


def test_every_policy_of_the_pack_has_a_unit_case_that_catches_a_break(pack):
    policies = {p.name for p in pack.policies}
    caught = test_stack_rules.CASES.caught() | test_resource_rules.CASES.caught() | test_isolation.CASES.caught()
    assert sorted(policies - caught) == []
    assert sorted(caught - policies) == []  # no case for a policy the pack no longer has


def test_the_variants_stand_for_policies_of_the_pack(pack):
    policies = {p.name for p in pack.policies}
    for variant in VARIANTS.values():
        assert variant.policy in variant.fires <= policies
