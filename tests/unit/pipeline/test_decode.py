"""Decoding never lets an input break the decoder: depth, number length and odd literals."""

from __future__ import annotations

import math

import pytest

from services.core.pipeline.decode import DecodeError, OversizedNumber, decode


def test_ordinary_documents_decode() -> None:
    assert decode(b'{"seq": 1, "readings": []}') == {"seq": 1, "readings": []}


@pytest.mark.parametrize(
    "payload",
    [
        b"[" * 100_000,
        b"[" * 2000 + b"]" * 2000,
        b'{"a": ' + b"[" * 5000 + b"NaN" + b"]" * 5000 + b"}",
    ],
)
def test_nesting_beyond_the_parsers_limit_is_a_decode_error(payload: bytes) -> None:
    with pytest.raises(DecodeError, match="not JSON"):
        decode(payload)


def test_nan_and_infinity_decode_so_that_only_their_reading_is_rejected() -> None:
    doc = decode(b'{"v": [NaN, Infinity, -Infinity, 1e400]}')
    assert all(not math.isfinite(v) for v in doc["v"])


def test_over_long_integers_are_kept_as_text_never_converted() -> None:
    doc = decode(b'{"v": ' + b"9" * 401 + b', "w": -' + b"1" * 25 + b', "x": 18446744073709551615}')
    assert [type(doc["v"]), type(doc["w"])] == [OversizedNumber, OversizedNumber]
    assert (doc["v"].digits, doc["w"].digits) == (401, 25)
    assert doc["x"] == 18446744073709551615


@pytest.mark.parametrize("payload", [b"{not json", b"\xff\xfe", b"", b'{"a": 1'])
def test_malformed_payloads_are_decode_errors(payload: bytes) -> None:
    with pytest.raises(DecodeError):
        decode(payload)
