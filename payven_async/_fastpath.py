"""The only hand-generated code of the wire layer, for the classes whose budget cattrs'
generated code was measured to miss: the decoders of the two hot answers and the
encoders of the pay body, to a dict and straight to JSON text.

The ``pay`` call must cost at most 1.15x a hand-written aiohttp + json client in
instructions and sat right at that edge, so the wire layer's share has a budget a
line. Measured with callgrind (``benchmarks/snippets.py``: instructions a call through
``structure``/``encode``, the benchmark's answers and full pay request, Python 3.11,
cattrs 26.2.1, attrs 26.1.0; runs differ by some 0.3k; the decoders' figures since
``decode_problems``, a field more, which cost 0.3k and 0.7k):

================================  ======  =============  =========
line                              budget  cattrs' code   with this
================================  ======  =============  =========
``structure(.., PaymentQuery)``   27k     38.8k          20.2k
``structure(.., PaymentResult)``  26k     37.4k          20.1k
``encode(pay_request, "camel")``  34k     38.4k          28.2k
the pay body's JSON text          none    141k           68.3k
================================  ======  =============  =========

(The last line is the dict and ``json``'s encoder against :func:`_text_encoder`'s
code, which writes the text without the dict: that took ``pay`` from 1.15x to 1.04x.)

Decoding (:func:`decoder`, for :data:`DECODED_BY_HAND`): the key-folding pass of the
lenient decoders costs about 1k instructions a key, and a frozen attrs ``__init__``
takes keyword arguments and (for a slotted class, such as PaymentQuery) sets each slot
through ``object.__setattr__``, 1.15k instructions a field against 0.69k through the
slot's own setter. The hand decoder does neither for the usual answer, whose keys are
exact spellings: it looks each field up under its spellings and stores it once, in
the instance's ``__dict__`` for a class that has one (PaymentResult; 24.2k with slots,
19.6k with a ``__dict__``), else through its slot descriptor's ``__set__`` (the
descriptor protocol, no private API). Any other answer goes to cattrs' code.

Encoding (:func:`encoder`, for :data:`ENCODED_BY_HAND`): cattrs' code leaves a field
out with ``instance.x != default``, a rich comparison, where ``is not None`` does:
0.15k instructions more a string field and 1.5k a model field (``_Model.__eq__`` runs,
in Python). The pay body's models are all encoded here: PayRequest's own encoder took
it from 38.4k to 32.1k, those of the models inside it (Money, Card, Buyer, Address,
BasketItem) to 29.4k, and building those nested models inline to 28.2k; the whole
``pay`` call is within its budget by less than that.

Every other class is cattrs' code, PaymentQueryDetail's included: reading both detail
records of a query answer went from 124k to some 203k instructions (off the hot path: a
batch that reads ``status`` never decodes them). The property tests check that each
hand path gives exactly what cattrs' code gives, the model or the error.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping
from json.encoder import encode_basestring
from typing import Any

import attrs

from ._deferred import slot_of
from ._hooks import ITEM_HOOKS, PASS_THROUGH, Hook, enum_value, spellings, strip_optional
from ._json import to_json_text
from .models import Address, BasketItem, Buyer, Card, Money, PaymentQuery, PaymentResult, PayRequest

__all__ = ["DECODED_BY_HAND", "ENCODED_BY_HAND", "TEXT_ENCODERS", "decoder", "encoder"]

#: Answer classes built slot by slot, not through their frozen ``__init__``.
DECODED_BY_HAND: frozenset[type] = frozenset({PaymentQuery, PaymentResult})
#: Request classes whose encoder is written here, not by cattrs.
ENCODED_BY_HAND: frozenset[type] = frozenset({PayRequest, Money, Card, Buyer, Address, BasketItem})

_FACTORY: Any = attrs.Factory  # a class, though typed as an (overloaded) function


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
    # _payven_meta: the answer models' slot for ``.meta``, which __init__ leaves empty.
    if slots - {"__weakref__", "_payven_meta"} != {field.name for field in fields}:
        return None
    setters = {}
    for field in fields:
        setter = getattr(slot_of(cls, field.name), "__set__", None)
        if setter is None:
            return None
        setters[field.name] = setter
    return setters


def _fills_its_dict(cls: type) -> bool:
    """Whether ``cls`` is a frozen attrs class with a ``__dict__`` whose ``__init__`` only
    stores each field there (no converters, validators, init hooks, or factories that
    take self)."""
    new: Any = cls.__new__
    return (
        "__slots__" not in cls.__dict__
        and new is object.__new__
        and not hasattr(cls, "__attrs_pre_init__")
        and not hasattr(cls, "__attrs_post_init__")
        and not any(
            not field.init
            or field.converter is not None
            or field.validator is not None
            or (isinstance(field.default, _FACTORY) and field.default.takes_self)
            for field in attrs.fields(cls)
        )
    )


def decoder(cls: Any, hooks: Mapping[str, Hook], general: Hook) -> Hook | None:
    """The hand-generated lenient decoder of ``cls``, or None when ``cls`` is not in
    :data:`DECODED_BY_HAND` or does not qualify (an ``__init__`` that does more than
    fill slots).

    It takes the usual answer, whose every key is one of :func:`._hooks.spellings` of a
    field, each field once, and hands any other to ``general`` (cattrs' code): keys it
    must fold, unknown keys, a field under two spellings, a value a hook refuses (which
    ``general`` keeps and reports), a required field missing or ``null``. So the
    result, or the error, is always what cattrs' code gives for the answer. One block a
    field, with ``hooks`` the hooks cattrs' code calls (a required field raises
    ``_Absent`` where this sets the default)::

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
            set_0(obj, default_0)
        elif type(value) is type_0:
            set_0(obj, value)
        else:
            set_0(obj, hook_0(value, tp_0))
    """
    if cls not in DECODED_BY_HAND:
        return None
    fields = attrs.fields(cls)
    namespace: dict[str, Any] = {
        "cls": cls,
        "new": object.__new__,
        "general": general,
        "_Absent": _Absent,
    }
    lines = [
        f"def decode_{cls.__name__}(data, _=None):",
        "    if type(data) is dict:",
        "        try:",
        "            found = 0",
        "            obj = new(cls)",
    ]
    if _fills_its_dict(cls):
        # A frozen attrs class with a __dict__: its __init__ stores each field in the
        # instance's __dict__; so does this, directly.
        lines.append("            fill = obj.__dict__")
        store = [f"fill[{field.name!r}] = " for field in fields]
    else:
        setters = _slot_setters(cls)
        if setters is None:
            return None
        for index, field in enumerate(fields):
            namespace[f"set_{index}"] = setters[field.name]
        store = [f"set_{index}(obj, " for index in range(len(fields))]
    for index, field in enumerate(fields):
        name = field.name
        default: Any = field.default
        close = "" if store[index].startswith("fill") else ")"
        if default is attrs.NOTHING:  # required: general says it is missing
            set_default = "raise _Absent"
        elif isinstance(default, _FACTORY):
            namespace[f"factory_{index}"] = default.factory
            set_default = f"{store[index]}factory_{index}(){close}"
        else:
            namespace[f"default_{index}"] = default
            set_default = f"{store[index]}default_{index}{close}"
        lines.append(f"            # {name}: {getattr(field.type, '__name__', field.type)}")
        hook = hooks.get(name)
        if hook is None:  # unknown_fields: an answer with unknown keys goes to general
            lines.append(f"            {set_default}")
            continue
        for number, key in enumerate(spellings(name)):
            lines.append(f"            {'elif' if number else 'if'} {key!r} in data:")
            lines.append(f"                value = data[{key!r}]")
            lines.append("                found += 1")
        lines.append("            else:")
        lines.append("                value = None")
        lines.append("            if value is None:")
        lines.append(f"                {set_default}")
        namespace[f"hook_{index}"] = hook
        namespace[f"tp_{index}"] = field.type
        passes = PASS_THROUGH.get(hook)
        if passes is not None:
            namespace[f"type_{index}"] = passes
            lines.append(f"            elif type(value) is type_{index}:")
            lines.append(f"                {store[index]}value{close}")
        lines.append("            else:")
        lines.append(f"                {store[index]}hook_{index}(value, tp_{index}){close}")
    lines += [
        "            if found == len(data):",
        "                return obj",
        "        except Exception:",
        "            pass  # cattrs' code decides, and words the error",
        "    return general(data, _)",
    ]
    decode: Hook = _compile(lines, f"decoder of {cls.__qualname__}", namespace)
    return decode


class _Absent(Exception):
    """A required field is missing or ``null``: the hand decoder hands the answer on."""


def encoder(
    cls: type, fields: Mapping[str, tuple[str, Hook | None, bool]]
) -> Callable[[Any], dict[str, Any]] | None:
    """The hand-generated encoder of ``cls`` (None when ``cls`` is not in
    :data:`ENCODED_BY_HAND`), which sends what cattrs' code sends.

    ``fields`` maps each field to be sent to its key, its hook (None: sent as it is) and
    whether it is left out when None, as cattrs' code is told them. Per field, in
    declaration order::

        v3 = obj.external_id
        if v3 is not None:
            out['externalId'] = v3

    A field whose hook is another encoder made here is encoded inline, as a nested
    dict built in the same function (a Python call less per nested model: the pay
    body's Money, Card, Buyer and two addresses)::

        v0 = obj.amount
        d0 = {}
        v1 = v0.amount
        d0['amount'] = v1
        ...
        out['amount'] = d0
    """
    if cls not in ENCODED_BY_HAND:
        return None
    namespace: dict[str, Any] = {}
    lines = [f"def encode_{cls.__name__}(obj):"]
    _encode_fields(fields, "obj", "out", "    ", namespace, lines, [0])
    lines.append("    return out")
    encode: Callable[[Any], dict[str, Any]] = _compile(
        lines, f"encoder of {cls.__qualname__}", namespace
    )
    _ENCODED_FIELDS[encode] = fields
    TEXT_ENCODERS[encode] = _text_encoder(cls, fields, encode)
    _TEXT_FIELDS[encode] = (cls, fields)
    return encode


#: The fields of each encoder made here, so that another can inline it.
_ENCODED_FIELDS: dict[Any, Mapping[str, tuple[str, Hook | None, bool]]] = {}

#: The text encoder of each encoder made here (see :func:`_text_encoder`).
TEXT_ENCODERS: dict[Any, Callable[[Any], str]] = {}


def _text_encoder(
    cls: type, fields: Mapping[str, tuple[str, Hook | None, bool]], encode: Callable[[Any], Any]
) -> Callable[[Any], str]:
    """The encoder of ``cls`` straight to compact JSON text: exactly what
    ``to_json_text(encode(obj))`` gives (``encode`` being :func:`encoder`'s), the same
    text or the same exception, without the dict in between.

    The standard library's encoder writes a dict through a list of small strings that it
    joins; so does this, but with the keys, braces and commas worked out once, here:
    ``'},"card":{"holderName":'`` is one piece. A text goes through the C function that
    the encoder calls for one (``json.encoder.encode_basestring``, which
    ``ensure_ascii=False`` uses; a public name of the module, though undocumented), an
    ``int`` (exactly) through ``str``, which gives what the encoder's ``int.__repr__``
    gives, and any other value (a ``bool``, a mapping, ...) through the encoder itself.
    Per field, in declaration order (``q`` raises ``TypeError`` for a value of a ``str``
    field that is not text: then the dict and the encoder write the whole body, so odd
    values are theirs to write)::

        if (v10 := obj.external_id) is not None:
            parts += (',"externalId":', q(v10))

    A model inside, or an array of them, is written inline, as :func:`encoder` builds
    its dict inline. A comma is decided here where the fields before it settle it, and
    at run time (``s3``) after fields that may be left out. On the pay body: 68k
    instructions, against 141k for the dict and ``json``'s encoder
    (``benchmarks/snippets.py``).
    """
    namespace: dict[str, Any] = {
        "q": encode_basestring,
        "r": str,  # for an int (its type checked first), what int.__repr__ gives
        "text": to_json_text,
        "Enum": enum.Enum,
        "fallback": encode,
    }
    lines = [f"def encode_text_{cls.__name__}(obj):", "    try:"]
    writer = _TextWriter(namespace, lines)
    writer.object(cls, fields, "obj", " " * 8)
    writer.flush(" " * 8)
    lines += [
        "        return ''.join(parts)",
        "    except TypeError:",
        "        pass  # a value of another type than its field's: the encoder writes it",
        "    return text(fallback(obj))",
    ]
    text_encoder: Callable[[Any], str] = _compile(
        lines, f"text encoder of {cls.__qualname__}", namespace
    )
    return text_encoder


#: The classes whose text encoder is made here, and their fields (to write them inline).
_TEXT_FIELDS: dict[Any, tuple[type, Mapping[str, tuple[str, Hook | None, bool]]]] = {}


class _Expr(str):
    """A piece of Python code that gives a text, as opposed to a literal text."""


class _TextWriter:
    """Writes a text encoder's lines. The pieces of a run of code with no branch in it
    wait to be written as one statement (``parts += (...)``), adjacent literals as one
    string: ``'},"card":{"holderName":'``."""

    def __init__(self, namespace: dict[str, Any], lines: list[str]) -> None:
        self.namespace = namespace
        self.lines = lines
        self.pending = ""  # a literal, not yet in ``queued``
        self.queued: list[str] = []  # code, each piece a text
        self.started = False  # whether the list of pieces is made
        self.count = 0

    def add(self, *pieces: str) -> None:
        """Queue ``pieces``: literals, and :class:`_Expr` code."""
        for piece in pieces:
            if isinstance(piece, _Expr):
                if self.pending:
                    self.queued.append(repr(self.pending))
                    self.pending = ""
                self.queued.append(piece)
            else:
                self.pending += piece

    def flush(self, indent: str) -> None:
        """Write what is queued, as one statement; the first one makes the list."""
        if self.pending:
            self.queued.append(repr(self.pending))
            self.pending = ""
        if not self.queued:
            return
        if not self.started:  # the first statement: nothing is written before it
            self.lines.append(f"{indent}parts = [{', '.join(self.queued)}]")
            self.started = True
        elif len(self.queued) == 1:
            self.lines.append(f"{indent}parts.append({self.queued[0]})")
        else:
            self.lines.append(f"{indent}parts += ({', '.join(self.queued)})")
        self.queued = []

    def line(self, indent: str, code: str) -> None:
        """Write a line that must come after what is queued (a branch, a separator)."""
        self.flush(indent)
        self.lines.append(f"{indent}{code}")

    def object(
        self,
        cls: type,
        fields: Mapping[str, tuple[str, Hook | None, bool]],
        source: str,
        indent: str,
        opening: tuple[str, ...] = ("{",),
    ) -> None:
        """The code that writes the object named ``source``: ``opening`` (its brace, and
        whatever goes before it), its fields, its closing brace (left queued)."""
        types = {field.name: strip_optional(field.type) for field in attrs.fields(cls)}
        self.add(*opening)
        # Whether a comma goes before the next key: "no" (nothing written yet), "yes",
        # or the name of the variable that knows (after fields that may be left out).
        comma = "no"
        for name, (key, hook, omit_none) in fields.items():
            number = self.count
            self.count += 1
            value = f"v{number}"
            inner = indent
            if omit_none:
                if comma == "no":
                    comma = f"s{number}"
                    self.line(indent, f"{comma} = ''")
                    before = ""
                else:
                    before = "," if comma == "yes" else _Expr(comma)
                self.line(indent, f"if ({value} := {source}.{name}) is not None:")
                inner += "    "
            else:
                self.lines.append(f"{indent}{value} = {source}.{name}")  # no queued piece reads it
                before = {"no": "", "yes": ","}.get(comma, _Expr(comma))
            head = (before, encode_basestring(key) + ":")
            self.value(types[name], value, hook, number, inner, head)
            if omit_none:
                if comma != "yes":
                    self.line(inner, f"{comma} = ','")
                self.flush(inner)
            else:
                comma = "yes"
        self.add("}")

    def value(
        self,
        tp: Any,
        value: str,
        hook: Hook | None,
        number: int,
        indent: str,
        head: tuple[str, ...],
    ) -> None:
        """The code that writes ``head`` and then ``value``, of type ``tp``, after its
        ``hook``."""
        nested = _TEXT_FIELDS.get(hook)
        items = _TEXT_FIELDS.get(ITEM_HOOKS.get(hook))  # type: ignore[arg-type]
        if nested is not None:  # a model made here
            self.object(*nested, value, indent, (*head, "{"))
        elif items is not None:  # an array of models made here: '{' first, then ',{'
            brace = f"b{number}"
            self.add(*head, "[")
            self.line(indent, f"{brace} = '{{'")
            self.line(indent, f"for i{number} in {value}:")
            self.object(*items, f"i{number}", indent + "    ", (_Expr(brace),))
            self.line(indent + "    ", f"{brace} = ',{{'")
            self.add("]")
        elif hook is None and tp is str:
            self.add(*head, _Expr(f"q({value})"))
        elif hook is None and tp is int:
            self.add(*head, _Expr(f"r({value}) if type({value}) is int else text({value})"))
        else:
            if hook is enum_value:  # written out: a Python call less
                code = f"{value}._value_ if isinstance({value}, Enum) else {value}"
            else:
                self.namespace[f"hook_{number}"] = hook
                code = f"hook_{number}({value})" if hook is not None else value
            self.lines.append(f"{indent}{value} = {code}")  # no queued piece reads it
            self.add(*head, _Expr(f"q({value}) if type({value}) is str else text({value})"))


def _encode_fields(
    fields: Mapping[str, tuple[str, Hook | None, bool]],
    source: str,
    target: str,
    indent: str,
    namespace: dict[str, Any],
    lines: list[str],
    counter: list[int],
) -> None:
    """The lines that build dict ``target`` out of the object named ``source``."""
    lines.append(f"{indent}{target} = {{}}")
    for name, (key, hook, omit_none) in fields.items():
        number = counter[0]
        counter[0] += 1
        value = f"v{number}"
        lines.append(f"{indent}{value} = {source}.{name}")
        inner = indent
        if omit_none:
            lines.append(f"{indent}if {value} is not None:")
            inner += "    "
        nested = _ENCODED_FIELDS.get(hook)
        if nested is not None:
            _encode_fields(nested, value, f"d{number}", inner, namespace, lines, counter)
            lines.append(f"{inner}{target}[{key!r}] = d{number}")
        elif hook is not None:
            namespace[f"hook_{number}"] = hook
            lines.append(f"{inner}{target}[{key!r}] = hook_{number}({value})")
        else:
            lines.append(f"{inner}{target}[{key!r}] = {value}")


def _compile(lines: list[str], title: str, namespace: dict[str, Any]) -> Any:
    """Define the one function in ``lines``; its source stays readable in tracebacks and
    through ``inspect.getsource`` (as attrs and cattrs do for what they generate)."""
    import linecache  # here, on first use: it is not cheap to import

    source = "\n".join(lines) + "\n"
    filename = f"<payven generated {title}>"
    exec(compile(source, filename, "exec"), namespace)  # noqa: S102 - our own generated source
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    return namespace[lines[0][4 : lines[0].index("(")]]
