"""Stateful resources are protected by default; only a stack setting lifts it."""

from __future__ import annotations

from .conftest import run_dev

STATEFUL = {"aws:rds/instance:Instance", "aws:elasticache/replicationGroup:ReplicationGroup",
            "aws:kms/key:Key", "aws:secretsmanager/secret:Secret", "aws:cognito/userPool:UserPool"}
RETAINED = {"aws:kms/key:Key", "aws:secretsmanager/secret:Secret"}


def test_every_database_cache_key_and_secret_is_protected_and_keys_and_secrets_retained(dev):
    stateful = [r for r in dev.resources if r.type in STATEFUL]
    assert {r.type for r in stateful} == STATEFUL
    assert all(r.protect for r in stateful), [r.name for r in stateful if not r.protect]
    assert all(r.retain_on_delete for r in stateful if r.type in RETAINED)


def test_stateless_resources_are_not_protected(dev):
    assert not any(r.protect for r in dev.resources if r.type not in STATEFUL)


def test_a_throwaway_stack_may_lift_protection():
    rec = run_dev(protectStatefulResources="false")
    stateful = [r for r in rec.resources if r.type in STATEFUL]
    assert stateful and not any(r.protect or r.retain_on_delete for r in stateful)
    # the cloud-side guards stay on regardless
    assert all(r.input("deletionProtection") is True for r in rec.of_type("aws:rds/instance:Instance"))
    assert all(r.input("deletionProtection") == "ACTIVE" for r in rec.of_type("aws:cognito/userPool:UserPool"))
