"""Safe YAML loading that remembers where every value came from.

PyYAML's loaders silently keep the last of two duplicate keys and lose line numbers. The registry
needs both: a duplicate key is an error, and every validation message names its line. So documents
are composed into nodes and built here, recording the line of each path; aliases are expanded under a
budget so that a small file cannot expand into a huge document.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

# libyaml's loader when PyYAML has it (its wheels do): the same nodes and marks, about ten times faster.
_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
MAX_FILE_BYTES = 256 * 1024
MAX_NODES = 20_000

Path_ = tuple  # ('quotas', 'maxUsers') or ('environments', 0)


class SourceError(Exception):
    """The file cannot be read as one YAML document; `line` is 1-based."""

    def __init__(self, line: int, message: str):
        self.line = line
        self.message = message
        super().__init__(f"line {line}: {message}")


@dataclass
class Document:
    """A parsed YAML document: its data, the line of each path, and non-fatal problems found."""

    data: Any
    lines: dict[Path_, int] = field(default_factory=dict)
    duplicates: list[tuple[Path_, int, int]] = field(default_factory=list)  # path, line, first line

    def line_of(self, path: Path_) -> int:
        """The line of the nearest path that exists (a missing field is reported at its parent)."""
        path = tuple(path)
        while path:
            if path in self.lines:
                return self.lines[path]
            path = path[:-1]
        return self.lines.get((), 1)


class _Builder:
    def __init__(self, loader: Any):
        self.loader = loader
        self.budget = MAX_NODES
        self.doc = Document(data=None)

    def build(self, node: yaml.Node, path: Path_) -> Any:
        self.budget -= 1
        if self.budget < 0:
            raise SourceError(
                node.start_mark.line + 1,
                f"the document expands to more than {MAX_NODES} values (anchors and aliases "
                "multiply); write the values out",
            )
        self.doc.lines.setdefault(path, node.start_mark.line + 1)
        if isinstance(node, yaml.MappingNode):
            return self._mapping(node, path)
        if isinstance(node, yaml.SequenceNode):
            return [self.build(item, path + (i,)) for i, item in enumerate(node.value)]
        return self.loader.construct_object(node, deep=True)

    def _mapping(self, node: yaml.MappingNode, path: Path_) -> dict:
        out: dict = {}
        first_line: dict = {}
        for key_node, value_node in node.value:
            line = key_node.start_mark.line + 1
            if key_node.tag == "tag:yaml.org,2002:merge":
                raise SourceError(line, "merge keys ('<<') are not supported in the registry")
            if not isinstance(key_node, yaml.ScalarNode):
                raise SourceError(line, "a mapping key must be a plain value, not a list or mapping")
            key = self.loader.construct_object(key_node)
            if not isinstance(key, str):
                key = str(key)
            if key in first_line:
                self.doc.duplicates.append((path + (key,), line, first_line[key]))
                continue
            first_line[key] = line
            self.doc.lines[path + (key,)] = line
            out[key] = self.build(value_node, path + (key,))
        return out


def parse_yaml(text: str) -> Document:
    """Parse one YAML document; raise SourceError with a line for anything that is not one."""
    if len(text.encode("utf-8", "replace")) > MAX_FILE_BYTES:
        raise SourceError(1, f"the file is larger than {MAX_FILE_BYTES // 1024} KiB")
    loader = _Loader(text)
    try:
        try:
            node = loader.get_single_node()
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark or exc.context_mark
            line = mark.line + 1 if mark else 1
            what = exc.problem or str(exc)
            raise SourceError(line, f"YAML syntax error: {what}") from None
        except yaml.YAMLError as exc:
            raise SourceError(1, f"YAML error: {exc}") from None
        if node is None:
            raise SourceError(1, "the file is empty; it must hold a mapping")
        builder = _Builder(loader)
        try:
            builder.doc.data = builder.build(node, ())
        except yaml.constructor.ConstructorError as exc:
            mark = exc.problem_mark
            raise SourceError(mark.line + 1 if mark else 1, f"YAML error: {exc.problem}") from None
        except RecursionError:
            raise SourceError(1, "the document nests too deeply") from None
        return builder.doc
    finally:
        loader.dispose()


def read_bytes(path: Path) -> bytes:
    """A file's bytes; an unreadable file becomes a SourceError."""
    try:
        return path.read_bytes()
    except OSError as exc:
        raise SourceError(1, f"cannot read the file: {exc.strerror}") from None


def read_yaml(path: Path) -> Document:
    """Read and parse a file; unreadable or non-UTF-8 files become SourceErrors."""
    return decode_yaml(read_bytes(path))


def decode_yaml(raw: bytes) -> Document:
    """Parse a file's bytes; non-UTF-8 bytes become a SourceError."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise SourceError(raw[: exc.start].count(b"\n") + 1, "the file is not valid UTF-8") from None
    return parse_yaml(text)
