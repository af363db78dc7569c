"""The value hooks of the wire format: how a JSON value becomes a field's value and back,
and how the service spells a field's key.

It exists so that the converters (:mod:`._converters`) only assemble: every rule about
one value lives here, once, and the lenient and strict converters share it.

- Keys: the service has published two wire generations under ``v1``, so a field comes
  as snake_case, camelCase, PascalCase or in .NET's spellings (``is_3d_secure``,
  ``is3DSecure``, ``is3_d_secure``, ``Is3DSecure`` are one field). :func:`key_normaliser`
  folds an answer's keys onto field names in one pass, one dict lookup a key.
- Scalars: ``str``, ``int``, ``bool``, ``Decimal`` and ``datetime`` hooks that take
  what the API has been seen to send (digits as text, ``"true"``, integral doubles,
  .NET's seven-digit fractions) and refuse the rest with a :class:`DecodeError`;
  :func:`to_amount` for an ``int | Decimal`` amount that one generation types as a
  double (the ``int`` when integral, else the exact ``Decimal``; never a ``float``).
- A value no hook takes is not fatal to an answer whose model keeps what it does not
  know: :func:`key_normaliser` keeps it in ``unknown_fields`` under the key it came
  with, says why in ``decode_problems``, and gives the field its default (a required
  field stays an error).
- Enums: any spelling of a member (``Sale``, ``sale``, ``SALE``, ``0``, ``"0"``) when
  lenient, unknown values kept as text; only the API's values when strict.
- JSON arrays and objects, whose items go through the item type's hook.

Every structure hook here takes ``(value, type=None)``: cattrs calls it with the type,
our own code with the value alone.
"""

from __future__ import annotations

import enum
import functools
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import date, datetime, timezone
from decimal import Decimal, InvalidOperation
from types import NoneType, UnionType
from typing import Any, Literal, TypeVar, Union, get_args, get_origin

from .errors import DecodeError

__all__ = [
    "DECODE_PROBLEMS",
    "ITEM_HOOKS",
    "PASS_THROUGH",
    "UNKNOWN_FIELDS",
    "Hook",
    "KeyStyle",
    "camel",
    "datetime_to_wire",
    "enum_in",
    "enum_value",
    "is_mapping",
    "is_sequence",
    "key_normaliser",
    "lenient_enum_hook",
    "mapping_decoder",
    "mapping_encoder",
    "normalise_key",
    "sequence_decoder",
    "sequence_encoder",
    "spellings",
    "strict_enum_hook",
    "strip_optional",
    "to_amount",
    "to_bool",
    "to_date",
    "to_datetime",
    "to_decimal",
    "to_int",
    "to_str",
    "wire_key",
]

KeyStyle = Literal["camel", "snake"]
Hook = Callable[..., Any]
E = TypeVar("E", bound=enum.Enum)
T = TypeVar("T")

#: The field in which answer models keep the keys they do not know.
UNKNOWN_FIELDS = "unknown_fields"
#: The field in which answer models say which values they could not place, and why.
DECODE_PROBLEMS = "decode_problems"


# --- key spellings ------------------------------------------------------------------


def camel(name: str) -> str:
    """``transaction_id`` -> ``transactionId``."""
    head, *rest = name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def wire_key(name: str, style: KeyStyle) -> str:
    """The key we send a field under, in ``style``."""
    return camel(name) if style == "camel" else name


def normalise_key(key: str) -> str:
    """Fold every spelling of a key to one form: ``is3DSecure`` -> ``is3dsecure``."""
    return key.replace("_", "").replace("-", "").lower()


@functools.cache
def _dotnet_word_re() -> re.Pattern[str]:
    # Compiled on first use, like every regex here: each costs import time.
    return re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")


def spellings(name: str) -> list[str]:
    """The exact spellings the API has used for a field: snake, camel, and .NET's.

    .NET capitalises a letter after a digit (``is_3d_secure`` -> ``is3DSecure``), and
    its snake-case policy then splits there too (``is3_d_secure``).
    """
    camel_name = camel(name)
    dotnet_camel = re.sub(r"(?<=[0-9])[a-z]", lambda match: match.group().upper(), camel_name)
    dotnet_snake = _dotnet_word_re().sub("_", dotnet_camel).lower()
    return list(dict.fromkeys((name, camel_name, dotnet_snake, dotnet_camel)))


def key_normaliser(
    class_name: str,
    names: Iterable[str],
    build: Callable[[dict[str, Any]], T],
    *,
    keeps_unknown: bool,
    required: Sequence[str],
    tolerant: Mapping[str, tuple[Hook, Any]] | None = None,
) -> Callable[[Any, Any], T]:
    """A lenient decoder: an answer's keys, in any spelling, onto field names, then ``build``.

    The decoder takes a JSON object and hands ``build`` the fields it names, by field
    name, with ``null`` left out (so that the field's default applies), and the keys no
    field has in ``unknown_fields`` when the model keeps them. A key is found with one
    dict lookup when it is one of :func:`spellings` or one of those capitalised (.NET's
    PascalCase), and folded (:func:`normalise_key`) otherwise. When a field comes under
    two spellings, the last one not ``null`` counts. A missing required field, or
    anything but a JSON object, is a :class:`DecodeError`.

    ``tolerant`` (each field's hook and type, for a model with ``unknown_fields`` and
    ``decode_problems``) makes a value that no hook takes a fact kept, not a failure:
    when ``build`` fails, each field's value is tried alone, and one that fails goes to
    ``unknown_fields`` under the key it came with, its field keeps its default, and
    ``decode_problems`` maps the field to what was wrong (the type, never the value).
    A required field whose value fails is still a :class:`DecodeError`. The usual
    answer never takes this path: it costs nothing until ``build`` fails.
    """
    names = list(names)
    exact = {spelling: name for name in names for spelling in spellings(name)}
    exact.update({key[:1].upper() + key[1:]: name for key, name in list(exact.items())})
    folded = {normalise_key(name): name for name in names}

    def field_of(key: Any) -> str | None:
        name = exact.get(key)
        if name is None and type(key) is str:
            name = folded.get(normalise_key(key))
        return name

    def decode(data: Any, _: Any = None) -> T:
        if type(data) is not dict:
            raise DecodeError(f"{class_name}: expected a JSON object, got {type(data).__name__}")
        known: dict[str, Any] = {}
        unknown: dict[Any, Any] | None = None
        for key, value in data.items():
            name = exact.get(key)
            if name is None:
                name = folded.get(normalise_key(key)) if type(key) is str else None
                if name is None:
                    if unknown is None:
                        unknown = {}
                    unknown[key] = value
                    continue
            if value is not None:
                known[name] = value
        if unknown is not None and keeps_unknown:
            known[UNKNOWN_FIELDS] = unknown
        if required:
            missing = [name for name in required if name not in known]
            if missing:
                raise DecodeError(f"{class_name}: missing {', '.join(missing)}")
        if tolerant is None:
            return build(known)
        try:
            return build(known)
        except Exception:
            placed = place(data, known)
            if placed is None:
                raise
        return build(placed)

    def place(data: dict[Any, Any], known: dict[str, Any]) -> dict[str, Any] | None:
        """``known`` less the values no hook takes, which are kept and reported; None when
        every value is taken (the failure was elsewhere: let it be raised)."""
        assert tolerant is not None
        problems: dict[str, str] = {}
        for name, value in known.items():
            hook_and_type = tolerant.get(name)
            if hook_and_type is None:
                continue
            hook, tp = hook_and_type
            try:
                hook(value, tp)
            except Exception as exc:  # noqa: BLE001 - reported, as the docstring says
                problems[name] = str(exc) if isinstance(exc, DecodeError) else type(exc).__name__
        if not problems:
            return None
        bad = [name for name in required if name in problems]
        if bad:
            raise DecodeError(
                f"{class_name}: " + "; ".join(f"{name}: {problems[name]}" for name in bad)
            )
        placed = {name: value for name, value in known.items() if name not in problems}
        kept = dict(known.get(UNKNOWN_FIELDS, {}))
        for key, value in data.items():
            if value is not None and field_of(key) in problems:
                kept[key] = value
        placed[UNKNOWN_FIELDS] = kept
        placed[DECODE_PROBLEMS] = problems
        return placed

    return decode


# --- scalars --------------------------------------------------------------------------


def _fail(value: Any, expected: str) -> DecodeError:
    return DecodeError(f"expected {expected}, got {type(value).__name__}")


def to_str(value: Any, _: Any = None) -> str:
    """Text; a JSON number is taken as its text."""
    if type(value) is str:
        return value
    if isinstance(value, (int, Decimal)) and not isinstance(value, bool):
        return str(value)
    raise _fail(value, "a string")


def to_int(value: Any, _: Any = None) -> int:
    """An integer; also an integral double (``15000.0``) and a string of digits."""
    if type(value) is int:
        return value
    if isinstance(value, Decimal) and value.is_finite() and value == value.to_integral_value():
        return int(value)
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value)
    raise _fail(value, "an integer")


def to_amount(value: Any, _: Any = None) -> int | Decimal:
    """An amount that one generation types as an integer and the other as a double: the
    ``int`` when it is integral (``15000``, ``15000.0``, ``"15000"``), else the exact
    ``Decimal`` (``150.5`` stays ``Decimal("150.5")``); never a ``float``."""
    if type(value) is int:
        return value
    if type(value) is float:
        value = Decimal(repr(value))  # the shortest text that round-trips, as to_decimal
    elif type(value) is str:
        try:
            value = Decimal(value.strip())
        except InvalidOperation:
            raise _fail(value, "a number") from None
    if isinstance(value, Decimal) and value.is_finite():
        return int(value) if value == value.to_integral_value() else value
    raise _fail(value, "a number")


def to_bool(value: Any, _: Any = None) -> bool:
    """A boolean; also ``"true"``/``"false"`` in any case, and ``0``/``1``."""
    if type(value) is bool:
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    if type(value) is int and value in (0, 1):
        return bool(value)
    raise _fail(value, "a boolean")


def to_decimal(value: Any, _: Any = None) -> Decimal:
    """A ``Decimal``: JSON doubles arrive as ``Decimal`` already (``_json.decode_json``)."""
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
    return re.compile(
        r"(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2}(?::\d{2})?)(?:\.(\d+))?\s*(Z|[+-]\d{2}:?\d{2})?$",
        re.IGNORECASE,
    )


def to_datetime(value: Any, _: Any = None) -> datetime:
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


def to_date(value: Any, _: Any = None) -> date:
    """A calendar date (``2026-05-05``); a timestamp gives its own date, as it was written."""
    if type(value) is str:
        try:
            return date.fromisoformat(value[:10])
        except ValueError:
            pass
    elif isinstance(value, date):
        return value.date() if isinstance(value, datetime) else value
    raise _fail(value, "an ISO 8601 date")


def datetime_to_wire(value: datetime) -> str:
    """A timestamp as ISO 8601 text, its offset included."""
    return value.isoformat()


#: Scalar hooks that return a value of this exact type unchanged: a caller may test the
#: type and skip the call (a call costs more than the test).
PASS_THROUGH: dict[Hook, type] = {
    to_str: str,
    to_int: int,
    to_amount: int,
    to_bool: bool,
    to_decimal: Decimal,
}


# --- enums ----------------------------------------------------------------------------


@functools.cache
def _enum_table(enum_type: type[enum.Enum]) -> dict[Any, enum.Enum]:
    """Every spelling the API has used for each member: name, value, snake, index."""
    table: dict[Any, enum.Enum] = {}
    for index, member in enumerate(enum_type):
        table[index] = member
        table[str(index)] = member
        for spelling in (member.name, str(member.value)):
            table[normalise_key(spelling)] = member
    return table


def _enum_lookup(enum_type: type[E], value: Any) -> E | None:
    table = _enum_table(enum_type)
    if type(value) is int:
        found = table.get(value)
    elif type(value) is str:
        found = table.get(normalise_key(value))
    else:
        raise _fail(value, f"a {enum_type.__name__} name or number")
    return found  # type: ignore[return-value]


def lenient_enum_hook(enum_type: type[E]) -> Hook:
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

    def structure(value: Any, _: Any = None) -> E | str:
        if type(value) is str or type(value) is int:
            member = direct.get(value)
            if member is not None:
                return member
        member = _enum_lookup(enum_type, value)
        return member if member is not None else str(value)

    return structure


def strict_enum_hook(enum_type: type[E]) -> Hook:
    """Decode only the API's own values (``"Sale"``); anything else is a DecodeError."""
    values = {member.value: member for member in enum_type}

    def structure(value: Any, _: Any = None) -> E:
        try:
            return values[value]
        except (KeyError, TypeError):
            raise DecodeError(
                f"{value!r} is not a {enum_type.__name__} ({', '.join(map(str, values))})"
            ) from None

    return structure


def enum_value(member: Any) -> Any:
    """A member as its API value; a value kept as text (``E | str``) as it is."""
    # Enum._value_ is the documented attribute (enum reference, "Enum._value_") that the
    # .value property returns; reading it directly saves the property's Python-level
    # call: 1.4k instructions a member, measured on the pay body.
    return member._value_ if isinstance(member, enum.Enum) else member


def enum_in(tp: Any) -> type[enum.Enum] | None:
    """The enum of ``E``, ``E | None``, ``E | str`` or ``E | str | None``; else None."""
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        return tp
    if get_origin(tp) in (Union, UnionType):
        members = [arg for arg in get_args(tp) if arg is not NoneType and arg is not str]
        if len(members) == 1:
            return enum_in(members[0])
    return None


def strip_optional(tp: Any) -> Any:
    """``X`` for ``X | None``; any other type as it is."""
    if get_origin(tp) in (Union, UnionType) and NoneType in get_args(tp):
        rest = tuple(arg for arg in get_args(tp) if arg is not NoneType)
        return rest[0] if len(rest) == 1 else Union[rest]  # noqa: UP007
    return tp


# --- JSON arrays and objects ------------------------------------------------------------


def is_sequence(tp: Any) -> bool:
    """``Sequence[X]``, ``list[X]`` or ``tuple[X, ...]``: a JSON array."""
    return get_origin(tp) in (list, Sequence, tuple)


def is_mapping(tp: Any) -> bool:
    """``Mapping[str, X]`` or ``dict[str, X]``: a JSON object of free keys."""
    return get_origin(tp) in (dict, Mapping)


def sequence_decoder(item_hook: Hook | None, item_type: Any) -> Hook:
    """A JSON array (only: not text, not an object) to a list, each item through ``item_hook``."""

    def structure(value: Any, _: Any = None) -> list[Any]:
        if type(value) is not list:
            raise _fail(value, "a JSON array")
        if item_hook is None:
            return value
        return [item_hook(item, item_type) for item in value]

    return structure


def mapping_decoder(value_hook: Hook | None, value_type: Any, *, optional: bool) -> Hook:
    """A JSON object (only) to a dict of text keys, each value through ``value_hook``
    (``null`` values kept when ``optional``)."""
    passes: Any = PASS_THROUGH.get(value_hook) if value_hook is not None else None

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
                item = value_hook(item, value_type)
            result[text] = item
        return result

    return structure


#: The item hook of each sequence encoder made by :func:`sequence_encoder`, so that a
#: generated encoder (:mod:`._fastpath`) can write the items itself.
ITEM_HOOKS: dict[Hook, Hook] = {}


def sequence_encoder(item_hook: Hook | None) -> Hook:
    """A sequence to a JSON array, each item through ``item_hook`` (None: as it is)."""
    if item_hook is None:
        return list
    hook = item_hook

    def unstructure(value: Iterable[Any]) -> list[Any]:
        return [hook(item) for item in value]

    ITEM_HOOKS[unstructure] = hook
    return unstructure


def mapping_encoder(value_hook: Hook | None) -> Hook:
    """A mapping to a JSON object of text keys, each value through ``value_hook``."""
    if value_hook is None:

        def unstructure(value: Mapping[Any, Any]) -> dict[str, Any]:
            return {str(key): item for key, item in value.items()}

        return unstructure
    hook = value_hook

    def unstructure_values(value: Mapping[Any, Any]) -> dict[str, Any]:
        return {str(key): hook(item) for key, item in value.items()}

    return unstructure_values
