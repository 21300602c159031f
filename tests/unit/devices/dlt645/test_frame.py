"""DL/T 645-2007 frames byte for byte, the wake-up preamble, broken frames and round trips."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.core.devices.dlt645.frame import (
    WAKE_UP,
    Frame,
    FrameError,
    address_to_wire,
    decode_frame,
    encode_frame,
    take_frame,
)

# Worked frames published with their meaning (each checksum re-added by hand: the sum of the bytes
# from the first 68H to the last data byte, modulo 256):
# - reading DI 00000000 (combined active total energy) from meter 202107072529, and its reply
#   A9 4A 36 33 - 33H each = 76 17 03 00 -> 00031776 -> 317.76 kWh;
# - reading DI 00000000 from meter 652022122003 (reply: 0.00 kWh), and DI 0201FF00 (the voltage
#   block) from meter 652022122018, whose reply holds A, B, C = 0.0, 0.0, 239.4 V.
_M1, _M2, _M3 = "202107072529", "652022122003", "652022122018"
WORKED = [
    (wire, Frame(address, control, bytes.fromhex(data)))
    for wire, address, control, data in (
        ("68 29 25 07 07 21 20 68 11 04 33 33 33 33 4E 16", _M1, 0x11, "00000000"),
        (
            "68 29 25 07 07 21 20 68 91 08 33 33 33 33 A9 4A 36 33 2E 16",
            _M1,
            0x91,
            "0000000076170300",
        ),
        ("68 03 20 12 22 20 65 68 11 04 33 33 33 33 8D 16", _M2, 0x11, "00000000"),
        ("68 03 20 12 22 20 65 68 91 08 33 33 33 33 33 33 33 33 DD 16", _M2, 0x91, "00" * 8),
        ("68 18 20 12 22 20 65 68 11 04 33 32 34 35 A4 16", _M3, 0x11, "00FF0102"),
        (
            "68 18 20 12 22 20 65 68 91 0A 33 32 34 35 33 33 33 33 C7 56 13 16",
            _M3,
            0x91,
            "00FF0102 0000 0000 9423",
        ),
    )
]


@pytest.mark.parametrize(("wire", "frame"), WORKED)
def test_worked_frames_encode_and_decode_byte_for_byte(wire: str, frame: Frame) -> None:
    raw = bytes.fromhex(wire)
    assert encode_frame(frame, wake_up=False) == raw
    assert decode_frame(raw) == frame


@pytest.mark.parametrize(("wire", "frame"), WORKED)
def test_the_wake_up_preamble_is_sent_and_tolerated(wire: str, frame: Frame) -> None:
    raw = bytes.fromhex(wire)
    assert encode_frame(frame) == WAKE_UP + raw
    assert decode_frame(WAKE_UP + raw) == frame
    assert decode_frame(b"\xfe" + raw) == frame  # meters send 0 to 4 of them


def test_address_is_bcd_low_byte_first_with_a_as_wildcard() -> None:
    assert address_to_wire("202107072529") == bytes.fromhex("292507072120")
    assert address_to_wire("AAAAAAAAAAAA") == bytes.fromhex("AAAAAAAAAAAA")
    assert address_to_wire("AAAAAA072529") == bytes.fromhex("292507AAAAAA")
    with pytest.raises(ValueError, match="12 digits"):
        address_to_wire("12345")


def test_control_code_bits_name_direction_abnormal_and_follow_up() -> None:
    assert not Frame("000000000001", 0x11).is_reply
    reply = Frame("000000000001", 0xB1)
    assert reply.is_reply
    assert reply.has_follow_up
    assert not reply.is_abnormal
    assert reply.function == 0x11
    abnormal = Frame("000000000001", 0xD1, b"\x02")
    assert abnormal.is_abnormal
    assert not abnormal.has_follow_up


def test_bad_checksum_names_both_sums() -> None:
    raw = bytearray.fromhex("68 29 25 07 07 21 20 68 11 04 33 33 33 33 4F 16")
    with pytest.raises(FrameError, match=r"checksum 4FH, the bytes sum to 4EH"):
        decode_frame(bytes(raw))


@pytest.mark.parametrize(
    ("wire", "message"),
    [
        ("69 29 25 07 07 21 20 68 11 04 33 33 33 33 4E 16", "expected 68H at byte 0, got 69H"),
        ("68 29 25 07 07 21 20 67 11 04 33 33 33 33 4E 16", "second 68H at byte 7, got 67H"),
        ("68 29 25 07 07 21 20 68 11 04 33 33 33 33 4E 17", "end byte 16H, got 17H"),
        ("68 29 25 07 07 21 20 68 11 04 33 33 33 33 4E 16 00", "1 bytes after the end"),
        ("68 29 25 07 07 21 20 68 11 04 33 33", "incomplete frame"),
        ("68 2F 25 07 07 21 20 68 11 04 33 33 33 33 54 16", "are not BCD"),
    ],
)
def test_broken_frames_say_which_rule_they_break(wire: str, message: str) -> None:
    with pytest.raises(FrameError, match=message):
        decode_frame(bytes.fromhex(wire))


def test_take_frame_waits_for_the_whole_frame_then_leaves_the_next_one() -> None:
    first = bytes.fromhex(WORKED[0][0])
    second = bytes.fromhex(WORKED[1][0])
    stream = WAKE_UP + first + WAKE_UP + second
    for cut in range(len(WAKE_UP + first)):
        assert take_frame(stream[:cut]) == (None, 0)
    frame, used = take_frame(stream)
    assert frame == WORKED[0][1]
    assert used == len(WAKE_UP + first)
    assert take_frame(stream[used:]) == (WORKED[1][1], len(WAKE_UP + second))


addresses = st.text(alphabet="0123456789", min_size=12, max_size=12)


@given(
    address=addresses,
    control=st.integers(0, 255),
    data=st.binary(max_size=255),
    wake_up=st.booleans(),
)
def test_every_frame_round_trips(address: str, control: int, data: bytes, wake_up: bool) -> None:
    frame = Frame(address, control, data)
    assert decode_frame(encode_frame(frame, wake_up=wake_up)) == frame


@given(address=addresses, data=st.binary(min_size=1, max_size=40), flip=st.integers(1, 255))
def test_any_corrupted_data_byte_fails_the_checksum(address: str, data: bytes, flip: int) -> None:
    raw = bytearray(encode_frame(Frame(address, 0x91, data), wake_up=False))
    raw[10] ^= flip  # the first data byte
    with pytest.raises(FrameError, match="checksum"):
        decode_frame(bytes(raw))
