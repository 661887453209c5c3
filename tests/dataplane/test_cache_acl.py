"""The pooled cache's tenant isolation, proven against a real redis-server."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
import redis

from tenancy.dataplane.apply import DataPlaneError, apply_cache_acl
from tenancy.dataplane.redis_acl import AclRule, acl_rules, pooled_cache_tenants
from tenancy.registry.access import cache_access_string
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
    northwind = next(line for line in result.stdout.splitlines() if line.startswith("ACL SETUSER dev-northwind "))
    assert northwind.startswith("ACL SETUSER dev-northwind reset on >******** ~northwind:* &northwind:* -@all +@string ")
    assert northwind.endswith(" -@admin -@dangerous -@scripting")
    assert "+@all" not in result.stdout and "+@scripting" not in result.stdout and "+client" not in result.stdout
    assert result.stdout.splitlines()[-1] == "ACL SETUSER default reset off -@all"


ELASTICACHE_RESTRICTED = {"bgrewriteaof", "bgsave", "config", "debug", "migrate", "replicaof", "save", "slaveof",
                          "shutdown", "sync"}


@pytest.mark.parametrize("enabled", [True, False])
def test_the_access_string_is_an_allowlist_in_the_syntax_elasticache_accepts(enabled):
    tokens = cache_access_string("acme", enabled).split()
    assert tokens[:4] == ["on" if enabled else "off", "~acme:*", "&acme:*", "-@all"]
    grants = tokens[4:tokens.index("-@admin")]
    assert grants and all(t.startswith("+") and t not in ("+@all", "+@read", "+@write", "+@keyspace", "+@connection",
                                                             "+@pubsub", "+@scripting", "+@admin", "+@dangerous")
                          for t in grants)
    assert tokens[tokens.index("-@admin"):] == ["-@admin", "-@dangerous", "-@scripting"]
    assert not any(t in ("reset", "resetkeys", "resetchannels", "allkeys", "allchannels", "nopass") or t[0] in ">#<!%"
                   or "|" in t or t.lstrip("+-") in ELASTICACHE_RESTRICTED for t in tokens)


REVIEWED_KEYLESS = {"ping", "echo", "hello", "auth", "reset", "quit", "multi", "exec", "discard", "unwatch",
                    "publish", "subscribe", "unsubscribe", "psubscribe", "punsubscribe", "spublish", "ssubscribe",
                    "sunsubscribe", "xinfo|help", "xgroup|help"}
"""The only commands without key arguments a tenant may run: its own connection and transaction,
channels (which `&<id>:*` filters), and two help texts."""

NEVER = {"eval", "eval_ro", "evalsha", "evalsha_ro", "fcall", "fcall_ro", "script", "function", "client", "dbsize",
         "memory", "info", "keys", "scan", "randomkey", "pubsub", "object", "debug", "migrate", "move", "copy",
         "select", "swapdb", "sort", "sort_ro", "wait", "waitaof", "monitor", "config", "acl", "flushall", "flushdb",
         "restore", "dump", "command", "latency", "slowlog", "lolwut", "role", "module", "sync", "psync", "shutdown"}


def command_table(admin: redis.Redis) -> dict[str, tuple[int, list]]:
    """Every command and subcommand of the server: its first key position and its key specs."""
    table = {}
    for name, info in admin.command().items():
        table[name] = (info["first_key_pos"], info["key_specifications"])
        for sub in info["subcommands"]:
            table[sub[0].decode()] = (sub[3], sub[8])
    return table


def effective_commands(admin: redis.Redis, rules: list[str]) -> set[str]:
    """The commands (`name` or `name|sub`) that the rules allow, expanded by the server's own
    categories, in the rules' order."""
    table = command_table(admin)
    allowed: set[str] = set()
    for rule in rules:
        if rule in ("-@all", "+@all"):
            allowed = set() if rule == "-@all" else set(table)
        elif rule[:2] in ("+@", "-@"):
            members = {m.decode() for m in admin.execute_command("ACL", "CAT", rule[2:])}
            allowed = allowed | members if rule[0] == "+" else allowed - members
        elif rule[0] in "+-":
            members = {c for c in table if c == rule[1:] or c.startswith(f"{rule[1:]}|")}
            allowed = allowed | members if rule[0] == "+" else allowed - members
    return allowed


def names_its_keys(table: dict[str, tuple[int, list]], command: str) -> bool:
    """Its key specs name a real key (SPUBLISH's names a channel: `not_key`); the first-key position
    only for a server without key specs."""
    first_key, key_specs = table[command]
    if not key_specs:
        return first_key > 0
    return any(b"not_key" not in [f.lower() for f in spec[spec.index(b"flags") + 1]] for spec in key_specs)


def test_every_command_a_tenant_may_run_names_its_keys_or_only_touches_its_own_connection(cache):
    admin = redis.Redis.from_url(cache.url())
    allowed = effective_commands(admin, cache_access_string("acme").split()[3:])
    table = command_table(admin)
    keyless = {c for c in allowed if not names_its_keys(table, c)}
    admin.close()
    assert keyless == REVIEWED_KEYLESS
    assert {c.split("|")[0] for c in allowed} & NEVER == set()
    assert {"get", "set", "hset", "xreadgroup", "zadd", "expire", "multi", "publish"} <= allowed


def test_elasticache_applying_the_string_to_a_fresh_user_gives_the_same_rights_as_cache_acl(cache, applied):
    """ElastiCache applies the access string to a new user without `reset`; cache-acl starts with one."""
    admin = redis.Redis.from_url(cache.url(), decode_responses=True)
    admin.execute_command("ACL", "SETUSER", "fresh", *cache_access_string("northwind").split())
    fresh, pooled = admin.acl_getuser("fresh"), admin.acl_getuser(cache_user_id("dev", "northwind"))
    admin.close()
    for part in ("commands", "keys", "channels", "categories", "enabled"):
        assert fresh[part] == pooled[part], part


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


def test_cache_usage_names_the_tenant_that_fills_the_pooled_cache(cache, pooled):
    admin = redis.Redis.from_url(cache.url(), decode_responses=True)
    admin.config_set("maxmemory", 64 * 1024 * 1024)
    try:
        _fill_and_measure(admin, cache, pooled)
    finally:
        admin.config_set("maxmemory", 0)  # the server is shared by the session's tests


def _fill_and_measure(admin, cache, pooled):
    import json

    hog, quiet = pooled[0].id, pooled[1].id
    admin.set(f"{quiet}:k", "x")
    pipe = admin.pipeline()
    for i in range(400):
        pipe.set(f"{hog}:blob:{i}", "x" * 40_000)
    pipe.execute()
    result = run_cli("cache-usage", "--environment", "dev", "--url", cache.url(), "--format", "json")
    assert result.returncode == 1, result.stderr
    assert "admin-redis-pw" not in result.stdout + result.stderr
    data = json.loads(result.stdout)
    rows = {row["tenant_id"]: row for row in data["tenants"]}
    assert rows[hog]["keys"] == 400 and rows[quiet]["keys"] == 1
    assert data["over_threshold"] == [hog]
    closed = run_cli("cache-usage", "--environment", "dev", "--url", "redis://admin:pw@127.0.0.1:1/0")
    assert closed.returncode == 2 and "Traceback" not in closed.stderr
