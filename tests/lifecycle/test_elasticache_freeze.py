"""The move's write freeze on ElastiCache, through its API (ModifyUser): the tenant user's access
string loses write commands and gets back exactly what it had; offboarding switches it off. Against
moto, which lacks ModifyUser: this module adds that one action to moto's ElastiCache service, with
the real API's behaviour of a user that is `modifying` before it is `active` again."""

from __future__ import annotations

import pytest
from moto.elasticache.models import ElastiCacheBackend
from moto.elasticache.responses import ElastiCacheResponse

from tenancy.dataplane.apply import DataPlaneError
from tenancy.lifecycle import elasticache_users, rediscopy
from tenancy.lifecycle.rediscopy import RedisSide

USER = "dev-acme-cache-user"
ACCESS = "on ~acme:* &acme:* +@all -@admin -@dangerous -scan -randomkey -pubsub"
URL = "rediss://admin:secret@master.dev-pool.abc123.euw1.cache.amazonaws.com:6379/0"


def _modify_user(self):
    params = self._get_params()
    user = self.elasticache_backend.describe_users(user_id=params["UserId"])[0]
    user.access_string = params.get("AccessString", user.access_string)
    user.status = "modifying"  # active again after one more look, as the nodes catch up
    return self.elasticache_backend.describe_users(user_id=params["UserId"])[0]


@pytest.fixture
def elasticache(aws_env, monkeypatch):
    from moto.core.responses import ActionResult

    monkeypatch.setattr(ElastiCacheResponse, "modify_user", lambda self: ActionResult(_modify_user(self)),
                        raising=False)
    original = ElastiCacheBackend.describe_users

    def describe_users(self, user_id=None):
        users = original(self, user_id)
        looked = [u for u in users if u.status == "modifying" and getattr(u, "_looked", False)]
        for u in users:
            if u.status == "modifying":
                u._looked = True
        for u in looked:
            u.status, u._looked = "active", False
        return users

    monkeypatch.setattr(ElastiCacheBackend, "describe_users", describe_users)
    monkeypatch.setattr(elasticache_users, "POLL_SECONDS", 0)
    import boto3

    client = boto3.client("elasticache")
    client.create_user(UserId=USER, UserName=USER, Engine="redis", AccessString=ACCESS, NoPasswordRequired=True)
    return client


def access(client) -> str:
    return client.describe_users(UserId=USER)["Users"][0]["AccessString"]


def test_the_freeze_denies_writes_and_the_unfreeze_restores_the_rules_exactly(elasticache):
    side = RedisSide(URL, "acme", USER, pooled=True)
    record = rediscopy.acl_commands(side)
    assert record == {"user": USER, "service": "elasticache", "access": ACCESS}
    rediscopy.deny_writes(side)
    assert access(elasticache) == f"{ACCESS} -@write"
    rediscopy.deny_writes(side)  # a resumed move freezes again: still one -@write
    assert access(elasticache) == f"{ACCESS} -@write"
    assert elasticache.describe_users(UserId=USER)["Users"][0]["Status"] == "active"  # waited for it
    rediscopy.unfreeze(side, record)
    assert access(elasticache) == ACCESS


def test_offboarding_switches_the_user_off_keeping_its_rules(elasticache):
    assert rediscopy.disable_user(RedisSide(URL, "acme", USER, pooled=True)) == 0
    assert access(elasticache) == "off " + ACCESS.removeprefix("on ")


def test_a_user_that_stays_modifying_stops_the_move_with_a_clear_error(elasticache, monkeypatch):
    def stuck(backend, user_id=None):
        user = backend.users[user_id]
        user.status = "modifying"
        return [user]

    monkeypatch.setattr(ElastiCacheBackend, "describe_users", stuck)
    with pytest.raises(DataPlaneError, match="still modifying after 0 s"):
        elasticache_users.set_access(USER, ACCESS + " -@write", wait_seconds=0)


def test_an_unknown_user_is_a_clear_error(elasticache):
    with pytest.raises(DataPlaneError, match="ElastiCache user nobody: reading it"):
        rediscopy.acl_commands(RedisSide(URL, "acme", "nobody", pooled=True))


def test_only_elasticache_endpoints_take_the_api_path():
    assert elasticache_users.is_elasticache(URL)
    assert not elasticache_users.is_elasticache("redis://127.0.0.1:6379/0")
    assert not elasticache_users.is_elasticache("redis://cache.amazonaws.com.evil.example:6379")
