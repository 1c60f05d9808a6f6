"""GX's kwarg lookups, rewritten to build an expectation's configuration once per lookup.

GX 1.24 reads an expectation's kwargs through `Expectation.configuration`, a property that dumps the
pydantic model into a new ExpectationConfiguration, and its lookups read that property once per key:
more than a hundred builds per expectation per validation, each re-deriving the expectation's type
name by regex. The replacements take a row suite on 500 or 10,000 rows from about 5,500 to 7,500 and
from 85,000 to 120,000 rows per CPU-second (`benchmarks/validate_speed.py --rows N`); a backfill,
which validates two suites per source and day, gains most. They read the configuration once per
lookup and memoise the name conversion; they return what GX's own methods return (a test compares
them on every suite in expectations/). They are applied only to the GX version they were written
against; any other version runs stock.

GX also names every metric it computes by `IDDict.to_id`, which passes the kwargs through its
general converter before hashing their JSON: a fifth of a small batch's validation under cProfile,
for kwargs that are nearly always plain JSON already. `to_id` here hashes plain kwargs (exact str,
int, float, bool, None, lists, tuples and dicts with string keys) directly, which is what the
converter would give for them, and hands anything else to GX's: the same ids either way. Suites
on 500 or 2,000 rows validated 2-26% faster, 14% on average (`benchmarks/validate_speed.py`).
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
from typing import Any

GX_VERSION = "1.24.1"

logger = logging.getLogger(__name__)
STOCK: dict[str, Any] = {}  # GX's own methods, as replaced


def apply() -> bool:
    """Install the lookups once per process; True when the installed GX is the version they fit."""
    import great_expectations as gx
    from great_expectations.expectations import expectation as module

    if gx.__version__ != GX_VERSION:
        return False
    if not getattr(module.camel_to_snake, "cache_info", None):
        module.camel_to_snake = functools.cache(module.camel_to_snake)
    for name, method in REPLACEMENTS.items():
        STOCK.setdefault(name, getattr(module.Expectation, name))
        setattr(module.Expectation, name, method)
    from great_expectations.core.id_dict import IDDict

    STOCK.setdefault("to_id", IDDict.to_id)
    IDDict.to_id = _to_id
    return True


_PLAIN = frozenset({str, int, float, bool, type(None)})


def _plain(value: Any) -> bool:
    """Whether GX's converter would hand `value` back as it is: exact JSON types, string keys."""
    kind = type(value)
    if kind is dict:
        return all(type(key) is str and _plain(item) for key, item in value.items())
    if kind is list or kind is tuple:
        return all(_plain(item) for item in value)
    return kind in _PLAIN


def _to_id(self: Any, id_keys: Any = None, id_ignore_keys: Any = None) -> Any:
    """`IDDict.to_id`, the md5 of the kwargs' sorted JSON taken directly when they are plain."""
    keys = set(self.keys() if id_keys is None else id_keys) - set(
        self._id_ignore_keys if id_ignore_keys is None else id_ignore_keys)
    if len(keys) > 1:
        data = {key: self[key] for key in keys}
        if _plain(data):
            try:  # NaN, which the converter turns into null, is not plain JSON
                text = json.dumps(data, sort_keys=True, allow_nan=False)
            except ValueError:
                pass
            else:
                return hashlib.md5(text.encode("utf-8"), usedforsecurity=False).hexdigest()
    return STOCK["to_id"](self, id_keys, id_ignore_keys)


def _kwarg(expectation: Any, kwargs: dict[str, Any], key: str, default: Any = None) -> Any:
    """One kwarg: configured, else the field's default (`default` for a required field)."""
    if key in kwargs:
        return kwargs[key]
    field = expectation.__fields__.get(key)
    if field is not None:
        return field.default if not field.required else default
    logger.warning("kwarg %r is not a known field of %s", key, type(expectation).__name__)
    return default


def _values(expectation: Any, kwargs: dict[str, Any], keys: tuple[str, ...]) -> dict[str, Any]:
    """The kwargs `keys`, each configured or else its default."""
    return {key: kwargs.get(key, expectation._get_default_value(key)) for key in keys}


def _get_domain_kwargs(self: Any) -> dict[str, Any]:
    return _values(self, self.configuration.kwargs, self.domain_keys)


def _get_success_kwargs(self: Any) -> dict[str, Any]:
    return _values(self, self.configuration.kwargs, (*self.success_keys, *self.domain_keys))


def _get_success_kwarg(self: Any, key: str, default: Any = None) -> Any:
    return _kwarg(self, self.configuration.kwargs, key, default)


def _get_runtime_kwargs(self: Any, runtime_configuration: dict | None = None) -> dict[str, Any]:
    from great_expectations.expectations.expectation import parse_result_format

    runtime_configuration = runtime_configuration or {}
    kwargs = self.configuration.kwargs
    found = {key: runtime_configuration.get(key, _kwarg(self, kwargs, key)) for key in self.runtime_keys}
    found.update(_values(self, kwargs, (*self.success_keys, *self.domain_keys)))
    found["result_format"] = parse_result_format(found["result_format"])
    return found


REPLACEMENTS = {
    "_get_domain_kwargs": _get_domain_kwargs,
    "_get_success_kwargs": _get_success_kwargs,
    "_get_success_kwarg": _get_success_kwarg,
    "_get_runtime_kwargs": _get_runtime_kwargs,
}
