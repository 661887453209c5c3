"""One tenant's Redis keys (`<id>:*`), copied between the pooled cache and a cache of its own.

Keys keep their names on both sides (the prefix stays on a cache of its own), so the application
is unchanged. Every operation runs as an admin of each cache (SCAN, DUMP, RESTORE and ACL are not
the tenant user's to run).

- Copy: SCAN MATCH `<id>:*` + DUMP and PTTL, RESTORE ... REPLACE with the remaining TTL.
- Sync (the final pass, under the write freeze): keys whose payload or expiry differ are restored
  again, keys the source no longer has are deleted.
- Compare: key counts and names on both sides, and for a sample of keys the value (by type: a
  string, a hash's fields, a list, a set's members, a sorted set with scores, a stream's entries)
  and whether it expires.
- Freeze: the tenant's ACL user loses `@write` (its existing connections with it), and gets its
  command rules back, exactly, on unfreeze. On ElastiCache (an endpoint under `.cache.amazonaws.com`)
  the same happens through its API: `elasticache_users`.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Optional

from tenancy.dataplane.apply import DataPlaneError, safe_location
from tenancy.lifecycle import elasticache_users
from tenancy.registry.access import key_prefix

CONNECT_TIMEOUT_SECONDS = 10
BATCH = 500
SAMPLE = 1000
TTL_SLACK_MS = 5000  # expiries are copied as remaining time: a few seconds' drift is the copy's own


def first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]


@dataclass(frozen=True)
class RedisSide:
    """A cache that holds (or will hold) the tenant's keys: `url` is an admin connection, `user` the
    tenant's ACL user there."""

    url: str
    tenant_id: str
    user: str
    pooled: bool

    @property
    def where(self) -> str:
        return safe_location(self.url)

    @property
    def prefix(self) -> bytes:
        return key_prefix(self.tenant_id).encode()

    def describe(self) -> str:
        return f"{'the pooled cache' if self.pooled else 'its own cache'} at {self.where}"


def _pattern(prefix: bytes) -> bytes:
    escaped = b"".join(b"\\" + bytes([c]) if c in b"*?[]\\" else bytes([c]) for c in prefix)
    return escaped + b"*"


@contextmanager
def errors(where: str, doing: str) -> Iterator[None]:
    import redis

    try:
        yield
    except redis.AuthenticationError:
        raise DataPlaneError(f"{where}: authentication failed (check the admin user and password)") from None
    except redis.ConnectionError as exc:
        raise DataPlaneError(f"cannot connect to {where}: {first_line(exc)}") from None
    except redis.RedisError as exc:
        raise DataPlaneError(f"{where}: {doing}: {first_line(exc)}") from None


def connect(url: str):
    import redis

    client = redis.Redis.from_url(url, socket_connect_timeout=CONNECT_TIMEOUT_SECONDS)
    with errors(safe_location(url), "connecting"):
        client.ping()
    return client


def scan_keys(client, prefix: bytes) -> list[bytes]:
    return sorted(set(client.scan_iter(match=_pattern(prefix), count=1000)))


def foreign_key_count(client, prefix: bytes) -> int:
    """Keys in the cache outside the tenant's prefix (a cache of its own moving to the pool), counted
    one by one: the size of the database minus the tenant's keys goes wrong, even negative, while the
    tenant writes between the two reads."""
    return sum(1 for key in client.scan_iter(count=1000) if not key.startswith(prefix))


def _dumps(client, keys: list[bytes]) -> list[tuple[bytes, Optional[bytes], int]]:
    """(key, DUMP payload or None if gone, PTTL) per key."""
    out = []
    for start in range(0, len(keys), BATCH):
        chunk = keys[start:start + BATCH]
        pipe = client.pipeline(transaction=False)
        for key in chunk:
            pipe.dump(key)
            pipe.pttl(key)
        replies = pipe.execute()
        out += [(key, replies[2 * i], int(replies[2 * i + 1])) for i, key in enumerate(chunk)]
    return out


def _restore(client, items: list[tuple[bytes, Optional[bytes], int]]) -> int:
    restored = 0
    for start in range(0, len(items), BATCH):
        pipe = client.pipeline(transaction=False)
        for key, payload, ttl in items[start:start + BATCH]:
            if payload is None or ttl == -2:
                continue
            pipe.restore(key, max(ttl, 0), payload, replace=True)
            restored += 1
        pipe.execute()
    return restored


def copy_keys(source: RedisSide, target: RedisSide) -> int:
    src, dst = connect(source.url), connect(target.url)
    try:
        with errors(f"{source.where} -> {target.where}", "copying the tenant's keys"):
            return _restore(dst, _dumps(src, scan_keys(src, source.prefix)))
    finally:
        src.close()
        dst.close()


def sync_keys(source: RedisSide, target: RedisSide) -> dict[str, int]:
    """The final pass: the target's keys become the source's (payload and expiry)."""
    src, dst = connect(source.url), connect(target.url)
    try:
        with errors(f"{source.where} -> {target.where}", "the final pass over the tenant's keys"):
            wanted = _dumps(src, scan_keys(src, source.prefix))
            present = {k: (payload, ttl) for k, payload, ttl in _dumps(dst, scan_keys(dst, target.prefix))}
            stale = [(k, payload, ttl) for k, payload, ttl in wanted if payload is not None and (
                present.get(k, (None, 0))[0] != payload or not _same_expiry(ttl, present[k][1]))]
            restored = _restore(dst, stale)
            names = {k for k, payload, _ in wanted if payload is not None}
            gone = [k for k in present if k not in names]
            for start in range(0, len(gone), BATCH):
                dst.delete(*gone[start:start + BATCH])
            return {"restored": restored, "deleted": len(gone)}
    finally:
        src.close()
        dst.close()


def _same_expiry(a: int, b: int) -> bool:
    if (a < 0) != (b < 0):
        return False
    return a < 0 or abs(a - b) <= TTL_SLACK_MS


# -- comparing and checksums ------------------------------------------------------------------------------

def _read_value(pipe, key: bytes, kind: str) -> None:
    """Queue the read of a key's value by its type (any other type: its DUMP payload)."""
    if kind == "string":
        pipe.get(key)
    elif kind == "hash":
        pipe.hgetall(key)
    elif kind == "list":
        pipe.lrange(key, 0, -1)
    elif kind == "set":
        pipe.smembers(key)
    elif kind == "zset":
        pipe.zrange(key, 0, -1, withscores=True)
    elif kind == "stream":
        pipe.xrange(key)
    else:
        pipe.dump(key)


def _canonical(client, keys: list[bytes]) -> dict[bytes, tuple[str, str, bool]]:
    """Per key (type, sha256 of its value by type, expires?)."""
    out: dict[bytes, tuple[str, str, bool]] = {}
    for start in range(0, len(keys), BATCH):
        chunk = keys[start:start + BATCH]
        pipe = client.pipeline(transaction=False)
        for key in chunk:
            pipe.type(key)
            pipe.pttl(key)
        replies = pipe.execute()
        kinds = [(key, replies[2 * i].decode() if isinstance(replies[2 * i], bytes) else str(replies[2 * i]),
                  int(replies[2 * i + 1])) for i, key in enumerate(chunk)]
        pipe = client.pipeline(transaction=False)
        for key, kind, _ in kinds:
            _read_value(pipe, key, kind)
        values = pipe.execute()
        for (key, kind, ttl), value in zip(kinds, values):
            if kind == "none":
                continue
            if isinstance(value, dict):
                value = sorted(value.items())
            elif isinstance(value, set):
                value = sorted(value)
            out[key] = (kind, hashlib.sha256(repr(value).encode()).hexdigest(), ttl >= 0)
    return out


@dataclass
class KeyComparison:
    source_keys: int
    target_keys: int
    missing: list[str] = field(default_factory=list)  # in the source, not the target
    extra: list[str] = field(default_factory=list)  # in the target, not the source
    differing: list[str] = field(default_factory=list)  # sampled keys whose value or expiry differ
    sampled: int = 0

    @property
    def equal(self) -> bool:
        return not (self.missing or self.extra or self.differing) and self.source_keys == self.target_keys

    def problems(self) -> list[str]:
        out = []
        if self.source_keys != self.target_keys:
            out.append(f"keys: {self.source_keys} in the source, {self.target_keys} in the target")
        for label, keys in (("missing from the target", self.missing), ("only in the target", self.extra),
                            ("with another value or expiry", self.differing)):
            if keys:
                out.append(f"{len(keys)} key(s) {label}: {', '.join(keys[:5])}{' ...' if len(keys) > 5 else ''}")
        return out


def _show(key: bytes) -> str:
    return key.decode(errors="backslashreplace")


def compare_keys(source: RedisSide, target: RedisSide, sample: int = SAMPLE) -> KeyComparison:
    src, dst = connect(source.url), connect(target.url)
    try:
        with errors(f"{source.where} / {target.where}", "comparing the tenant's keys"):
            a, b = scan_keys(src, source.prefix), scan_keys(dst, target.prefix)
            result = KeyComparison(len(a), len(b), [_show(k) for k in sorted(set(a) - set(b))],
                                   [_show(k) for k in sorted(set(b) - set(a))])
            common = sorted(set(a) & set(b), key=lambda k: hashlib.sha256(k).digest())[:sample]
            left, right = _canonical(src, common), _canonical(dst, common)
            result.differing = [_show(k) for k in common if left.get(k) != right.get(k)]
            result.sampled = len(common)
            return result
    finally:
        src.close()
        dst.close()


def checksum(client, prefix: bytes) -> list:
    """[key count, sha256 over every key's name, type, value and whether it expires]."""
    keys = scan_keys(client, prefix)
    canonical = _canonical(client, keys)
    digest = hashlib.sha256()
    for key in sorted(canonical):
        kind, value, expires = canonical[key]
        digest.update(b"%s\0%s\0%s\0%d\n" % (key.hex().encode(), kind.encode(), value.encode(), expires))
    return [len(canonical), digest.hexdigest()]


# -- the target ------------------------------------------------------------------------------------------------

def key_count(side: RedisSide) -> int:
    client = connect(side.url)
    try:
        with errors(side.where, "counting the tenant's keys"):
            return len(scan_keys(client, side.prefix))
    finally:
        client.close()


def clear(side: RedisSide) -> int:
    """Delete the tenant's keys on this side (an earlier partial copy, or the retired old copy)."""
    client = connect(side.url)
    try:
        with errors(side.where, "deleting the tenant's keys"):
            keys = scan_keys(client, side.prefix)
            for start in range(0, len(keys), BATCH):
                client.unlink(*keys[start:start + BATCH])
            return len(keys)
    finally:
        client.close()


def _acl_getuser(client, user: str) -> Optional[dict[str, Any]]:
    """ACL GETUSER, raw (redis-py's parser splits the command rules and loses their order)."""
    reply = client.execute_command("ACL", "GETUSER", user)
    if reply is None:
        return None
    it = iter(reply)
    return {(k.decode() if isinstance(k, bytes) else k): v for k, v in zip(it, it)}


def _text(value) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def ensure_user(source: RedisSide, target: RedisSide) -> str:
    """A self-managed target gets the tenant's ACL user as the source has it (same rules, same
    password hash) when it has none; ElastiCache users come from the stacks instead."""
    src, dst = connect(source.url), connect(target.url)
    try:
        with errors(target.where, f"checking ACL user {target.user}"):
            if _acl_getuser(dst, target.user) is not None:
                return "present"
            line = next((_text(entry) for entry in src.execute_command("ACL", "LIST")
                         if _text(entry).split(" ")[:2] == ["user", source.user]), None)
            if line is None:
                raise DataPlaneError(f"{source.where}: no ACL user {source.user} to copy to {target.where}; create it "
                                     "there (cache-acl, or the stack's cache user) and run again")
            dst.execute_command("ACL", "SETUSER", target.user, "reset", *line.split(" ")[2:])
            return "created"
    finally:
        src.close()
        dst.close()


def may_write(side: RedisSide) -> Optional[str]:
    """None when the tenant's user may write its keys on this cache (ACL DRYRUN), else why not
    (a freeze left from an earlier move, a suspended user). Unknown (no ACL DRYRUN): None."""
    import redis

    client = connect(side.url)
    try:
        found = _acl_getuser(client, side.user)
        if found is None:
            return f"no user {side.user}"
        if "on" not in [_text(f) for f in found.get("flags", [])]:
            return f"user {side.user} is off"
        try:
            reply = client.execute_command("ACL", "DRYRUN", side.user, "SET", side.prefix + b"probe", "1")
        except redis.ResponseError:
            return None
        return None if _text(reply) == "OK" else f"user {side.user} may not write: {_text(reply)}"
    except redis.RedisError as exc:
        raise DataPlaneError(f"{side.where}: checking user {side.user}: {first_line(exc)}") from None
    finally:
        client.close()


def acl_commands(side: RedisSide) -> dict[str, Any]:
    """The tenant user's command rules: the record a freeze keeps (saved before the change)."""
    if elasticache_users.is_elasticache(side.url):
        return {"user": side.user, "service": "elasticache", "access": elasticache_users.access_string(side.user)}
    client = connect(side.url)
    try:
        with errors(side.where, f"reading ACL user {side.user}"):
            found = _acl_getuser(client, side.user)
            if found is None:
                raise DataPlaneError(f"{side.where}: no ACL user {side.user}: the tenant's writes cannot be frozen")
            return {"user": side.user, "commands": _text(found.get("commands", b""))}
    finally:
        client.close()


def deny_writes(side: RedisSide) -> None:
    """The freeze: the tenant's user may read, not write (its open connections included)."""
    if elasticache_users.is_elasticache(side.url):
        access = elasticache_users.access_string(side.user)
        elasticache_users.set_access(side.user, elasticache_users.frozen(access))
        return
    client = connect(side.url)
    try:
        with errors(side.where, f"freezing ACL user {side.user}"):
            client.execute_command("ACL", "SETUSER", side.user, "-@write")
    finally:
        client.close()


def unfreeze(side: RedisSide, record: dict[str, Any]) -> None:
    if record.get("service") == "elasticache":
        elasticache_users.set_access(record["user"], record["access"])
        return
    client = connect(side.url)
    try:
        with errors(side.where, f"restoring ACL user {side.user}"):
            if record.get("commands") and _acl_getuser(client, side.user) is not None:
                client.execute_command("ACL", "SETUSER", record["user"], *record["commands"].split())
    finally:
        client.close()


def disable_user(side: RedisSide) -> int:
    """The tenant's user is switched off and its connections closed; its keys stay. (ElastiCache:
    switched off through its API; its nodes end the user's sessions themselves.)"""
    if elasticache_users.is_elasticache(side.url):
        elasticache_users.set_access(side.user, elasticache_users.switched_off(elasticache_users.access_string(side.user)))
        return 0
    client = connect(side.url)
    try:
        with errors(side.where, f"disabling ACL user {side.user}"):
            if _acl_getuser(client, side.user) is None:
                return 0
            client.execute_command("ACL", "SETUSER", side.user, "off")
            return int(client.execute_command("CLIENT", "KILL", "USER", side.user) or 0)
    finally:
        client.close()


# -- files: the bundle's keys --------------------------------------------------------------------------------------

def export_keys(client, prefix: bytes) -> bytes:
    """One JSON line per key: name, remaining TTL in ms (-1: none) and DUMP payload, base64."""
    lines = []
    for key, payload, ttl in _dumps(client, scan_keys(client, prefix)):
        if payload is None:
            continue
        lines.append(json.dumps({"k": base64.b64encode(key).decode(), "ttl": ttl,
                                 "d": base64.b64encode(payload).decode()}, sort_keys=True))
    return ("\n".join(lines) + ("\n" if lines else "")).encode()


def import_keys(client, data: bytes) -> int:
    items = []
    for line in data.decode().splitlines():
        entry = json.loads(line)
        items.append((base64.b64decode(entry["k"]), base64.b64decode(entry["d"]), int(entry["ttl"])))
    return _restore(client, items)
