"""A light base for the records the library returns."""

from __future__ import annotations

from typing import ClassVar


class Record:
    """Named fields, compared, hashed and shown by value.

    ``typing.NamedTuple`` would give this for free, except that building
    each class compiles code: about 0.25 ms apiece at import, paid by every
    CLI run and every application start-up. A subclass lists its fields in
    order in ``_fields`` and sets ``__slots__ = _fields``.
    """

    __slots__ = ()
    _fields: ClassVar[tuple[str, ...]] = ()

    def _values(self) -> tuple[object, ...]:
        return tuple(getattr(self, name) for name in self._fields)

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        return self._values() == other._values()  # type: ignore[attr-defined]

    def __hash__(self) -> int:
        return hash(self._values())

    def __repr__(self) -> str:
        fields = ", ".join(f"{name}={getattr(self, name)!r}" for name in self._fields)
        return f"{type(self).__name__}({fields})"
