"""Fields decoded on first access: a model's nested record kept as the JSON object it
came as, and decoded the first time it is read.

It exists because a query answer's two detail records (``PaymentQuery.internal`` and
``.external``) are nine tenths of its decoding cost (some 180k instructions of 200k,
callgrind), and a batch that only looks at ``status`` never reads them. The models
know nothing of it: the wire layer (``_converters``) installs a
:class:`DecodedOnFirstAccess` in front of a field's slot (:func:`decode_on_first_access`)
when it builds the class's decoder, and that decoder stores a :class:`Pending` there.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .errors import DecodeError

__all__ = ["DecodedOnFirstAccess", "Pending", "decode_on_first_access", "deferred", "slot_of"]

Hook = Callable[..., Any]


class Pending:
    """A field's wire data, kept as it came, and the function that decodes it."""

    __slots__ = ("data", "decode")

    def __init__(self, data: Any, decode: Callable[[Any], Any]) -> None:
        self.data = data
        self.decode = decode


class DecodedOnFirstAccess:
    """A data descriptor in front of an attrs slot that may hold undecoded wire data.

    The wire decoder may store a :class:`Pending` in the slot instead of a model; the
    first read decodes it, keeps the result in its place and returns it. Everything
    else (the constructor, ``==``, ``repr``, ``attrs.evolve``, pickling) reads and
    writes through this descriptor, so it only ever sees decoded values. A record that
    cannot be decoded raises :class:`~payven_async.errors.DecodeError` on each read.
    """

    __slots__ = ("slot",)

    def __init__(self, slot: Any) -> None:
        self.slot = slot  # the member descriptor attrs made for the field

    def __get__(self, obj: object, owner: type | None = None) -> Any:
        if obj is None:
            return self
        value = self.slot.__get__(obj, owner)
        if type(value) is Pending:
            value = value.decode(value.data)
            self.slot.__set__(obj, value)
        return value

    def __set__(self, obj: object, value: Any) -> None:
        self.slot.__set__(obj, value)


def _class_attribute(cls: type, name: str) -> Any:
    """What ``cls.__dict__`` (or a base class's) holds under ``name``, without descriptors."""
    for klass in cls.__mro__:
        if name in klass.__dict__:
            return klass.__dict__[name]
    return None


def slot_of(cls: type, name: str) -> Any:
    """The descriptor of the slot that holds field ``name``: attrs' own, also when a
    :class:`DecodedOnFirstAccess` stands in front of it."""
    attribute = _class_attribute(cls, name)
    return attribute.slot if isinstance(attribute, DecodedOnFirstAccess) else attribute


def decode_on_first_access(cls: type, *names: str) -> None:
    """Put a :class:`DecodedOnFirstAccess` in front of the slots of ``names`` (once:
    calling it again changes nothing)."""
    for name in names:
        attribute = cls.__dict__[name]
        if not isinstance(attribute, DecodedOnFirstAccess):
            setattr(cls, name, DecodedOnFirstAccess(attribute))


def deferred(hook: Hook, tp: Any) -> Hook:
    """Wrap a field's hook so that a JSON object is kept as it came (a :class:`Pending`),
    to decode on first access; any other value is decoded, or refused, right away.

    Decoding on first access raises only :class:`DecodeError`: any other exception of
    the hook becomes one, chained, as the wire layer's ``structure`` does.
    """

    type_name = getattr(tp, "__name__", str(tp))

    def decode(data: Any) -> Any:
        try:
            return hook(data, tp)
        except DecodeError:
            raise
        except Exception as exc:
            raise DecodeError(f"cannot decode {type_name}: {type(exc).__name__}") from exc

    def structure(value: Any, _: Any = None) -> Any:
        if type(value) is dict:
            return Pending(value, decode)
        return hook(value, tp)

    return structure
