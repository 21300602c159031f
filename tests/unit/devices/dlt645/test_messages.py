"""DL/T 645-2007 read requests and replies: normal, abnormal, follow-up and address reading."""

from __future__ import annotations

import pytest

from services.core.devices.dlt645.frame import ErrorReason, Frame, decode_frame, encode_frame
from services.core.devices.dlt645.messages import (
    MeterError,
    ReplyError,
    abnormal_reply,
    address_reply,
    address_request,
    follow_up_reply,
    follow_up_request,
    parse_address_reply,
    parse_read_reply,
    read_reply,
    read_request,
)

METER = "202107072529"


def test_read_request_of_the_worked_example_byte_for_byte() -> None:
    wire = encode_frame(read_request(METER, 0x00000000), wake_up=False)
    assert wire == bytes.fromhex("68 29 25 07 07 21 20 68 11 04 33 33 33 33 4E 16")


def test_read_reply_of_the_worked_example_carries_its_payload() -> None:
    raw = bytes.fromhex("68 29 25 07 07 21 20 68 91 08 33 33 33 33 A9 4A 36 33 2E 16")
    reply = parse_read_reply(decode_frame(raw), read_request(METER, 0))
    assert reply.payload == bytes.fromhex("76170300")
    assert not reply.more


def test_data_identifier_travels_di0_first() -> None:
    assert read_request(METER, 0x0201FF00).data == bytes.fromhex("00FF0102")


@pytest.mark.parametrize(
    ("err", "reasons"),
    [
        (0x02, ["no such data (无请求数据)"]),
        (0x04, ["wrong password or unauthorised (密码错/未授权)"]),
        (0x41, ["other error (其他错误)", "too many tariffs (费率数超)"]),
        (0x80, ["reserved bit 7 set (保留)"]),
        (0x00, ["no reason given (ERR = 00H)"]),
    ],
)
def test_abnormal_reply_raises_with_named_reasons(err: int, reasons: list[str]) -> None:
    wire = encode_frame(abnormal_reply(METER, 0x11, err))
    assert wire[-5] == 0xD1  # control: reply + abnormal + read data
    with pytest.raises(MeterError) as caught:
        parse_read_reply(decode_frame(wire), read_request(METER, 0x00010000))
    assert caught.value.reasons == reasons
    assert caught.value.di == 0x00010000
    assert caught.value.no_data == bool(err & ErrorReason.NO_DATA)
    assert f"meter {METER} refused DI 00010000" in str(caught.value)


def test_follow_up_frames_carry_the_sequence_number_last() -> None:
    first = read_reply(METER, 0x05060101, b"\x01\x02", more=True)
    assert first.control == 0xB1
    reply = parse_read_reply(first, read_request(METER, 0x05060101))
    assert reply.more
    assert reply.payload == b"\x01\x02"

    request = follow_up_request(METER, 0x05060101, 1)
    assert request.control == 0x12
    assert request.data == bytes.fromhex("0101060501")
    last = follow_up_reply(METER, 0x05060101, b"\x03", 1, more=False)
    assert last.control == 0x92
    tail = parse_read_reply(decode_frame(encode_frame(last)), request)
    assert (tail.payload, tail.seq, tail.more) == (b"\x03", 1, False)
    middle = follow_up_reply(METER, 0x05060101, b"\x04", 2, more=True)
    assert middle.control == 0xB2


def test_address_reading_uses_the_wildcard_and_answers_the_real_address() -> None:
    assert encode_frame(address_request(), wake_up=False) == bytes.fromhex(
        "68 AA AA AA AA AA AA 68 13 00 DF 16"
    )
    reply = address_reply(METER)
    assert reply.control == 0x93
    assert parse_address_reply(decode_frame(encode_frame(reply))) == METER


@pytest.mark.parametrize(
    ("frame", "message"),
    [
        (read_request(METER, 0), "is a request, not a reply"),
        (Frame(METER, 0x94), "reply to function 14H"),
        (read_reply("000000000001", 0, b""), "reply from meter 000000000001"),
        (read_reply(METER, 0x00010000, b""), "asked for DI 00000000, the meter answered"),
    ],
)
def test_a_reply_to_something_else_is_refused(frame: Frame, message: str) -> None:
    with pytest.raises(ReplyError, match=message):
        parse_read_reply(frame, read_request(METER, 0))


def test_a_wildcard_request_accepts_the_answering_meter() -> None:
    request = read_request("AAAAAAAAAAAA", 0)
    assert parse_read_reply(read_reply(METER, 0, b""), request).address == METER
