"""Comparing two copies of a tenant's data, and the error a mismatch raises (exit 1)."""

from __future__ import annotations

from tenancy.exits import CommandError, ExitCode


class VerificationFailed(CommandError):
    """The copies differ, or a bundle does not check out: what was checked is wrong, exit 1."""

    code = ExitCode.FAILED


def checksum_problems(source: dict[str, list], target: dict[str, list], left: str = "source",
                      right: str = "target") -> list[str]:
    """Per table (rows, md5) and per sequence (value) of two copies: every difference, named."""
    out = []
    for name in sorted(set(source) | set(target)):
        a, b = source.get(name), target.get(name)
        if a == b:
            continue
        if a is None or b is None:
            out.append(f"{name}: only in the {left if b is None else right}")
        elif name.startswith("sequence "):
            out.append(f"{name}: {a[0]} ({'called' if a[1] else 'not called'}) in the {left}, "
                       f"{b[0]} ({'called' if b[1] else 'not called'}) in the {right}")
        elif a[0] != b[0]:
            out.append(f"{name}: {a[0]} rows in the {left}, {b[0]} in the {right}")
        else:
            out.append(f"{name}: {a[0]} rows on both sides, but their checksums differ")
    return out


def summary(checksums: dict[str, list]) -> str:
    tables = {k: v for k, v in checksums.items() if not k.startswith("sequence ")}
    rows = sum(v[0] for v in tables.values())
    return f"{len(tables)} table(s), {rows} row(s)"
