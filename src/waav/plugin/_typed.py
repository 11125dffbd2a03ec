"""Typed, validated configuration records (the machinery behind every waav config class).

``@config_class`` turns a class into a frozen, keyword-only dataclass whose constructor

* rejects unknown keys with a :class:`waav.ConfigError` that names the class, the key and
  the closest valid key (``unknown STTConfig key 'langauge' (did you mean 'language'?)``);
* checks and converts every value against its annotation (``int``, ``float``, ``bool``,
  ``str``, ``X | None``, ``list[X]``, ``dict[str, X]``, ``Literal[...]``, nested config
  classes given as dicts, ``Any``), naming the field on error;
* remembers which fields the caller gave explicitly (:func:`fields_set`), so a merge can
  tell "left at its default" from "set to the default value".

Errors carry the key path (:class:`FieldError`), so the YAML loader can point at the line.
"""

from __future__ import annotations

import dataclasses
import difflib
import sys
import types
import typing
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Literal, TypeVar, Union, get_args, get_origin

from waav._exceptions import ConfigError

__all__ = ["FieldError", "config_class", "convert", "fields_set", "from_mapping", "replace", "to_dict"]

T = TypeVar("T")

if TYPE_CHECKING:
    from typing_extensions import dataclass_transform
else:

    def dataclass_transform(**_: Any) -> Callable[[T], T]:
        return lambda f: f


class FieldError(ConfigError):
    """A config value is invalid; ``path`` is the key path from the root of the record."""

    def __init__(self, path: tuple[str | int, ...], problem: str, *, owner: str = "") -> None:
        self.path = path
        self.problem = problem
        self.owner = owner
        super().__init__(f"{owner + ' ' if owner else ''}{dotted(path)}: {problem}" if path else problem)


def dotted(path: tuple[str | int, ...]) -> str:
    out = ""
    for p in path:
        out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else str(p))
    return out


def _suggest(key: str, valid: list[str]) -> str:
    close = difflib.get_close_matches(key, valid, n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def unknown_key_error(owner: str, key: str, valid: list[str], path: tuple[str | int, ...] = ()) -> FieldError:
    return FieldError(
        (*path, key),
        f"unknown {owner} key {key!r}{_suggest(key, valid)}; valid keys: {', '.join(sorted(valid))}",
    )


_HINTS: dict[type, dict[str, Any]] = {}


def _hints(cls: type) -> dict[str, Any]:
    h = _HINTS.get(cls)
    if h is None:
        module = sys.modules.get(cls.__module__)
        h = typing.get_type_hints(cls, vars(module) if module else None)
        _HINTS[cls] = h
    return h


def _type_name(tp: Any) -> str:
    if tp is bool:
        return "a boolean"
    if tp is int:
        return "an integer"
    if tp is float:
        return "a number"
    if tp is str:
        return "a string"
    return getattr(tp, "__name__", str(tp))


def convert(tp: Any, value: Any, path: tuple[str | int, ...]) -> Any:
    """Check ``value`` against the annotation ``tp`` and return it (nested dicts become records)."""
    if tp is Any:
        return value
    origin = get_origin(tp)
    if origin in (Union, types.UnionType):
        args = get_args(tp)
        if value is None:
            if type(None) in args:
                return None
            raise FieldError(path, "must not be null")
        errors = []
        for arg in args:
            if arg is type(None):
                continue
            try:
                return convert(arg, value, path)
            except FieldError as exc:
                errors.append(exc)
        raise errors[0] if len(errors) == 1 else FieldError(path, f"invalid value {value!r}")
    if origin is Literal:
        choices = get_args(tp)
        if value not in choices:
            raise FieldError(path, f"must be one of {', '.join(repr(c) for c in choices)}, got {value!r}")
        return value
    if origin in (list, tuple) or tp in (list, tuple):
        if not isinstance(value, (list, tuple)):
            raise FieldError(path, f"must be a list, got {type(value).__name__}")
        (item,) = get_args(tp)[:1] or (Any,)
        return [convert(item, v, (*path, i)) for i, v in enumerate(value)]
    if origin is dict or tp is dict or origin is Mapping:
        if not isinstance(value, Mapping):
            raise FieldError(path, f"must be a mapping, got {type(value).__name__}")
        args = get_args(tp)
        vt = args[1] if len(args) == 2 else Any
        out = {}
        for k, v in value.items():
            if not isinstance(k, str):
                raise FieldError((*path, str(k)), "keys must be strings")
            out[k] = convert(vt, v, (*path, k))
        return out
    if dataclasses.is_dataclass(tp) and isinstance(tp, type):
        if isinstance(value, tp):
            return value
        if isinstance(value, Mapping):
            return from_mapping(tp, value, path=path)
        hook = getattr(tp, "__from_value__", None)
        if hook is not None:
            return hook(value, path)
        raise FieldError(path, f"must be a mapping ({tp.__name__}), got {type(value).__name__}")
    if tp is bool:
        if isinstance(value, bool):
            return value
    elif tp is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    elif tp is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
    elif tp is str:
        if isinstance(value, str):
            return value
    elif isinstance(tp, type):
        if isinstance(value, tp):
            return value
        hook = getattr(tp, "__from_value__", None)
        if hook is not None:
            return hook(value, path)
    else:  # pragma: no cover - an annotation this module does not know
        raise TypeError(f"unsupported annotation {tp!r}")
    raise FieldError(path, f"must be {_type_name(tp)}, got {type(value).__name__} {value!r}")


def from_mapping(cls: type[T], data: Mapping[str, Any], *, path: tuple[str | int, ...] = ()) -> T:
    """Build ``cls`` from a mapping, rejecting unknown keys (errors carry the key path)."""
    names = [f.name for f in dataclasses.fields(cls) if f.init]  # type: ignore[arg-type]
    for key in data:
        if key not in names:
            raise unknown_key_error(cls.__name__, str(key), names, path)
    try:
        return cls(**data)
    except FieldError as exc:
        if path:
            raise FieldError((*path, *exc.path), exc.problem) from None
        raise


@dataclass_transform(kw_only_default=True, frozen_default=True)
def config_class(cls: type[T]) -> type[T]:
    """Make ``cls`` a frozen, keyword-only, validating dataclass (see the module docstring)."""
    dc = dataclasses.dataclass(frozen=True, kw_only=True)(cls)
    generated_init = dc.__init__
    names = [f.name for f in dataclasses.fields(dc)]  # type: ignore[arg-type]
    required = [
        f.name
        for f in dataclasses.fields(dc)  # type: ignore[arg-type]
        if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
    ]

    def __init__(self: Any, **kwargs: Any) -> None:
        for key in kwargs:
            if key not in names:
                err = unknown_key_error(dc.__name__, key, names)
                raise ConfigError(err.problem) from None
        for key in required:
            if key not in kwargs:
                raise FieldError((key,), f"missing required {dc.__name__} key {key!r}", owner=dc.__name__)
        hints = _hints(dc)
        converted = {}
        for key, value in kwargs.items():
            try:
                converted[key] = convert(hints[key], value, (key,))
            except FieldError as exc:
                raise FieldError(exc.path, exc.problem, owner=dc.__name__) from None
        generated_init(self, **converted)
        object.__setattr__(self, "_fields_set", frozenset(kwargs))
        check = getattr(self, "_check", None)
        if check is not None:
            check()

    __init__.__doc__ = generated_init.__doc__
    dc.__init__ = __init__  # type: ignore[method-assign]
    return dc


def fields_set(record: Any) -> frozenset[str]:
    """The fields the caller of a config class gave explicitly."""
    result: frozenset[str] = getattr(record, "_fields_set", frozenset())
    return result


def replace(record: T, **changes: Any) -> T:
    """A copy of ``record`` with ``changes``; explicit fields stay explicit, changes become explicit."""
    kwargs = {name: getattr(record, name) for name in fields_set(record)}
    kwargs.update(changes)
    return type(record)(**kwargs)


def to_dict(record: Any) -> dict[str, Any]:
    """A JSON-ready dict of a config record (nested records included)."""
    out: dict[str, Any] = {}
    for f in dataclasses.fields(record):
        out[f.name] = _plain(getattr(record, f.name))
    return out


def _plain(v: Any) -> Any:
    if dataclasses.is_dataclass(v) and not isinstance(v, type):
        return to_dict(v)
    if isinstance(v, Mapping):
        return {k: _plain(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_plain(x) for x in v]
    return v
