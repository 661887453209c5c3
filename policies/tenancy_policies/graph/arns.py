"""ARNs and the wildcards IAM allows in them (`*` any run of characters, `?` one), matched on the
whole ARN as IAM does: `arn:aws:kms:*:*:key/*` names every key of every account and region."""

from __future__ import annotations

import re
from functools import lru_cache


@lru_cache(maxsize=4096)
def _pattern(glob: str, case_sensitive: bool) -> re.Pattern:
    body = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in glob)
    return re.compile(body + r"\Z", 0 if case_sensitive else re.IGNORECASE)


def matches(glob: str, value: str, case_sensitive: bool = True) -> bool:
    """Whether an IAM-style wildcard pattern matches the whole value."""
    if "*" not in glob and "?" not in glob:
        return glob == value if case_sensitive else glob.lower() == value.lower()
    return _pattern(glob, case_sensitive).match(value) is not None


def literal_prefix(glob: str) -> str:
    """The part of a pattern before its first wildcard."""
    for i, c in enumerate(glob):
        if c in "*?":
            return glob[:i]
    return glob


def service(arn: str) -> str:
    """The service of an ARN (`kms`), '' when it is no ARN."""
    parts = arn.split(":", 3)
    return parts[2] if len(parts) > 3 and parts[0] == "arn" else ""


def account(arn: str) -> str:
    parts = arn.split(":", 5)
    return parts[4] if len(parts) > 5 and parts[0] == "arn" else ""


def is_account_root(principal: str, account_id: str = "") -> bool:
    """The account itself as a principal: `arn:aws:iam::<account>:root` or the bare account id."""
    if re.fullmatch(r"\d{12}", principal):
        return not account_id or principal == account_id
    return bool(re.fullmatch(r"arn:aws[\w-]*:iam::\d{12}:root", principal)) and \
        (not account_id or account(principal) == account_id)
