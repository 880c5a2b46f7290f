"""A small stand-in for ``dataclasses.dataclass`` that costs nothing to import or apply.

The standard decorator imports ``inspect`` (and with it ``ast``, ``dis``, ``tokenize``...)
and compiles several methods per class with ``exec``: ~15 ms per ``create`` for the twenty
record classes on that path. This one builds ``__init__``, ``__repr__`` and ``__eq__`` from
the class annotations with plain closures. It supports what the package uses: defaults,
``field(default=..., default_factory=...)`` and ``frozen=True``.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any, TypeVar

    T = TypeVar("T")

_MISSING = object()


class _Field:
    __slots__ = ("default", "default_factory")

    def __init__(self, default: Any, default_factory: Any) -> None:
        self.default = default
        self.default_factory = default_factory


def _field(*, default: Any = _MISSING, default_factory: Callable[[], Any] | None = None) -> Any:
    """A field with a default value or a factory for one (as ``dataclasses.field``)."""
    return _Field(default, default_factory)


def _fields(cls: type) -> list[tuple[str, Any, Any]]:
    out: dict[str, tuple[str, Any, Any]] = {}
    for klass in reversed(cls.__mro__):
        for name, ann in klass.__dict__.get("__annotations__", {}).items():
            if isinstance(ann, str) and ann.startswith("ClassVar"):
                continue
            value = klass.__dict__.get(name, _MISSING)
            if isinstance(value, _Field):
                out[name] = (name, value.default, value.default_factory)
            else:
                out[name] = (name, value, None)
    return list(out.values())


def _build(cls: Any, frozen: bool) -> Any:
    spec = _fields(cls)
    names = tuple(n for n, _, _ in spec)
    for name, default, factory in spec:
        if default is not _MISSING and factory is None:
            setattr(cls, name, default)
        elif name in cls.__dict__:
            delattr(cls, name)
    setter = object.__setattr__

    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        if len(args) > len(names):
            raise TypeError(f"{cls.__name__}() takes {len(names)} positional arguments")
        for i, (name, default, factory) in enumerate(spec):
            if i < len(args):
                value = args[i]
                if name in kwargs:
                    raise TypeError(f"{cls.__name__}() got multiple values for {name!r}")
            elif name in kwargs:
                value = kwargs.pop(name)
            elif factory is not None:
                value = factory()
            elif default is not _MISSING:
                value = default
            else:
                raise TypeError(f"{cls.__name__}() missing required argument {name!r}")
            setter(self, name, value)
        if len(args) < len(names) and set(kwargs) - set(names[len(args):]):
            raise TypeError(f"{cls.__name__}() got unexpected arguments {sorted(kwargs)}")
        post = getattr(self, "__post_init__", None)
        if post is not None:
            post()

    def __repr__(self: Any) -> str:
        inner = ", ".join(f"{n}={getattr(self, n)!r}" for n in names)
        return f"{cls.__qualname__}({inner})"

    def __eq__(self: Any, other: Any) -> Any:
        if other.__class__ is not self.__class__:
            return NotImplemented
        return all(getattr(self, n) == getattr(other, n) for n in names)

    cls.__init__ = __init__
    cls.__repr__ = __repr__
    cls.__eq__ = __eq__
    if frozen:
        def __setattr__(self: Any, name: str, value: Any) -> None:
            raise AttributeError(f"cannot assign to field {name!r} of a frozen {cls.__name__}")

        def __hash__(self: Any) -> int:
            return hash(tuple(getattr(self, n) for n in names))

        cls.__setattr__ = __setattr__
        cls.__delattr__ = __setattr__
        cls.__hash__ = __hash__
    else:
        cls.__hash__ = None
    return cls


def _dataclass(cls: Any = None, *, frozen: bool = False) -> Any:
    """``@dataclass`` or ``@dataclass(frozen=True)``."""
    if cls is None:
        return lambda c: _build(c, frozen)
    return _build(cls, frozen)


# Type checkers see the standard decorator (and its dataclass plugin); the runtime gets ours.
if TYPE_CHECKING:
    from dataclasses import dataclass, field
else:
    dataclass = _dataclass
    field = _field
