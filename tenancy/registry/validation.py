"""Turn pydantic's validation errors into registry findings that say what is allowed."""

from __future__ import annotations

import types
import typing
from typing import Any

from pydantic import BaseModel, ValidationError

FieldProblem = tuple[tuple, str]  # (field path, message)


def _inner_model(annotation: Any) -> tuple[type[BaseModel] | None, bool]:
    """The model class inside an annotation, and whether a dict key stands between them in a loc."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation, False
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin in (dict, dict):
        model, _ = _inner_model(args[1]) if len(args) == 2 else (None, False)
        return model, True
    if origin in (typing.Union, types.UnionType, list, list, typing.Annotated):
        for arg in args:
            model, keyed = _inner_model(arg)
            if model is not None:
                return model, keyed
    return None, False


def _field_by_key(model: type[BaseModel], key: str):
    for name, info in model.model_fields.items():
        if key in (name, info.alias):
            return info
    return None


def _walk(model: type[BaseModel], loc: tuple):
    """Follow `loc` through the model: (the field it ends at, the model inside that field), or
    (None, None) when it leaves the model."""
    current: type[BaseModel] | None = model
    info = None
    skip_key = False
    for part in loc:
        if isinstance(part, int):
            continue
        if skip_key:
            skip_key = False
            continue
        if current is None:
            return None, None
        info = _field_by_key(current, str(part))
        if info is None:
            return None, None
        current, skip_key = _inner_model(info.annotation)
    return info, current


def field_at(model: type[BaseModel], loc: tuple):
    """The FieldInfo a loc ends at, or None."""
    return _walk(model, loc)[0]


def _description(info) -> str | None:
    if info is None:
        return None
    if info.description:
        return info.description
    for meta in getattr(info, "metadata", []):  # list[Annotated[str, Field(description=...)]]
        if getattr(meta, "description", None):
            return meta.description
    for arg in typing.get_args(info.annotation):
        for meta in typing.get_args(arg)[1:]:
            if getattr(meta, "description", None):
                return meta.description
    return None


def allowed_keys(model: type[BaseModel], loc: tuple) -> list[str]:
    """The keys a mapping at `loc` (inside `model`) may have."""
    inner = _walk(model, loc)[1] if loc else model
    return [info.alias or name for name, info in inner.model_fields.items()] if inner else []


def _short(value: Any) -> str:
    text = "null" if value is None else repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def findings_from(exc: ValidationError, model: type[BaseModel]) -> list[FieldProblem]:
    """One finding per pydantic error, located by its loc, worded for the person editing YAML."""
    out: list[FieldProblem] = []
    for err in exc.errors(include_url=False):
        loc = tuple(p for p in err["loc"] if p != "[key]")
        kind = err["type"]
        if kind == "extra_forbidden":
            keys = allowed_keys(model, loc[:-1])
            message = f"unknown key {str(loc[-1])!r}; allowed keys: {', '.join(keys)}"
        elif kind == "missing":
            message = "required field is missing"
        elif kind in ("model_type", "model_attributes_type", "dict_type"):
            given = err["input"]
            message = "must be a mapping of keys to values, not " + (
                "empty" if given is None else f"{type(given).__name__} {_short(given)}")
        elif kind == "string_pattern_mismatch" and _description(field_at(model, loc)):
            message = f"must be {_description(field_at(model, loc))} (got {_short(err['input'])})"
        elif kind == "list_type" and isinstance(err["input"], str):
            message = f"must be a list, such as [{err['input']}]"
        else:
            message = err["msg"].removeprefix("Value error, ")
            if kind not in ("value_error", "assertion_error"):
                message += f" (got {_short(err['input'])})"
        out.append((loc, message))
    return out
