"""Edit a registry file the way a person would: change the fields asked for, keep everything else.

ruamel.yaml's round trip keeps comments, key order, flow or block style and quoting. Two guards keep
untouched lines byte for byte: an edit is applied as a patch of lines onto the original text (so
whatever ruamel would re-indent or re-wrap elsewhere stays as written), and the result must read,
with the registry's own YAML reader, as exactly the original data with the asked-for change.

Values are written as the registry reads them (PyYAML, YAML 1.1): `600` is a number, `[sso, audit-log]`
a list, `null` removes the key; a string the registry would read as something else is quoted.
"""

from __future__ import annotations

import copy
import difflib
import io
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import yaml
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import YAMLError as RuamelError
from ruamel.yaml.scalarstring import SingleQuotedScalarString
from ruamel.yaml.util import load_yaml_guess_indent

from tenancy.exits import CommandError
from tenancy.registry.models import Tenant
from tenancy.registry.source import SourceError, parse_yaml
from tenancy.registry.validation import allowed_keys

DELETE = object()  # the value of an assignment that removes its key (`field=null`)


class EditError(CommandError):
    """The edit cannot be expressed (a path through a list or a value, a value that is not YAML): exit 2."""


@dataclass(frozen=True)
class Assignment:
    path: tuple[str, ...]  # ("quotas", "maxUsers")
    value: Any  # what the registry will read, or DELETE

    @property
    def field(self) -> str:
        return ".".join(self.path)


def parse_assignment(text: str) -> Assignment:
    """`quotas.maxUsers=600` -> Assignment(("quotas", "maxUsers"), 600), read as the registry reads YAML."""
    name, sep, raw = text.partition("=")
    name = name.strip()
    if not sep or not name:
        raise EditError(f"{text!r}: give FIELD=VALUE, such as quotas.maxUsers=600")
    path = tuple(name.split("."))
    if any(not part for part in path):
        raise EditError(f"{text!r}: {name!r} is not a dotted field name such as quotas.maxUsers")
    if not raw.strip():
        raise EditError(f"{text!r}: give a value after '=', or {name}=null to remove the field")
    try:
        value = parse_yaml(raw).data
    except SourceError as exc:
        raise EditError(f"{text!r}: the value is not YAML ({exc.message})") from None
    return Assignment(path, DELETE if value is None else value)


def apply_to_data(data: dict, assignments: Iterable[Assignment]) -> dict:
    """What the registry should read after the edit: `data` with the assignments applied (plain
    Python; the file's text is checked against this)."""
    out = copy.deepcopy(data)
    for a in assignments:
        parent = out
        for i, key in enumerate(a.path[:-1]):
            child = parent.get(key)
            if child is None:
                if a.value is DELETE:
                    break
                child = parent[key] = {}
            if not isinstance(child, dict):
                raise EditError(f"{a.field}: {'.'.join(a.path[:i + 1])} holds a "
                                f"{type(child).__name__}, not a mapping of fields")
            parent = child
        else:
            if a.value is DELETE:
                parent.pop(a.path[-1], None)
                _drop_empty(out, a.path[:-1])
            else:
                parent[a.path[-1]] = a.value
    return out


def _drop_empty(data: dict, path: tuple[str, ...]) -> None:
    """A mapping emptied by removing its last field goes too (its absence means the same)."""
    while path:
        parent = data
        for key in path[:-1]:
            parent = parent.get(key) if isinstance(parent, dict) else None
        if not isinstance(parent, dict) or parent.get(path[-1]) != {}:
            return
        del parent[path[-1]]
        path = path[:-1]


# -- the round trip -----------------------------------------------------------------------------------

def _yaml_for(text: str) -> YAML:
    rt = YAML()
    rt.preserve_quotes = True
    rt.width = 1 << 16  # never re-wrap a long line
    try:
        _, indent, block_seq_indent = load_yaml_guess_indent(text)
    except RuamelError:
        indent, block_seq_indent = None, None
    indent = indent or 2
    offset = block_seq_indent or 0
    rt.indent(mapping=indent, sequence=indent + offset if offset else indent, offset=offset)
    rt.explicit_start = text.lstrip().startswith("---")
    return rt


def _dump(rt: YAML, data: Any) -> str:
    out = io.StringIO()
    rt.dump(data, out)
    return out.getvalue()


def _node(value: Any, flow: bool = True) -> Any:
    """A plain value as a ruamel node: collections in flow style (as the registry writes them), and
    strings quoted where the registry's reader would take them for something else."""
    if isinstance(value, (dict, list)):
        if isinstance(value, dict):
            node = CommentedMap((k, _node(v)) for k, v in value.items())
        else:
            node = CommentedSeq(_node(v) for v in value)
        if flow:
            node.fa.set_flow_style()
        else:
            node.fa.set_block_style()
        return node
    if isinstance(value, str) and not _reads_back(value):
        return SingleQuotedScalarString(value)
    return value


def _reads_back(text: str) -> bool:
    try:
        return yaml.safe_load(text) == text and "\n" not in text
    except yaml.YAMLError:
        return False


def _insert_position(mapping: CommentedMap, key: str, path: tuple[str, ...]) -> int:
    """Where a new key goes: after the last present key that comes before it in the model's order."""
    order = allowed_keys(Tenant, path)
    if key not in order:
        return len(mapping)
    rank = order.index(key)
    position = 0
    for i, existing in enumerate(mapping):
        if existing in order and order.index(existing) < rank:
            position = i + 1
    return position


def _is_flow(node: Any) -> bool:
    return bool(getattr(node, "fa", None) is not None and node.fa.flow_style())


def _assign(root: CommentedMap, a: Assignment) -> None:
    parent = root
    for i, key in enumerate(a.path[:-1]):
        child = parent.get(key)
        if child is None:
            if a.value is DELETE:
                return
            child = CommentedMap()
            child.fa.set_flow_style()
            if key in parent:  # `key:` with no value
                parent[key] = child
            else:
                parent.insert(_insert_position(parent, key, a.path[:i]), key, child)
        if not isinstance(child, CommentedMap):
            raise EditError(f"{a.field}: {'.'.join(a.path[:i + 1])} holds a "
                            f"{type(child).__name__}, not a mapping of fields")
        parent = child
    key = a.path[-1]
    if a.value is DELETE:
        if key in parent:
            del parent[key]
        _drop_empty_nodes(root, a.path[:-1])
        return
    existing = parent.get(key)
    node = _node(a.value, flow=not isinstance(existing, (CommentedMap, CommentedSeq)) or _is_flow(existing))
    if key in parent:
        parent[key] = node
    else:
        parent.insert(_insert_position(parent, key, a.path[:-1]), key, node)


def _drop_empty_nodes(root: CommentedMap, path: tuple[str, ...]) -> None:
    while path:
        parent = root
        for key in path[:-1]:
            parent = parent[key]
        child = parent.get(path[-1])
        if not isinstance(child, CommentedMap) or len(child):
            return
        del parent[path[-1]]
        path = path[:-1]


def _patch(original: str, normalized: str, edited: str) -> str:
    """Apply the lines ruamel changed for the edit (normalized -> edited) onto the original text, so
    that lines the edit did not touch stay exactly as written even where ruamel would write them
    differently. Full-line comments in a removed stretch stay (they describe what follows)."""
    orig, norm, new = (t.splitlines(keepends=True) for t in (original, normalized, edited))
    to_orig: dict[int, int] = {}
    for tag, i1, i2, j1, _ in difflib.SequenceMatcher(None, norm, orig, autojunk=False).get_opcodes():
        if tag == "equal":
            to_orig.update({i1 + k: j1 + k for k in range(i2 - i1)})
    hunks = []
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, norm, new, autojunk=False).get_opcodes():
        if tag == "equal":
            continue
        if i1 == i2:  # an insertion: after the line before it, else before the line after it
            if i1 == 0:
                start = 0
            elif i1 - 1 in to_orig:
                start = to_orig[i1 - 1] + 1
            elif i1 in to_orig:
                start = to_orig[i1]
            else:
                return edited
            start = _above_comments(orig, start, new[j1:j2])
            hunks.append((start, start, new[j1:j2]))
            continue
        if not all(i in to_orig for i in range(i1, i2)):
            return edited
        start, end = to_orig[i1], to_orig[i2 - 1] + 1
        if end - start != i2 - i1:
            return edited
        replacement = new[j1:j2]
        kept = [line for line in orig[start:end] if line.lstrip().startswith("#") and line not in replacement]
        hunks.append((start, end, replacement + kept))
    out = list(orig)
    for start, end, lines in sorted(hunks, key=lambda h: h[0], reverse=True):
        out[start:end] = lines
    return "".join(out)


def _is_comment(line: str) -> bool:
    return not line.strip() or line.lstrip().startswith("#")


def _above_comments(lines: list[str], start: int, inserted: list[str]) -> int:
    """New keys go above the comment lines that precede the insertion point: ruamel keeps those
    with the key before them, but they describe the key after them (or close the file). The file's
    header comment stays first."""
    if all(_is_comment(line) for line in inserted):
        return start
    position = start
    while position > 0 and _is_comment(lines[position - 1]):
        position -= 1
    return start if position == 0 else position


def edit_text(text: str, assignments: Iterable[Assignment]) -> str:
    """The file's text with the assignments applied, everything else as it was."""
    assignments = list(assignments)
    try:
        before = parse_yaml(text).data
    except SourceError as exc:
        raise EditError(f"line {exc.line}: {exc.message}; fix the file by hand first") from None
    if not isinstance(before, dict):
        raise EditError("the file does not hold a mapping; fix it by hand first")
    expected = apply_to_data(before, assignments)
    rt = _yaml_for(text)
    try:
        doc = rt.load(text)
        normalized = _dump(rt, doc)
        for a in assignments:
            _assign(doc, a)
        edited = _dump(rt, doc)
    except RuamelError as exc:
        raise EditError(f"cannot edit this file with a round trip: {exc}") from None
    for candidate in (_patch(text, normalized, edited), edited):
        try:
            if parse_yaml(candidate).data == expected:
                return candidate
        except SourceError:
            continue
    raise EditError("the edit cannot be written so that the registry reads it back as asked; edit the file by hand")


def unified_diff(before: str, after: str, path: str) -> list[str]:
    """A unified diff of a file's text, as lines without their newlines."""
    return [line.rstrip("\n") for line in difflib.unified_diff(
        before.splitlines(keepends=True), after.splitlines(keepends=True),
        fromfile=f"a/{path}" if before else "/dev/null", tofile=f"b/{path}")]
