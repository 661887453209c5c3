"""Reading engine properties safely: values may be absent, JSON-encoded, or unknown in preview."""

from __future__ import annotations

import contextlib
import ipaddress
import json
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from pulumi_policy.proxy import UnknownValueError

TENANT_TAG = "tenant-id"
TENANT_LABEL = "tenancy.io/tenant-id"
REQUIRED_TAGS = ("tenant-id", "tenant-plan", "isolation", "environment", "managed-by")
OPEN_CIDRS = ("0.0.0.0/0", "::/0")
DATA_PORTS = (5432, 3306, 6379)


def get(props: Mapping[str, Any], *path: str, default: Any = None) -> Any:
    """props[a][b]... or `default` when any step is missing. Reading an unknown still raises, as the
    SDK intends: the policy is then reported as not runnable during preview."""
    value: Any = props
    for key in path:
        if not isinstance(value, Mapping) or key not in set(value):
            return default
        value = value[key]
    return default if value is None else value


class _Unknown:
    """A value the engine does not know yet (preview). A property that is set to an unknown value
    is still set: it will hold whatever its source resource produces."""

    def __repr__(self) -> str:
        return "<unknown>"


UNKNOWN = _Unknown()


def peek(props: Mapping[str, Any], *path: str, default: Any = None) -> Any:
    """Like `get`, but an unknown value comes back as UNKNOWN instead of raising."""
    try:
        return get(props, *path, default=default)
    except UnknownValueError:
        return UNKNOWN


def not_judged(what: list[str]) -> UnknownValueError:
    """The error by which the engine reports a policy as not run in preview (rather than passed)."""
    return UnknownValueError("04da6b54-80e4-46f7-96ec-b56ff0331ba9", what)


def is_set(props: Mapping[str, Any], key: str) -> bool:
    """Whether a property is given at all (known or not), without reading its value."""
    return key in set(props) and peek(props, key) not in (None, "")


def policy_document(value: Any) -> dict:
    """An IAM policy document given as a JSON string or a mapping; {} when it is neither."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return {}
    return dict(value) if isinstance(value, Mapping) else {}


def statements(document: Mapping[str, Any]) -> list[dict]:
    found = document.get("Statement", [])
    return [dict(s) for s in (found if isinstance(found, list) else [found]) if isinstance(s, Mapping)]


def as_list(value: Any) -> list:
    """A value as a list: None is empty, a lone value is one item (engine lists arrive as proxies)."""
    if value is None:
        return []
    return list(value) if isinstance(value, Sequence) and not isinstance(value, str) else [value]


def strings_in(value: Any) -> Iterator[str]:
    """Every known string inside a value, including inside JSON-encoded documents."""
    if isinstance(value, str):
        yield value
        if value[:1] in "{[":
            with contextlib.suppress(ValueError):
                yield from strings_in(json.loads(value))
    elif isinstance(value, Mapping):
        for key in list(value):
            yield from strings_in(peek(value, key))
    elif isinstance(value, Sequence):
        for i in range(len(value)):
            try:
                item = value[i]
            except UnknownValueError:
                continue
            yield from strings_in(item)


def network(value: Any) -> ipaddress._BaseNetwork | None:
    try:
        return ipaddress.ip_network(str(value), strict=False)
    except ValueError:
        return None


def port_range_includes(from_port: Any, to_port: Any, protocol: Any, port: int) -> bool:
    if str(protocol) in ("-1", "all"):
        return True
    try:
        low, high = int(float(from_port)), int(float(to_port))
    except (TypeError, ValueError):
        return False
    return low <= port <= high
