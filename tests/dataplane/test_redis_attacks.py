"""A hostile pooled tenant against its neighbour, on a real redis-server configured by `cache-acl`'s own
path (`acl_rules` and `apply_cache_acl`: the rules ElastiCache gets from `cache_access_string`).

Every attack asserts two things: the attacker is refused with NOPERM (the ACL said no, not a typo
or a wrong argument count), and the victim is unchanged: its values intact, it can still read and
write, the server answers it, and no key, function, script, user, configuration or other database
changed outside the attacker's own prefix. The compliant twin shows a tenant doing the normal work
on its own prefix. What an ACL cannot stop (a tenant filling memory) is measured instead
(`tenancy.dataplane.redis_usage`). The last tests weaken the access string on purpose and watch the
attacks succeed, so the suite can fail.
"""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import pytest
import redis

from tenancy.dataplane.apply import DataPlaneError, apply_cache_acl, cache_usage
from tenancy.dataplane.redis_acl import AclRule, acl_rules, pooled_cache_tenants
from tenancy.dataplane.redis_usage import measure_usage, render_json, render_table
from tenancy.registry.access import key_prefix
from tenancy.registry.naming import cache_user_id


def password(tenant_id: str) -> str:
    return f"cache-{tenant_id}-secret"


LIBRARY = "#!lua name={lib}\nredis.register_function{{function_name='{lib}_get', flags={{'no-writes'}}, " \
          "callback=function(keys) return redis.call('GET', keys[1]) end}}"
EVIL_LIBRARY = "#!lua name={lib}\nredis.register_function('{lib}_get', function(keys) " \
               "return 'replaced by the attacker' end)"
BUSY_BODY = """redis.call('SET', {keys}[1], 'x')
local t0 = redis.call('TIME')
local start = t0[1] * 1000000 + t0[2]
while true do
  local t = redis.call('TIME')
  if t[1] * 1000000 + t[2] - start > 1000000 then break end
end
return 1"""
BUSY_SCRIPT = BUSY_BODY.format(keys="KEYS")  # writes first, so SCRIPT KILL cannot stop it; then 1 s busy
BUSY_LIBRARY = "#!lua name=busy\nredis.register_function('busy', function(keys)\n" + BUSY_BODY.format(keys="keys") \
    + "\nend)"
SEED = {"str": "secret", "hash": {"email": "ceo@victim.example"}, "list": ["1", "2", "3"],
        "set": {"x", "y"}, "zset": [("m", 1.0)], "stream": [("1-1", {"f": "v"})], "hll": 2}
CHANGED_CONFIG = ("notify-keyspace-events", "busy-reply-threshold", "maxmemory", "maxmemory-policy")


class Resp3:
    """A bare RESP3 connection: the push frames (invalidations, messages) that a client library
    would hide are what the tracking and pub/sub attacks listen for."""

    def __init__(self, port: int, user: str, secret: str):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=2)
        self.file = self.sock.makefile("rb")
        self.heard: list = []
        hello = self.call("HELLO", "3", "AUTH", user, secret)
        assert isinstance(hello, dict), hello

    def send(self, *args) -> None:
        parts = [f"*{len(args)}\r\n".encode()]
        for arg in args:
            data = arg if isinstance(arg, bytes) else str(arg).encode()
            parts += [f"${len(data)}\r\n".encode(), data, b"\r\n"]
        self.sock.sendall(b"".join(parts))

    def read(self):
        line = self.file.readline()
        if not line:
            raise ConnectionError("closed")
        kind, rest = line[:1], line[1:-2].decode()
        if kind in b"+":
            return rest
        if kind == b"-":
            return RespError(rest)
        if kind in (b":", b"("):
            return int(rest)
        if kind in (b",",):
            return float(rest)
        if kind == b"#":
            return rest == "t"
        if kind == b"_":
            return None
        if kind in (b"$", b"=", b"!"):
            if int(rest) < 0:
                return None
            data = self.file.read(int(rest) + 2)[:-2]
            return data.decode(errors="replace")
        if kind in (b"*", b"~"):
            return [self.read() for _ in range(int(rest))] if int(rest) >= 0 else None
        if kind == b"%":
            return {self.read(): self.read() for _ in range(int(rest))}
        if kind == b">":
            return Push([self.read() for _ in range(int(rest))])
        raise AssertionError(f"unexpected RESP frame {line!r}")

    def call(self, *args):
        """The reply to one command, keeping any push frames that arrive first."""
        self.send(*args)
        while isinstance(reply := self.read(), Push):
            self.heard.append(reply)
        return reply

    def listen(self, seconds: float) -> list:
        """Every frame the server pushes within `seconds`."""
        self.sock.settimeout(seconds)
        try:
            while True:
                self.heard.append(self.read())
        except TimeoutError:
            pass
        return self.heard

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.sock.close()


class RespError(str):
    pass


class Push(list):
    pass


def nopermitted(reply) -> bool:
    return isinstance(reply, RespError) and reply.startswith("NOPERM")


@dataclass
class Pool:
    """The pooled cache with its ACL applied, a victim holding data and an attacker next to it."""

    server: object
    victim: str
    attacker: str
    admin: redis.Redis
    raw_admin: redis.Redis
    a: str = ""  # the victim's key prefix
    b: str = ""  # the attacker's
    sha: str = ""  # a platform script, cached by the admin
    dump: bytes = b""  # DUMP of the victim's string, as the admin sees it
    function_dump: bytes = b""
    baseline: dict = field(default_factory=dict)

    def user(self, tenant: str) -> str:
        return cache_user_id("dev", tenant)

    def client(self, tenant: str, **options) -> redis.Redis:
        return redis.Redis(port=self.server.port, username=self.user(tenant), password=password(tenant),
                           decode_responses=True, **options)

    def resp3(self, tenant: str) -> Resp3:
        return Resp3(self.server.port, self.user(tenant), password(tenant))

    def victim_state(self) -> dict:
        client, a = self.client(self.victim), self.a
        try:
            return {"str": client.get(f"{a}str"), "hash": client.hgetall(f"{a}hash"),
                    "list": client.lrange(f"{a}list", 0, -1), "set": client.smembers(f"{a}set"),
                    "zset": client.zrange(f"{a}zset", 0, -1, withscores=True),
                    "stream": client.xrange(f"{a}stream"), "hll": client.pfcount(f"{a}hll")}
        finally:
            client.close()

    def world(self) -> dict:
        """Everything outside the attacker's prefix, as the admin sees it."""
        keys = sorted(k for k in self.admin.scan_iter(count=1000) if not k.startswith(self.b))
        other_db = redis.Redis.from_url(self.server.url().rsplit("/", 1)[0] + "/1", decode_responses=True)
        try:
            return {"keys": keys, "victim": self.victim_state(),
                    "functions": self.raw_admin.execute_command("FUNCTION", "LIST", "WITHCODE"),
                    "scripts": self.admin.script_exists(self.sha), "users": self.admin.acl_list(),
                    "config": self.admin.config_get("*"),
                    "db1": other_db.dbsize()}
        finally:
            other_db.close()

    def assert_victim_intact(self) -> None:
        assert self.world() == self.baseline
        victim = self.client(self.victim)
        try:
            assert victim.ping() is True
            assert victim.set(f"{self.a}probe", "still mine") is True
            assert victim.get(f"{self.a}probe") == "still mine"
            assert victim.delete(f"{self.a}probe") == 1
        finally:
            victim.close()


@pytest.fixture
def pool(cache, dev_tenants):
    pooled = pooled_cache_tenants(dev_tenants)
    apply_cache_acl(cache.url(), acl_rules(pooled, "dev", {t.id: password(t.id) for t in pooled}))
    victim, attacker = [t.id for t in pooled if not t.suspended][:2]
    admin = redis.Redis.from_url(cache.url(), decode_responses=True)
    raw_admin = redis.Redis.from_url(cache.url())
    saved = {k: admin.config_get(k)[k] for k in CHANGED_CONFIG}
    admin.function_flush()
    admin.script_flush()
    pool = Pool(cache, victim, attacker, admin, raw_admin, key_prefix(victim), key_prefix(attacker))
    seed(pool.client(victim), pool.a)
    attacker_client = pool.client(attacker)
    attacker_client.set(f"{pool.b}k", "mine")
    attacker_client.rpush(f"{pool.b}list", "1", "2")
    attacker_client.close()
    admin.function_load(LIBRARY.format(lib=victim.replace("-", "_")))
    pool.sha = admin.script_load("return 'platform'")
    pool.dump = raw_admin.dump(f"{pool.a}str")
    pool.function_dump = raw_admin.function_dump()
    pool.baseline = pool.world()
    yield pool
    admin.function_flush()
    admin.script_flush()
    for key, value in saved.items():
        admin.config_set(key, value)
    admin.close()
    raw_admin.close()


def seed(client: redis.Redis, a: str) -> None:
    client.set(f"{a}str", SEED["str"])
    client.hset(f"{a}hash", mapping=SEED["hash"])
    client.rpush(f"{a}list", *SEED["list"])
    client.sadd(f"{a}set", *SEED["set"])
    client.zadd(f"{a}zset", dict(SEED["zset"]))
    client.xadd(f"{a}stream", {"f": "v"}, id="1-1")
    client.pfadd(f"{a}hll", "p", "q")
    client.close()


def lib(p: Pool) -> str:
    return p.victim.replace("-", "_")


# Each attack: the pool -> the command the attacker sends. The answer must be NOPERM.
ATTACKS: dict[str, Callable[[Pool], tuple]] = {
    # functions are server-wide: read, replace, delete, run the victim's
    "FUNCTION LIST WITHCODE": lambda p: ("FUNCTION", "LIST", "WITHCODE"),
    "FUNCTION LIST LIBRARYNAME victim": lambda p: ("FUNCTION", "LIST", "LIBRARYNAME", lib(p)),
    "FUNCTION LOAD REPLACE victim's library": lambda p: (
        "FUNCTION", "LOAD", "REPLACE", EVIL_LIBRARY.format(lib=lib(p))),
    "FUNCTION LOAD new library": lambda p: (
        "FUNCTION", "LOAD", EVIL_LIBRARY.format(lib="attacker")),
    "FUNCTION DELETE victim's library": lambda p: ("FUNCTION", "DELETE", lib(p)),
    "FUNCTION FLUSH": lambda p: ("FUNCTION", "FLUSH"),
    "FUNCTION FLUSH ASYNC": lambda p: ("FUNCTION", "FLUSH", "ASYNC"),
    "FUNCTION DUMP": lambda p: ("FUNCTION", "DUMP"),
    "FUNCTION RESTORE REPLACE": lambda p: ("FUNCTION", "RESTORE", p.function_dump, "REPLACE"),
    "FUNCTION STATS": lambda p: ("FUNCTION", "STATS"),
    "FUNCTION KILL": lambda p: ("FUNCTION", "KILL"),
    "FCALL victim's function on victim's key": lambda p: (
        "FCALL", f"{lib(p)}_get", 1, f"{p.a}str"),
    "FCALL_RO victim's function on own key": lambda p: ("FCALL_RO", f"{lib(p)}_get", 1, f"{p.b}k"),
    # scripts: a busy script blocks every tenant (see the busy-loop test for the effect)
    "EVAL": lambda p: ("EVAL", "return redis.call('GET', KEYS[1])", 1, f"{p.b}k"),
    "EVAL_RO": lambda p: ("EVAL_RO", "return redis.call('GET', KEYS[1])", 1, f"{p.b}k"),
    "EVALSHA platform script": lambda p: ("EVALSHA", p.sha, 0),
    "EVALSHA_RO platform script": lambda p: ("EVALSHA_RO", p.sha, 0),
    "SCRIPT LOAD": lambda p: ("SCRIPT", "LOAD", "return 1"),
    "SCRIPT EXISTS": lambda p: ("SCRIPT", "EXISTS", p.sha),
    "SCRIPT FLUSH": lambda p: ("SCRIPT", "FLUSH"),
    "SCRIPT KILL": lambda p: ("SCRIPT", "KILL"),
    "SCRIPT DEBUG YES": lambda p: ("SCRIPT", "DEBUG", "YES"),
    # client-side caching streams other tenants' key names (see the tracking tests for the effect)
    "CLIENT TRACKING ON BCAST": lambda p: ("CLIENT", "TRACKING", "ON", "BCAST"),
    "CLIENT TRACKING ON BCAST PREFIX victim": lambda p: (
        "CLIENT", "TRACKING", "ON", "BCAST", "PREFIX", p.a),
    "CLIENT TRACKING ON OPTIN": lambda p: ("CLIENT", "TRACKING", "ON", "OPTIN"),
    "CLIENT CACHING YES": lambda p: ("CLIENT", "CACHING", "YES"),
    "CLIENT TRACKINGINFO": lambda p: ("CLIENT", "TRACKINGINFO"),
    "CLIENT GETREDIR": lambda p: ("CLIENT", "GETREDIR"),
    # server-wide introspection: counts, names, other clients, other users
    "DBSIZE": lambda p: ("DBSIZE",),
    "MEMORY STATS": lambda p: ("MEMORY", "STATS"),
    "MEMORY DOCTOR": lambda p: ("MEMORY", "DOCTOR"),
    "MEMORY MALLOC-STATS": lambda p: ("MEMORY", "MALLOC-STATS"),
    "MEMORY USAGE victim's key": lambda p: ("MEMORY", "USAGE", f"{p.a}str"),
    "MEMORY PURGE": lambda p: ("MEMORY", "PURGE"),
    "INFO": lambda p: ("INFO",),
    "INFO keyspace": lambda p: ("INFO", "keyspace"),
    "INFO commandstats": lambda p: ("INFO", "commandstats"),
    "KEYS *": lambda p: ("KEYS", "*"),
    "KEYS victim:*": lambda p: ("KEYS", f"{p.a}*"),
    "SCAN": lambda p: ("SCAN", 0),
    "SCAN MATCH victim:*": lambda p: ("SCAN", 0, "MATCH", f"{p.a}*", "COUNT", 1000),
    "RANDOMKEY": lambda p: ("RANDOMKEY",),
    "PUBSUB CHANNELS": lambda p: ("PUBSUB", "CHANNELS"),
    "PUBSUB NUMSUB victim's channel": lambda p: ("PUBSUB", "NUMSUB", f"{p.a}ch"),
    "PUBSUB NUMPAT": lambda p: ("PUBSUB", "NUMPAT"),
    "PUBSUB SHARDCHANNELS": lambda p: ("PUBSUB", "SHARDCHANNELS"),
    "PUBSUB SHARDNUMSUB": lambda p: ("PUBSUB", "SHARDNUMSUB", f"{p.a}ch"),
    "OBJECT ENCODING victim's key": lambda p: ("OBJECT", "ENCODING", f"{p.a}str"),
    "OBJECT FREQ victim's key": lambda p: ("OBJECT", "FREQ", f"{p.a}str"),
    "OBJECT IDLETIME victim's key": lambda p: ("OBJECT", "IDLETIME", f"{p.a}str"),
    "DEBUG OBJECT victim's key": lambda p: ("DEBUG", "OBJECT", f"{p.a}str"),
    "DEBUG SLEEP": lambda p: ("DEBUG", "SLEEP", 0),
    "SLOWLOG GET": lambda p: ("SLOWLOG", "GET"),
    "LATENCY LATEST": lambda p: ("LATENCY", "LATEST"),
    "COMMAND COUNT": lambda p: ("COMMAND", "COUNT"),
    "LOLWUT": lambda p: ("LOLWUT",),
    "LASTSAVE": lambda p: ("LASTSAVE",),
    "ROLE": lambda p: ("ROLE",),
    "MODULE LIST": lambda p: ("MODULE", "LIST"),
    "ACL WHOAMI": lambda p: ("ACL", "WHOAMI"),
    "ACL LIST": lambda p: ("ACL", "LIST"),
    "ACL USERS": lambda p: ("ACL", "USERS"),
    "ACL GETUSER victim": lambda p: ("ACL", "GETUSER", p.user(p.victim)),
    "ACL LOG": lambda p: ("ACL", "LOG"),
    "ACL CAT": lambda p: ("ACL", "CAT"),
    "ACL DRYRUN victim": lambda p: ("ACL", "DRYRUN", p.user(p.victim), "GET", f"{p.a}str"),
    "ACL SETUSER self ~*": lambda p: ("ACL", "SETUSER", p.user(p.attacker), "~*"),
    "ACL DELUSER victim": lambda p: ("ACL", "DELUSER", p.user(p.victim)),
    # other clients
    "CLIENT LIST": lambda p: ("CLIENT", "LIST"),
    "CLIENT INFO": lambda p: ("CLIENT", "INFO"),
    "CLIENT KILL USER victim": lambda p: ("CLIENT", "KILL", "USER", p.user(p.victim)),
    "CLIENT PAUSE": lambda p: ("CLIENT", "PAUSE", 500, "WRITE"),
    "CLIENT UNPAUSE": lambda p: ("CLIENT", "UNPAUSE"),
    "CLIENT NO-EVICT ON": lambda p: ("CLIENT", "NO-EVICT", "ON"),
    "CLIENT UNBLOCK": lambda p: ("CLIENT", "UNBLOCK", 1),
    # the server itself, and the other databases
    "CONFIG GET *": lambda p: ("CONFIG", "GET", "*"),
    "CONFIG SET notify-keyspace-events": lambda p: ("CONFIG", "SET", "notify-keyspace-events", "KEA"),
    "CONFIG SET maxmemory": lambda p: ("CONFIG", "SET", "maxmemory", "1"),
    "CONFIG RESETSTAT": lambda p: ("CONFIG", "RESETSTAT"),
    "SAVE": lambda p: ("SAVE",),
    "BGSAVE": lambda p: ("BGSAVE",),
    "BGREWRITEAOF": lambda p: ("BGREWRITEAOF",),
    "SHUTDOWN NOSAVE": lambda p: ("SHUTDOWN", "NOSAVE"),
    "MONITOR": lambda p: ("MONITOR",),
    "SYNC": lambda p: ("SYNC",),
    "PSYNC": lambda p: ("PSYNC", "?", -1),
    "REPLICAOF": lambda p: ("REPLICAOF", "NO", "ONE"),
    "FAILOVER ABORT": lambda p: ("FAILOVER", "ABORT"),
    "SWAPDB 0 1": lambda p: ("SWAPDB", 0, 1),
    "SELECT 1": lambda p: ("SELECT", 1),
    "FLUSHALL": lambda p: ("FLUSHALL",),
    "FLUSHALL ASYNC": lambda p: ("FLUSHALL", "ASYNC"),
    "FLUSHDB": lambda p: ("FLUSHDB",),
    "WAIT": lambda p: ("WAIT", 0, 0),
    "WAITAOF": lambda p: ("WAITAOF", 0, 0, 0),
    # the victim's keys, directly or through a command with two keys
    "GET victim's key": lambda p: ("GET", f"{p.a}str"),
    "SET victim's key": lambda p: ("SET", f"{p.a}str", "forged"),
    "EXISTS victim's key": lambda p: ("EXISTS", f"{p.a}str"),
    "TYPE victim's key": lambda p: ("TYPE", f"{p.a}str"),
    "TTL victim's key": lambda p: ("TTL", f"{p.a}str"),
    "TOUCH victim's key": lambda p: ("TOUCH", f"{p.a}str"),
    "DEL victim's key": lambda p: ("DEL", f"{p.a}str"),
    "UNLINK victim's key": lambda p: ("UNLINK", f"{p.a}str"),
    "EXPIRE victim's key": lambda p: ("EXPIRE", f"{p.a}str", 1),
    "HGETALL victim's hash": lambda p: ("HGETALL", f"{p.a}hash"),
    "LRANGE victim's list": lambda p: ("LRANGE", f"{p.a}list", 0, -1),
    "DUMP victim's key": lambda p: ("DUMP", f"{p.a}str"),
    "RESTORE victim's value into own prefix": lambda p: ("RESTORE", f"{p.b}stolen", 0, p.dump),
    "RESTORE over victim's key": lambda p: ("RESTORE", f"{p.a}str", 0, p.dump, "REPLACE"),
    "MIGRATE victim's key": lambda p: (
        "MIGRATE", "127.0.0.1", p.server.port, f"{p.a}str", 1, 1000, "COPY"),
    "MOVE victim's key to db 1": lambda p: ("MOVE", f"{p.a}str", 1),
    "MOVE own key to db 1": lambda p: ("MOVE", f"{p.b}k", 1),
    "COPY victim's key into own prefix": lambda p: ("COPY", f"{p.a}str", f"{p.b}stolen"),
    "COPY own key into victim's prefix": lambda p: ("COPY", f"{p.b}k", f"{p.a}planted"),
    "COPY own key to db 1": lambda p: ("COPY", f"{p.b}k", f"{p.b}k", "DB", 1),
    "RENAME victim's key into own prefix": lambda p: ("RENAME", f"{p.a}str", f"{p.b}stolen"),
    "RENAME own key over victim's key": lambda p: ("RENAME", f"{p.b}k", f"{p.a}str"),
    "RENAMENX own key into victim's prefix": lambda p: ("RENAMENX", f"{p.b}k", f"{p.a}planted"),
    "SORT own list BY victim's keys": lambda p: ("SORT", f"{p.b}list", "BY", f"{p.a}*"),
    "SORT own list GET victim's keys": lambda p: ("SORT", f"{p.b}list", "GET", f"{p.a}*"),
    "SORT_RO own list GET victim's keys": lambda p: ("SORT_RO", f"{p.b}list", "GET", f"{p.a}*"),
    "SORT victim's list": lambda p: ("SORT", f"{p.a}list"),
    "LMOVE from victim's list": lambda p: ("LMOVE", f"{p.a}list", f"{p.b}list", "LEFT", "LEFT"),
    "SMOVE from victim's set": lambda p: ("SMOVE", f"{p.a}set", f"{p.b}set", "x"),
    "SUNIONSTORE victim's set": lambda p: ("SUNIONSTORE", f"{p.b}set", f"{p.a}set"),
    "ZUNIONSTORE victim's zset": lambda p: ("ZUNIONSTORE", f"{p.b}z", 1, f"{p.a}zset"),
    "BITOP into victim's key": lambda p: ("BITOP", "OR", f"{p.a}str", f"{p.b}k"),
    "PFDEBUG GETREG victim's hll": lambda p: ("PFDEBUG", "GETREG", f"{p.a}hll"),
    "PFSELFTEST": lambda p: ("PFSELFTEST",),
    "PFMERGE victim's hll": lambda p: ("PFMERGE", f"{p.b}hll", f"{p.a}hll"),
    "GEOSEARCHSTORE into victim's prefix": lambda p: (
        "GEOSEARCHSTORE", f"{p.a}geo", f"{p.b}geo", "FROMLONLAT", 0, 0, "BYRADIUS", 1, "km"),
    "XREAD victim's stream": lambda p: ("XREAD", "STREAMS", f"{p.a}stream", 0),
    "XGROUP CREATE on victim's stream": lambda p: ("XGROUP", "CREATE", f"{p.a}stream", "g", 0),
    "XREADGROUP victim's stream": lambda p: (
        "XREADGROUP", "GROUP", "g", "c", "STREAMS", f"{p.a}stream", ">"),
    "WATCH victim's key": lambda p: ("WATCH", f"{p.a}str"),
    # the victim's channels, and the server's own channels about keys
    "PUBLISH to victim's channel": lambda p: ("PUBLISH", f"{p.a}ch", "forged"),
    "SPUBLISH to victim's channel": lambda p: ("SPUBLISH", f"{p.a}ch", "forged"),
    "SUBSCRIBE victim's channel": lambda p: ("SUBSCRIBE", f"{p.a}ch"),
    "SSUBSCRIBE victim's channel": lambda p: ("SSUBSCRIBE", f"{p.a}ch"),
    "PSUBSCRIBE victim:*": lambda p: ("PSUBSCRIBE", f"{p.a}*"),
    "PSUBSCRIBE *": lambda p: ("PSUBSCRIBE", "*"),
    "SUBSCRIBE keyspace of victim's key": lambda p: ("SUBSCRIBE", f"__keyspace@0__:{p.a}str"),
    "PSUBSCRIBE __key*": lambda p: ("PSUBSCRIBE", "__key*"),
    "SUBSCRIBE __redis__:invalidate": lambda p: ("SUBSCRIBE", "__redis__:invalidate"),
}


def acl_verdict(pool: Pool, command: tuple) -> str:
    """What the attacker's ACL says of a command the server refused before asking the ACL (DEBUG
    while `enable-debug-command` is off, CLIENT CACHING outside tracking, SCRIPT KILL with no
    script): `ACL DRYRUN` asks the ACL alone."""
    try:
        return pool.admin.execute_command("ACL", "DRYRUN", pool.user(pool.attacker), *command)
    except redis.exceptions.ResponseError as exc:
        if "not found" in str(exc).lower():
            pytest.skip(f"{command[0]}: not a command of this redis-server")
        raise


@pytest.mark.parametrize("attack", list(ATTACKS))
def test_the_attacker_is_refused_and_the_victim_is_unchanged(pool, attack):
    command = ATTACKS[attack](pool)
    attacker = pool.client(pool.attacker)
    try:
        outcome = f"succeeded: {str(attacker.execute_command(*command))[:200]}"
    except redis.exceptions.NoPermissionError:
        outcome = "refused"
    except redis.exceptions.ResponseError as exc:
        if str(exc).lower().startswith("unknown command"):
            pytest.skip(f"{attack}: not a command of this redis-server")  # WAITAOF before 7.2
        verdict = acl_verdict(pool, command)
        outcome = "refused" if verdict != "OK" else f"allowed by the ACL, failed otherwise: {exc}"
    finally:
        attacker.close()
    assert outcome == "refused", attack
    pool.assert_victim_intact()


@pytest.mark.parametrize("mode", [["BCAST"], ["BCAST", "PREFIX", "{a}"], ["BCAST", "PREFIX", ""], []],
                         ids=["bcast", "bcast-prefix-victim", "bcast-prefix-empty", "default"])
def test_client_tracking_cannot_stream_the_victims_key_names(pool, mode):
    mode = [m.format(a=pool.a) for m in mode]
    victim = pool.client(pool.victim)
    with pool.resp3(pool.attacker) as spy:
        reply = spy.call("CLIENT", "TRACKING", "ON", *mode)
        spy.call("GET", f"{pool.b}k")
        victim.set(f"{pool.a}new-customer-acme", "1")
        victim.set(f"{pool.a}str", SEED["str"])
        heard = spy.listen(0.3)
    victim.delete(f"{pool.a}new-customer-acme")
    victim.close()
    assert [frame for frame in heard if pool.a in str(frame)] == []
    assert nopermitted(reply), reply
    pool.assert_victim_intact()


BUSY_WAYS = {
    "EVAL": lambda r, key: r.execute_command("EVAL", BUSY_SCRIPT, 1, key),
    "SCRIPT LOAD + EVALSHA": lambda r, key: r.execute_command(
        "EVALSHA", r.execute_command("SCRIPT", "LOAD", BUSY_SCRIPT), 1, key),
    "FUNCTION LOAD + FCALL": lambda r, key: r.execute_command(
        "FCALL", r.execute_command("FUNCTION", "LOAD", BUSY_LIBRARY), 1, key),
}


@pytest.mark.parametrize("way", list(BUSY_WAYS))
def test_a_busy_script_is_refused_so_the_victim_is_never_answered_busy(pool, way):
    pool.admin.config_set("busy-reply-threshold", 100)  # BUSY after 0.1 s instead of 5 s
    pool.baseline = pool.world()
    attacker = pool.client(pool.attacker)
    outcome: list = []

    def run():
        try:
            outcome.append(BUSY_WAYS[way](attacker, f"{pool.b}busy"))
        except redis.exceptions.ResponseError as exc:
            outcome.append(exc)

    thread = threading.Thread(target=run)
    thread.start()
    time.sleep(0.3)
    victim = pool.client(pool.victim)
    try:
        answer = victim.get(f"{pool.a}str")
    except redis.exceptions.ResponseError as exc:
        answer = f"{type(exc).__name__}: {exc}"
    try:
        killed = pool.admin.script_kill() if "FUNCTION" not in way else pool.admin.execute_command("FUNCTION", "KILL")
    except redis.exceptions.ResponseError as exc:
        killed = str(exc)
    thread.join(timeout=10)
    victim.close()
    attacker.close()
    assert answer == SEED["str"], f"the victim was answered {answer!r} (kill: {killed!r})"
    assert isinstance(outcome[0], redis.exceptions.NoPermissionError), outcome
    pool.assert_victim_intact()


def test_the_attacker_cannot_forge_or_hear_the_victims_messages(pool):
    listener = pool.client(pool.victim).pubsub()
    listener.subscribe(f"{pool.a}ch")
    assert listener.get_message(timeout=1)["type"] == "subscribe"
    with pool.resp3(pool.attacker) as spy:
        eavesdrop = [spy.call("SUBSCRIBE", f"{pool.a}ch"), spy.call("PSUBSCRIBE", "*"),
                     spy.call("SSUBSCRIBE", f"{pool.a}ch")]
        forged = [spy.call("PUBLISH", f"{pool.a}ch", "forged"), spy.call("SPUBLISH", f"{pool.a}ch", "forged")]
        publisher = pool.client(pool.victim)
        assert publisher.publish(f"{pool.a}ch", "genuine") == 1
        publisher.close()
        heard = spy.listen(0.3)
    received = [m["data"] for m in iter(lambda: listener.get_message(timeout=0.3), None) if m["type"] == "message"]
    listener.close()
    assert received == ["genuine"]
    assert [frame for frame in heard if "genuine" in str(frame)] == []
    assert all(nopermitted(reply) for reply in eavesdrop + forged), eavesdrop + forged
    pool.assert_victim_intact()


def test_keyspace_notifications_do_not_reach_the_attacker(pool):
    pool.admin.config_set("notify-keyspace-events", "KEA")  # as a parameter group might set it
    pool.baseline = pool.world()
    with pool.resp3(pool.attacker) as spy:
        replies = [spy.call("PSUBSCRIBE", "__key*@0__:*"), spy.call("SUBSCRIBE", "__keyevent@0__:set"),
                   spy.call("SUBSCRIBE", f"__keyspace@0__:{pool.a}str")]
        victim = pool.client(pool.victim)
        victim.set(f"{pool.a}str", SEED["str"])
        victim.close()
        heard = spy.listen(0.3)
    assert [frame for frame in heard if pool.a in str(frame)] == []
    assert all(nopermitted(reply) for reply in replies), replies
    pool.assert_victim_intact()


def test_the_attacker_cannot_kill_pause_or_unblock_the_victims_connections(pool):
    victim = pool.client(pool.victim, single_connection_client=True)
    assert victim.ping() is True
    victim_ids = [c["id"] for c in pool.admin.client_list() if c["user"] == pool.user(pool.victim)]
    attacker = pool.client(pool.attacker)
    attempts = [("CLIENT", "KILL", "USER", pool.user(pool.victim)), ("CLIENT", "PAUSE", 2000, "ALL"),
                *[("CLIENT", "KILL", "ID", i) for i in victim_ids], *[("CLIENT", "UNBLOCK", i) for i in victim_ids]]
    outcomes = []
    for attempt in attempts:
        with contextlib.suppress(redis.exceptions.NoPermissionError):
            outcomes.append((attempt, attacker.execute_command(*attempt)))
    attacker.close()
    started = time.monotonic()
    assert victim.set(f"{pool.a}str", SEED["str"]) is True and time.monotonic() - started < 1
    victim.close()
    assert outcomes == []
    pool.assert_victim_intact()


def test_the_compliant_twin_does_its_normal_work_on_its_own_prefix(pool):
    p = pool.b
    client = pool.client(pool.attacker)
    assert client.ping() is True and client.echo("hi") == "hi"
    assert client.set(f"{p}s", "v", ex=100) and client.get(f"{p}s") == "v" and 0 < client.ttl(f"{p}s") <= 100
    assert client.persist(f"{p}s") and client.ttl(f"{p}s") == -1 and client.pexpire(f"{p}s", 100_000)
    assert client.expiretime(f"{p}s") > 0 and client.exists(f"{p}s") == 1 and client.type(f"{p}s") == "string"
    assert client.incr(f"{p}n") == 1 and client.incrbyfloat(f"{p}n", 0.5) == 1.5 and client.append(f"{p}s", "w") == 2
    client.mset({f"{p}m1": "1", f"{p}m2": "2"})
    assert client.mget(f"{p}m1", f"{p}m2") == ["1", "2"] and client.getdel(f"{p}m1") == "1"
    assert client.getex(f"{p}m2", ex=50) == "2" and client.lcs(f"{p}s", f"{p}s") == "vw"
    assert client.rename(f"{p}m2", f"{p}m3") and client.renamenx(f"{p}m3", f"{p}m4") and client.touch(f"{p}m4") == 1
    assert client.delete(f"{p}m4") == 1 and client.unlink(f"{p}n") == 1
    client.hset(f"{p}h", mapping={"a": "1", "b": "2"})
    assert client.hgetall(f"{p}h") == {"a": "1", "b": "2"} and client.hincrby(f"{p}h", "a", 2) == 3
    assert dict(client.hscan_iter(f"{p}h")) == {"a": "3", "b": "2"} and client.hdel(f"{p}h", "b") == 1
    client.rpush(f"{p}l", "1", "2", "3")
    assert client.lpop(f"{p}l") == "1" and client.lrange(f"{p}l", 0, -1) == ["2", "3"]
    assert client.blpop([f"{p}l"], timeout=0.1) == (f"{p}l", "2")
    assert client.lmove(f"{p}l", f"{p}l2") == "3" and client.blpop([f"{p}empty"], timeout=0.1) is None
    client.sadd(f"{p}set", "x", "y")
    assert client.smembers(f"{p}set") == {"x", "y"} and client.sinterstore(f"{p}set2", [f"{p}set"]) == 2
    client.zadd(f"{p}z", {"a": 1, "b": 2})
    assert client.zrange(f"{p}z", 0, -1, withscores=True) == [("a", 1.0), ("b", 2.0)]
    assert client.zincrby(f"{p}z", 5, "a") == 6 and client.zpopmin(f"{p}z") == [("b", 2.0)]
    client.geoadd(f"{p}geo", (13.4, 52.5, "berlin"))
    assert client.geosearch(f"{p}geo", longitude=13.4, latitude=52.5, radius=10, unit="km") == ["berlin"]
    assert client.pfadd(f"{p}hll", "a", "b") == 1 and client.pfcount(f"{p}hll") == 2
    assert client.setbit(f"{p}bits", 7, 1) == 0 and client.bitcount(f"{p}bits") == 1
    client.xgroup_create(f"{p}stream", "workers", id="0", mkstream=True)
    first = client.xadd(f"{p}stream", {"job": "1"})
    [[_, [(entry, fields)]]] = client.xreadgroup("workers", "w1", {f"{p}stream": ">"}, count=1, block=100)
    assert (entry, fields) == (first, {"job": "1"}) and client.xack(f"{p}stream", "workers", entry) == 1
    assert client.xlen(f"{p}stream") == 1 and client.xinfo_stream(f"{p}stream")["length"] == 1
    pipe = client.pipeline(transaction=True)
    pipe.set(f"{p}t", "1").incr(f"{p}t").get(f"{p}t")
    assert pipe.execute() == [True, 2, "2"]
    assert client.transaction(lambda pipe: pipe.multi() or pipe.incr(f"{p}t"), f"{p}t") == [3]  # WATCH
    pipe = client.pipeline(transaction=False)
    for i in range(50):
        pipe.set(f"{p}bulk:{i}", i)
    assert all(pipe.execute())
    subscriber = pool.client(pool.attacker).pubsub()
    subscriber.subscribe(f"{p}events")
    subscriber.psubscribe(f"{p}*")
    subscriber.ssubscribe(f"{p}shard")
    assert [subscriber.get_message(timeout=1)["type"] for _ in range(3)] == ["subscribe", "psubscribe", "ssubscribe"]
    assert client.publish(f"{p}events", "hello") == 2 and client.spublish(f"{p}shard", "hi") == 1
    messages = [m for m in iter(lambda: subscriber.get_message(timeout=0.3), None)]
    messages += [m for m in iter(lambda: subscriber.get_sharded_message(timeout=0.3), None)]
    assert sorted(m["type"] for m in messages) == ["message", "pmessage", "smessage"]
    subscriber.close()
    client.close()
    resp3 = redis.Redis(port=pool.server.port, username=pool.user(pool.attacker), password=password(pool.attacker),
                        decode_responses=True, protocol=3)
    assert resp3.set(f"{p}r3", "1") and resp3.hgetall(f"{p}h") == {"a": "3"}
    resp3.close()
    pool.assert_victim_intact()


# -- what an ACL cannot stop: memory ---------------------------------------------------------------

def test_a_tenant_filling_memory_is_named_by_the_measurement_before_it_starves_the_others(pool):
    """Redis has no per-user memory cap: one tenant can fill `maxmemory` and every other tenant's
    writes then fail (noeviction) or their keys get evicted (allkeys-*). The ACL cannot prevent it;
    the measurement names the tenant, so it moves to a dedicated cache first."""
    used = int(pool.admin.info("memory")["used_memory"])
    pool.admin.config_set("maxmemory", used + 4 * 1024 * 1024)
    pool.admin.config_set("maxmemory-policy", "noeviction")
    attacker = pool.client(pool.attacker)
    value = "x" * 10_000
    pipe = attacker.pipeline(transaction=False)
    for i in range(200):  # about 2 MB: far over a fifth of maxmemory, not yet full
        pipe.set(f"{pool.b}blob:{i}", value)
    pipe.execute()
    usage = measure_usage(pool.raw_admin, [pool.victim, pool.attacker])
    named = [t.tenant_id for t in usage.over_threshold()]
    attacker.close()
    assert named == [pool.attacker], usage
    by_tenant = {t.tenant_id: t for t in usage.tenants}
    assert by_tenant[pool.attacker].keys == 202 and by_tenant[pool.victim].keys == len(SEED)
    assert 1.9e6 < by_tenant[pool.attacker].bytes < 2.6e6
    assert by_tenant[pool.victim].bytes < 10_000 and by_tenant[pool.victim].share < 0.01
    rows = {line.split()[0]: line for line in render_table(usage).splitlines()[2:]}
    assert rows[pool.attacker].endswith("MOVE TO DEDICATED") and "MOVE" not in rows[pool.victim]
    assert json.loads(render_json(usage))["over_threshold"] == [pool.attacker]
    # and the limit, stated plainly: filled up, the victim's writes fail
    attacker = pool.client(pool.attacker)
    with pytest.raises(redis.exceptions.OutOfMemoryError):
        for i in range(1000):
            attacker.set(f"{pool.b}fill:{i}", value)
    victim = pool.client(pool.victim)
    with pytest.raises(redis.exceptions.OutOfMemoryError):
        victim.set(f"{pool.a}new", "v")
    assert victim.get(f"{pool.a}str") == SEED["str"]
    victim.close()
    attacker.close()


def test_the_measurement_samples_large_tenants_and_counts_every_key(pool):
    pipe = pool.admin.pipeline(transaction=False)
    for i in range(500):
        pipe.set(f"{pool.b}k:{i}", "y" * 1000)
    for i in range(30):
        pipe.set(f"stray:{i}", "z")
    pipe.execute()
    exact = measure_usage(pool.raw_admin, [pool.victim, pool.attacker], sample_per_tenant=10_000)
    sampled = measure_usage(pool.raw_admin, [pool.victim, pool.attacker], sample_per_tenant=50)
    exact_b = next(t for t in exact.tenants if t.tenant_id == pool.attacker)
    sampled_b = next(t for t in sampled.tenants if t.tenant_id == pool.attacker)
    assert exact_b.keys == sampled_b.keys == 502 and exact_b.sampled == 502 and sampled_b.sampled == 50
    assert abs(sampled_b.bytes - exact_b.bytes) / exact_b.bytes < 0.15
    assert exact.unowned_keys == 30 and exact.capacity_basis == "used_memory"  # no maxmemory on this server


def test_cache_usage_over_a_url_names_the_server_but_never_the_password(pool):
    usage = cache_usage(pool.server.url(), [pool.victim, pool.attacker])
    assert {t.tenant_id for t in usage.tenants} == {pool.victim, pool.attacker}
    with pytest.raises(DataPlaneError, match="authentication failed") as error:
        cache_usage(pool.server.url(password="wrong-pw"), [pool.victim])
    assert "wrong-pw" not in str(error.value)


# -- the suite can fail ----------------------------------------------------------------------------

def weakened(pool: Pool, dev_tenants, *extra: str) -> None:
    pooled = pooled_cache_tenants(dev_tenants)
    rules = acl_rules(pooled, "dev", {t.id: password(t.id) for t in pooled})
    apply_cache_acl(pool.server.url(), [AclRule(r.user, (*r.rules, *extra), r.password) for r in rules])
    pool.baseline = pool.world()


def test_a_weakened_access_string_lets_the_attacks_through(pool, dev_tenants):
    weakened(pool, dev_tenants, "+@scripting", "+client|tracking", "+dbsize", "+function|list")
    attacker = pool.client(pool.attacker)
    assert attacker.execute_command("EVAL", "return 1", 0) == 1
    assert attacker.dbsize() > 0
    assert lib(pool) in str(attacker.execute_command("FUNCTION", "LIST", "WITHCODE"))
    attacker.close()
    with pool.resp3(pool.attacker) as spy:
        assert spy.call("CLIENT", "TRACKING", "ON", "BCAST") == "OK"
        victim = pool.client(pool.victim)
        victim.set(f"{pool.a}new-customer-acme", "1")
        victim.close()
        heard = spy.listen(0.3)
    assert any(f"{pool.a}new-customer-acme" in str(frame) for frame in heard), heard
