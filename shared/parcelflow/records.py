"""Record: a frozen value class, as `@dataclass(frozen=True)` makes one, without generating code.

`dataclasses` writes and compiles an `__init__`, `__repr__`, `__eq__`, `__hash__`, `__setattr__` and
`__delattr__` for every class (exec of generated source): about 0.4 ms a class, paid at import. The value
classes of the ports are loaded by every function with the table adapter, so a cold start paid that for
each of them (decision 65). A Record's methods are shared, reading the fields its subclass annotates;
type checkers see it as a frozen dataclass (`dataclass_transform`): keyword and positional construction,
defaults, equality, hashing and a frozen instance behave the same; `record.replace(...)` stands for
`dataclasses.replace(record, ...)`.
"""

from __future__ import annotations

import inspect
from dataclasses import FrozenInstanceError
from typing import Any, ClassVar, Self, dataclass_transform

_MISSING = object()


@dataclass_transform(frozen_default=True, eq_default=True)
class Record:
    __record_fields__: ClassVar[tuple[str, ...]] = ()
    __record_defaults__: ClassVar[dict[str, Any]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        own = [
            name
            for name, annotation in inspect.get_annotations(cls).items()
            if "ClassVar" not in str(annotation)
        ]
        fields = tuple(dict.fromkeys((*cls.__record_fields__, *own)))
        defaults = dict(cls.__record_defaults__)
        for name in own:
            value = cls.__dict__.get(name, _MISSING)
            if value is not _MISSING:
                defaults[name] = value
            else:
                defaults.pop(name, None)
        cls.__record_fields__, cls.__record_defaults__ = fields, defaults

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        fields = self.__record_fields__
        if len(args) > len(fields):
            raise TypeError(f"{type(self).__name__} takes {len(fields)} arguments, {len(args)} given")
        values = dict(zip(fields, args, strict=False))
        for name, value in kwargs.items():
            if name not in fields:
                raise TypeError(f"{type(self).__name__} got an unexpected keyword argument {name!r}")
            if name in values:
                raise TypeError(f"{type(self).__name__} got multiple values for argument {name!r}")
            values[name] = value
        for name in fields:
            if name not in values:
                if name not in self.__record_defaults__:
                    raise TypeError(f"{type(self).__name__} missing required argument {name!r}")
                values[name] = self.__record_defaults__[name]
            object.__setattr__(self, name, values[name])

    def replace(self, **changes: Any) -> Self:
        """A copy with `changes` (what dataclasses.replace does for a dataclass)."""
        return type(self)(**{name: getattr(self, name) for name in self.__record_fields__} | changes)

    def _values(self) -> tuple[Any, ...]:
        return tuple(getattr(self, name) for name in self.__record_fields__)

    def __repr__(self) -> str:
        inner = ", ".join(f"{name}={getattr(self, name)!r}" for name in self.__record_fields__)
        return f"{type(self).__qualname__}({inner})"

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        return self._values() == other._values()

    def __hash__(self) -> int:
        return hash(self._values())

    def __setattr__(self, name: str, value: Any) -> None:
        raise FrozenInstanceError(f"cannot assign to field {name!r}")

    def __delattr__(self, name: str) -> None:
        raise FrozenInstanceError(f"cannot delete field {name!r}")
