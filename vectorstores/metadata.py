"""Metadata normalisation: any user metadata in, a dict Chroma accepts out.

Chroma stores str/int/float/bool, non-empty lists of one of those types, and None
(which it drops). Users hand us far more (unstructured's element metadata, LangChain
documents built by hand), so before every write each value is mapped, deterministically:

========================  ==================================================
value                     stored as
========================  ==================================================
str, int, bool, None      itself (None: Chroma drops the key, nothing to keep)
int beyond 64 bits        its decimal string (Chroma would round it to a float)
finite float              itself
NaN / +-inf               ``"nan"`` / ``"inf"`` / ``"-inf"`` (Chroma would store a null)
nested mapping            flattened to dotted keys: ``{"a": {"b": 1}}`` -> ``{"a.b": 1}``;
                          an empty mapping is dropped; if a dotted key would collide
                          with an existing key, the mapping is kept whole as JSON
list/tuple, one type      a list (``[1, 2]``); a set/frozenset is sorted first
empty list                dropped (it holds no value)
mixed list / list with    a JSON string (``'[1, "a"]'``) -- int and float count as
dicts, lists or None      different types, as Chroma counts them
date, datetime, time      ISO-8601 string
anything else             ``str(value)``
========================  ==================================================

Keys become strings (also inside JSON-encoded values); an empty key becomes ``"_"`` and a
key starting with ``$`` or ``#`` (reserved by Chroma) gets a leading ``_``. Nothing with a
value is ever dropped.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from collections.abc import Mapping
from typing import Any

__all__ = ["normalize_metadata", "MetadataValue"]

MetadataValue = str | int | float | bool | list[str] | list[int] | list[float] | list[bool]
_SCALARS = (str, int, float, bool)
_INT64 = range(-(2**63), 2**63)


def _key(key: object) -> str:
    text = key if isinstance(key, str) else str(key)
    if not text:
        return "_"
    if text[0] in "$#":
        return "_" + text
    return text


def _float(value: float) -> float | str:
    if math.isfinite(value):
        return value
    return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")


def _json_default(value: object) -> str:
    if isinstance(value, (dt.date, dt.time)):
        return value.isoformat()
    return str(value)


def _jsonable(value: object) -> object:
    """Mappings with string keys all the way down, so `sort_keys` never compares int to str."""
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, (set, frozenset)):
        return [_jsonable(v) for v in sorted(value, key=repr)]
    return value


def _to_json(value: object) -> str:
    return json.dumps(_jsonable(value), default=_json_default, sort_keys=True, ensure_ascii=False)


def _list(value: list[Any]) -> list[Any] | str | None:
    if not value:
        return None
    first = type(value[0])
    if first in _SCALARS and all(type(item) is first for item in value):
        if first is float and not all(math.isfinite(item) for item in value):
            return _to_json([_float(item) for item in value])
        if first is int and not all(item in _INT64 for item in value):
            return _to_json(value)
        return list(value)
    return _to_json(value)


def _scalar(value: object) -> Any:
    """Map one non-mapping value; None means "drop this key"."""
    if value is None or isinstance(value, (str, bool)):
        return value
    if isinstance(value, int):
        return value if value in _INT64 else str(value)
    if isinstance(value, float):
        return _float(value)
    if isinstance(value, (list, tuple)):
        return _list(list(value))
    if isinstance(value, (set, frozenset)):
        return _list(sorted(value, key=repr))
    if isinstance(value, (dt.date, dt.time)):  # datetime is a date
        return value.isoformat()
    return str(value)


def _flatten(prefix: str, value: Mapping[Any, Any], out: dict[str, Any]) -> None:
    for raw_key, item in value.items():
        key = f"{prefix}.{_key(raw_key)}" if prefix else _key(raw_key)
        if isinstance(item, Mapping):
            if item:
                _flatten(key, item, out)
            continue
        mapped = _scalar(item)
        if mapped is not None:
            out[key] = mapped


def normalize_metadata(metadata: Mapping[Any, Any] | None) -> dict[str, Any]:
    """Return a copy of `metadata` that Chroma accepts, per the table in this module."""
    if not metadata:
        return {}
    out: dict[str, Any] = {}
    nested: list[tuple[str, Mapping[Any, Any]]] = []
    for raw_key, value in metadata.items():
        kind = type(value)
        if (  # the usual key and value go straight through: one type test each
            type(raw_key) is str
            and raw_key
            and raw_key[0] not in "$#"
            and (
                kind is str
                or kind is bool
                or (kind is int and value in _INT64)
                or (kind is float and math.isfinite(value))
            )
        ):
            out[raw_key] = value
            continue
        key = _key(raw_key)
        if isinstance(value, Mapping):
            if value:
                nested.append((key, value))
            continue
        mapped = _scalar(value)
        if mapped is not None:
            out[key] = mapped
    # Flat keys first, so a nested mapping never silently overwrites an explicit key.
    for key, value in nested:
        flat: dict[str, Any] = {}
        _flatten(key, value, flat)
        if any(k in out for k in flat):
            out[key] = _to_json(value)
        else:
            out.update(flat)
    return out
