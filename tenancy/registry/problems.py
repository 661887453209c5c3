"""One registry problem, located precisely enough that an engineer can fix it without guessing."""

from __future__ import annotations

from dataclasses import dataclass

from tenancy.registry.source import Document


@dataclass(frozen=True, order=True)
class Problem:
    """`file:line: tenant: field: message` — the one format every registry error is reported in."""

    file: str
    line: int
    tenant: str
    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.tenant}: {self.field or '(document)'}: {self.message}"


class RegistryInvalid(Exception):
    """Raised with every problem of a load, never just the first."""

    def __init__(self, problems: list[Problem]):
        self.problems = sorted(set(problems))
        super().__init__("\n".join(str(p) for p in self.problems))


def field_path(loc: tuple) -> str:
    """('quotas', 'maxUsers') -> 'quotas.maxUsers'; ('environments', 1) -> 'environments[1]'."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out


@dataclass(frozen=True)
class TenantSource:
    """Where a tenant came from, so any later check can point back at its file and lines."""

    file: str
    document: Document

    def problem(self, tenant: str, path: tuple, message: str) -> Problem:
        return Problem(self.file, self.document.line_of(path), tenant, field_path(path), message)
