"""The pooled cache's tenant isolation, proven against a real redis-server."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
import redis

from tenancy.dataplane.apply import DataPlaneError, apply_cache_acl
from tenancy.dataplane.redis_acl import AclRule, acl_rules, pooled_cache_tenants
from tenancy.registry.naming import cache_user_id

from ..conftest import PROJECT
from .probe import probe_redis


def password(tenant_id: str) -> str:
    return f"cache-{tenant_id}-secret"


def user_url(cache, tenant_id: str) -> str:
    return cache.url(cache_user_id("dev", tenant_id), password(tenant_id))


@pytest.fixture
def pooled(dev_tenants):
    return pooled_cache_tenants(dev_tenants)


@pytest.fixture
def applied(cache, pooled):
    rules = acl_rules(pooled, "dev", {t.id: password(t.id) for t in pooled})
    apply_cache_acl(cache.url(), rules)
    return rules


def run_cli(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "tenancy", *args], cwd=PROJECT, capture_output=True, text=True,
                          env={"PATH": os.environ["PATH"], **(env or {})})


def test_the_acl_and_the_elasticache_users_share_one_access_string(dev, pooled):
    rules = {r.user: " ".join(r.rules) for r in acl_rules(pooled, "dev", {})}
    for user in dev.of_type("aws:elasticache/user:User"):
        if user.input("userName") in rules:
            assert user.input("accessString") == rules[user.input("userName")]


def test_dry_run_prints_the_rules_without_connecting_or_passwords():
    result = run_cli("cache-acl", "--environment", "dev", "--dry-run",
                     env={"TENANCY_CACHE_PASSWORD_NORTHWIND": "top-secret-value"})
    assert result.returncode == 0, result.stderr
    assert "top-secret-value" not in result.stdout
    assert "ACL SETUSER dev-northwind reset on >******** ~northwind:* &northwind:*" in result.stdout
    assert result.stdout.splitlines()[-1] == "ACL SETUSER default reset off -@all"


def test_each_tenant_uses_its_own_keys_and_channels(cache, applied, pooled):
    active = [t for t in pooled if not t.suspended]
    for tenant in active:
        client = redis.Redis.from_url(user_url(cache, tenant.id), decode_responses=True)
        client.set(f"{tenant.id}:greeting", "hello")
        assert client.get(f"{tenant.id}:greeting") == "hello"
        assert client.publish(f"{tenant.id}:events", "x") == 0
        client.close()


def test_no_tenant_reaches_another_tenants_keys_or_channels(cache, applied, pooled):
    active = [t.id for t in pooled if not t.suspended]
    assert len(active) >= 2
    assert probe_redis(lambda t: user_url(cache, t), active) == []


def test_tenants_cannot_run_admin_or_dangerous_commands(cache, applied, pooled):
    tenant = next(t for t in pooled if not t.suspended)
    client = redis.Redis.from_url(user_url(cache, tenant.id), decode_responses=True)
    for command in (("CONFIG", "GET", "*"), ("FLUSHALL",), ("FLUSHDB",), ("ACL", "LIST"), ("ACL", "SETUSER", "x"),
                    ("SHUTDOWN",), ("KEYS", "*"), ("MONITOR",), ("SCAN", "0"), ("RANDOMKEY",)):
        with pytest.raises(redis.exceptions.NoPermissionError):
            client.execute_command(*command)
    client.close()


def test_the_default_user_is_off_and_a_suspended_tenant_cannot_log_in(cache, applied, pooled):
    anonymous = redis.Redis(port=cache.port)
    with pytest.raises((redis.exceptions.AuthenticationError, redis.exceptions.ResponseError)):
        anonymous.ping()
    suspended = next(t for t in pooled if t.suspended)
    with pytest.raises(redis.exceptions.AuthenticationError):
        redis.Redis.from_url(user_url(cache, suspended.id)).ping()


def test_applying_twice_changes_nothing(cache, applied):
    admin = redis.Redis.from_url(cache.url(), decode_responses=True)
    before = admin.acl_list()
    apply_cache_acl(cache.url(), applied)
    assert admin.acl_list() == before
    admin.close()


def test_a_weakened_pattern_is_caught_by_the_probe(cache, pooled):
    rules = acl_rules(pooled, "dev", {t.id: password(t.id) for t in pooled})
    weak = [AclRule(r.user, tuple("~*" if p.startswith("~") else p for p in r.rules), r.password) for r in rules]
    apply_cache_acl(cache.url(), weak)
    active = [t.id for t in pooled if not t.suspended]
    breaches = probe_redis(lambda t: user_url(cache, t), active)
    assert f"{active[0]} could GET {active[1]}:k" in breaches


def test_connecting_as_the_default_user_is_refused_before_anything_changes(cache, pooled):
    admin = redis.Redis.from_url(cache.url(), decode_responses=True)
    before = admin.acl_list()
    with pytest.raises(DataPlaneError, match="connected as the default user"):
        apply_cache_acl(f"redis://127.0.0.1:{cache.port}/0", acl_rules(pooled, "dev", {}))
    assert admin.acl_list() == before


def test_the_cli_applies_with_passwords_from_the_environment_and_fails_clearly(cache, pooled):
    env = {f"TENANCY_CACHE_PASSWORD_{t.id.upper()}": password(t.id) for t in pooled}
    ok = run_cli("cache-acl", "--environment", "dev", "--url", cache.url(), env=env)
    assert ok.returncode == 0, ok.stderr
    assert "admin-redis-pw" not in ok.stdout + ok.stderr
    missing = run_cli("cache-acl", "--environment", "dev", "--url", cache.url())
    assert missing.returncode == 2 and "TENANCY_CACHE_PASSWORD_" in missing.stderr
    wrong = run_cli("cache-acl", "--environment", "dev", "--url", cache.url(password="nope"), env=env)
    assert wrong.returncode == 2 and "authentication failed" in wrong.stderr and "Traceback" not in wrong.stderr
    closed = run_cli("cache-acl", "--environment", "dev", "--url", "redis://admin:pw@127.0.0.1:1/0", env=env)
    assert closed.returncode == 2 and "cannot connect to redis://admin@127.0.0.1:1/0" in closed.stderr
