"""Decoding a raw payload into a JSON document without letting any input break the decoder.

orjson decodes almost everything; it refuses documents nested deeper than 1,024 levels (in native
code, without touching the Python stack), integers outside 64 bits and numbers that overflow a
double. The standard library's decoder is the fallback for what gateways do send and orjson
refuses: ``NaN``/``Infinity`` and over-long numbers. There, integer literals are bounded by length
*before* conversion (an over-long one becomes an :class:`OversizedNumber` that validation rejects
as that reading's fault, not the message's), and running out of nesting depth is an ordinary
decoding failure.
"""

from __future__ import annotations

import json
from typing import Any

import orjson

# A 64-bit integer has at most 20 digits; no meter register or message counter needs more.
MAX_INTEGER_DIGITS = 20


class DecodeError(ValueError):
    """The payload is not a JSON document this platform can read; ``detail`` says why."""

    def __init__(self, detail: str) -> None:
        self.detail = detail
        super().__init__(detail)


class OversizedNumber:
    """An integer literal longer than :data:`MAX_INTEGER_DIGITS`, kept as text, never converted."""

    __slots__ = ("digits",)

    def __init__(self, literal: str) -> None:
        self.digits = len(literal.lstrip("-"))

    def __repr__(self) -> str:
        return f"<integer of {self.digits} digits>"


def _bounded_int(literal: str) -> int | OversizedNumber:
    if len(literal.lstrip("-")) > MAX_INTEGER_DIGITS:
        return OversizedNumber(literal)
    return int(literal)


_FALLBACK = json.JSONDecoder(parse_int=_bounded_int)


def decode(payload: bytes) -> Any:
    """The document in ``payload``; :class:`DecodeError` when there is none."""
    try:
        return orjson.loads(payload)
    except orjson.JSONDecodeError as err:
        if "depth" in str(err):
            raise DecodeError(f"not JSON: {err}"[:300]) from None
    try:
        text = payload.decode("utf-8")
        return _FALLBACK.decode(text)
    except (ValueError, RecursionError) as err:  # UnicodeDecodeError is a ValueError
        raise DecodeError(f"not JSON: {type(err).__name__}: {err}"[:300]) from None
