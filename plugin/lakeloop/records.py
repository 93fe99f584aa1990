"""Small value classes for hook paths: ``dataclass``, ``field`` and ``replace`` without ``dataclasses``.

Importing :mod:`dataclasses` imports :mod:`inspect` (and with it ``ast``, ``dis``,
``tokenize``...): about 12 ms on these machines, a fifth of a memory-path answer
(``bench/hook_latency.py --memory``). The classes the PreToolUse hook touches (store rows and
queries, grep options, credentials) use this instead. It covers what they need:

* ``@dataclass`` / ``@dataclass(frozen=True)`` on a class whose fields are its annotations (in
  order; ``from __future__ import annotations`` is assumed, a ``ClassVar`` annotation is skipped),
  with class-level defaults or ``field(default_factory=...)``, ``field(repr=False)``;
* a generated ``__init__`` (positional or keyword), ``__repr__``, ``__eq__`` over the fields, and
  for frozen classes ``__hash__`` and a ``__setattr__`` that raises ``FrozenInstanceError``;
* ``replace(obj, **changes)``: a copy with some fields changed; ``fields(obj)``: the names.

Raises TypeError for a missing or unknown argument, as dataclasses does.
"""

from __future__ import annotations

from .errors import LakeloopError

TYPE_CHECKING = False  # typing is not imported at run time (hook start-up time)
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any, TypeVar, overload

    from typing_extensions import dataclass_transform

    _T = TypeVar("_T")
else:

    def dataclass_transform(**_kwargs: object):
        """Run-time stand-in for ``typing.dataclass_transform`` (PEP 681): only type checkers read
        it, so at run time it returns the decorated function unchanged."""
        return lambda function: function


_MISSING = object()
_FIELDS_ATTR = "__record_fields__"  # class attribute: tuple of field names, in order
_HIDDEN_ATTR = "__record_hidden__"  # class attribute: frozenset of field names left out of repr()


class FrozenInstanceError(LakeloopError, AttributeError):
    """Assignment to (or deletion of) a field of a frozen record; an AttributeError too, as
    ``dataclasses.FrozenInstanceError`` is."""


class _Field:
    __slots__ = ("default", "default_factory", "repr")

    def __init__(self, default: object = _MISSING, default_factory: object = _MISSING, repr: bool = True) -> None:
        self.default, self.default_factory, self.repr = default, default_factory, repr


if TYPE_CHECKING:  # the shapes type checkers see; the implementation below takes all of them

    @overload
    def field(*, default: _T, repr: bool = True) -> _T: ...
    @overload
    def field(*, default_factory: Callable[[], _T], repr: bool = True) -> _T: ...
    @overload
    def field(*, repr: bool = True) -> Any: ...


def field(*, default: object = _MISSING, default_factory: object = _MISSING, repr: bool = True) -> Any:
    """A field with a default value or a ``default_factory`` (called once per instance);
    ``repr=False`` leaves it out of ``repr()`` (a secret). Returns a marker the class decorator
    replaces, typed as the field's value for type checkers."""
    return _Field(default, default_factory, repr)


if TYPE_CHECKING:

    @overload
    def dataclass(cls: type[_T], /) -> type[_T]: ...
    @overload
    def dataclass(cls: None = None, /, *, frozen: bool = False) -> Callable[[type[_T]], type[_T]]: ...


@dataclass_transform(field_specifiers=(field,))
def dataclass(cls: type | None = None, *, frozen: bool = False) -> Any:
    """Make ``cls`` a record class (see the module docstring); usable bare or with ``frozen``.
    Returns the class (bare use) or a decorator taking and returning the class."""

    def wrap(klass: type) -> type:
        return _process(klass, frozen)

    return wrap if cls is None else wrap(cls)


def _process(cls: type, frozen: bool) -> type:
    names: list[str] = []
    for klass in reversed(cls.__mro__[:-1]):
        for name, note in klass.__dict__.get("__annotations__", {}).items():
            if "ClassVar" not in str(note) and name not in names:
                names.append(name)
    defaults: dict[str, object] = {}
    factories: dict[str, object] = {}
    hidden = set(getattr(cls, _HIDDEN_ATTR, ()))
    for name in names:
        value = getattr(cls, name, _MISSING)
        if isinstance(value, _Field):
            if not value.repr:
                hidden.add(name)
            if value.default_factory is not _MISSING:
                factories[name] = value.default_factory
            elif value.default is not _MISSING:
                defaults[name] = value.default
            if name in cls.__dict__:
                delattr(cls, name)
        elif value is not _MISSING:
            defaults[name] = value
    params, body = [], []
    seen_default = False
    for name in names:
        if name in factories:
            params.append(f"{name}=_MISSING")
            body.append(f"  _set(self, {name!r}, _factories[{name!r}]() if {name} is _MISSING else {name})")
            seen_default = True
        elif name in defaults:
            params.append(f"{name}=_defaults[{name!r}]")
            body.append(f"  _set(self, {name!r}, {name})")
            seen_default = True
        else:
            if seen_default:
                raise TypeError(f"non-default field {name!r} follows a default field in {cls.__name__}")
            params.append(name)
            body.append(f"  _set(self, {name!r}, {name})")
    source = f"def __init__(self, {', '.join(params)}):\n" + ("\n".join(body) or "  pass") + "\n"
    scope: dict[str, Any] = {
        "_MISSING": _MISSING,
        "_defaults": defaults,
        "_factories": factories,
        "_set": object.__setattr__,
    }
    exec(source, scope)  # our own generated source: field names are identifiers
    init = scope["__init__"]
    init.__qualname__ = f"{cls.__qualname__}.__init__"
    shown = [n for n in names if n not in hidden]

    def __repr__(self: object) -> str:
        return f"{type(self).__qualname__}(" + ", ".join(f"{n}={getattr(self, n)!r}" for n in shown) + ")"

    def __eq__(self: object, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        return all(getattr(self, n) == getattr(other, n) for n in names)

    # Set through setattr: the checker sees these as methods of ``type`` and refuses the assignment.
    members: dict[str, object] = {
        "__init__": init,
        _FIELDS_ATTR: tuple(names),
        _HIDDEN_ATTR: frozenset(hidden),
        "__eq__": __eq__,
    }
    if "__repr__" not in cls.__dict__:
        members["__repr__"] = __repr__
    if frozen:

        def __setattr__(self: object, name: str, value: object) -> None:
            raise FrozenInstanceError(f"cannot assign to field {name!r}")

        def __delattr__(self: object, name: str) -> None:
            raise FrozenInstanceError(f"cannot delete field {name!r}")

        def __hash__(self: object) -> int:
            return hash(tuple(getattr(self, n) for n in names))

        members.update(__setattr__=__setattr__, __delattr__=__delattr__, __hash__=__hash__)
    else:
        members["__hash__"] = None  # mutable and compared by value: unhashable, as dataclasses makes it
    for name, member in members.items():
        setattr(cls, name, member)
    return cls


def fields(obj: object) -> tuple[str, ...]:
    """The field names of a record class or instance, in order. Raises AttributeError for
    anything that is not a record."""
    names: tuple[str, ...] = getattr(obj, _FIELDS_ATTR)
    return names


def replace(obj: _T, **changes: object) -> _T:
    """A new record like ``obj`` (same class) with ``changes`` applied. Raises TypeError for an
    unknown field, AttributeError if ``obj`` is not a record."""
    names = fields(obj)
    unknown = set(changes) - set(names)
    if unknown:
        raise TypeError(f"{type(obj).__name__} has no field(s) {sorted(unknown)}")
    values = {n: getattr(obj, n) for n in names}
    values.update(changes)
    return type(obj)(**values)
