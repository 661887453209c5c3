"""policies/__main__.py builds exactly the intended pack, and nothing after it."""

from __future__ import annotations

import runpy
from unittest import mock

import pulumi_policy
from pulumi_policy import EnforcementLevel, ResourceValidationPolicy, StackValidationPolicy

from tenancy.plan.policy_runner import PackError, effective_config, load_pack

from .conftest import ROOT, pack_config

RESOURCE_POLICIES = {
    "kms-key-rotation", "kms-key-deletion-window", "kms-key-policy-no-open-principal", "kms-key-lockout-check",
    "rds-encrypted-with-cmk", "rds-not-public", "rds-deletion-protection", "rds-backup-retention", "rds-iam-auth",
    "rds-performance-insights-cmk", "elasticache-encryption", "elasticache-auth", "elasticache-subnet-group",
    "sqs-cmk", "secrets-cmk", "k8s-namespace-pod-security", "stateful-resources-protected",
}
STACK_POLICIES = {
    "tenant-tags", "no-cross-tenant-references", "one-key-per-tenant", "vpc-flow-logs", "tenant-cidrs-no-overlap",
    "isolated-tenant-in-own-vpc", "security-group-no-open-ingress",
    "iam-tenant-scope", "rds-tls-forced", "sqs-dead-letter", "namespace-guardrails",
    "tenant-usage-plan", "tenant-budget", "tenant-log-group", "tenant-alarm-topic", "tenant-isolation",
}
ADVISORY_IN_DEV = {"kms-key-deletion-window", "rds-deletion-protection", "stateful-resources-protected"}


def test_main_builds_one_pack_with_every_policy_mandatory_by_default():
    with mock.patch.object(pulumi_policy, "PolicyPack") as pack:
        runpy.run_path(str(ROOT / "policies"), run_name="__main__")
    assert pack.call_count == 1
    kwargs = pack.call_args.kwargs
    assert kwargs["name"] == "tenancy-isolation"
    assert kwargs["enforcement_level"] is EnforcementLevel.MANDATORY
    policies = {p.name: p for p in kwargs["policies"]}
    assert {n for n, p in policies.items() if isinstance(p, ResourceValidationPolicy)} == RESOURCE_POLICIES
    assert {n for n, p in policies.items() if isinstance(p, StackValidationPolicy)} == STACK_POLICIES
    for policy in policies.values():
        assert policy.enforcement_level is EnforcementLevel.MANDATORY, policy.name
        assert policy.description and policy.remediation_steps and policy.severity is not None, policy.name


def test_environment_configs_set_the_intended_levels(pack):
    dev = effective_config(pack, pack_config("dev"))
    prod = effective_config(pack, pack_config("prod"))
    for name in RESOURCE_POLICIES | STACK_POLICIES:
        assert dev[name][0] is (EnforcementLevel.ADVISORY if name in ADVISORY_IN_DEV else EnforcementLevel.MANDATORY)
        assert prod[name][0] is EnforcementLevel.MANDATORY
    assert dev["kms-key-deletion-window"][1] == {"minimumDays": 30}
    assert prod["rds-backup-retention"][1] == {"minimumDays": 14}


def test_config_naming_an_unknown_policy_or_level_is_refused(pack):
    import pytest
    with pytest.raises(PackError, match="does not have: no-such-policy"):
        effective_config(pack, {"no-such-policy": "mandatory"})
    with pytest.raises(PackError, match="unknown enforcement level 'strict'"):
        effective_config(pack, {"all": "strict"})


def test_a_directory_without_a_pack_is_a_clear_error(tmp_path):
    import pytest
    with pytest.raises(PackError, match="__main__.py is missing"):
        load_pack(tmp_path)
