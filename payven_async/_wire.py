"""The wire format: one cattrs converter setup that turns models into JSON and back.

What we *send* follows the seeds exactly: pay in generation A's camelCase (nested
``amount``, ``operationType: "Sale"``), the newer endpoints in generation B's
snake_case, ``None`` fields left out.

What we *receive* decodes tolerantly, because the service has published two wire
generations under ``v1``:

- camelCase, snake_case or PascalCase keys (``is3DSecure``, ``is3_d_secure`` and
  ``is_3d_secure`` are the same field);
- enums in any spelling (``Sale``, ``sale``, ``SALE``, ``0``); unknown values are kept
  as plain strings;
- JSON doubles become ``Decimal`` with no binary-float noise, big integers stay exact;
- unknown keys are kept in ``unknown_fields``, never fatal, never dropped.

A *strict* variant (exact keys of one style, extra keys forbidden) serves the emulator
and the tests, so that they catch what the lenient client would forgive.

The per-class encoders and decoders are generated once, on first use, as plain loops
over a precomputed key table: no per-field type dispatch on the hot path.
"""

from __future__ import annotations

import enum
import functools
import json
import re
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timezone
from decimal import Decimal, InvalidOperation
from types import NoneType, UnionType
from typing import Any, Literal, TypeVar, Union, get_args, get_origin

import attrs
import cattrs

from .errors import DecodeError

__all__ = [
    "KeyStyle",
    "converter",
    "decode_json",
    "dumps",
    "encode",
    "strict_converter",
    "structure",
    "unwrap_envelope",
]

T = TypeVar("T")
KeyStyle = Literal["camel", "snake"]
Hook = Callable[[Any], Any]

_UNKNOWN_FIELDS = "unknown_fields"


# --- key spelling -----------------------------------------------------------------


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def _normalise_key(key: str) -> str:
    """Fold every spelling of a key to one form: ``is3DSecure`` -> ``is3dsecure``."""
    return key.replace("_", "").replace("-", "").lower()


def _wire_key(name: str, style: KeyStyle) -> str:
    return _camel(name) if style == "camel" else name


# --- scalar hooks (lenient) -------------------------------------------------------

_OWN_HOOK = "_payven_one_arg"
F = TypeVar("F", bound=Callable[..., Any])


def _own(hook: F) -> F:
    """Mark a hook whose type argument is optional, so that it is called with the value alone."""
    setattr(hook, _OWN_HOOK, True)
    return hook


def _fail(value: Any, expected: str) -> DecodeError:
    return DecodeError(f"expected {expected}, got {type(value).__name__}")


@_own
def _to_str(value: Any, _: Any = None) -> str:
    if type(value) is str:
        return value
    if isinstance(value, (int, Decimal)) and not isinstance(value, bool):
        return str(value)
    raise _fail(value, "a string")


@_own
def _to_int(value: Any, _: Any = None) -> int:
    if type(value) is int:
        return value
    if isinstance(value, Decimal) and value.is_finite() and value == value.to_integral_value():
        return int(value)
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value)
    raise _fail(value, "an integer")


@_own
def _to_bool(value: Any, _: Any = None) -> bool:
    if type(value) is bool:
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    if type(value) is int and value in (0, 1):
        return bool(value)
    raise _fail(value, "a boolean")


@_own
def _to_decimal(value: Any, _: Any = None) -> Decimal:
    if isinstance(value, Decimal):
        return value
    if type(value) is int:
        return Decimal(value)
    if type(value) is float:
        # repr() is the shortest text that round-trips: 0.1 stays 0.1, not 0.1000000000000000055.
        return Decimal(repr(value))
    if type(value) is str:
        try:
            return Decimal(value)
        except InvalidOperation:
            pass
    raise _fail(value, "a number")


_ISO_RE = re.compile(
    r"(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2}(?::\d{2})?)(?:\.(\d+))?\s*(Z|[+-]\d{2}:?\d{2})?$",
    re.IGNORECASE,
)


@_own
def _to_datetime(value: Any, _: Any = None) -> datetime:
    """Parse an ISO 8601 timestamp into a timezone-aware ``datetime``.

    .NET sends up to seven fractional digits and ``Z``; Python 3.10's ``fromisoformat``
    takes neither, so a small regex normalises first. A timestamp without an offset is
    taken as UTC, the API's documented default, so that every result is aware.
    """
    if isinstance(value, datetime):
        parsed = value
    elif type(value) is str:
        match = _ISO_RE.match(value.strip())
        if match is None:
            raise DecodeError("expected an ISO 8601 timestamp")
        date, clock, fraction, offset = match.groups()
        text = f"{date}T{clock}"
        if fraction:
            text += "." + fraction[:6].ljust(6, "0")
        if offset:
            text += "+00:00" if offset.upper() == "Z" else offset
        try:
            parsed = datetime.fromisoformat(text)
        except ValueError as exc:
            raise DecodeError("expected an ISO 8601 timestamp") from exc
    else:
        raise _fail(value, "an ISO 8601 timestamp")
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=timezone.utc)


def _datetime_to_wire(value: datetime) -> str:
    return value.isoformat()


# --- enums ------------------------------------------------------------------------

E = TypeVar("E", bound=enum.Enum)


@functools.cache
def _enum_table(enum_type: type[enum.Enum]) -> dict[Any, enum.Enum]:
    """Every spelling the API has used for each member: name, value, snake, index."""
    table: dict[Any, enum.Enum] = {}
    for index, member in enumerate(enum_type):
        table[index] = member
        table[str(index)] = member
        for spelling in (member.name, str(member.value)):
            table[_normalise_key(spelling)] = member
    return table


def _enum_lookup(enum_type: type[E], value: Any) -> E | None:
    table = _enum_table(enum_type)
    if type(value) is int:
        found = table.get(value)
    elif type(value) is str:
        found = table.get(_normalise_key(value))
    else:
        raise _fail(value, f"a {enum_type.__name__} name or number")
    return found  # type: ignore[return-value]


def _lenient_enum_hook(enum_type: type[E]) -> Hook:
    """Decode any spelling to the member; keep an unknown value as it came (as text)."""

    @_own
    def structure(value: Any, _: Any = None) -> E | str:
        member = _enum_lookup(enum_type, value)
        return member if member is not None else str(value)

    return structure


def _strict_enum_hook(enum_type: type[E]) -> Hook:
    values = {member.value: member for member in enum_type}

    @_own
    def structure(value: Any, _: Any = None) -> E:
        try:
            return values[value]
        except (KeyError, TypeError):
            raise DecodeError(
                f"{value!r} is not a {enum_type.__name__} ({', '.join(map(str, values))})"
            ) from None

    return structure


def _enum_in(tp: Any) -> type[enum.Enum] | None:
    """The enum of ``E``, ``E | None``, ``E | str`` or ``E | str | None``; else None."""
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        return tp
    if get_origin(tp) in (Union, UnionType):
        members = [arg for arg in get_args(tp) if arg is not NoneType and arg is not str]
        if len(members) == 1:
            return _enum_in(members[0])
    return None


def _strip_optional(tp: Any) -> tuple[Any, bool]:
    if get_origin(tp) in (Union, UnionType) and NoneType in get_args(tp):
        rest = tuple(arg for arg in get_args(tp) if arg is not NoneType)
        return (rest[0] if len(rest) == 1 else Union[rest]), True  # noqa: UP007
    return tp, False


# --- the converter ----------------------------------------------------------------


@attrs.frozen
class _FieldPlan:
    name: str
    wire_key: str
    structure: Hook | None  # None: the value passes through unchanged
    unstructure: Hook | None
    required: bool


class _Builder:
    """Generates the per-class encoders and decoders of one converter."""

    def __init__(self, converter: cattrs.Converter, style: KeyStyle, strict: bool) -> None:
        self.converter = converter
        self.style = style
        self.strict = strict

    def field_structure_hook(self, tp: Any) -> Hook | None:
        inner, _ = _strip_optional(tp)
        if inner is Any:
            return None
        enum_type = _enum_in(inner)
        if enum_type is not None:
            if self.strict:
                return _strict_enum_hook(enum_type)
            return _lenient_enum_hook(enum_type)
        return _bind(self.converter.get_structure_hook(inner), inner)

    def field_unstructure_hook(self, tp: Any) -> Hook | None:
        inner, _ = _strip_optional(tp)
        if inner in (str, int, bool, Any):
            return None
        enum_type = _enum_in(inner)
        if enum_type is not None:
            return _enum_value
        return self.converter.get_unstructure_hook(inner)

    def plans(self, cls: type) -> list[_FieldPlan]:
        attrs.resolve_types(cls)
        return [
            _FieldPlan(
                name=field.name,
                wire_key=_wire_key(field.name, self.style),
                structure=self.field_structure_hook(field.type),
                unstructure=self.field_unstructure_hook(field.type),
                required=field.default is attrs.NOTHING,
            )
            for field in attrs.fields(cls)
            if field.name != _UNKNOWN_FIELDS
        ]

    def make_structure(self, cls: type[T]) -> Callable[[Any, Any], T]:
        plans = self.plans(cls)
        keeps_unknown = _UNKNOWN_FIELDS in attrs.fields_dict(cls)  # type: ignore[arg-type]
        if self.strict:
            strict: Callable[[Any, Any], T] = self._make_strict_structure(cls, plans)
            return strict
        exact: dict[str, tuple[str, Hook | None]] = {}
        folded: dict[str, tuple[str, Hook | None]] = {}
        for plan in plans:
            entry = (plan.name, plan.structure)
            exact[plan.name] = entry
            exact[_camel(plan.name)] = entry
            folded[_normalise_key(plan.name)] = entry
        required = [plan.name for plan in plans if plan.required]
        name = cls.__name__

        @_own
        def structure(data: Any, _: Any = None) -> T:
            if type(data) is not dict:
                raise DecodeError(f"{name}: expected a JSON object, got {type(data).__name__}")
            kwargs: dict[str, Any] = {}
            unknown: dict[str, Any] | None = None
            for key, value in data.items():
                entry = exact.get(key)
                if entry is None:
                    entry = folded.get(_normalise_key(key)) if type(key) is str else None
                    if entry is None:
                        if unknown is None:
                            unknown = {}
                        unknown[key] = value
                        continue
                field_name, hook = entry
                if value is not None and hook is not None:
                    value = hook(value)
                if value is not None:
                    kwargs[field_name] = value
            if unknown is not None and keeps_unknown:
                kwargs[_UNKNOWN_FIELDS] = unknown
            if required:
                missing = [field for field in required if field not in kwargs]
                if missing:
                    raise DecodeError(f"{name}: missing {', '.join(missing)}")
            return cls(**kwargs)

        return structure

    def _make_strict_structure(self, cls: type[T], plans: list[_FieldPlan]) -> Any:
        by_key = {plan.wire_key: plan for plan in plans}
        name = cls.__name__

        @_own
        def structure(data: Any, _: Any = None) -> T:
            if type(data) is not dict:
                raise DecodeError(f"{name}: expected a JSON object, got {type(data).__name__}")
            extra = sorted(str(key) for key in data if key not in by_key)
            if extra:
                raise DecodeError(f"{name}: unexpected keys {', '.join(extra)}")
            kwargs: dict[str, Any] = {}
            for key, value in data.items():
                plan = by_key[key]
                if value is not None and plan.structure is not None:
                    value = plan.structure(value)
                if value is not None:
                    kwargs[plan.name] = value
            missing = [plan.wire_key for plan in plans if plan.required and plan.name not in kwargs]
            if missing:
                raise DecodeError(f"{name}: missing {', '.join(missing)}")
            return cls(**kwargs)

        return structure

    def make_unstructure(self, cls: type[Any]) -> Callable[[Any], dict[str, Any]]:
        plan = [(p.name, p.wire_key, p.unstructure) for p in self.plans(cls)]

        def unstructure(obj: Any) -> dict[str, Any]:
            out: dict[str, Any] = {}
            for field_name, key, hook in plan:
                value = getattr(obj, field_name)
                if value is not None:
                    out[key] = value if hook is None else hook(value)
            return out

        return unstructure


def _bind(hook: Callable[[Any, Any], Any], tp: Any) -> Hook:
    """Adapt a cattrs ``(value, type)`` hook to one argument; our own hooks need no type."""
    if getattr(hook, _OWN_HOOK, False):
        return hook  # type: ignore[return-value]  # its type argument is optional
    return functools.partial(_call_with_type, hook, tp)


def _call_with_type(hook: Callable[[Any, Any], Any], tp: Any, value: Any) -> Any:
    return hook(value, tp)


def _enum_value(member: Any) -> Any:
    return member.value if isinstance(member, enum.Enum) else member


def _structure_sequence(converter: cattrs.Converter) -> Callable[[Any], Callable[..., Any]]:
    def factory(tp: Any) -> Callable[..., Any]:
        (item_type,) = get_args(tp) or (Any,)
        item_hook = None if item_type is Any else converter.get_structure_hook(item_type)

        @_own
        def structure(value: Any, _: Any = None) -> list[Any]:
            if type(value) is not list:
                raise _fail(value, "a JSON array")
            if item_hook is None:
                return value
            return [item_hook(item, item_type) for item in value]

        return structure

    return factory


def _structure_mapping(converter: cattrs.Converter) -> Callable[[Any], Callable[..., Any]]:
    def factory(tp: Any) -> Callable[..., Any]:
        args = get_args(tp)
        value_type = args[1] if len(args) == 2 else Any
        inner, optional = _strip_optional(value_type)
        value_hook = None if inner is Any else converter.get_structure_hook(inner)

        @_own
        def structure(value: Any, _: Any = None) -> dict[str, Any]:
            if type(value) is not dict:
                raise _fail(value, "a JSON object")
            if value_hook is None:
                return value
            return {
                str(key): (item if item is None and optional else value_hook(item, inner))
                for key, item in value.items()
            }

        return structure

    return factory


def _is_sequence(tp: Any) -> bool:
    return get_origin(tp) in (list, Sequence, tuple) and tp is not str


def _is_mapping(tp: Any) -> bool:
    return get_origin(tp) in (dict, Mapping)


def _make_converter(style: KeyStyle, strict: bool) -> cattrs.Converter:
    """Build one converter. Hooks are registered in a fixed order: scalars, then
    containers, then the attrs-class factories, so that later rules see earlier ones."""
    converter = cattrs.Converter(detailed_validation=False)
    builder = _Builder(converter, style, strict)
    # 1. scalars
    converter.register_structure_hook(str, _to_str)
    converter.register_structure_hook(int, _to_int)
    converter.register_structure_hook(bool, _to_bool)
    converter.register_structure_hook(Decimal, _to_decimal)
    converter.register_structure_hook(datetime, _to_datetime)
    converter.register_unstructure_hook(datetime, _datetime_to_wire)
    converter.register_unstructure_hook(Decimal, str)
    # 2. containers
    converter.register_structure_hook_factory(_is_sequence, _structure_sequence(converter))
    converter.register_structure_hook_factory(_is_mapping, _structure_mapping(converter))
    converter.register_unstructure_hook_factory(
        _is_sequence, lambda tp: lambda value: [converter.unstructure(item) for item in value]
    )
    converter.register_unstructure_hook_factory(
        _is_mapping, lambda tp: lambda value: {str(k): v for k, v in value.items()}
    )
    # 3. enums and models
    converter.register_unstructure_hook(enum.Enum, _enum_value)
    converter.register_structure_hook_factory(attrs.has, builder.make_structure)
    converter.register_unstructure_hook_factory(attrs.has, builder.make_unstructure)
    return converter


#: The client's converters, by the key style of what they send. Both decode leniently.
_CONVERTERS: dict[KeyStyle, cattrs.Converter] = {
    "camel": _make_converter("camel", strict=False),
    "snake": _make_converter("snake", strict=False),
}


def converter(style: KeyStyle = "snake") -> cattrs.Converter:
    """The client's lenient converter whose encoders use ``style`` keys."""
    return _CONVERTERS[style]


@functools.cache
def strict_converter(style: KeyStyle) -> cattrs.Converter:
    """A converter that accepts only ``style`` keys and forbids extra ones (emulator, tests)."""
    return _make_converter(style, strict=True)


def encode(obj: Any, style: KeyStyle) -> Any:
    """Unstructure a request model into JSON-ready data with ``style`` keys."""
    return _CONVERTERS[style].unstructure(obj)


def structure(data: Any, cls: type[T]) -> T:
    """Decode JSON data into ``cls`` leniently; any failure is a :class:`DecodeError`."""
    try:
        return _CONVERTERS["snake"].structure(data, cls)
    except DecodeError:
        raise
    except Exception as exc:
        raise DecodeError(f"cannot decode {cls.__name__}: {type(exc).__name__}") from exc


def dumps(data: Any) -> bytes:
    """Serialise JSON-ready data compactly, as UTF-8 bytes."""
    return json.dumps(data, separators=(",", ":"), ensure_ascii=False).encode()


def decode_json(body: bytes) -> Any:
    """Parse a JSON body; doubles become ``Decimal`` and integers stay exact."""
    try:
        return json.loads(body, parse_float=Decimal)
    except (ValueError, RecursionError) as exc:
        raise DecodeError("the answer is not valid JSON") from exc


_ENVELOPE_FLAGS = ("isSuccess", "is_success", "IsSuccess")


def unwrap_envelope(payload: Any) -> tuple[Any, Mapping[str, Any] | None]:
    """Split a generation-A ``{message, isSuccess, code, data}`` envelope.

    Returns ``(data, envelope)``; for a raw (generation-B) body, ``(payload, None)``.
    A body is an envelope when it has ``data`` and an ``isSuccess`` flag in any spelling.
    """
    if type(payload) is dict and "data" in payload:
        for flag in _ENVELOPE_FLAGS:
            if flag in payload:
                return payload["data"], payload
    return payload, None
