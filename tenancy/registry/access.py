"""Cache access: the one definition of what a pooled tenant's cache user may touch."""

from __future__ import annotations


def key_prefix(tenant_id: str) -> str:
    return f"{tenant_id}:"


def cache_access_string(tenant_id: str, enabled: bool = True) -> str:
    """Redis ACL rules limiting a user to keys and channels prefixed `<id>:`, without admin or
    dangerous commands. Used by the ElastiCache user resource and by the data-plane ACL alike.
    A suspended tenant's user is switched off; its keys stay."""
    prefix = key_prefix(tenant_id)
    # Key patterns do not filter SCAN, RANDOMKEY or PUBSUB CHANNELS: they would list other
    # tenants' key and channel names, so they go too (KEYS is already in @dangerous).
    return (f"{'on' if enabled else 'off'} ~{prefix}* &{prefix}* +@all -@admin -@dangerous "
            "-scan -randomkey -pubsub")


DISABLED_DEFAULT_USER = "off -@all"
