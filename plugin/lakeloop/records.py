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

_MISSING = object()


class FrozenInstanceError(LakeloopError, AttributeError):
    """Assignment to (or deletion of) a field of a frozen record; an AttributeError too, as
    ``dataclasses.FrozenInstanceError`` is."""


class _Field:
    __slots__ = ("default", "default_factory", "repr")

    def __init__(self, default: object = _MISSING, default_factory: object = _MISSING, repr: bool = True) -> None:
        self.default, self.default_factory, self.repr = default, default_factory, repr


def field(*, default: object = _MISSING, default_factory: object = _MISSING, repr: bool = True) -> object:
    """A field with a default value or a ``default_factory`` (called once per instance);
    ``repr=False`` leaves it out of ``repr()`` (a secret)."""
    return _Field(default, default_factory, repr)


def dataclass(cls: type | None = None, *, frozen: bool = False):
    """Make ``cls`` a record class (see the module docstring); usable bare or with ``frozen``."""
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
    hidden = set(getattr(cls, "__record_hidden__", ()))
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
    scope = {"_MISSING": _MISSING, "_defaults": defaults, "_factories": factories,
             "_set": object.__setattr__}
    exec(source, scope)  # noqa: S102 - our own generated source, field names are identifiers
    cls.__init__ = scope["__init__"]
    cls.__init__.__qualname__ = f"{cls.__qualname__}.__init__"
    cls.__record_fields__ = tuple(names)
    cls.__record_hidden__ = frozenset(hidden)
    shown = [n for n in names if n not in hidden]

    def __repr__(self) -> str:
        return f"{type(self).__qualname__}(" + ", ".join(f"{n}={getattr(self, n)!r}" for n in shown) + ")"

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        return all(getattr(self, n) == getattr(other, n) for n in names)

    if "__repr__" not in cls.__dict__:
        cls.__repr__ = __repr__
    cls.__eq__ = __eq__
    if frozen:
        def __setattr__(self, name: str, value: object) -> None:
            raise FrozenInstanceError(f"cannot assign to field {name!r}")

        def __delattr__(self, name: str) -> None:
            raise FrozenInstanceError(f"cannot delete field {name!r}")

        def __hash__(self) -> int:
            return hash(tuple(getattr(self, n) for n in names))

        cls.__setattr__ = __setattr__
        cls.__delattr__ = __delattr__
        cls.__hash__ = __hash__
    else:
        cls.__hash__ = None  # mutable and compared by value: unhashable, as dataclasses makes it
    return cls


def fields(obj: object) -> tuple[str, ...]:
    """The field names of a record class or instance, in order."""
    return obj.__record_fields__


def replace(obj: object, **changes: object) -> object:
    """A new record like ``obj`` with ``changes`` applied. Raises TypeError for an unknown field."""
    names = obj.__record_fields__
    unknown = set(changes) - set(names)
    if unknown:
        raise TypeError(f"{type(obj).__name__} has no field(s) {sorted(unknown)}")
    values = {n: getattr(obj, n) for n in names}
    values.update(changes)
    return type(obj)(**values)
