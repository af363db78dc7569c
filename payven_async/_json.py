"""The JSON text codec: bytes in, Python data out, and back. Nothing else.

Doubles become ``Decimal`` (never ``float``: money and ``captured_amount`` must not
pick up binary noise) and integers stay exact. Only the ``json`` module's documented
API is used; where a setting costs nothing in meaning and saves work on every call it
is taken (measured with callgrind on the benchmark's 1.3 KB pay body):

- encoding: one ``JSONEncoder`` made once, with ``check_circular=False`` (what we
  encode comes out of our own encoders and cannot contain itself): 113k instructions
  a body, against 120k with the check and 126k for ``json.dumps`` (the pay body itself
  is written by its generated text encoder, ``_fastpath``, in 68k; this writes the
  others);
- decoding: ``JSONDecoder.raw_decode`` on the decoded text, with the trailing
  whitespace tested by hand: 102k instructions for the query answer, against 108k
  for ``JSONDecoder.decode`` and 113k for ``json.loads``.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from ._redact import scrub
from .errors import DecodeError

__all__ = ["decode_json", "dumps", "to_json_text"]

_ENCODER = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, check_circular=False)
_DECODER = json.JSONDecoder(parse_float=Decimal)
_WHITESPACE = " \t\n\r"


#: JSON-ready data to compact text (what :func:`dumps` encodes to UTF-8): for the hot
#: path, which calls it directly, a Python call less.
to_json_text = _ENCODER.encode


def dumps(data: Any) -> bytes:
    """Serialise JSON-ready data compactly, as UTF-8 bytes.

    A string holding a lone UTF-16 surrogate has no UTF-8 form and raises
    ``UnicodeEncodeError``: input validation (``_rules.text``) refuses such text first.
    """
    return _ENCODER.encode(data).encode()


def decode_json(body: bytes) -> Any:
    """Parse a JSON body; doubles become ``Decimal`` and integers stay exact.

    Whatever ``json.loads`` takes is taken (UTF-8, -16 or -32, with or without a BOM).
    The usual body, UTF-8 starting with ``{``, is decoded and parsed directly, without
    the encoding sniffing ``json.loads`` does first.
    """
    try:
        if body[:1] == b"{" and body[1:2] != b"\x00":
            text = body.decode("utf-8", "surrogatepass")  # json.detect_encoding's answer
            value, end = _DECODER.raw_decode(text)
            if end != len(text) and text[end:].strip(_WHITESPACE):
                raise ValueError("extra data after the JSON value")
            return value
        return json.loads(body, parse_float=Decimal)
    except (ValueError, RecursionError) as exc:
        scrub(exc)  # the decoder's frames and error hold the answer's text
        raise DecodeError("the answer is not valid JSON") from exc
