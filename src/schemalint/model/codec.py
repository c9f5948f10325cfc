"""The schema model as plain values (dicts, lists, strings, numbers) and back, for the snapshots in the cache.
Unlike pickle, reading it back can only build the model's own records: a tagged dict names one of a fixed set
of classes, and nothing else is ever constructed or called."""

from __future__ import annotations

import dataclasses
from typing import Any

from schemalint.model.objects import (
    Column,
    Constraint,
    Function,
    Index,
    Policy,
    Sequence,
    Table,
    UserType,
)
from schemalint.model.schema import SchemaModel
from schemalint.model.types import ColumnType

FORMAT = 3  # 2: Column.collation; 3: SchemaModel.complete. Bump when a record's fields change: an older snapshot is then simply not used
_RECORDS: dict[str, type[Any]] = {cls.__name__: cls for cls in (
    Column, Constraint, Function, Index, Policy, Sequence, Table, UserType, SchemaModel, ColumnType)}


class CodecError(ValueError):
    """The plain values are not a schema model this version wrote."""


def to_plain(model: SchemaModel) -> dict[str, Any]:
    return {"format": FORMAT, "model": _encode(model)}


def from_plain(data: Any) -> SchemaModel:
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise CodecError("not a schema model of this format")
    model = _decode(data.get("model"))
    if not isinstance(model, SchemaModel):
        raise CodecError("not a schema model")
    return model


def _encode(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if dataclasses.is_dataclass(value) and type(value).__name__ in _RECORDS:
        return {"__record": type(value).__name__,
                **{f.name: _encode(getattr(value, f.name)) for f in dataclasses.fields(value)}}
    if isinstance(value, tuple):
        return {"__tuple": [_encode(v) for v in value]}
    if isinstance(value, frozenset | set):
        return {"__set": sorted((_encode(v) for v in value), key=repr), "frozen": isinstance(value, frozenset)}
    if isinstance(value, list):  # parse-tree lists (and LazyArray, decoded element by element) too
        return [_encode(v) for v in value]
    if isinstance(value, dict):
        if all(isinstance(k, str) and not k.startswith("__") for k in value):
            return {k: _encode(v) for k, v in value.items()}
        return {"__pairs": [[_encode(k), _encode(v)] for k, v in value.items()]}
    raise CodecError(f"cannot keep a {type(value).__name__} in a snapshot")


def _decode(value: Any) -> Any:
    if isinstance(value, list):
        return [_decode(v) for v in value]
    if not isinstance(value, dict):
        return value
    if "__record" in value:
        cls = _RECORDS.get(str(value["__record"]))
        if cls is None:
            raise CodecError(f"unknown record {value['__record']!r}")
        names = {f.name for f in dataclasses.fields(cls)}
        fields = {k: _decode(v) for k, v in value.items() if k != "__record"}
        if set(fields) != names:
            raise CodecError(f"{cls.__name__} does not have the fields {sorted(set(fields) ^ names)}")
        return cls(**fields)
    if "__tuple" in value:
        return tuple(_decode(v) for v in value["__tuple"])
    if "__set" in value:
        items = [_hashable(_decode(v)) for v in value["__set"]]
        return frozenset(items) if value.get("frozen") else set(items)
    if "__pairs" in value:
        return {_hashable(_decode(k)): _decode(v) for k, v in value["__pairs"]}
    return {k: _decode(v) for k, v in value.items()}


def _hashable(value: Any) -> Any:
    if isinstance(value, list | dict | set):
        raise CodecError("a set member or dict key that cannot be one")
    return value
