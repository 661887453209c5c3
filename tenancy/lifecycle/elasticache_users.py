"""The write freeze of `tenancy tenant move` on ElastiCache: its users change through the ElastiCache
API (ModifyUser), not through `ACL SETUSER`, which ElastiCache refuses.

The freeze appends `-@write` to the tenant user's access string and waits for the user to be active
again; unfreezing writes back the access string saved before, exactly. Credentials and region are
boto3's (the cell's account: see `tenancy.cli.cell_session`); an endpoint is ElastiCache's when its
host ends in `.cache.amazonaws.com`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, Optional
from urllib.parse import urlsplit

from tenancy.dataplane.apply import DataPlaneError

HOST_SUFFIX = ".cache.amazonaws.com"
DENY_WRITES = "-@write"
WAIT_SECONDS, POLL_SECONDS = 300, 2  # ElastiCache applies a user change to every node before it is active


def is_elasticache(url: str) -> bool:
    try:
        host = urlsplit(url).hostname or ""
    except ValueError:
        return False
    return host.endswith(HOST_SUFFIX)


def _client(session: Any = None):
    import boto3

    return (session or boto3).client("elasticache")


def _call(user_id: str, doing: str, call: Callable[[], Any]) -> Any:
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        return call()
    except (BotoCoreError, ClientError) as exc:
        raise DataPlaneError(f"ElastiCache user {user_id}: {doing}: {exc}") from None


def access_string(user_id: str, session: Any = None) -> str:
    client = _client(session)
    users = _call(user_id, "reading it", lambda: client.describe_users(UserId=user_id))["Users"]
    if not users:
        raise DataPlaneError(f"ElastiCache user {user_id} does not exist: the tenant's writes cannot be frozen")
    return users[0]["AccessString"]


def set_access(user_id: str, access: str, session: Any = None, sleep: Callable[[float], None] = time.sleep,
               wait_seconds: float = WAIT_SECONDS) -> None:
    """ModifyUser, then wait until the user is active on every node again."""
    client = _client(session)
    _call(user_id, "changing its access string", lambda: client.modify_user(UserId=user_id, AccessString=access))
    waited = 0.0
    while True:
        status: Optional[str] = _call(user_id, "waiting for it", lambda: client.describe_users(
            UserId=user_id))["Users"][0].get("Status")
        if status == "active":
            return
        if waited >= wait_seconds:
            raise DataPlaneError(f"ElastiCache user {user_id} is still {status} after {int(waited)} s: the change "
                                 "has not reached every node; run the move again to resume")
        sleep(POLL_SECONDS)
        waited += POLL_SECONDS


def frozen(access: str) -> str:
    """The access string without write commands (idempotent)."""
    return access if access.split()[-1:] == [DENY_WRITES] else f"{access} {DENY_WRITES}"


def switched_off(access: str) -> str:
    """The access string with the user off (its rules kept, for an offboarding that is undone)."""
    words = [w for w in access.split() if w not in ("on", "off")]
    return " ".join(["off", *words])
