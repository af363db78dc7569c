"""The converters: the lenient one the client decodes with, the strict ones for the
emulator and tests, and the per-class encoders. (Being moved off ``_wire``.)"""

from __future__ import annotations

from ._wire import KeyStyle, converter, encode, strict_converter, structure

__all__ = ["KeyStyle", "converter", "encode", "strict_converter", "structure"]
