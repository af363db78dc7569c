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

The converters are built on first use, not at import (cattrs itself is imported
then). Each class's encoder and lenient decoder is generated once, as straight-line
Python source with one block per field (see :func:`_generate_decoder`): no per-field
dispatch on the hot path. Nested detail records of a :class:`~.models.PaymentQuery`
are decoded on first access (see ``models._DecodedOnFirstAccess``).
"""

from __future__ import annotations

import enum
import functools
import re
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timezone
from decimal import Decimal, InvalidOperation
from types import MemberDescriptorType, NoneType, UnionType
from typing import TYPE_CHECKING, Any, Literal, TypeVar, Union, get_args, get_origin

import attrs

from .errors import DecodeError
from .models import _DecodedOnFirstAccess, _Pending

if TYPE_CHECKING:
    import cattrs

__all__ = [
    "KeyStyle",
    "converter",
    "encode",
    "strict_converter",
    "structure",
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


@functools.cache
def _iso_re() -> re.Pattern[str]:
    # Compiled on first use, like every regex here: each costs import time.
    return re.compile(
        r"(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2}(?::\d{2})?)(?:\.(\d+))?\s*(Z|[+-]\d{2}:?\d{2})?$",
        re.IGNORECASE,
    )


@_own
def _to_datetime(value: Any, _: Any = None) -> datetime:
    """Parse an ISO 8601 timestamp into a timezone-aware ``datetime``.

    ``datetime.fromisoformat`` reads most answers directly; from Python 3.11 it also
    takes .NET's ``Z`` and seven fractional digits. Whatever it refuses (everything of
    that on 3.10, and spellings such as a lower-case ``z``) goes through a small regex
    that normalises first. Only values with a date and a time are taken. A timestamp
    without an offset is taken as UTC, the API's documented default, so that every
    result is aware.
    """
    if type(value) is str:
        parsed = None
        if len(value) > 10 and value[10] in "T ":
            try:  # noqa: SIM105 - contextlib.suppress costs more, on every timestamp
                parsed = datetime.fromisoformat(value)
            except ValueError:
                pass
        if parsed is None:
            parsed = _parse_iso_leniently(value)
    elif isinstance(value, datetime):
        parsed = value
    else:
        raise _fail(value, "an ISO 8601 timestamp")
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=timezone.utc)


def _parse_iso_leniently(value: str) -> datetime:
    match = _iso_re().match(value.strip())
    if match is None:
        raise DecodeError("expected an ISO 8601 timestamp")
    date, clock, fraction, offset = match.groups()
    text = f"{date}T{clock}"
    if fraction:
        text += "." + fraction[:6].ljust(6, "0")
    if offset:
        # Python 3.10 takes neither "Z" nor "+0300": give it "+00:00" and "+03:00".
        offset = "+00:00" if offset.upper() == "Z" else offset
        text += offset if ":" in offset else f"{offset[:3]}:{offset[3:]}"
    try:
        return datetime.fromisoformat(text)
    except ValueError as exc:
        raise DecodeError("expected an ISO 8601 timestamp") from exc


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
    # The spellings the API sends most resolve in one lookup, to what the folding
    # lookup gives for them; anything else is folded first.
    direct: dict[str | int, E] = {}
    for index, member in enumerate(enum_type):
        value = str(member.value)
        for spelling in (value, member.name, value.lower(), member.name.lower(), index):
            found = _enum_lookup(enum_type, spelling)
            if found is not None:
                direct[spelling] = found

    @_own
    def structure(value: Any, _: Any = None) -> E | str:
        if type(value) is str or type(value) is int:
            member = direct.get(value)
            if member is not None:
                return member
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


# --- fields decoded on first access -------------------------------------------------


def _class_attribute(cls: type, name: str) -> Any:
    """What ``cls.__dict__`` (or a base class's) holds under ``name``, without descriptors."""
    for klass in cls.__mro__:
        if name in klass.__dict__:
            return klass.__dict__[name]
    return None


def _deferred(hook: Hook, tp: Any) -> Hook:
    """Wrap a field's hook so that a JSON object is kept as it came, to decode on first
    access (``models._DecodedOnFirstAccess``); any other value is decoded, or refused,
    right away."""
    inner, _ = _strip_optional(tp)
    name = getattr(inner, "__name__", str(inner))

    def decode(data: Any) -> Any:
        try:
            return hook(data)
        except DecodeError:
            raise
        except Exception as exc:
            raise DecodeError(f"cannot decode {name}: {type(exc).__name__}") from exc

    @_own
    def structure(value: Any, _: Any = None) -> Any:
        if type(value) is dict:
            return _Pending(value, decode)
        return hook(value)

    return structure


# --- generated code -----------------------------------------------------------------


class _UseGeneralLoop(Exception):
    """Raised inside a generated decoder to hand an answer to the general loop."""


_FACTORY: Any = attrs.Factory  # a class, though typed as an (overloaded) function

# Hooks that return a value of this type unchanged: generated decoders test the type
# inline and call the hook only for other values.
_PASS_THROUGH: dict[Any, type] = {_to_str: str, _to_int: int, _to_bool: bool, _to_decimal: Decimal}
# Hooks that never return None, so that no check for it follows their call.
_NEVER_NONE = frozenset({_to_str, _to_int, _to_bool, _to_decimal, _to_datetime})


@functools.cache
def _dotnet_word_re() -> re.Pattern[str]:
    return re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")


def _spellings(name: str) -> list[str]:
    """The exact spellings the API has used for a field: snake, camel, and .NET's.

    .NET capitalises a letter after a digit (``is_3d_secure`` -> ``is3DSecure``), and
    its snake-case policy then splits there too (``is3_d_secure``).
    """
    camel = _camel(name)
    dotnet_camel = re.sub(r"(?<=[0-9])[a-z]", lambda match: match.group().upper(), camel)
    dotnet_snake = _dotnet_word_re().sub("_", dotnet_camel).lower()
    return list(dict.fromkeys((name, camel, dotnet_snake, dotnet_camel)))


def _slot_setters(cls: type) -> dict[str, Callable[[Any, Any], None]] | None:
    """The setters of every field's slot, when filling the slots is all that ``cls``'s
    ``__init__`` does; None when it does more (converters, validators, init hooks, a
    hash cache or any other slot, a factory that takes self, a ``__dict__``)."""
    fields = attrs.fields(cls)
    new: Any = cls.__new__
    if (
        new is not object.__new__
        or hasattr(cls, "__attrs_pre_init__")
        or hasattr(cls, "__attrs_post_init__")
        or any(
            not field.init
            or field.converter is not None
            or field.validator is not None
            or (isinstance(field.default, _FACTORY) and field.default.takes_self)
            for field in fields
        )
    ):
        return None
    slots: set[str] = set()
    for klass in cls.__mro__:
        own = klass.__dict__.get("__slots__", ())
        slots.update((own,) if isinstance(own, str) else own)
    if slots - {"__weakref__"} != {field.name for field in fields}:
        return None
    setters = {}
    for field in fields:
        descriptor = _class_attribute(cls, field.name)
        if isinstance(descriptor, _DecodedOnFirstAccess):
            descriptor = descriptor.slot  # the decoder stores what the descriptor would
        if not isinstance(descriptor, MemberDescriptorType):
            return None
        setters[field.name] = descriptor.__set__
    return setters


def _generate_decoder(
    cls: type,
    plans: list[_FieldPlan],
    lookup: Callable[[str], _FieldPlan | None],
    general: Hook,
) -> Hook | None:
    """Generate a straight-line lenient decoder for ``cls`` (None if ``cls`` does not
    qualify, see :func:`_slot_setters`; the general loop then does all the work).

    The generated function handles the common answer, whose keys are all exact
    spellings of known fields (:func:`_spellings`), with one block per field::

        # transaction_id: str | None
        if 'transaction_id' in data:
            value = data['transaction_id']
            found += 1
        elif 'transactionId' in data:
            value = data['transactionId']
            found += 1
        else:
            value = None
        if value is None:
            value = default_0
        elif type(value) is not str:
            value = hook_0(value)
        set_0(obj, value)

    The instance is filled slot by slot as attrs' ``__init__`` fills it, without the
    keyword arguments and the ``__init__`` call: ``object.__new__``, then each slot's
    own setter. Unknown keys are kept in ``unknown_fields`` as the general loop keeps
    them. Anything else (a spelling that only matches once folded, a field sent
    twice, a missing required field, a value a hook refuses) goes to ``general``, the
    loop that handles every case and words the errors; so the result, or the error,
    is always the general loop's (a property test checks that).
    """
    setters = _slot_setters(cls)
    if setters is None:
        return None
    namespace: dict[str, Any] = {
        "UseGeneralLoop": _UseGeneralLoop,
        "cls": cls,
        "general": general,
        "new": object.__new__,
    }
    fields = attrs.fields_dict(cls)
    lines = [
        f"def decode_{cls.__name__}(data, _=None):",
        "    if type(data) is not dict:",
        "        return general(data)",
        "    try:",
        "        found = 0",
        "        obj = new(cls)",
    ]

    def default(index: int, field: attrs.Attribute[Any]) -> str:
        """The expression for a field's default; 'raise UseGeneralLoop' if it has none."""
        if field.default is attrs.NOTHING:
            return "raise UseGeneralLoop"
        value: Any = field.default
        if isinstance(value, _FACTORY):
            namespace[f"factory_{index}"] = value.factory
            return f"value = factory_{index}()"
        namespace[f"default_{index}"] = value
        return f"value = default_{index}"

    spelled: set[str] = set()
    for index, plan in enumerate(plans):
        field = fields[plan.name]
        keys = [key for key in _spellings(plan.name) if lookup(key) is plan]
        spelled.update(keys)
        namespace[f"set_{index}"] = setters[plan.name]
        lines.append(f"        # {plan.name}: {getattr(field.type, '__name__', field.type)}")
        # ("in" and a subscript cost less than a dict.get() call, found or not)
        for number, key in enumerate(keys):
            lines.append(f"        {'elif' if number else 'if'} {key!r} in data:")
            lines.append(f"            value = data[{key!r}]")
            lines.append("            found += 1")
        lines.append("        else:")
        lines.append("            value = None")
        lines.append("        if value is None:")
        lines.append(f"            {default(index, field)}")
        hook = plan.structure
        if hook is not None:
            namespace[f"hook_{index}"] = hook
            inline = _PASS_THROUGH.get(hook)
            if inline is not None:
                namespace[f"type_{index}"] = inline
                lines.append(f"        elif type(value) is not type_{index}:")
            else:
                lines.append("        else:")
            lines.append(f"            value = hook_{index}(value)")
            if hook not in _NEVER_NONE:
                lines.append("            if value is None:")
                lines.append(f"                {default(index, field)}")
        lines.append(f"        set_{index}(obj, value)")

    def unknown_keys(data: dict[Any, Any], found: int) -> dict[Any, Any]:
        """The keys no field has, once sure that the general loop would agree."""
        unknown = {key: value for key, value in data.items() if key not in spelled}
        if found + len(unknown) != len(data):
            raise _UseGeneralLoop  # a field came under two spellings
        if any(type(key) is str and lookup(key) is not None for key in unknown):
            raise _UseGeneralLoop  # a field's spelling that only matches once folded
        return unknown

    namespace["unknown_keys"] = unknown_keys
    lines.append("        if found != len(data):")
    lines.append("            unknown = unknown_keys(data, found)")
    if _UNKNOWN_FIELDS in fields:
        namespace["set_unknown"] = setters[_UNKNOWN_FIELDS]
        lines.append("            set_unknown(obj, unknown)")
        lines.append("        else:")
        lines.append(f"            {default(len(plans), fields[_UNKNOWN_FIELDS])}")
        lines.append("            set_unknown(obj, value)")
    lines += [
        "        return obj",
        "    except Exception:",
        "        pass  # the general loop decides, and words any error",
        "    return general(data)",
    ]
    decoder: Hook = _compile(lines, f"decoder for {cls.__qualname__}", namespace)
    return decoder


def _generate_encoder(cls: type, plans: list[_FieldPlan]) -> Callable[[Any], dict[str, Any]]:
    """Generate the encoder of ``cls``: per field, ``value = obj.<name>`` and, when it is
    not None, ``out['<wire key>'] = value`` (through the field's hook if it has one)."""
    namespace: dict[str, Any] = {}
    lines = [f"def encode_{cls.__name__}(obj):", "    out = {}"]
    for index, plan in enumerate(plans):
        lines.append(f"    value = obj.{plan.name}")
        lines.append("    if value is not None:")
        if plan.unstructure is None:
            lines.append(f"        out[{plan.wire_key!r}] = value")
        else:
            namespace[f"hook_{index}"] = plan.unstructure
            lines.append(f"        out[{plan.wire_key!r}] = hook_{index}(value)")
    lines.append("    return out")
    encoder: Callable[[Any], dict[str, Any]] = _compile(
        lines, f"encoder for {cls.__qualname__}", namespace
    )
    return encoder


def _compile(lines: list[str], title: str, namespace: dict[str, Any]) -> Any:
    """Define the one function in ``lines``; its source stays readable in tracebacks and
    through ``inspect.getsource`` (as attrs does for the methods it generates)."""
    import linecache  # here, on first use: it is not cheap to import

    source = "\n".join(lines) + "\n"
    filename = f"<payven generated {title}>"
    exec(compile(source, filename, "exec"), namespace)  # noqa: S102 - our own generated source
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    return namespace[lines[0][4 : lines[0].index("(")]]


# --- the converter ----------------------------------------------------------------


class _FieldPlan:
    """How one converter encodes and decodes one attrs field."""

    __slots__ = ("name", "required", "structure", "unstructure", "wire_key")

    def __init__(
        self,
        name: str,
        wire_key: str,
        structure: Hook | None,  # None: the value passes through unchanged
        unstructure: Hook | None,
        required: bool,
    ) -> None:
        self.name = name
        self.wire_key = wire_key
        self.structure = structure
        self.unstructure = unstructure
        self.required = required


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
        plans = []
        for field in attrs.fields(cls):
            if field.name == _UNKNOWN_FIELDS:
                continue
            structure = self.field_structure_hook(field.type)
            if (
                structure is not None
                and not self.strict
                and isinstance(_class_attribute(cls, field.name), _DecodedOnFirstAccess)
            ):
                structure = _deferred(structure, field.type)
            plans.append(
                _FieldPlan(
                    name=field.name,
                    wire_key=_wire_key(field.name, self.style),
                    structure=structure,
                    unstructure=self.field_unstructure_hook(field.type),
                    required=field.default is attrs.NOTHING,
                )
            )
        return plans

    def make_structure(self, cls: type[T]) -> Callable[[Any, Any], T]:
        plans = self.plans(cls)
        if self.strict:
            strict: Callable[[Any, Any], T] = self._make_strict_structure(cls, plans)
            return strict
        return self._make_lenient_structure(cls, plans)

    def _make_lenient_structure(
        self, cls: type[T], plans: list[_FieldPlan]
    ) -> Callable[[Any, Any], T]:
        keeps_unknown = _UNKNOWN_FIELDS in attrs.fields_dict(cls)  # type: ignore[arg-type]
        exact: dict[str, _FieldPlan] = {}
        folded: dict[str, _FieldPlan] = {}
        for plan in plans:
            exact[plan.name] = plan
            exact[_camel(plan.name)] = plan
            folded[_normalise_key(plan.name)] = plan
        required = [plan.name for plan in plans if plan.required]
        name = cls.__name__

        @_own
        def structure(data: Any, _: Any = None) -> T:
            """The general loop: any key spelling, unknown keys kept, errors worded."""
            if type(data) is not dict:
                raise DecodeError(f"{name}: expected a JSON object, got {type(data).__name__}")
            kwargs: dict[str, Any] = {}
            unknown: dict[str, Any] | None = None
            for key, value in data.items():
                plan = exact.get(key)
                if plan is None:
                    plan = folded.get(_normalise_key(key)) if type(key) is str else None
                    if plan is None:
                        if unknown is None:
                            unknown = {}
                        unknown[key] = value
                        continue
                if value is not None and plan.structure is not None:
                    value = plan.structure(value)
                if value is not None:
                    kwargs[plan.name] = value
            if unknown is not None and keeps_unknown:
                kwargs[_UNKNOWN_FIELDS] = unknown
            if required:
                missing = [field for field in required if field not in kwargs]
                if missing:
                    raise DecodeError(f"{name}: missing {', '.join(missing)}")
            return cls(**kwargs)

        def lookup(key: str) -> _FieldPlan | None:
            """The field the general loop decodes ``key`` into."""
            return exact.get(key) or folded.get(_normalise_key(key))

        generated = _generate_decoder(cls, plans, lookup, structure)
        return structure if generated is None else _own(generated)  # type: ignore[return-value]

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
        return _generate_encoder(cls, self.plans(cls))


def _bind(hook: Callable[[Any, Any], Any], tp: Any) -> Hook:
    """Adapt a cattrs ``(value, type)`` hook to one argument; our own hooks need no type."""
    if getattr(hook, _OWN_HOOK, False):
        return hook  # type: ignore[return-value]  # its type argument is optional
    return functools.partial(_call_with_type, hook, tp)


def _call_with_type(hook: Callable[[Any, Any], Any], tp: Any, value: Any) -> Any:
    return hook(value, tp)


def _enum_value(member: Any) -> Any:
    # _value_ is what the .value property returns, without the property's call.
    return member._value_ if isinstance(member, enum.Enum) else member


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
        # Values already of the type pass without a call (see _PASS_THROUGH).
        passes: Any = _PASS_THROUGH.get(value_hook)

        @_own
        def structure(value: Any, _: Any = None) -> dict[str, Any]:
            if type(value) is not dict:
                raise _fail(value, "a JSON object")
            if value_hook is None:
                return value
            # A loop, not a comprehension: cheaper for the few entries answers carry.
            result = {}
            for key, item in value.items():
                text = key if type(key) is str else str(key)
                if not ((item is None and optional) or type(item) is passes):
                    item = value_hook(item, inner)
                result[text] = item
            return result

        return structure

    return factory


def _is_sequence(tp: Any) -> bool:
    return get_origin(tp) in (list, Sequence, tuple) and tp is not str


def _is_mapping(tp: Any) -> bool:
    return get_origin(tp) in (dict, Mapping)


def _make_converter(style: KeyStyle, strict: bool) -> cattrs.Converter:
    """Build one converter. Hooks are registered in a fixed order: scalars, then
    containers, then the attrs-class factories, so that later rules see earlier ones."""
    import cattrs  # here, on first use: importing it is a good part of our import time

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


@functools.cache
def _converter(style: KeyStyle, strict: bool) -> cattrs.Converter:
    return _make_converter(style, strict)


def converter(style: KeyStyle = "snake") -> cattrs.Converter:
    """The client's lenient converter whose encoders use ``style`` keys (built on first use)."""
    return _converter(style, False)


def strict_converter(style: KeyStyle) -> cattrs.Converter:
    """A converter that accepts only ``style`` keys and forbids extra ones (emulator, tests)."""
    return _converter(style, True)


# The hooks the converters hand out, by class, so that the hot path skips cattrs'
# dispatch: the client's decoders (lenient, snake) and its encoders by key style.
_DECODERS: dict[Any, Hook] = {}
_ENCODERS: dict[KeyStyle, dict[type, Hook]] = {"camel": {}, "snake": {}}


def encode(obj: Any, style: KeyStyle) -> Any:
    """Unstructure a request model into JSON-ready data with ``style`` keys."""
    encoders = _ENCODERS[style]
    encoder = encoders.get(type(obj))
    if encoder is None:
        encoder = encoders[type(obj)] = converter(style).get_unstructure_hook(type(obj))
    return encoder(obj)


def _decoder(cls: Any) -> Hook:
    decoder = _DECODERS[cls] = _bind(converter("snake").get_structure_hook(cls), cls)
    return decoder


def structure(data: Any, cls: type[T]) -> T:
    """Decode JSON data into ``cls`` leniently; any failure is a :class:`DecodeError`."""
    try:
        decoder = _DECODERS.get(cls) or _decoder(cls)
        result: T = decoder(data)
    except DecodeError:
        raise
    except Exception as exc:
        raise DecodeError(f"cannot decode {cls.__name__}: {type(exc).__name__}") from exc
    return result
