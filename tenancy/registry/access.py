"""Cache access: the one definition of what a pooled tenant's cache user may touch.

An allowlist: the user starts from nothing (`-@all`) and gets only commands that act on keys named in
their arguments (so `~<id>:*` filters every one of them), on channels named in their arguments
(`&<id>:*` filters those), or on its own connection and transaction. Nothing server-wide: no scripts
or functions (one library namespace for the whole server, and a busy script blocks every tenant),
no CLIENT (tracking streams other tenants' key names; LIST/KILL/PAUSE reach other connections), no
DBSIZE/INFO/MEMORY/KEYS/SCAN/RANDOMKEY/PUBSUB (server-wide counts and names), no SELECT/MOVE/COPY/SWAPDB
(other databases, out of sight of the measurement), no SORT (@dangerous: its BY/GET patterns name
keys it never declares, which Redis 7 refuses to prefix-limited users anyway), no
DUMP/RESTORE/OBJECT/DEBUG/WAIT.

The same string is an ElastiCache user's access string and the self-managed server's ACL SETUSER
rules: only `on`/`off`, `~pattern`, `&pattern`, `+@category`, `-@category` and `+command`; no `reset`
(ElastiCache refuses it), no password, no subcommand rule, and none of ElastiCache's restricted
commands (bgrewriteaof, bgsave, config, debug, migrate, replicaof, save, slaveof, shutdown, sync)
named. Every command named exists in Redis 7.0 and later (the pool runs 7.1).
"""

from __future__ import annotations


def key_prefix(tenant_id: str) -> str:
    return f"{tenant_id}:"


DATA_TYPE_CATEGORIES = ("string", "hash", "list", "set", "sortedset", "stream", "bitmap", "hyperloglog", "geo")
"""Every command of these categories names its keys (SORT, SORT_RO, PFDEBUG and PFSELFTEST, which are
in them too, are @dangerous or @admin and taken away again at the end)."""

KEY_COMMANDS = ("del", "unlink", "exists", "type", "touch", "expire", "pexpire", "expireat", "pexpireat",
                "expiretime", "pexpiretime", "persist", "ttl", "pttl", "rename", "renamenx")
"""The generic key commands that act only on the keys they name (RENAME checks both names)."""

CHANNEL_COMMANDS = ("publish", "subscribe", "unsubscribe", "psubscribe", "punsubscribe", "spublish", "ssubscribe",
                    "sunsubscribe")
"""Pub/sub on channels named in the arguments; PSUBSCRIBE's pattern must equal an allowed pattern."""

CONNECTION_COMMANDS = ("ping", "echo", "hello", "auth", "reset", "quit")
"""The caller's own connection only (MULTI/EXEC/DISCARD/WATCH/UNWATCH come with @transaction)."""

REMOVED_CATEGORIES = ("admin", "dangerous", "scripting")
"""Taken away last: whatever a category above also holds of these goes again."""


def cache_access_string(tenant_id: str, enabled: bool = True) -> str:
    """Redis ACL rules limiting a user to an allowlist of commands on keys and channels prefixed
    `<id>:`. Used by the ElastiCache user resource and by the data-plane ACL alike. A suspended
    tenant's user is switched off; its keys stay.

    No `resetchannels`: `&<id>:*` on a user that already has every channel is an error in Redis 7,
    not a no-op, so the string cannot silently grant more; `cache-acl` starts from `reset` anyway."""
    prefix = key_prefix(tenant_id)
    allowed = [*(f"+@{c}" for c in (*DATA_TYPE_CATEGORIES, "transaction")),
               *(f"+{c}" for c in (*KEY_COMMANDS, *CHANNEL_COMMANDS, *CONNECTION_COMMANDS))]
    removed = [f"-@{c}" for c in REMOVED_CATEGORIES]
    return " ".join([f"{'on' if enabled else 'off'}", f"~{prefix}*", f"&{prefix}*", "-@all", *allowed, *removed])


DISABLED_DEFAULT_USER = "off -@all"
